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
/*
 * libfabric 1.17 never unsubscribes: a range stays until it breaks.  Past
 * this many, new ranges go uncached rather than use up the user's leases.
 */
#define MON_MAX_RANGES	16384

/* A range the caches subscribed, and its lease. */
struct mon_range {
	uintptr_t addr;
	size_t len;
	uint64_t id;
	struct mrlease_valid valid;
	unsigned int refs;		/* subscriptions */
	bool dying;			/* broken: the reader is telling the caches */
	struct mon_range *next;		/* in its bucket */
	struct mon_range *id_next;	/* in its bucket of mon.by_id */
};

static struct {
	struct fid_mem_monitor fid;	/* what libfabric imported */
	struct mrlease_ctx *ctx;
	pthread_mutex_t lock;		/* the table; never held across notify */
	struct mon_range *table[MON_BUCKETS];	/* by (addr, len) */
	struct mon_range *by_id[MON_BUCKETS];	/* by lease id, for the reader */
	unsigned long ranges;
	pthread_t reader;
	bool imported, reading, forked, dead;
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
	uint64_t h = ((uint64_t)addr ^ (uint64_t)len << 29) * 0x9e3779b97f4a7c15ull;

	return &mon.table[h >> 52 & (MON_BUCKETS - 1)];
}

/*
 * The range for (@addr, @len) that a subscribe may share or an unsubscribe
 * may drop: one still armed, else (@any) whichever comes first.
 */
static struct mon_range *mon_find(uintptr_t addr, size_t len, bool any)
{
	struct mon_range *r, *first = NULL;

	for (r = *mon_bucket(addr, len); r; r = r->next) {
		if (r->addr != addr || r->len != len)
			continue;
		if (!r->dying && mrlease_valid(&r->valid))
			return r;
		if (!first)
			first = r;
	}
	return any ? first : NULL;
}

/*
 * A cache entry for (@addr, @len) may be used only while every range with
 * that key is armed: two caches (domains) may have subscribed it, and one
 * broken range means its pages changed under both.  A range's word is
 * cleared by the kernel before it reports the break, and a range stays in
 * the table (dying) until the caches were told.
 */
static bool mon_key_valid(uintptr_t addr, size_t len)
{
	const struct mon_range *r;
	bool found = false;

	for (r = *mon_bucket(addr, len); r; r = r->next) {
		if (r->addr != addr || r->len != len)
			continue;
		if (r->dying || !mrlease_valid(&r->valid))
			return false;
		found = true;
	}
	return found;
}

/* Lease ids are registry slots, lowest free first: their low bits spread well. */
static struct mon_range **mon_id_bucket(uint64_t id)
{
	return &mon.by_id[id & (MON_BUCKETS - 1)];
}

static void mon_link(struct mon_range *r)
{
	r->next = *mon_bucket(r->addr, r->len);
	*mon_bucket(r->addr, r->len) = r;
	r->id_next = *mon_id_bucket(r->id);
	*mon_id_bucket(r->id) = r;
	mon.ranges++;
}

static void mon_unlink(struct mon_range *gone)
{
	struct mon_range **p = mon_bucket(gone->addr, gone->len);

	while (*p != gone)
		p = &(*p)->next;
	*p = gone->next;
	for (p = mon_id_bucket(gone->id); *p != gone; p = &(*p)->id_next)
		;
	*p = gone->id_next;
	mon.ranges--;
}

/* The range of lease @id, or NULL (unsubscribed meanwhile).  Under mon.lock. */
static struct mon_range *mon_lease_range(uint64_t id)
{
	struct mon_range *r;

	for (r = *mon_id_bucket(id); r; r = r->id_next)
		if (r->id == id)
			return r;
	return NULL;
}

/* The cache's callbacks, called with its lock (mm_lock) held. */

