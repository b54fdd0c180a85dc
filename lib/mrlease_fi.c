// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libmrlease-fi: mrlease as libfabric's memory monitor, for unmodified
 * programs and Debian's own libfabric (1.13 or later: the import API of
 * rdma/fi_ext.h).
 *
 * libfabric loads every "*-fi.so" of its provider directory once its own
 * monitors are set up, and calls fi_prov_ini().  Ours imports a monitor
 * (fi_open("mr_cache") + fi_import_fid()) that becomes the default monitor
 * of every MR cache of the process, then returns a provider that offers no
 * fabric (getinfo: -FI_ENODATA), so that libfabric keeps the library loaded.
 * LD_PRELOAD works too: the constructor imports before libfabric starts.
 *
 * The cache subscribes each range it caches: we lease it (unpinned: a
 * change never waits for us) with a validity word.  On every cache hit the
 * cache asks valid(), with its lock held: one hash lookup and one load of
 * the word, which the kernel clears before it reports a break, so a hit
 * after a munmap, mremap, MAP_FIXED or MADV_DONTNEED of the range -- by a
 * raw system call too, or by another process truncating a file mapped
 * there -- misses.  A reader thread blocked in poll() on the lease fd turns
 * each break into the cache's notify (which the cache must never get from
 * inside valid()), then forgets the lease: libfabric 1.17 never
 * unsubscribes, so a broken range's next registration subscribes anew.
 *
 * Nothing changes when the module is not loaded, when another monitor was
 * imported first (Open MPI does that) or in a forked child: the program
 * runs with what it would have had, and the log (FI_LOG_LEVEL=info, or
 * warn for the second) says why.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rdma/fabric.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_ext.h>
#include <rdma/providers/fi_log.h>
#include <rdma/providers/fi_prov.h>

#include "mrlease.h"

#define MRLEASE_EXPORT __attribute__((visibility("default")))

#define MON_BUCKETS	4096	/* power of two */

/* A range the caches subscribed, and its lease. */
struct mon_range {
	uintptr_t addr;
	size_t len;
	uint64_t id;
	struct mrlease_valid valid;
	unsigned int refs;		/* subscriptions */
	struct mon_range *next;		/* in its bucket */
};

static struct {
	struct fid_mem_monitor fid;	/* what libfabric imported */
	struct mrlease_ctx *ctx;
	const volatile struct mrlease_status *status;
	pthread_mutex_t lock;		/* the table; never held across notify */
	struct mon_range *table[MON_BUCKETS];
	unsigned long ranges;
	pthread_t reader;
	bool imported, reading, forked;
	/* For the tests: what happened, read by mrlease_fi_counters(). */
	unsigned long subscribes, leases, hits, misses, breaks;
} mon = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct fi_provider mrl_prov;

#define mon_log(level, ...) \
	fi_log(&mrl_prov, level, FI_LOG_MR, __func__, __LINE__, __VA_ARGS__)
#define mon_info(...)	do {						\
	if (fi_log_enabled(&mrl_prov, FI_LOG_INFO, FI_LOG_MR))		\
		mon_log(FI_LOG_INFO, __VA_ARGS__);			\
} while (0)
#define mon_warn(...)	do {						\
	if (fi_log_enabled(&mrl_prov, FI_LOG_WARN, FI_LOG_MR))		\
		mon_log(FI_LOG_WARN, __VA_ARGS__);			\
} while (0)

static struct mon_range **mon_bucket(uintptr_t addr, size_t len)
{
	uint64_t h = ((uint64_t)addr >> 12) * 0x9e3779b97f4a7c15ull ^ len;

	return &mon.table[(h >> 20) & (MON_BUCKETS - 1)];
}

static struct mon_range *mon_find(uintptr_t addr, size_t len)
{
	struct mon_range *r;

	for (r = *mon_bucket(addr, len); r; r = r->next)
		if (r->addr == addr && r->len == len)
			return r;
	return NULL;
}

static void mon_unlink(struct mon_range *gone)
{
	struct mon_range **p = mon_bucket(gone->addr, gone->len);

	while (*p != gone)
		p = &(*p)->next;
	*p = gone->next;
	mon.ranges--;
}

/* Unlink and return the range of lease @id, or NULL.  Under mon.lock. */
static struct mon_range *mon_take_lease(uint64_t id)
{
	struct mon_range *r;
	unsigned int b;

