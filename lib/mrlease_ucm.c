// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libmrlease-ucm: mrlease as the source of UCX's unmap events, for
 * unmodified UCX programs (LD_PRELOAD=libmrlease-ucm.so; UCX 1.x as Debian
 * ships it, no rebuild).
 *
 * UCX's registration caches drop a cached memory registration when UCM
 * reports UCM_EVENT_VM_UNMAPPED for its range.  UCM learns of unmaps by
 * patching libc's munmap, mremap, shmdt and friends: a raw system call, a
 * static binary or another process truncating a file mapped there goes
 * unseen, and the cache hands out the registration of pages the address no
 * longer maps.  UCM lets that event come from outside instead
 * (ucm_set_external_event(), before UCX adds its handlers: our constructor
 * runs before the program's main()), and ucm_vm_munmap() delivers it.
 *
 * UCX does not say which ranges it registered, so the registrations are
 * learnt where they happen: ibv_reg_mr(), ibv_reg_mr_iova() and
 * ibv_reg_mr_iova2() are wrapped and each MR's range leased (unpinned: a
 * change never waits for us); ibv_dereg_mr() lets the lease go.  A thread
 * blocked in poll() on the lease fd turns each break into ucm_vm_munmap()
 * of the range that changed.  There is no check on a cache hit in UCX, so
 * between a change and that call a hit can still return the old
 * registration: the window is one wake-up of the reader (measured by the
 * test that drives it, test/fabric/ucx-rcache.c).
 *
 * Without /dev/mrlease, UCX keeps its own hooks (the event is not made
 * external); the reason goes to stderr once if MRLEASE_UCM_DEBUG is set.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
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
	uint64_t id;
	struct ucm_lease *next;
};

static struct {
	struct mrlease_ctx *ctx;
	pthread_mutex_t lock;
	struct ucm_lease *table[UCM_BUCKETS];	/* by MR */
	bool on, forked;
	unsigned long leases, breaks;		/* for the tests */
} src = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct ibv_mr *(*real_reg_mr)(struct ibv_pd *, void *, size_t, int);
static struct ibv_mr *(*real_reg_mr_iova)(struct ibv_pd *, void *, size_t, uint64_t, int);
static struct ibv_mr *(*real_reg_mr_iova2)(struct ibv_pd *, void *, size_t, uint64_t,
					   unsigned int);
static int (*real_dereg_mr)(struct ibv_mr *);

static int src_start(void);

static void src_debug(const char *what, int err)
{
	if (getenv("MRLEASE_UCM_DEBUG"))
		fprintf(stderr, "libmrlease-ucm: %s: %s\n", what, mrlease_strerror(err));
}

static struct ucm_lease **src_bucket(const struct ibv_mr *mr)
{
	return &src.table[((uintptr_t)mr >> 6) * 0x9e3779b97f4a7c15ull >> 52 & (UCM_BUCKETS - 1)];
}

static struct ibv_mr *src_leased(struct ibv_mr *mr)
{
	struct ucm_lease *l;
	int ret;

	if (!mr || !src.on)
		return mr;
	if (src.forked) {
		pthread_mutex_lock(&src.lock);
		if (src.forked && !src_start())
			src.forked = false;
		pthread_mutex_unlock(&src.lock);
		if (src.forked)
			return mr;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return mr;
	l->mr = mr;
	ret = mrlease_register(src.ctx, mr->addr, mr->length, 0, 0, &l->id);
	if (ret) {
		/* Not leased: UCX's own view of this one is all there is. */
		src_debug("lease", ret);
		free(l);
		return mr;
	}
	pthread_mutex_lock(&src.lock);
	l->next = *src_bucket(mr);
	*src_bucket(mr) = l;
	src.leases++;
	pthread_mutex_unlock(&src.lock);
	return mr;
}

MRLEASE_EXPORT struct ibv_mr *ibv_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
					 int access)
{
	return src_leased(real_reg_mr(pd, addr, length, access));
}

