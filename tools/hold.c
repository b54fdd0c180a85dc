// SPDX-License-Identifier: GPL-2.0
/*
 * hold FILE [OFFSET LEN] [--ack-after MS] [--restore-after MS] [--timeout MS]
 *
 * A small lease holder for operators and demos, built on libmrlease as an
 * RDMA stack would be: map the file shared, take a pinned lease on the
 * range, print each event as it comes, acknowledge each break after the
 * delay (as an RDMA stack would once it has quiesced the MR), restore the
 * lease after another delay (as it would re-register the MR), and go on
 * until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mrlease.h"
#include "mrlease-ctl.h"

#define DEV_PATH	"/dev/" MRLEASE_DEVICE_NAME
#define NEVER		(-1LL)

/* What the command line asked. */
struct hold_opts {
	const char *path;
	uint64_t offset, len;		/* len 0: the whole file */
	uint64_t timeout_ms;
	uint64_t ack_after_ms;
	uint64_t restore_after_ms;
};

/* The file's range, mapped shared. */
struct hold_map {
	int fd;
	void *map;
	size_t map_len;
	size_t delta;			/* of OFFSET into the first page */
};

struct holder {
	struct mrlease_ctx *ctx;
	uint64_t id;
	uint64_t ack_after_ms;
	uint64_t restore_after_ms;
	/* The break waiting for its ack, if any. */
	int64_t ack_at_ms;		/* NEVER: none pending */
	struct mrlease_event brk;
	int64_t broke_at_ms;
	/* The restore due after an ack or a revoke, if any. */
	int64_t restore_at_ms;		/* NEVER: none pending */
};

void help_hold(FILE *f)
{
	fprintf(f, "Usage: %s hold FILE [ OFFSET LEN ] [ --ack-after MS ] [ --restore-after MS ]\n"
		   "                       [ --timeout MS ]\n", prog);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A size with an optional k/m/g (1024-based) suffix. */
static int parse_size(const char *w, const char *what, uint64_t *val)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(w, &end, 0);
	if (!errno && end != w && w[0] != '-') {
		switch (*end) {
		case 'k': case 'K': shift = 10; end++; break;
		case 'm': case 'M': shift = 20; end++; break;
		case 'g': case 'G': shift = 30; end++; break;
		}
		if (!*end && v <= (UINT64_MAX >> shift)) {
			*val = v << shift;
			return 0;
		}
	}
	return usage_err("hold: invalid %s \"%s\"", what, w);
}

/* "what happened" lines: {"event": EVENT, "id": ID, ...} / "EVENT lease ID ...". */
static void pr_head(const char *event, uint64_t id)
{
	pr_obj_open(NULL);
	pr_str("event", "%s", event);
	pr_u64("id", " lease %llu", id);
}

static void pr_tail(void)
{
	pr_obj_close();
	pr_end_record();
}

static void print_event(const struct mrlease_event *ev)
{
	char b1[32], b2[32];

	pr_head(pr_enum(NAMES(mrlease_event_names), ev->type, b1, sizeof(b1)), ev->id);
	pr_str("reason", " reason %s",
	       pr_enum(NAMES(mrlease_reason_names), ev->reason, b2, sizeof(b2)));
	pr_u64("breaker_pid", " breaker_pid %llu", (uint32_t)ev->breaker_pid);
	pr_str("breaker_comm", " breaker_comm %s", ev->breaker_comm);
	pr_u64("generation", " generation %llu", ev->generation);
	pr_u64("start", " start %#llx", ev->start);
	pr_u64("length", " length %llu", ev->length);
	pr_u64("cookie", " cookie %#llx", ev->cookie);
	pr_flags("flags", "flags", NAMES(mrlease_event_flag_names), ev->flags);
	pr_tail();
}

static void print_error(const char *what, uint64_t id, int err)
{
	pr_head("error", id);
	pr_str("op", " %s", what);
	pr_str("error", ": %s", strerror(err));
	pr_tail();
}

/* Restore the lease; an error leaves it unarmed, which is fatal for a holder. */
static int restore(struct holder *h)
{
	uint64_t generation;
	int tries, ret = 0;

	h->restore_at_ms = NEVER;
	for (tries = 0; tries < 10; tries++) {
		ret = mrlease_restore(h->ctx, h->id, &generation);
		if (!ret) {
			pr_head("restore", h->id);
			pr_u64("generation", " generation %llu", generation);
			pr_tail();
			return 0;
		}
		if (ret != -EAGAIN && ret != -EINTR)
			break;
		usleep(10000);
	}
	print_error("restore", h->id, -ret);
	return -1;
}

static int ack(struct holder *h)
{
	int ret;

	h->ack_at_ms = NEVER;
	ret = mrlease_ack_event(h->ctx, &h->brk);
	if (ret) {
		/* ESTALE: restored or revoked meanwhile; its record says what next. */
		print_error("ack", h->id, -ret);
		return ret == -ESTALE ? 0 : -1;
	}
	pr_head("ack", h->id);
	pr_u64("generation", " generation %llu", h->brk.generation);
	pr_u64("after_ms", " after_ms %llu", now_ms() - h->broke_at_ms);
	pr_tail();
	h->restore_at_ms = now_ms() + h->restore_after_ms;
	return 0;
}

