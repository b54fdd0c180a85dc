// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libmrlease: a thin, allocation-free wrapper around /dev/mrlease.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mrlease.h"
#include "mrlease-names.h"

#define MRLEASE_EXPORT __attribute__((visibility("default")))

#define MRLEASE_DEV_PATH "/dev/" MRLEASE_DEVICE_NAME

struct mrlease_ctx {
	int fd;
	const volatile struct mrlease_status *status;
	size_t status_len;
	const volatile uint64_t *words;	/* NULL: the module has none for us */
	size_t words_len;
	size_t event_size;		/* the module's record size */
	unsigned char evbuf[];		/* one record, if larger than ours */
};

/*
 * The library's own mappings are not the program's memory: memory hooks
 * (UCX's UCM, LD_PRELOAD interposers) need not see them go, and must not
 * in mrlease_forget(), which runs in forked children's atfork handlers: a
 * lock of the hook's that another thread of the parent held at fork()
 * stays held in the child.
 */
static void unmap_own(const volatile void *addr, size_t len)
{
	syscall(SYS_munmap, (void *)addr, len);
}

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

MRLEASE_EXPORT int mrlease_open(struct mrlease_ctx **ctxp, unsigned int flags)
{
	const uint64_t base = MRLEASE_FEATURE_PIN | MRLEASE_FEATURE_STATUS_PAGE |
			      MRLEASE_FEATURE_WAIT_SELF;
	struct mrlease_api api = {
		.api = MRLEASE_API,
		.features = base | MRLEASE_FEATURE_VALID_WORDS,
	};
	struct mrlease_ctx *ctx;
	long page = sysconf(_SC_PAGESIZE);
	void *status, *words;
	int ret;

	if (!ctxp || flags)
		return -EINVAL;
	/* Room for a record bigger than ours, from a newer module (below). */
	ctx = calloc(1, sizeof(*ctx) + 4096);
	if (!ctx)
		return -ENOMEM;
	ctx->fd = open(MRLEASE_DEV_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (ctx->fd < 0) {
		ret = neg_errno();
		goto free_ctx;
	}
	ret = ioctl(ctx->fd, MRLEASE_IOC_API, &api) ? neg_errno() : 0;
	/*
	 * An older module refuses feature bits it does not know; since the
	 * validity words it says which it supports, before them it does not
	 * (then ask for what every version has).
	 */
	if (ret == -EINVAL) {
		uint64_t supported = api.supported;

		memset(&api, 0, sizeof(api));
		api.api = MRLEASE_API;
		api.features = base;
		if (supported)
			api.features = supported &
				       (base | MRLEASE_FEATURE_VALID_WORDS);
		ret = ioctl(ctx->fd, MRLEASE_IOC_API, &api) ? neg_errno() : 0;
	}
	if (ret)
		goto close_fd;
	ctx->status_len = page > 0 ? (size_t)page : 4096;
	status = mmap(NULL, ctx->status_len, PROT_READ, MAP_SHARED, ctx->fd, 0);
	if (status == MAP_FAILED) {
		ret = neg_errno();
		goto close_fd;
	}
	ctx->status = status;
	/*
	 * A newer module's record may be longer (it only grows at its end):
	 * read whole records of its size and keep the part we know.
	 */
	ctx->event_size = api.event_size ? api.event_size : sizeof(struct mrlease_event);
	if (ctx->event_size > 4096) {
		ret = -EPROTO;
		unmap_own(status, ctx->status_len);
		goto close_fd;
	}
	/* Without the words, mrlease_valid() says "not valid": still correct. */
	if ((api.features & MRLEASE_FEATURE_VALID_WORDS) && api.words_size) {
		words = mmap(NULL, api.words_size, PROT_READ, MAP_SHARED,
			     ctx->fd, (off_t)ctx->status_len *
				      MRLEASE_MMAP_WORDS_PGOFF);
		if (words != MAP_FAILED) {
			ctx->words = words;
			ctx->words_len = api.words_size;
		}
	}
	*ctxp = ctx;
	return 0;

close_fd:
	close(ctx->fd);
free_ctx:
	free(ctx);
	return ret;
}

/*
 * In a forked child, from its atfork handler if need be: system calls only.
 * free() could wait forever there on a lock another parent thread held at
 * fork() (a malloc that UCM or another interposer put in glibc's place), so
 * the few KiB of @ctx, the child's copy of its parent's, are left.
 */
MRLEASE_EXPORT void mrlease_forget(struct mrlease_ctx *ctx)
{
	if (!ctx)
		return;
	unmap_own(ctx->status, ctx->status_len);
	if (ctx->words)
		unmap_own(ctx->words, ctx->words_len);
	syscall(SYS_close, ctx->fd);
}

MRLEASE_EXPORT void mrlease_close(struct mrlease_ctx *ctx)
{
	mrlease_forget(ctx);
	free(ctx);
}

MRLEASE_EXPORT int mrlease_get_fd(const struct mrlease_ctx *ctx)
{
	return ctx ? ctx->fd : -EINVAL;
}

/* Where the word of a lease is, if the module gave it one. */
static void set_valid(const struct mrlease_ctx *ctx, uint32_t word,
		      uint64_t token, struct mrlease_valid *valid)
{
	valid->word = NULL;
	valid->token = 0;
	if (!ctx->words || word == MRLEASE_NO_WORD || !token ||
	    word >= ctx->words_len / sizeof(uint64_t))
		return;
	valid->word = &ctx->words[word];
	valid->token = token;
}

MRLEASE_EXPORT int mrlease_register_valid(struct mrlease_ctx *ctx,
					  const void *addr, size_t len,
					  uint64_t cookie, unsigned int flags,
					  unsigned int timeout_ms, uint64_t *id,
					  struct mrlease_valid *valid)
{
	struct mrlease_register reg = {
		.addr = (uintptr_t)addr,
		.len = len,
		.cookie = cookie,
		.flags = flags,
		.timeout_ms = timeout_ms,
	};

	if (!ctx || !id)
		return -EINVAL;
	if (ioctl(ctx->fd, MRLEASE_IOC_REGISTER, &reg))
		return neg_errno();
	*id = reg.id;
	if (valid)
		set_valid(ctx, reg.word, reg.token, valid);
	return 0;
}

MRLEASE_EXPORT int mrlease_register_timeout(struct mrlease_ctx *ctx,
					    const void *addr, size_t len,
					    uint64_t cookie, unsigned int flags,
					    unsigned int timeout_ms,
					    uint64_t *id)
{
	return mrlease_register_valid(ctx, addr, len, cookie, flags,
				      timeout_ms, id, NULL);
}

MRLEASE_EXPORT int mrlease_register(struct mrlease_ctx *ctx, const void *addr,
				    size_t len, uint64_t cookie,
				    unsigned int flags, uint64_t *id)
{
	return mrlease_register_timeout(ctx, addr, len, cookie, flags, 0, id);
}

MRLEASE_EXPORT int mrlease_unregister(struct mrlease_ctx *ctx, uint64_t id)
{
	struct mrlease_lease_ref ref = { .id = id };

	if (!ctx)
		return -EINVAL;
	return ioctl(ctx->fd, MRLEASE_IOC_UNREGISTER, &ref) ? neg_errno() : 0;
}

/* The fast-path check: one load from the kernel's read-only status page. */
MRLEASE_EXPORT bool mrlease_pending(const struct mrlease_ctx *ctx)
{
	return mrlease_status_pending(ctx->status);
}

MRLEASE_EXPORT const volatile struct mrlease_status *
mrlease_get_status(const struct mrlease_ctx *ctx)
{
	return ctx ? ctx->status : NULL;
}

MRLEASE_EXPORT int mrlease_get_event(struct mrlease_ctx *ctx,
				     struct mrlease_event *ev)
{
	ssize_t n;

	if (!ctx || !ev)
		return -EINVAL;
	if (ctx->event_size == sizeof(*ev)) {
		n = read(ctx->fd, ev, sizeof(*ev));
		if (n < 0)
			return neg_errno();
		return n == sizeof(*ev) ? 0 : -EIO;
	}
	n = read(ctx->fd, ctx->evbuf, ctx->event_size);
	if (n < 0)
		return neg_errno();
	if ((size_t)n != ctx->event_size)
		return -EIO;
	memset(ev, 0, sizeof(*ev));
	memcpy(ev, ctx->evbuf, n < (ssize_t)sizeof(*ev) ? (size_t)n : sizeof(*ev));
	return 0;
}

/*
 * A REVOKED lease has nothing left to acknowledge: its pins are gone
 * already.  Treat its ack as done so that one event loop serves both types.
 */
MRLEASE_EXPORT int mrlease_ack_event(struct mrlease_ctx *ctx,
				     const struct mrlease_event *ev)
{
	struct mrlease_lease_ref ref;

	if (!ctx || !ev)
		return -EINVAL;
	if (ev->type == MRLEASE_EVENT_REVOKED)
		return 0;
	memset(&ref, 0, sizeof(ref));
	ref.id = ev->id;
	ref.generation = ev->generation;
	if (ioctl(ctx->fd, MRLEASE_IOC_ACK, &ref))
		return errno == ETIMEDOUT ? 0 : neg_errno();
	return 0;
}

MRLEASE_EXPORT int mrlease_restore_valid(struct mrlease_ctx *ctx,
					 uint64_t id, uint64_t *generation,
					 struct mrlease_valid *valid)
{
	struct mrlease_restore res = { .id = id };

	if (!ctx)
		return -EINVAL;
	if (ioctl(ctx->fd, MRLEASE_IOC_RESTORE, &res))
		return neg_errno();
	if (generation)
		*generation = res.generation;
	/* The word stays the lease's; only its token changes. */
	if (valid && valid->word)
		valid->token = res.token;
	return 0;
}

MRLEASE_EXPORT int mrlease_restore(struct mrlease_ctx *ctx, uint64_t id,
				   uint64_t *generation)
{
	return mrlease_restore_valid(ctx, id, generation, NULL);
}

_Static_assert(offsetof(struct mrlease_info, layout) == MRLEASE_INFO_SIZE_VER0,
	       "struct mrlease_info: version 1.0 must stay a prefix");

/*
 * Fill the first @size bytes of @info: what this library knows, and zeroes
 * past that for a caller built against a newer header.
 */
MRLEASE_EXPORT int mrlease_query_info(struct mrlease_ctx *ctx, uint64_t id,
				      struct mrlease_info *info, size_t size)
{
	struct mrlease_query q = { .id = id };
	struct mrlease_info all = { 0 };

	if (!ctx || !info || size < MRLEASE_INFO_SIZE_VER0)
		return -EINVAL;
	if (ioctl(ctx->fd, MRLEASE_IOC_QUERY, &q))
		return neg_errno();
	all.id = q.id;
	all.generation = q.generation;
	all.addr = q.addr;
	all.length = q.len;
	all.cookie = q.cookie;
	all.pinned_pages = q.pinned_pages;
	all.dev = q.dev;
	all.ino = q.ino;
	all.offset = q.offset;
	all.state = q.state;
	all.flags = q.lease_flags;
	all.backing = q.backing;
	all.timeout_ms = q.timeout_ms;
	all.breaks = q.breaks;
	all.hold = q.hold;
	all.layout = q.layout;
	all.layout_error = q.layout_error;
	if (size > sizeof(all)) {
		memset((char *)info + sizeof(all), 0, size - sizeof(all));
		size = sizeof(all);
	}
	memcpy(info, &all, size);
	return 0;
}

/* Programs built against 1.0 call this with the 1.0 structure. */
#undef mrlease_query
MRLEASE_EXPORT int mrlease_query(struct mrlease_ctx *ctx, uint64_t id,
				 struct mrlease_info *info)
{
	return mrlease_query_info(ctx, id, info, MRLEASE_INFO_SIZE_VER0);
}

/* Messages for the errnos whose meaning is specific to mrlease. */
MRLEASE_EXPORT const char *mrlease_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0:
		return "success";
	case ENOENT:
		return "no such lease, or /dev/mrlease missing (is the mrlease module loaded? try: modprobe mrlease)";
	case ENXIO:
	case ENODEV:
		return "mrlease device unavailable (is the mrlease module loaded?)";
	case EBADFD:
		return "mrlease context not initialised (API handshake missing)";
	case EFAULT:
		return "range not fully mapped";
	case EACCES:
		return "range contains an I/O or PFN mapping that cannot be leased";
	case ENOMEM:
		return "out of memory or RLIMIT_MEMLOCK exceeded";
	case EMFILE:
		return "too many leases on this context (max_leases_per_ctx)";
	case EUSERS:
		return "too many leases for this user (max_leases_per_user)";
	case ESTALE:
		return "event generation is stale (the lease was restored since)";
	case ETIMEDOUT:
		return "lease was revoked: the ack came after the break timeout";
	case EBUSY:
		return "lease is armed: nothing to restore";
	case EPERM:
		return "only the process that opened the context may register or restore";
	case EAGAIN:
		return "no event pending, or the range kept changing; try again";
	case EOPNOTSUPP:
		return "not supported: a feature this mrlease module lacks, or pages that cannot be pinned "
		       "(fsdax files: the kernel refuses long-term pins; register RDMA MRs there with "
		       "IBV_ACCESS_ON_DEMAND)";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

MRLEASE_EXPORT const char *mrlease_reason_str(uint32_t reason)
{
	const char *name = mrlease_name(mrlease_reason_names, reason);

	return name ? name : "unknown";
}

MRLEASE_EXPORT const char *mrlease_state_str(uint32_t state)
{
	const char *name = mrlease_name(mrlease_state_names, state);

	return name ? name : "unknown";
}