MRLEASE_EXPORT struct ibv_mr *ibv_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length,
					      uint64_t iova, int access)
{
	if (!real_reg_mr_iova)
		return real_reg_mr_iova2(pd, addr, length, iova, (unsigned int)access);
	return src_leased(real_reg_mr_iova(pd, addr, length, iova, access));
}

MRLEASE_EXPORT struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length,
					       uint64_t iova, unsigned int access)
{
	return src_leased(real_reg_mr_iova2(pd, addr, length, iova, access));
}

MRLEASE_EXPORT int ibv_dereg_mr(struct ibv_mr *mr)
{
	struct ucm_lease **p, *l = NULL;

	pthread_mutex_lock(&src.lock);
	for (p = src_bucket(mr); *p; p = &(*p)->next)
		if ((*p)->mr == mr) {
			l = *p;
			*p = l->next;
			break;
		}
	pthread_mutex_unlock(&src.lock);
	if (l) {
		mrlease_unregister(src.ctx, l->id);
		free(l);
	}
	return real_dereg_mr(mr);
}

/*
 * Each record says which part of a lease changed: UCX drops its cached
 * registrations there (and later deregisters them, which ends the lease).
 */
static void *src_read(void *arg)
{
	struct pollfd pfd = { .fd = mrlease_get_fd(src.ctx), .events = POLLIN };
	struct mrlease_event ev;
	int ret;

	(void)arg;
	for (;;) {
		while (!(ret = mrlease_get_event(src.ctx, &ev))) {
			/* Ack first: a writer of a file we hold a layout lease on waits for it. */
			mrlease_ack_event(src.ctx, &ev);
			ucm_vm_munmap((void *)(uintptr_t)ev.start, ev.length);
			__atomic_fetch_add(&src.breaks, 1, __ATOMIC_RELAXED);
		}
		if (ret != -EAGAIN) {
			src_debug("reading lease events", ret);
			return NULL;
		}
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return NULL;
	}
}

/* Open a context and start its reader: 0 or a negative errno. */
static int src_start(void)
{
	pthread_t reader;
	int ret;

	ret = mrlease_open(&src.ctx, 0);
	if (ret) {
		src_debug("/dev/mrlease", ret);
		return ret;
	}
	ret = -pthread_create(&reader, NULL, src_read, NULL);
	if (ret) {
		src_debug("reader thread", ret);
		mrlease_close(src.ctx);
		src.ctx = NULL;
		return ret;
	}
	pthread_detach(reader);
	return 0;
}

/*
 * A forked child has the parent's context, which it may not use, and no
 * reader: it gets its own at its first registration, and the MRs it
 * inherited go unleased (UCX's events are ours by then).
 */
static void src_atfork_child(void)
{
	pthread_mutex_init(&src.lock, NULL);
	src.forked = true;
}

__attribute__((constructor)) static void src_init(void)
{
	/* libibverbs' own, at the versions we export (libmrlease-ucm.sym). */
	real_reg_mr = dlvsym(RTLD_NEXT, "ibv_reg_mr", "IBVERBS_1.1");
	real_reg_mr_iova = dlvsym(RTLD_NEXT, "ibv_reg_mr_iova", "IBVERBS_1.7");
	real_reg_mr_iova2 = dlvsym(RTLD_NEXT, "ibv_reg_mr_iova2", "IBVERBS_1.8");
	real_dereg_mr = dlvsym(RTLD_NEXT, "ibv_dereg_mr", "IBVERBS_1.1");
	if (!real_reg_mr || !real_reg_mr_iova2 || !real_dereg_mr || src_start())
		return;
	pthread_atfork(NULL, NULL, src_atfork_child);
	/* From here on, UCM reports unmaps only when we say so. */
	ucm_set_external_event(UCM_EVENT_VM_UNMAPPED);
	src.on = true;
}

/* What the source did, for tests: 0, or -ENODEV if it is not in use. */
MRLEASE_EXPORT int mrlease_ucm_counters(unsigned long counters[2])
{
	if (!src.on)
		return -ENODEV;
	counters[0] = __atomic_load_n(&src.leases, __ATOMIC_RELAXED);
	counters[1] = __atomic_load_n(&src.breaks, __ATOMIC_RELAXED);
	return 0;
}