/* Every record queued now; -1 with errno set on an error. */
static int read_events(struct holder *h)
{
	struct mrlease_event ev;
	int ret;

	while (!(ret = mrlease_get_event(h->ctx, &ev))) {
		ev.breaker_comm[sizeof(ev.breaker_comm) - 1] = '\0';
		print_event(&ev);
		if (ev.id != h->id)
			continue;
		if (ev.type == MRLEASE_EVENT_DECOHERENCE) {
			h->brk = ev;
			h->broke_at_ms = now_ms();
			h->ack_at_ms = h->broke_at_ms + h->ack_after_ms;
		} else if (ev.type == MRLEASE_EVENT_REVOKED) {
			/* Too late to ack: the pins are gone. Take the range again. */
			h->ack_at_ms = NEVER;
			h->restore_at_ms = now_ms() + h->restore_after_ms;
		}
	}
	if (ret == -EAGAIN || ret == -EINTR)
		return 0;
	errno = -ret;
	return -1;
}

/* When the next ack or restore is due, as a poll() timeout. */
static int next_timeout(const struct holder *h)
{
	int64_t next = h->ack_at_ms, left;

	if (h->restore_at_ms != NEVER && (next == NEVER || h->restore_at_ms < next))
		next = h->restore_at_ms;
	if (next == NEVER)
		return -1;
	left = next - now_ms();
	return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

static int hold_loop(struct holder *h)
{
	struct pollfd pfd[2];
	sigset_t sigs;
	int sfd;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		err_msg("hold: signalfd: %s", strerror(errno));
		return -1;
	}
	pfd[0] = (struct pollfd){ .fd = mrlease_get_fd(h->ctx), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		int n = poll(pfd, 2, next_timeout(h));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err_msg("hold: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if ((pfd[0].revents & POLLIN) && read_events(h)) {
			err_msg("hold: reading events: %s", strerror(errno));
			break;
		}
		if (h->ack_at_ms != NEVER && now_ms() >= h->ack_at_ms && ack(h))
			break;
		if (h->restore_at_ms != NEVER && now_ms() >= h->restore_at_ms && restore(h))
			break;
	}
	close(sfd);
	return pfd[1].revents ? 0 : -1;
}

/* The words after "hold"; an EXIT_* on error, 0 otherwise. */
static int parse_hold_args(struct args *a, struct hold_opts *o)
{
	const char *pos[2];
	unsigned int npos = 0;

	while (!args_empty(a)) {
		const char *w = args_next(a);
		int r;

		if (!strcmp(w, "--ack-after") || !strcmp(w, "ack-after")) {
			r = args_u64(a, "--ack-after", INT32_MAX, &o->ack_after_ms);
		} else if (!strcmp(w, "--restore-after") || !strcmp(w, "restore-after")) {
			r = args_u64(a, "--restore-after", INT32_MAX, &o->restore_after_ms);
		} else if (!strcmp(w, "--timeout") || !strcmp(w, "timeout")) {
			r = args_u64(a, "--timeout", UINT32_MAX, &o->timeout_ms);
		} else if (w[0] == '-' && w[1]) {
			r = usage_err("hold: unknown option \"%s\"", w);
		} else if (!o->path) {
			o->path = w;
			r = 0;
		} else if (npos < 2) {
			pos[npos++] = w;
			r = 0;
		} else {
			r = usage_err("hold: unexpected \"%s\"", w);
		}
		if (r)
			return r;
	}
	if (!o->path)
		return usage_err("hold: which file? (hold FILE [OFFSET LEN])");
	if (npos == 1)
		return usage_err("hold: give both OFFSET and LEN, or neither");
	if (npos == 2) {
		if (parse_size(pos[0], "OFFSET", &o->offset) ||
		    parse_size(pos[1], "LEN", &o->len))
			return EXIT_USAGE;
		if (!o->len)
			return usage_err("hold: LEN must not be 0");
	}
	return 0;
}

/* Map [OFFSET, +LEN) of the file, read-only if that is all we may. */
static int map_range(struct hold_opts *o, struct hold_map *m)
{
	int prot = PROT_READ | PROT_WRITE;
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;

	m->fd = open(o->path, O_RDWR | O_CLOEXEC);
	if (m->fd < 0 && errno == EACCES) {
		prot = PROT_READ;
		m->fd = open(o->path, O_RDONLY | O_CLOEXEC);
	}
	if (m->fd < 0) {
		err_msg("hold: %s: %s", o->path, strerror(errno));
		return EXIT_ERR;
	}
	if (fstat(m->fd, &st)) {
		err_msg("hold: %s: %s", o->path, strerror(errno));
		goto close_fd;
	}
	if (!o->len) {
		o->len = st.st_size;
		if (!o->len) {
			err_msg("hold: %s is empty; give OFFSET and LEN", o->path);
			goto close_fd;
		}
	}
	/* mmap() wants a page-aligned offset; the lease covers just [OFFSET, +LEN). */
	m->delta = o->offset % page;
	if (o->len > SIZE_MAX - m->delta) {
		close(m->fd);
		return usage_err("hold: LEN too big");
	}
	m->map_len = m->delta + o->len;
	m->map = mmap(NULL, m->map_len, prot, MAP_SHARED, m->fd, o->offset - m->delta);
	if (m->map == MAP_FAILED) {
		err_msg("hold: mmap %s: %s", o->path, strerror(errno));
		goto close_fd;
	}
	return 0;

close_fd:
	close(m->fd);
	return EXIT_ERR;
}

