// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libmrlease-ucm: mrlease as a source of UCX's unmap events, for unmodified
 * UCX programs (LD_PRELOAD=libmrlease-ucm.so; UCX 1.x as Debian ships it,
 * no rebuild).
 *
 * UCX's registration caches drop a cached memory registration when UCM
 * reports UCM_EVENT_VM_UNMAPPED for its range.  UCM learns of unmaps by
 * patching libc's munmap, mremap, shmdt and friends: a raw system call, a
 * static binary or another process truncating a file mapped there goes
 * unseen, and the cache hands out the registration of pages the address no
 * longer maps.  ucm_vm_munmap() lets anyone report an unmap to every
 * handler; UCM's own hooks stay in place, so whatever we cannot lease is
 * watched as before, and what we lease is watched twice (a second
 * invalidation of a range costs a lookup).
 *
 * UCX does not say which ranges it registered, so the registrations are
 * learnt where they happen: ibv_reg_mr(), ibv_reg_mr_iova() and
 * ibv_reg_mr_iova2() are wrapped (the outermost call of a thread only:
 * libibverbs' ibv_reg_mr calls ibv_reg_mr_iova2 through its PLT, which is
 * ours) and each MR's range is leased before it is registered, so that a
 * change while the MR pins its pages breaks the lease.  ibv_dereg_mr() lets
 * the lease go.  A thread blocked in poll() on the lease fd acks each break
 * (the lease is unpinned: only a writer of a file we hold a layout lease on
 * waits for that ack), reports the changed range with ucm_vm_munmap(), and
 * restores the lease once the range is mapped again, reporting the whole
 * range once more for what changed before the restore.  UCX has no check on
 * a cache hit: between a change and that report a hit can still return the
 * old registration (one wake-up of the reader; test/fabric/ucx-rcache.c
 * measures it).
 *
 * MRLEASE_UCM_DEBUG=1 says on stderr why a lease or the context failed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <infiniband/verbs.h>
#include <ucm/api/ucm.h>

/* verbs.h makes ibv_reg_mr and ibv_reg_mr_iova macros around the functions we wrap. */
#undef ibv_reg_mr
#undef ibv_reg_mr_iova

#include "mrlease.h"

#define MRLEASE_EXPORT __attribute__((visibility("default")))

#define UCM_BUCKETS	4096	/* power of two */

/* A registered MR and the lease on its range. */
struct ucm_lease {
	const struct ibv_mr *mr;
	uintptr_t addr;
	size_t len;
	uint64_t id;
	struct ucm_lease *next;		/* in its bucket of src.table */
	struct ucm_lease *id_next;	/* in its bucket of src.by_id */
};

static struct {
	struct mrlease_ctx *ctx;	/* NULL: no leases (yet, in a forked child) */
	pthread_mutex_t lock;		/* the table; the context's start */
	struct ucm_lease *table[UCM_BUCKETS];	/* by MR */
	struct ucm_lease *by_id[UCM_BUCKETS];	/* by lease id, for the reader */
	bool debug;
	bool gave_up;			/* no context to be had: do not try each time */
	unsigned long leases, breaks;	/* for the tests */
} src = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Depth of wrapped registration calls on this thread: only the outermost leases. */
static __thread int src_depth;

static struct ibv_mr *(*real_reg_mr)(struct ibv_pd *, void *, size_t, int);
static struct ibv_mr *(*real_reg_mr_iova)(struct ibv_pd *, void *, size_t, uint64_t, int);
static struct ibv_mr *(*real_reg_mr_iova2)(struct ibv_pd *, void *, size_t, uint64_t,
					   unsigned int);
static int (*real_dereg_mr)(struct ibv_mr *);

static void src_debug(const char *what, int err)
{
	if (src.debug)
		fprintf(stderr, "libmrlease-ucm: %s: %s\n", what, mrlease_strerror(err));
}

/*
 * libibverbs' own functions, at the versions we export (libmrlease-ucm.sym);
 * on first use, as another library's constructor may register before ours.
 */
static void src_resolve(void)
{
	if (__atomic_load_n(&real_dereg_mr, __ATOMIC_ACQUIRE))
		return;
	real_reg_mr = dlvsym(RTLD_NEXT, "ibv_reg_mr", "IBVERBS_1.1");
	real_reg_mr_iova = dlvsym(RTLD_NEXT, "ibv_reg_mr_iova", "IBVERBS_1.7");
	real_reg_mr_iova2 = dlvsym(RTLD_NEXT, "ibv_reg_mr_iova2", "IBVERBS_1.8");
	__atomic_store_n(&real_dereg_mr, dlvsym(RTLD_NEXT, "ibv_dereg_mr", "IBVERBS_1.1"),
			 __ATOMIC_RELEASE);
	if (!real_reg_mr || !real_reg_mr_iova || !real_reg_mr_iova2 || !real_dereg_mr) {
		fprintf(stderr, "libmrlease-ucm: libibverbs' registration calls not found\n");
		abort();
	}
}