static int mon_subscribe(struct fid_mem_monitor *fid, const void *addr,
			 size_t len)
{
	struct mon_range *r;
	int ret = 0;

	(void)fid;
	if (mon.forked || mon.dead)
		return -FI_ENOSYS;	/* the entry stays uncached */
	pthread_mutex_lock(&mon.lock);
	mon.subscribes++;
	r = mon_find((uintptr_t)addr, len, false);
	if (r) {
		r->refs++;
		goto unlock;
	}
	/* A broken one stays (dying) until the reader has told the caches. */
	if (mon.ranges >= MON_MAX_RANGES) {
		ret = -FI_ENOSPC;
		goto unlock;
	}
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
	if (!ret && !r->valid.word) {
		/*
		 * No word (an older module, or the user's words are used up):
		 * a hit could not be checked without a race with the reader.
		 */
		mrlease_unregister(mon.ctx, r->id);
		ret = -ENOSPC;
	}
	if (ret) {
		/* -EMFILE, -EUSERS, -ENOMEM, -EFAULT: libfabric does not cache it. */
		mon_info("lease of %p+%zu: %s; not cached\n", addr, len,
			 mrlease_strerror(ret));
		free(r);
		ret = -FI_ENOSPC;
		goto unlock;
	}
	mon_link(r);
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
	if (mon.forked)
		return;		/* the ranges are the parent's */
	pthread_mutex_lock(&mon.lock);
	r = mon_find((uintptr_t)addr, len, true);
	/* A dying range is freed by the reader, once the caches were told. */
	if (r && --r->refs == 0 && !r->dying) {
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
	bool valid;

	(void)fid;
	/* A child sees its parent's words, not its own mapping's. */
	if (mon.forked || mon.dead)
		return false;
	pthread_mutex_lock(&mon.lock);
	valid = mon_key_valid((uintptr_t)addr, len);
	if (valid)
		mon.hits++;
	else
		mon.misses++;
	pthread_mutex_unlock(&mon.lock);
	return valid;
}

/*
 * The reader: each record says which part of a lease changed.  The range
 * is marked dying (no hit on its key from here on: its word is clear too),
 * the ack goes first (a breaker on a file with a layout lease waits for it,
 * and the caches need nothing more), then the caches drop every entry
 * overlapping the change (notify takes the caches' locks: never with ours
 * held; libfabric 2.x unsubscribes from inside it), and the range goes.
 */
static void mon_handle(const struct mrlease_event *ev)
{
	struct mon_range *r;

	mrlease_ack_event(mon.ctx, ev);
	pthread_mutex_lock(&mon.lock);
	r = mon_lease_range(ev->id);
	if (r)
		r->dying = true;
	mon.breaks++;
	pthread_mutex_unlock(&mon.lock);
	if (mon.fid.import_ops && mon.fid.import_ops->notify)
		mon.fid.import_ops->notify(&mon.fid, (const void *)(uintptr_t)ev->start,
					   ev->length);
	if (!r)
		return;
	pthread_mutex_lock(&mon.lock);
	mon_unlink(r);
	pthread_mutex_unlock(&mon.lock);
	mrlease_unregister(mon.ctx, r->id);
	free(r);
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
		if (ret != -EAGAIN)
			break;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
	}
	/* Without a reader nothing may hit: every lookup misses from now on. */
	mon.dead = true;
	mon_warn("reading lease events: %s; the MR caches run uncached\n",
		 mrlease_strerror(ret));
	return NULL;
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
 * caches run uncached (subscribe fails, so libfabric keeps no entry).  The
 * child lets go of its copy of the parent's context: it may not unregister
 * or ack the parent's leases through it, and must not keep the parent's
 * kernel context (and the leases charged to the user) alive after the
 * parent.  mrlease_forget() takes no lock and frees nothing: a malloc lock
 * another parent thread held at fork() would stay held here.  Every
 * callback checks mon.forked before it touches mon.ctx.
 */
static void mon_atfork_child(void)
{
	mon.forked = true;
	mon.reading = false;
	pthread_mutex_init(&mon.lock, NULL);
	mrlease_forget(mon.ctx);
	mon.ctx = NULL;
}

static void mon_import(void)
{
	struct fid *cache;
	int ret;

	const char *choice = getenv("FI_MR_CACHE_MONITOR");

	if (mon.imported)
		return;
	/* The user's choice of monitor stands (FI_MR_CACHE_MONITOR=mrlease picks ours). */
	if (choice && *choice && strcmp(choice, "mrlease")) {
		mon_info("mrlease: FI_MR_CACHE_MONITOR=%s: libfabric keeps that one\n", choice);
		return;
	}
	ret = mrlease_open(&mon.ctx, 0);
	if (ret) {
		mon_info("mrlease: %s; libfabric keeps its own monitor\n",
			 mrlease_strerror(ret));
		return;
	}
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