	for (b = 0; b < MON_BUCKETS; b++)
		for (r = mon.table[b]; r; r = r->next)
			if (r->id == id) {
				mon_unlink(r);
				return r;
			}
	return NULL;
}

/*
 * A range still valid: its word says ARMED.  Without a word (an older
 * module, or more leases than words) any unread event makes every range
 * doubtful until the reader has handled it.
 */
static bool mon_range_valid(const struct mon_range *r)
{
	if (r->valid.word)
		return mrlease_valid(&r->valid);
	return !mrlease_status_pending(mon.status);
}

/* The cache's callbacks, called with its lock (mm_lock) held. */

static int mon_subscribe(struct fid_mem_monitor *fid, const void *addr,
			 size_t len)
{
	struct mon_range *r;
	int ret = 0;

	(void)fid;
	if (mon.forked)
		return -FI_ENOSYS;	/* the entry stays uncached */
	pthread_mutex_lock(&mon.lock);
	mon.subscribes++;
	r = mon_find((uintptr_t)addr, len);
	if (r && mon_range_valid(r)) {
		r->refs++;
		goto unlock;
	}
	/* A broken one the reader has not handled yet stays until it has. */
	r = calloc(1, sizeof(*r));
	if (!r) {
		ret = -FI_ENOMEM;
		goto unlock;
	}
	r->addr = (uintptr_t)addr;
	r->len = len;
	r->refs = 1;
	ret = mrlease_register_valid(mon.ctx, addr, len, 0, 0, 0, &r->id,
				     &r->valid);
	if (ret) {
		/* -EMFILE, -EUSERS, -ENOMEM, -EFAULT: libfabric does not cache it. */
		mon_info("lease of %p+%zu: %s; not cached\n", addr, len,
			 mrlease_strerror(ret));
		free(r);
		goto unlock;
	}
	r->next = *mon_bucket(r->addr, len);
	*mon_bucket(r->addr, len) = r;
	mon.ranges++;
	mon.leases++;
unlock:
	pthread_mutex_unlock(&mon.lock);
	return ret;
}

static void mon_unsubscribe(struct fid_mem_monitor *fid, const void *addr,
			    size_t len)
{
	struct mon_range *r;
	uint64_t id = 0;

	(void)fid;
	pthread_mutex_lock(&mon.lock);
	r = mon_find((uintptr_t)addr, len);
	if (r && --r->refs == 0) {
		mon_unlink(r);
		id = r->id;
		free(r);
	}
	pthread_mutex_unlock(&mon.lock);
	if (id)
		mrlease_unregister(mon.ctx, id);
}

static bool mon_valid(struct fid_mem_monitor *fid, const void *addr,
		      size_t len)
{
	const struct mon_range *r;
	bool valid;

	(void)fid;
	pthread_mutex_lock(&mon.lock);
	r = mon_find((uintptr_t)addr, len);
	valid = r && mon_range_valid(r);
	if (valid)
		mon.hits++;
	else
		mon.misses++;
	pthread_mutex_unlock(&mon.lock);
	return valid;
}

/*
 * The reader: each record says which part of a lease changed.  The cache
 * drops every entry overlapping it (notify takes the cache's locks: never
 * call it with ours), and the lease goes.
 */
static void mon_handle(const struct mrlease_event *ev)
{
	struct mon_range *r;

	pthread_mutex_lock(&mon.lock);
	r = mon_take_lease(ev->id);
	mon.breaks++;
	pthread_mutex_unlock(&mon.lock);
	if (mon.fid.import_ops && mon.fid.import_ops->notify)
		mon.fid.import_ops->notify(&mon.fid, (const void *)(uintptr_t)ev->start,
					   ev->length);
	mrlease_ack_event(mon.ctx, ev);
	if (r) {
		mrlease_unregister(mon.ctx, r->id);
		free(r);
	}
}

static void *mon_read(void *arg)
{
	struct pollfd pfd = { .fd = mrlease_get_fd(mon.ctx), .events = POLLIN };
	struct mrlease_event ev;
	int ret;

	(void)arg;
	for (;;) {
		while (!(ret = mrlease_get_event(mon.ctx, &ev)))
			mon_handle(&ev);
		if (ret != -EAGAIN) {
			mon_warn("reading lease events: %s; the MR caches go on without them\n",
				 mrlease_strerror(ret));
			return NULL;
		}
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return NULL;
	}
}