static struct ucm_lease **src_bucket(const struct ibv_mr *mr)
{
	return &src.table[((uintptr_t)mr >> 6) * 0x9e3779b97f4a7c15ull >> 52 & (UCM_BUCKETS - 1)];
}

/* Lease ids are registry slots, lowest free first: their low bits spread well. */
static struct ucm_lease **src_id_bucket(uint64_t id)
{
	return &src.by_id[id & (UCM_BUCKETS - 1)];
}

/* Under src.lock. */
static void src_link(struct ucm_lease *l)
{
	l->next = *src_bucket(l->mr);
	*src_bucket(l->mr) = l;
	l->id_next = *src_id_bucket(l->id);
	*src_id_bucket(l->id) = l;
}

/* Unlink the lease of @mr, if any.  Under src.lock. */
static struct ucm_lease *src_unlink(const struct ibv_mr *mr)
{
	struct ucm_lease **p, *l;

	for (p = src_bucket(mr); *p; p = &(*p)->next)
		if ((*p)->mr == mr) {
			l = *p;
			*p = l->next;
			for (p = src_id_bucket(l->id); *p != l; p = &(*p)->id_next)
				;
			*p = l->id_next;
			return l;
		}
	return NULL;
}

static int src_start(void);

/* A lease on [@addr, @addr + @len) for an MR about to be registered, or NULL. */
static struct ucm_lease *src_lease(void *addr, size_t len)
{
	struct ucm_lease *l;
	int ret = 0;

	pthread_mutex_lock(&src.lock);
	if (!src.ctx && !src.gave_up && src_start())
		src.gave_up = true;
	ret = src.ctx ? 0 : -ENODEV;
	pthread_mutex_unlock(&src.lock);
	if (ret)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->addr = (uintptr_t)addr;
	l->len = len;
	ret = mrlease_register(src.ctx, addr, len, 0, 0, &l->id);
	if (ret) {
		/* Not leased: UCM's own hooks still watch it. */
		src_debug("lease", ret);
		free(l);
		return NULL;
	}
	return l;
}

/* After the registration: keep @l with @mr, or let it go if there is no MR. */
static struct ibv_mr *src_keep(struct ucm_lease *l, struct ibv_mr *mr)
{
	struct ucm_lease *old;

	if (!l)
		return mr;
	if (!mr) {
		mrlease_unregister(src.ctx, l->id);
		free(l);
		return mr;
	}
	l->mr = mr;
	pthread_mutex_lock(&src.lock);
	/* An MR at this address again: the old one was freed unseen. */
	old = src_unlink(mr);
	src_link(l);
	src.leases++;
	pthread_mutex_unlock(&src.lock);
	if (old) {
		mrlease_unregister(src.ctx, old->id);
		free(old);
	}
	return mr;
}

/*
 * Around a wrapped registration: the outermost call of the thread leases
 * the range first; src_leave() keeps the lease with the MR it made.
 */
static struct ucm_lease *src_enter(void *addr, size_t len)
{
	struct ucm_lease *l;

	src_resolve();
	l = src_depth ? NULL : src_lease(addr, len);
	src_depth++;
	return l;
}

static struct ibv_mr *src_leave(struct ucm_lease *l, struct ibv_mr *mr)
{
	src_depth--;
	return src_keep(l, mr);
}

MRLEASE_EXPORT struct ibv_mr *ibv_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
					 int access)
{
	struct ucm_lease *l = src_enter(addr, length);

	return src_leave(l, real_reg_mr(pd, addr, length, access));
}

MRLEASE_EXPORT struct ibv_mr *ibv_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length,
					      uint64_t iova, int access)
{
	struct ucm_lease *l = src_enter(addr, length);

	return src_leave(l, real_reg_mr_iova(pd, addr, length, iova, access));
}

MRLEASE_EXPORT struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length,
					       uint64_t iova, unsigned int access)
{
	struct ucm_lease *l = src_enter(addr, length);

	return src_leave(l, real_reg_mr_iova2(pd, addr, length, iova, access));
}

MRLEASE_EXPORT int ibv_dereg_mr(struct ibv_mr *mr)
{
	struct ucm_lease *l;
	int ret;

	src_resolve();
	ret = real_dereg_mr(mr);
	if (ret)
		return ret;	/* still registered: still leased */
	pthread_mutex_lock(&src.lock);
	l = src_unlink(mr);
	pthread_mutex_unlock(&src.lock);
	if (l) {
		mrlease_unregister(src.ctx, l->id);
		free(l);
	}
	return 0;
}