static void unmap_range(struct hold_map *m)
{
	munmap(m->map, m->map_len);
	close(m->fd);
}

/* The "holding" line: what the lease covers and how a break will go. */
static void print_holding(const struct holder *h, const struct hold_opts *o,
			  uintptr_t addr, const struct mrlease_info *info)
{
	char b[32];

	pr_head("holding", h->id);
	pr_str("path", " on %s", o->path);
	pr_u64("offset", " offset %llu", o->offset);
	pr_u64("len", " len %llu", o->len);
	pr_u64("pid", " pid %llu", getpid());
	pr_u64("addr", " addr %#llx", addr);
	pr_u64("generation", " generation %llu", info->generation);
	pr_str("backing", " backing %s",
	       pr_enum(NAMES(mrlease_backing_names), info->backing, b, sizeof(b)));
	pr_u64("pinned_pages", " pinned_pages %llu", info->pinned_pages);
	if (info->layout) {
		pr_str("layout", " layout %s",
		       pr_enum(NAMES(mrlease_layout_names), info->layout, b, sizeof(b)));
		if (info->layout == MRLEASE_LAYOUT_REFUSED) {
			pr_s64("layout_error", NULL, info->layout_error);
			pr_text(" (%s)", strerror(-info->layout_error));
		}
	}
	/* A pinned lease is never HOLD_NONE: 0 is a module that predates the field. */
	if (info->hold)
		pr_str("hold", " hold %s",
		       pr_enum(NAMES(mrlease_hold_names), info->hold, b, sizeof(b)));
	pr_u64("timeout_ms", " timeout_ms %llu", info->timeout_ms);
	pr_u64("ack_after_ms", " ack_after_ms %llu", h->ack_after_ms);
	pr_u64("restore_after_ms", " restore_after_ms %llu", h->restore_after_ms);
	pr_tail();
}

/* Open a context and take a pinned lease on the mapped range. */
static int take_lease(struct holder *h, const struct hold_opts *o, const struct hold_map *m)
{
	struct mrlease_info info;
	int ret;

	ret = mrlease_open(&h->ctx, 0);
	if (ret) {
		if (ret == -ENOENT)
			err_msg("hold: %s: %s (mrlease kernel module not loaded? modprobe mrlease)",
				DEV_PATH, strerror(-ret));
		else
			err_msg("hold: %s: %s", DEV_PATH, strerror(-ret));
		return -1;
	}
	ret = mrlease_register_timeout(h->ctx, (char *)m->map + m->delta, o->len, getpid(),
				       MRLEASE_PIN, o->timeout_ms, &h->id);
	if (ret) {
		err_msg("hold: registering a pinned lease on %s [%llu, +%llu): %s", o->path,
			(unsigned long long)o->offset, (unsigned long long)o->len, strerror(-ret));
		mrlease_close(h->ctx);
		return -1;
	}
	if (mrlease_query(h->ctx, h->id, &info))
		memset(&info, 0, sizeof(info));
	print_holding(h, o, (uintptr_t)m->map + m->delta, &info);
	return 0;
}

static int release_lease(struct holder *h)
{
	int ret = mrlease_unregister(h->ctx, h->id);

	if (ret)
		err_msg("hold: unregistering lease %llu: %s", (unsigned long long)h->id,
			strerror(-ret));
	else {
		pr_head("released", h->id);
		pr_tail();
	}
	mrlease_close(h->ctx);
	return ret ? -1 : 0;
}

int do_hold(struct args *a)
{
	struct holder h = { .ack_at_ms = NEVER, .restore_at_ms = NEVER };
	struct hold_opts o = { 0 };
	struct hold_map m = { .fd = -1 };
	int ret;

	if (args_is_help(a)) {
		help_hold(stdout);
		return EXIT_OK;
	}
	ret = parse_hold_args(a, &o);
	if (ret)
		return ret;
	ret = map_range(&o, &m);
	if (ret)
		return ret;
	h.ack_after_ms = o.ack_after_ms;
	h.restore_after_ms = o.restore_after_ms;
	ret = EXIT_ERR;
	if (!take_lease(&h, &o, &m)) {
		if (hold_loop(&h) == 0)
			ret = EXIT_OK;
		if (release_lease(&h))
			ret = EXIT_ERR;
	}
	unmap_range(&m);
	return ret;
}