static int mon_start(struct fid_mem_monitor *fid)
{
	int ret = 0;

	(void)fid;
	pthread_mutex_lock(&mon.lock);
	if (!mon.reading && !mon.forked) {
		ret = -pthread_create(&mon.reader, NULL, mon_read, NULL);
		if (!ret) {
			pthread_detach(mon.reader);
			mon.reading = true;
		}
	}
	pthread_mutex_unlock(&mon.lock);
	return ret;
}

/* The reader stays: it may be reading, and the library is never unloaded. */
static void mon_stop(struct fid_mem_monitor *fid)
{
	(void)fid;
}

static struct fi_ops_mem_monitor mon_ops = {
	.size = sizeof(struct fi_ops_mem_monitor),
	.start = mon_start,
	.stop = mon_stop,
	.subscribe = mon_subscribe,
	.unsubscribe = mon_unsubscribe,
	.valid = mon_valid,
};

/*
 * After fork() the leases and the reader are the parent's: the child's
 * caches run uncached (subscribe fails, so libfabric keeps no entry), which
 * is correct, only slower.
 */
static void mon_atfork_child(void)
{
	mon.forked = true;
	mon.reading = false;
	pthread_mutex_init(&mon.lock, NULL);
}

static void mon_import(void)
{
	struct fid *cache;
	int ret;

	if (mon.imported)
		return;
	ret = mrlease_open(&mon.ctx, 0);
	if (ret) {
		mon_info("mrlease: %s; libfabric keeps its own monitor\n",
			 mrlease_strerror(ret));
		return;
	}
	mon.status = mrlease_get_status(mon.ctx);
	mon.fid.fid.fclass = FI_CLASS_MEM_MONITOR;
	mon.fid.export_ops = &mon_ops;
	ret = fi_open(FI_VERSION(1, 13), "mr_cache", NULL, 0, 0, &cache, NULL);
	if (!ret) {
		ret = fi_import_fid(cache, &mon.fid.fid, 0);
		fi_close(cache);
	}
	if (ret) {
		/* -FI_EBUSY: imported before us, or a cache already runs. */
		mon_warn("mrlease: libfabric refused the monitor (%s); it keeps %s\n",
			 fi_strerror(-ret), ret == -FI_EBUSY ?
			 "the one imported first" : "its own");
		mrlease_close(mon.ctx);
		mon.ctx = NULL;
		return;
	}
	pthread_atfork(NULL, NULL, mon_atfork_child);
	mon.imported = true;
	mon_info("mrlease: the MR caches use mrlease leases\n");
}

static int mrl_getinfo(uint32_t version, const char *node, const char *service,
		       uint64_t flags, const struct fi_info *hints,
		       struct fi_info **info)
{
	(void)version, (void)node, (void)service, (void)flags, (void)hints;
	*info = NULL;
	return -FI_ENODATA;
}

static int mrl_fabric(struct fi_fabric_attr *attr, struct fid_fabric **fabric,
		      void *context)
{
	(void)attr, (void)fabric, (void)context;
	return -FI_ENODATA;
}

static void mrl_cleanup(void)
{
}

static struct fi_provider mrl_prov = {
	.version = FI_VERSION(1, 0),
	.fi_version = FI_VERSION(1, 13),
	.name = "mrlease",
	.getinfo = mrl_getinfo,
	.fabric = mrl_fabric,
	.cleanup = mrl_cleanup,
};

MRLEASE_EXPORT struct fi_provider *fi_prov_ini(void)
{
	mon_import();
	return &mrl_prov;
}

/* LD_PRELOAD: import before libfabric sets up its monitors (it keeps ours). */
__attribute__((constructor)) static void mon_preload(void)
{
	const char *preload = getenv("LD_PRELOAD");

	if (preload && strstr(preload, "mrlease-fi"))
		mon_import();
}

/* What the monitor did, for tests: 0, or -ENODEV if it is not in use. */
MRLEASE_EXPORT int mrlease_fi_counters(unsigned long counters[6])
{
	if (!mon.imported)
		return -ENODEV;
	pthread_mutex_lock(&mon.lock);
	counters[0] = mon.subscribes;
	counters[1] = mon.leases;
	counters[2] = mon.hits;
	counters[3] = mon.misses;
	counters[4] = mon.breaks;
	counters[5] = mon.ranges;
	pthread_mutex_unlock(&mon.lock);
	return 0;
}