/* The range of lease @id, if it is still ours.  Under src.lock. */
static bool src_range(uint64_t id, uintptr_t *addr, size_t *len)
{
	const struct ucm_lease *l;

	for (l = *src_id_bucket(id); l; l = l->id_next)
		if (l->id == id) {
			*addr = l->addr;
			*len = l->len;
			return true;
		}
	return false;
}

/*
 * A break: ack it (a writer of a file we hold a layout lease on waits for
 * that), tell UCX which part changed, and arm the lease again if the range
 * is mapped, so that later changes are seen too; what changed between the
 * record and the restore is covered by reporting the whole range once more.
 */
static void src_handle(struct mrlease_ctx *ctx, const struct mrlease_event *ev)
{
	uintptr_t addr;
	size_t len;
	uint64_t gen;
	bool ours;

	mrlease_ack_event(ctx, ev);
	ucm_vm_munmap((void *)(uintptr_t)ev->start, ev->length);
	__atomic_fetch_add(&src.breaks, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&src.lock);
	ours = src_range(ev->id, &addr, &len);
	pthread_mutex_unlock(&src.lock);
	if (ours && !mrlease_restore(ctx, ev->id, &gen))
		ucm_vm_munmap((void *)addr, len);
}

static void *src_read(void *arg)
{
	struct mrlease_ctx *ctx = arg;
	struct pollfd pfd = { .fd = mrlease_get_fd(ctx), .events = POLLIN };
	struct mrlease_event ev;
	int ret;

	for (;;) {
		while (!(ret = mrlease_get_event(ctx, &ev)))
			src_handle(ctx, &ev);
		if (ret != -EAGAIN && ret != -EINTR)
			break;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
	}
	/* UCM's own hooks go on; leases made from now on are not reported. */
	fprintf(stderr, "libmrlease-ucm: reading lease events: %s; UCX's own hooks only\n",
		mrlease_strerror(ret));
	return NULL;
}

/* Open a context and start its reader: 0 or a negative errno.  Under src.lock. */
static int src_start(void)
{
	struct mrlease_ctx *ctx;
	sigset_t all, old;
	pthread_t reader;
	int ret;

	ret = mrlease_open(&ctx, 0);
	if (ret) {
		src_debug("/dev/mrlease", ret);
		return ret;
	}
	/* The program's signals are for its own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&reader, NULL, src_read, ctx);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		src_debug("reader thread", ret);
		mrlease_close(ctx);
		return ret;
	}
	pthread_detach(reader);
	src.ctx = ctx;
	return 0;
}

/*
 * A forked child may not use its parent's context, nor touch the parent's
 * leases through the fd it inherited: it lets go of its copy (the parent's
 * kernel context, and the leases charged to the user, must not outlive the
 * parent in it), forgets the leases, and opens a context of its own at its
 * first registration.  System calls only (mrlease_forget()), nothing freed:
 * UCM's hooks and its malloc, whose locks another parent thread may have
 * held at fork(), are not entered here.  The entries left are the child's
 * copies of its parent's.  The lock is held across fork() so that the child
 * finds the context and the table whole, not halfway through another
 * thread's src_start() or table update.
 */
static void src_atfork_prepare(void)
{
	pthread_mutex_lock(&src.lock);
}

static void src_atfork_parent(void)
{
	pthread_mutex_unlock(&src.lock);
}

static void src_atfork_child(void)
{
	pthread_mutex_init(&src.lock, NULL);
	mrlease_forget(src.ctx);
	src.ctx = NULL;
	src.gave_up = false;
	for (unsigned int b = 0; b < UCM_BUCKETS; b++)
		src.table[b] = src.by_id[b] = NULL;
}

__attribute__((constructor)) static void src_init(void)
{
	src.debug = getenv("MRLEASE_UCM_DEBUG") != NULL;
	src_resolve();
	pthread_atfork(src_atfork_prepare, src_atfork_parent, src_atfork_child);
	pthread_mutex_lock(&src.lock);
	if (src_start())
		src.gave_up = true;
	pthread_mutex_unlock(&src.lock);
}

/* What the source did, for tests: 0, or -ENODEV if it has no context. */
MRLEASE_EXPORT int mrlease_ucm_counters(unsigned long counters[2])
{
	if (!src.ctx)
		return -ENODEV;
	counters[0] = __atomic_load_n(&src.leases, __ATOMIC_RELAXED);
	counters[1] = __atomic_load_n(&src.breaks, __ATOMIC_RELAXED);
	return 0;
}
