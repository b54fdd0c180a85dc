// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: for $MRLEASE_STRESS_SECS (default 60) seconds, in one holder
 * process
 *   - two registrar threads register (pinned or not, WAIT_SELF, short
 *     timeouts), unregister, restore and query leases on random sub-ranges
 *     of anonymous, shared and DAX file (ext4 and xfs) mappings, in two
 *     contexts;
 *   - an acker thread reads the events and acks after a random delay (or
 *     never, so that the timeout revokes);
 *   - a mapper thread munmaps and maps back, mremaps (move, shrink, grow),
 *     madvises DONTNEED and mprotects the ranges;
 *   - a forker thread forks children that write to their copy and exit, and
 *     then writes to the parent's copy (COW);
 *   - a truncator thread truncates, extends, punches and rewrites the
 *     leased DAX files;
 *   - a netlink thread dumps, gets, revokes and reads the stats;
 * and around it a foreign breaker process truncating, punching and writing
 * the same files, a victim process holding pinned leases on them that
 * never acks and is SIGKILLed (and restarted) at random, and, on the XFS
 * file, a flipper process registering and unregistering a lease (with its
 * layout lease) as fast as it can while a scribbler process writes the file
 * in a tight loop, so that lm_break keeps meeting leases being torn down
 * (issue 10's first defect).
 *
 * Afterwards: every lease unregistered and the contexts closed, the global
 * lease and pinned-page counters (netlink) back where they were, VmPin 0,
 * the module's refcount 0 (it could unload), and no operation failed with
 * an errno the uAPI does not document for it.  Prints the operation counts.
 * $MRLEASE_STRESS_SEED makes the random choices repeatable (mostly).
 *
 * On a module built for the race lane (MRLEASE_RACE_WINDOWS=1), a tenth of
 * the allocations of a lease's break part in the mm notifier fail
 * (parameter race_nomem_pct; $MRLEASE_STRESS_NOMEM sets the percentage),
 * so that breaks waiting for memory for their record (lease.c) race with
 * everything else too.
 *
 * A truncate, punch or write that waits more than 15 s fails the test as
 * starved (see repro-restore-starves-breaker.c).  $MRLEASE_STRESS_DAX=nopin
 * (no pinned leases on DAX ranges in the holder) or =none (no leases on
 * them at all; the victim still pins them) leave those races out.
 */
#include "harness.h"
#include "nl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <dirent.h>
#include <sys/stat.h>

#define NSLOTS		10
#define SLOT_PAGES	64
#define DAX_PAGES	512	/* 2 MiB files: PMD-sized DAX faults too */
#define MAX_LEASES	1024

enum kind { K_ANON, K_SHM, K_DAX };

struct slot {
	enum kind kind;
	int fd;			/* shm / DAX file */
	const char *fs;		/* "ext4", "xfs" for DAX */
	char *addr;		/* home address (fixed) */
	size_t pages;
	char *shadow;		/* where mremap moves it, same size, ours */
	pthread_rwlock_t lock;	/* writers: map changes; readers: memory writes */
	bool dead;		/* a hole was taken by someone else: hands off */
};

struct lease {
	uint64_t id;
	int ctx;
	int64_t armed_ns;	/* last successful register or restore */
};

static struct {
	int secs;
	uint64_t seed;
	atomic_bool stop;
	int ctx[2];
	/*
	 * ctx[0]'s status page, mapped before any thread starts: the mapper
	 * shrinks, moves and unmaps slots, and an mmap() landing in a slot's
	 * space while it is away would be clobbered or unmapped with it.
	 */
	const volatile struct mrlease_status *status;
	int zero;
	struct slot slots[NSLOTS];
	int nslots;
	pthread_mutex_t lock;
	struct lease leases[MAX_LEASES];
	int nleases;
	char dax_path[2][256];
	int ndax;
	int xfs;		/* index of the XFS file in dax_path, or -1 */
	atomic_int unexpected;
	struct nl_stats base;
	int dax_mode;		/* $MRLEASE_STRESS_DAX: 2 all leases, 1 no pinned ones, 0 none on DAX */
} S;

/*
 * When the truncator thread (0) and the foreign breaker process (1) entered
 * their current file operation, 0 when not in one: in shared memory, so that
 * main can tell a starved truncate from a slow one.  A truncate waits at most
 * for a lease timeout (<= 1 s here) or the victim's death (<= 1.6 s).
 */
#define STARVED_MS	15000
static struct fsops {
	_Atomic int64_t since_ns[2];
	_Atomic int op[2];		/* what: see op_names */
	atomic_ulong foreign_ops;
	atomic_ulong flips;		/* flipper: register + unregister */
	atomic_ulong scribbles;		/* scribbler: writes */
} *F;

static const char *const op_names[] = { "?", "truncate", "hole punch", "write", "rewrite" };

/* Note which file operation thread/process @who starts (0 when it is over). */
static void fs_op(int who, int op)
{
	F->op[who] = op;
	F->since_ns[who] = op ? t_now_ns() : 0;
}

/* Operation counters, printed at the end. */
#define COUNTERS(X) X(registers) X(register_fails) X(unregisters) X(restores) X(restore_fails) \
	X(queries) X(events) X(acks) X(ack_fails) X(no_acks) X(munmaps) X(mremaps) X(madvises) X(mprotects) \
	X(cow_writes) X(forks) X(truncates) X(punches) X(rewrites) X(victim_kills) \
	X(nl_dumps) X(nl_gets) X(nl_requests) X(nl_revokes) X(status_reads) X(pin_races) X(foreign_ops) \
	X(flips) X(scribbles)
#define DECL(n) atomic_ulong n;
static struct { COUNTERS(DECL) } C;
#define INC(n) atomic_fetch_add(&C.n, 1)

/* ---- randomness ------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __thread uint64_t rs;

static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(splitmix(&rs) % n) : 0;
}

static void seed_thread(int k)
{
	rs = S.seed * 1000003ULL + (uint64_t)k;
}

static void sleep_us(unsigned int us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- errno bookkeeping ------------------------------------------------ */

static void unexpected(const char *what, int err)
{
	if (atomic_fetch_add(&S.unexpected, 1) < 20)
		t_info("unexpected: %s failed with %s", what, t_errname(err));
}

static bool one_of(int e, const int *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (e == set[i])
			return true;
	return false;
}
#define ONE_OF(e, ...) one_of(e, (const int[]){ __VA_ARGS__ }, sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

/* ---- memory ----------------------------------------------------------- */

/* Write to [p, p + len) from the kernel: an unmapped or truncated range gives EFAULT, not a signal. */
static void kwrite(struct slot *s, char *p, size_t len)
{
	pthread_rwlock_rdlock(&s->lock);
	if (!s->dead && read(S.zero, p, len) > 0)
		INC(cow_writes);
	pthread_rwlock_unlock(&s->lock);
}

/* Map @s at @at (a hole we just made, or MAP_FIXED over our own placeholder when @fixed). */
static bool slot_map(struct slot *s, char *at, size_t off_pages, size_t pages, bool fixed)
{
	int flags = fixed ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	void *p;

	switch (s->kind) {
	case K_ANON:
		p = mmap(at, PG(pages), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
		break;
	default:
		p = mmap(at, PG(pages), PROT_READ | PROT_WRITE, MAP_SHARED | flags, s->fd,
			 (off_t)PG(off_pages));
		break;
	}
	if (p == MAP_FAILED || p != at) {
		if (p != MAP_FAILED)
			munmap(p, PG(pages));
		s->dead = true;
		return false;
	}
	return true;
}

/* A placeholder that keeps others' mappings out of our reservations. */
static void placeholder(struct slot *s, char *at, size_t pages)
{
	void *p = mmap(at, PG(pages), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != at) {
		if (p != MAP_FAILED)
			munmap(p, PG(pages));
		s->dead = true;
	}
}

/*
 * (Re)write the whole file in one write(): on XFS every write() breaks the
 * layout leases of other processes and waits for their acks.
 */
static void dax_fill(int fd, size_t pages)
{
	static char buf[DAX_PAGES << 12];
	size_t len = PG(pages) < sizeof(buf) ? PG(pages) : sizeof(buf);

	if (!buf[0])
		memset(buf, 0x5a, sizeof(buf));
	if (pwrite(fd, buf, len, 0) != (ssize_t)len)
		t_fail("write DAX file: %s", t_errname(errno));
}

static void add_slot(enum kind kind, int fd, const char *fs, size_t pages)
{
	struct slot *s = &S.slots[S.nslots++];
	/* Home and shadow side by side in one reservation. */
	char *res = mmap(NULL, PG(2 * pages), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (res == MAP_FAILED)
		t_fail("mmap reservation: %s", t_errname(errno));
	s->kind = kind;
	s->fd = fd;
	s->fs = fs;
	s->pages = pages;
	s->addr = res;
	s->shadow = res + PG(pages);
	pthread_rwlock_init(&s->lock, NULL);
	if (!slot_map(s, s->addr, 0, pages, true))
		t_fail("mapping slot %d", S.nslots - 1);
	if (kind == K_ANON)
		madvise(s->addr, PG(pages), S.nslots % 2 ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
	kwrite(s, s->addr, PG(pages));
}

static int open_dax(const char *var, const char *fs)
{
	const char *dir = getenv(var);
	char *path = S.dax_path[S.ndax];
	int fd;

	if (!dir || !*dir)
		return -1;
	snprintf(path, 256, "%s/stress.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		t_fail("create %s: %s", path, t_errname(errno));
	dax_fill(fd, DAX_PAGES);
	t_info("%s DAX file %s", fs, path);
	S.ndax++;
	return fd;
}

/* ---- lease table ------------------------------------------------------ */

static void lease_add(uint64_t id, int ctx)
{
	pthread_mutex_lock(&S.lock);
	S.leases[S.nleases++] = (struct lease){ id, ctx, t_now_ns() };
	pthread_mutex_unlock(&S.lock);
}

static void lease_armed(uint64_t id)
{
	pthread_mutex_lock(&S.lock);
	for (int k = 0; k < S.nleases; k++)
		if (S.leases[k].id == id)
			S.leases[k].armed_ns = t_now_ns();
	pthread_mutex_unlock(&S.lock);
}

/* A random lease; removed from the table if @take. */
static bool lease_pick(struct lease *out, bool take)
{
	bool found = false;

	pthread_mutex_lock(&S.lock);
	if (S.nleases) {
		int i = (int)rnd((uint32_t)S.nleases);

		*out = S.leases[i];
		if (take)
			S.leases[i] = S.leases[--S.nleases];
		found = true;
	}
	pthread_mutex_unlock(&S.lock);
	return found;
}

/* ---- the threads -------------------------------------------------------- */

static void *registrar(void *arg)
{
	seed_thread((int)(intptr_t)arg);
	while (!S.stop) {
		uint32_t what = rnd(100);
		struct lease l;
		int r;

		if (what < 45 && S.nleases < MAX_LEASES - 8) {
			struct slot *s = &S.slots[rnd((uint32_t)S.nslots)];
			size_t first = rnd((uint32_t)s->pages), n = 1 + rnd((uint32_t)(s->pages - first));
			static const uint32_t flagset[] = { 0, MRLEASE_REG_PIN, MRLEASE_REG_PIN,
							    MRLEASE_REG_PIN | MRLEASE_REG_WAIT_SELF };
			struct mrlease_register reg;
			int ctx = S.ctx[rnd(2)];
			uint32_t flags = flagset[rnd(4)];

			if (s->kind == K_DAX && S.dax_mode < 2)
				flags = 0;
			if (s->kind == K_DAX && S.dax_mode == 0)
				continue;
			reg = (struct mrlease_register){ .addr = (uintptr_t)(s->addr + PG(first)), .len = PG(n),
							 .cookie = rnd(1000), .flags = flags,
							 .timeout_ms = 20 + rnd(1000) };
			r = t_ioctl(ctx, MRLEASE_IOC_REGISTER, &reg);
			if (!r) {
				INC(registers);
				lease_add(reg.id, ctx);
			} else {
				INC(register_fails);
				/*
				 * EOPNOTSUPP: the range turned from anonymous
				 * to fsdax between the module's VMA check and
				 * its long-term pin (mremap racing the arm).
				 */
				if (r == -EOPNOTSUPP)
					INC(pin_races);
				else if (!ONE_OF(-r, EFAULT, EAGAIN, ENOMEM, EINTR))
					unexpected("register", -r);
			}
		} else if (what < 70) {
			if (!lease_pick(&l, true))
				continue;
			r = t_unregister(l.ctx, l.id);
			if (r)
				unexpected("unregister", -r);
			else
				INC(unregisters);
		} else if (what < 95) {
			if (!lease_pick(&l, false))
				continue;
			r = t_ioctl(l.ctx, MRLEASE_IOC_RESTORE, &(struct mrlease_restore){ .id = l.id });
			if (!r) {
				lease_armed(l.id);
				INC(restores);
			} else {
				INC(restore_fails);
				/* ENOENT: unregistered meanwhile by the other registrar. */
				if (r == -EOPNOTSUPP)
					INC(pin_races);	/* as for register; undocumented for restore */
				else if (!ONE_OF(-r, EBUSY, EFAULT, EAGAIN, ENOMEM, ENOENT, EINTR))
					unexpected("restore", -r);
			}
		} else {
			struct mrlease_query q;

			if (!lease_pick(&l, false))
				continue;
			r = t_query(l.ctx, l.id, &q);
			if (r && r != -ENOENT)
				unexpected("query", -r);
			INC(queries);
		}
	}
	return NULL;
}

static void *acker(void *arg)
{
	seed_thread((int)(intptr_t)arg);
	while (!S.stop) {
		struct pollfd p[2] = { { .fd = S.ctx[0], .events = POLLIN }, { .fd = S.ctx[1], .events = POLLIN } };
		struct mrlease_event ev[8];

		if (poll(p, 2, 50) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(p[i].revents & POLLIN))
				continue;
			n = read(S.ctx[i], ev, sizeof(ev));
			if (n < 0) {
				if (errno != EAGAIN)
					unexpected("read", errno);
				continue;
			}
			if (n % sizeof(ev[0]))
				unexpected("read (partial record)", EIO);
			for (size_t k = 0; k < (size_t)n / sizeof(ev[0]); k++) {
				int r;

				INC(events);
				if (ev[k].type != MRLEASE_EVENT_DECOHERENCE)
					continue;
				if (rnd(10) == 0) {
					INC(no_acks);	/* let the timeout revoke it */
					continue;
				}
				sleep_us(rnd(20000));
				r = t_ack(S.ctx[i], ev[k].id, ev[k].generation);
				if (!r) {
					INC(acks);
				} else {
					INC(ack_fails);
					/* Revoked, restored, unregistered or re-broken meanwhile. */
					if (!ONE_OF(-r, ETIMEDOUT, ESTALE, EINVAL, ENOENT))
						unexpected("ack", -r);
				}
			}
		}
	}
	return NULL;
}

static void *mapper(void *arg)
{
	seed_thread((int)(intptr_t)arg);
	while (!S.stop) {
		struct slot *s = &S.slots[rnd((uint32_t)S.nslots)];
		size_t first = rnd((uint32_t)s->pages), n = 1 + rnd((uint32_t)(s->pages - first));
		uint32_t what = rnd(5);

		sleep_us(rnd(3000));
		pthread_rwlock_wrlock(&s->lock);
		if (s->dead) {
			pthread_rwlock_unlock(&s->lock);
			continue;
		}
		switch (what) {
		case 0:	/* munmap a part, map it back */
			if (!munmap(s->addr + PG(first), PG(n)))
				INC(munmaps);
			slot_map(s, s->addr + PG(first), first, n, false);
			break;
		case 1:	/* move the whole mapping to the shadow and back */
			if (mremap(s->addr, PG(s->pages), PG(s->pages), MREMAP_MAYMOVE | MREMAP_FIXED,
				   s->shadow) == s->shadow) {
				INC(mremaps);
				placeholder(s, s->addr, s->pages);
				if (!s->dead && mremap(s->shadow, PG(s->pages), PG(s->pages),
						       MREMAP_MAYMOVE | MREMAP_FIXED, s->addr) == s->addr)
					placeholder(s, s->shadow, s->pages);
			}
			break;
		case 2:	/* shrink in place, grow back */
			if (s->pages > 1 && mremap(s->addr, PG(s->pages), PG(s->pages / 2), 0) == s->addr) {
				INC(mremaps);
				if (mremap(s->addr, PG(s->pages / 2), PG(s->pages), 0) != s->addr)
					slot_map(s, s->addr + PG(s->pages / 2), s->pages / 2,
						 s->pages - s->pages / 2, false);
			}
			break;
		case 3:
			if (!madvise(s->addr + PG(first), PG(n), MADV_DONTNEED))
				INC(madvises);
			break;
		case 4:
			if (!mprotect(s->addr + PG(first), PG(n), PROT_READ) &&
			    !mprotect(s->addr + PG(first), PG(n), PROT_READ | PROT_WRITE))
				INC(mprotects);
			break;
		}
		pthread_rwlock_unlock(&s->lock);
	}
	return NULL;
}

static void *forker(void *arg)
{
	seed_thread((int)(intptr_t)arg);
	while (!S.stop) {
		struct slot *s = &S.slots[rnd((uint32_t)S.nslots)];
		size_t first = rnd((uint32_t)s->pages), n = 1 + rnd((uint32_t)(s->pages - first));
		pid_t pid;
		int st;

		sleep_us(rnd(20000));
		pid = fork();
		if (pid < 0) {
			unexpected("fork", errno);
			continue;
		}
		if (pid == 0) {
			/* Our own copy; a range unmapped at the fork just gives EFAULT. */
			if (read(S.zero, s->addr + PG(first), PG(n)) < 0)
				_exit(0);
			_exit(0);
		}
		INC(forks);
		kwrite(s, s->addr + PG(first), PG(n));
		waitpid(pid, &st, 0);
	}
	return NULL;
}

static void *truncator(void *arg)
{
	seed_thread((int)(intptr_t)arg);
	while (!S.stop) {
		struct slot *s = &S.slots[rnd((uint32_t)S.nslots)];
		size_t first = rnd(DAX_PAGES), n = 1 + rnd((uint32_t)(DAX_PAGES - first));

		if (s->kind != K_DAX)
			continue;
		sleep_us(rnd(20000));
		if (rnd(2)) {
			fs_op(0, 1);
			if (!ftruncate(s->fd, (off_t)PG(first)))
				INC(truncates);
			if (ftruncate(s->fd, (off_t)PG(DAX_PAGES)))
				unexpected("ftruncate (extend)", errno);
		} else {
			fs_op(0, 2);
			if (!fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)PG(first),
				       (off_t)PG(n)))
				INC(punches);
		}
		/* Allocate the blocks again, so that there is something to pin. */
		fs_op(0, 4);
		dax_fill(s->fd, DAX_PAGES);
		fs_op(0, 0);
		INC(rewrites);
	}
	return NULL;
}

static void *netlinker(void *arg)
{
	struct nl nl;
	int r;

	seed_thread((int)(intptr_t)arg);
	r = nl_open(&nl, 10000);
	if (r) {
		unexpected("netlink open", -r);
		return NULL;
	}
	while (!S.stop) {
		struct nl_stats st;
		unsigned long count;
		struct lease l;

		switch (rnd(4)) {
		case 0:
			r = nl_dump_count(&nl, &count, NULL);
			if (r)
				unexpected("netlink dump", -r);
			INC(nl_dumps);
			break;
		case 1:
			if (!lease_pick(&l, false))
				break;
			r = nl_request(&nl, MRLEASE_CMD_LEASE_GET, 0, l.id, NULL, NULL, NULL);
			if (r && r != -ENOENT)
				unexpected("netlink get", -r);
			INC(nl_gets);
			break;
		case 2:
			r = nl_stats(&nl, &st);
			if (r)
				unexpected("netlink stats", -r);
			INC(nl_requests);
			break;
		case 3:
			if (rnd(4) || !lease_pick(&l, false))
				break;
			r = nl_request(&nl, MRLEASE_CMD_LEASE_REVOKE, 0, l.id, NULL, NULL, NULL);
			/* EINVAL: already acked or revoked. */
			if (r && r != -ENOENT && r != -EINVAL)
				unexpected("netlink revoke", -r);
			INC(nl_revokes);
			break;
		}
		if (r == -EAGAIN)
			t_info("netlink: no reply within 10 s");
		sleep_us(rnd(5000));
	}
	nl_close(&nl);
	return NULL;
}

static void *status_reader(void *arg)
{
	const volatile struct mrlease_status *st = S.status;
	uint64_t last = 0;

	(void)arg;
	while (!S.stop) {
		uint64_t seq = st->event_seq;

		if (seq != last)
			INC(status_reads);
		last = seq;
		sleep_us(1000);
	}
	return NULL;
}

/* ---- the other processes ---------------------------------------------- */

/* Truncate, punch and write the DAX files from another address space. */
static void foreign_breaker(void)
{
	int fds[2], n = 0;

	prctl(PR_SET_NAME, "mrl-foreign");
	for (int i = 0; i < S.ndax; i++) {
		fds[n] = open(S.dax_path[i], O_RDWR | O_CLOEXEC);
		if (fds[n] >= 0)
			n++;
	}
	if (!n)
		_exit(0);
	for (;;) {
		int fd = fds[rnd((uint32_t)n)];
		size_t first = rnd(DAX_PAGES);

		sleep_us(rnd(50000));
		switch (rnd(3)) {
		case 0:
			fs_op(1, 1);
			if (ftruncate(fd, (off_t)PG(first)) || ftruncate(fd, (off_t)PG(DAX_PAGES)))
				_exit(2);
			break;
		case 1:
			fs_op(1, 2);
			if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)PG(first), (off_t)t_pg))
				_exit(3);
			break;
		case 2:	/* breaks XFS layout leases */
			fs_op(1, 3);
			if (pwrite(fd, "f", 1, (off_t)PG(first)) != 1)
				_exit(4);
			break;
		}
		fs_op(1, 4);
		dax_fill(fd, DAX_PAGES);
		fs_op(1, 0);
		F->foreign_ops++;
	}
}

/* The XFS file's index in S.dax_path, or -1. */
static int xfs_index(void)
{
	return S.xfs;
}

/*
 * Register and unregister a lease on a page of the XFS file, as fast as we
 * can: each takes and gives back a layout lease, which the scribbler's
 * writes keep breaking.  A teardown that let lm_break re-queue work on a
 * lease being freed panicked the kernel within seconds.
 */
static void flipper(void)
{
	int ctx, fd = open(S.dax_path[xfs_index()], O_RDWR | O_CLOEXEC);
	char *map;

	prctl(PR_SET_NAME, "mrl-flipper");
	if (fd < 0)
		_exit(1);
	map = mmap(NULL, PG(4), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		_exit(1);
	ctx = t_ctx();
	for (;;) {
		struct mrlease_register l;

		if (!t_register(ctx, map + PG(rnd(4)), t_pg, 0, 0, 1000, &l))
			t_unregister(ctx, l.id);
		F->flips++;
	}
}

static void scribbler(void)
{
	int fd = open(S.dax_path[xfs_index()], O_RDWR | O_CLOEXEC);

	prctl(PR_SET_NAME, "mrl-scribbler");
	if (fd < 0)
		_exit(1);
	for (;;) {
		if (pwrite(fd, "s", 1, (off_t)PG(rnd(4)) + 100) != 1)
			_exit(2);
		F->scribbles++;
		if (!rnd(8))
			sleep_us(rnd(2000));
	}
}

/* Hold pinned leases on the DAX files and on anonymous memory, never ack. */
static void victim(void)
{
	int ctx, fds[2], n = 0;
	char *maps[3];

	prctl(PR_SET_NAME, "mrl-victim");
	ctx = t_ctx();
	for (int i = 0; i < S.ndax; i++) {
		fds[n] = open(S.dax_path[i], O_RDWR | O_CLOEXEC);
		if (fds[n] < 0)
			continue;
		maps[n] = mmap(NULL, PG(DAX_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, fds[n], 0);
		if (maps[n] == MAP_FAILED)
			_exit(1);
		n++;
	}
	maps[n] = mmap(NULL, PG(SLOT_PAGES), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (maps[n] == MAP_FAILED)
		_exit(1);
	if (read(S.zero, maps[n], PG(SLOT_PAGES)) < 0)
		_exit(1);
	for (;;) {
		int m = (int)rnd((uint32_t)n + 1);
		size_t pages = m == n ? SLOT_PAGES : DAX_PAGES;
		size_t first = rnd((uint32_t)pages);

		/* Long timeouts: whoever waits on these pins waits for the kill. */
		t_register(ctx, maps[m] + PG(first), PG(1 + rnd((uint32_t)(pages - first))), 0,
			     MRLEASE_REG_PIN, 5000, NULL);
		if (m == n && rnd(2))
			madvise(maps[n], PG(SLOT_PAGES), MADV_DONTNEED);
		sleep_us(rnd(20000));
	}
}

static pid_t spawn(void (*fn)(void), int k)
{
	pid_t pid = t_fork();

	if (pid == 0) {
		seed_thread(k);
		fn();
		_exit(0);
	}
	return pid;
}

/* ---- diagnosis of a hang ---------------------------------------------- */

static void print_file(const char *path, const char *prefix)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		printf("%s%s", prefix, line);
	fclose(f);
}

static void dump_leases(void);

/* Kernel stacks of our threads, our children and every task in D state. */
static void dump_tasks(const char *why)
{
	DIR *procs = opendir("/proc");
	struct dirent *p;

	printf("# %s: kernel stacks\n", why);
	dump_leases();
	while (procs && (p = readdir(procs))) {
		char path[600], stat[512], comm[64] = "";
		DIR *tasks;
		struct dirent *t;

		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", p->d_name);
		tasks = opendir(path);
		while (tasks && (t = readdir(tasks))) {
			char state = '?', *cp;
			int ppid = 0;
			bool ours;

			if (t->d_name[0] < '0' || t->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%s/stat", p->d_name, t->d_name);
			if (t_read_text(path, stat, sizeof(stat)))
				continue;
			cp = strrchr(stat, ')');
			if (!cp || sscanf(cp + 2, "%c %d", &state, &ppid) != 2)
				continue;
			*cp = 0;
			snprintf(comm, sizeof(comm), "%s", strchr(stat, '(') ? strchr(stat, '(') + 1 : "?");
			ours = atoi(p->d_name) == getpid() || ppid == getpid();
			if (!ours && state != 'D')
				continue;
			printf("# task %s/%s (%s) state %c\n", p->d_name, t->d_name, comm, state);
			snprintf(path, sizeof(path), "/proc/%s/task/%s/stack", p->d_name, t->d_name);
			print_file(path, "#     ");
		}
		if (tasks)
			closedir(tasks);
	}
	if (procs)
		closedir(procs);
}

struct lease_census {
	unsigned long by_state[5], pinned_dax, printed;
};

static void print_lease_cb(void *arg, const struct nlmsghdr *h, const void *a, size_t len)
{
	struct lease_census *c = arg;
	uint64_t state = nl_u64(nl_attr(a, len, MRLEASE_A_STATE));
	uint64_t pinned = nl_u64(nl_attr(a, len, MRLEASE_A_PINNED_PAGES));
	uint64_t backing = nl_u64(nl_attr(a, len, MRLEASE_A_BACKING));

	(void)h;
	c->by_state[state < 5 ? state : 0]++;
	if (backing != MRLEASE_BACKING_FSDAX || !pinned)
		return;
	c->pinned_dax++;
	if (c->printed++ >= 30)
		return;
	printf("#   pinned fsdax lease %llu pid %llu state %llu flags %llu addr %#llx len %#llx pinned %llu gen %llu breaks %llu acks %llu revokes %llu layout %llu\n",
	       (unsigned long long)nl_u64(nl_attr(a, len, MRLEASE_A_LEASE_ID)),
	       (unsigned long long)nl_u64(nl_attr(a, len, MRLEASE_A_OWNER_PID)),
	       (unsigned long long)state,
	       (unsigned long long)nl_u64(nl_attr(a, len, MRLEASE_A_FLAGS)),
	       (unsigned long long)nl_u64(nl_attr(a, len, MRLEASE_A_ADDR)),
	       (unsigned long long)nl_u64(nl_attr(a, len, MRLEASE_A_LEN)),
	       (unsigned long long)pinned,
	       (unsigned long long)nl_u64(nl_attr(a, len, MRLEASE_A_GENERATION)),
	       (unsigned long long)nl_u64(nl_attr(a, len, MRLEASE_A_BREAKS)),
	       (unsigned long long)nl_u64(nl_attr(a, len, MRLEASE_A_ACKS)),
	       (unsigned long long)nl_u64(nl_attr(a, len, MRLEASE_A_REVOKES)),
	       (unsigned long long)nl_u64(nl_attr(a, len, MRLEASE_A_LAYOUT)));
}

/* The leases with pinned fsdax pages (at most 30), a census of the rest, the global counters. */
static void dump_leases(void)
{
	struct lease_census c = { 0 };
	struct nl nl;
	struct nl_stats st;

	if (nl_open(&nl, 5000))
		return;
	if (!nl_stats(&nl, &st))
		printf("# stats: %llu contexts, %llu leases, %llu pinned pages\n", (unsigned long long)st.contexts,
		       (unsigned long long)st.leases, (unsigned long long)st.pinned_pages);
	nl_request(&nl, MRLEASE_CMD_LEASE_GET, NLM_F_DUMP, 0, print_lease_cb, &c, NULL);
	nl_close(&nl);
	printf("# leases: %lu armed, %lu broken, %lu acked, %lu revoked; %lu with pinned fsdax pages\n",
	       c.by_state[1], c.by_state[2], c.by_state[3], c.by_state[4], c.pinned_dax);
	for (int i = 0; i < S.nslots; i++)
		printf("# slot %d: kind %d at %p, %zu pages%s\n", i, S.slots[i].kind, (void *)S.slots[i].addr,
		       S.slots[i].pages, S.slots[i].dead ? " (dead)" : "");
}

/* waitpid() with a limit; dumps the stacks and fails the test if @pid does not end in time. */
static void reap(pid_t pid, const char *what)
{
	int st;

	if (!t_wait(pid, 30000, &st)) {
		dump_tasks(what);
		t_fail("%s (pid %d) did not end within 30 s of SIGKILL", what, pid);
	}
}

/*
 * Which of our leases keeps file operation @who waiting (since @since)?
 * Unregister the ones with pinned fsdax pages one at a time until it goes on.
 */
static void find_culprit(int who, int64_t since)
{
	int op = F->op[who];

	printf("# stuck: the %s's %s, started %lld ms ago\n", who ? "foreign breaker" : "truncator",
	       op_names[op], (long long)(t_now_ns() - since) / 1000000);
	pthread_mutex_lock(&S.lock);
	for (int k = 0; k < S.nleases; k++) {
		struct lease *l = &S.leases[k];
		struct mrlease_query q;

		if (t_query(l->ctx, l->id, &q) || !q.pinned_pages || q.backing != MRLEASE_BACKING_FSDAX)
			continue;
		printf("#   lease %llu: state %u, %llu pinned, flags %#x, breaks %u, gen %llu, layout %u; last armed %+lld ms after the stuck operation began\n",
		       (unsigned long long)l->id, q.state, (unsigned long long)q.pinned_pages, q.lease_flags,
		       q.breaks, (unsigned long long)q.generation, q.layout,
		       (long long)(l->armed_ns - since) / 1000000);
		if (t_unregister(l->ctx, l->id))
			continue;
		S.leases[k--] = S.leases[--S.nleases];
		for (int t = 0; t < 30 && F->since_ns[who] == since; t++)
			t_msleep(10);
		if (F->since_ns[who] != since) {
			printf("#   -> the %s went on once that lease was unregistered\n", op_names[op]);
			break;
		}
	}
	pthread_mutex_unlock(&S.lock);
	if (F->since_ns[who] == since)
		printf("#   -> still waiting with none of our pinned fsdax leases left\n");
}

/* ---- main ------------------------------------------------------------- */

/* ---- breaks that find no memory (race-lane builds) ------------------------- */

#define NOMEM_PARAM	T_SYSMOD "/parameters/race_nomem_pct"
static char nomem_old[16];

static void nomem_off(void *arg)
{
	(void)arg;
	t_write_text(NOMEM_PARAM, nomem_old);
}

static void nomem_on(void)
{
	const char *env = getenv("MRLEASE_STRESS_NOMEM");
	const char *pct = env ? env : "10";
	int r;

	if (t_read_text(NOMEM_PARAM, nomem_old, sizeof(nomem_old)))
		return;		/* not a race-lane build */
	t_defer(nomem_off, NULL);
	r = t_write_text(NOMEM_PARAM, pct);
	if (r)
		t_fail("write %s to %s: %s", pct, NOMEM_PARAM, t_errname(-r));
	t_info("race_nomem_pct=%s: that share of the breaks waits for memory for its record", pct);
}

int main(void)
{
	void *(*fns[])(void *) = { registrar, registrar, acker, mapper, forker, truncator, netlinker,
				   status_reader };
	pthread_t th[sizeof(fns) / sizeof(fns[0])];
	const char *env;
	struct nl nl;
	struct nl_stats st;
	pid_t breaker = -1, vict, flip = -1, scribble = -1;
	int64_t t0, next_kill, last_progress = t_now_ns();
	unsigned long last_ops = 0;
	char refcnt[32];
	long vmpin;
	int r, status;

	F = mmap(NULL, sizeof(*F), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(F != MAP_FAILED);
	env = getenv("MRLEASE_STRESS_DAX");
	S.dax_mode = !env || !strcmp(env, "all") ? 2 : !strcmp(env, "nopin") ? 1 : 0;
	if (S.dax_mode < 2)
		t_info("MRLEASE_STRESS_DAX=%s: this process takes %s (the victim still pins them)", env,
		       S.dax_mode ? "no pinned leases on DAX ranges" : "no leases on DAX ranges");
	env = getenv("MRLEASE_STRESS_SECS");
	S.secs = env ? atoi(env) : 60;
	env = getenv("MRLEASE_STRESS_SEED");
	S.seed = env ? strtoull(env, NULL, 0) : (uint64_t)t_now_ns() ^ (uint64_t)getpid();
	t_info("stress: %d s, seed %#llx (MRLEASE_STRESS_SEED)", S.secs, (unsigned long long)S.seed);
	seed_thread(0);
	t_watchdog((unsigned int)S.secs + 120);

	r = nl_open(&nl, 10000);
	if (r)
		t_fail("resolving the %s genl family: %s", MRLEASE_GENL_NAME, t_errname(-r));
	CHECK_OK(nl_stats(&nl, &S.base));
	nomem_on();
	pthread_mutex_init(&S.lock, NULL);
	S.zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	CHECK(S.zero >= 0);
	S.ctx[0] = t_ctx_flags(O_NONBLOCK);
	S.status = t_status(S.ctx[0]);
	S.ctx[1] = t_ctx_flags(O_NONBLOCK);

	for (int i = 0; i < 5; i++)
		add_slot(K_ANON, -1, NULL, SLOT_PAGES);
	for (int i = 0; i < 2; i++) {
		int fd = memfd_create("stress-shm", MFD_CLOEXEC);

		CHECK(fd >= 0);
		CHECK_SYS(ftruncate(fd, (off_t)PG(SLOT_PAGES)));
		add_slot(K_SHM, fd, NULL, SLOT_PAGES);
	}
	r = open_dax("MRLEASE_EXT4", "ext4");
	if (r >= 0)
		add_slot(K_DAX, r, "ext4", DAX_PAGES);
	S.xfs = -1;
	r = open_dax("MRLEASE_XFS", "xfs");
	if (r >= 0) {
		S.xfs = S.ndax - 1;
		add_slot(K_DAX, r, "xfs", DAX_PAGES);
	}
	if (!S.ndax)
		t_info("no DAX mounts ($MRLEASE_EXT4, $MRLEASE_XFS): anonymous and shared memory only");

	if (S.ndax)
		breaker = spawn(foreign_breaker, 100);
	vict = spawn(victim, 200);
	if (xfs_index() >= 0) {
		flip = spawn(flipper, 400);
		scribble = spawn(scribbler, 500);
	}
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (pthread_create(&th[i], NULL, fns[i], (void *)(intptr_t)(i + 1)))
			t_fail("pthread_create: %s", t_errname(errno));

	t0 = t_now_ns();
	next_kill = t0 + 200000000LL;
	while (t_ms_since(t0) < (int64_t)S.secs * 1000) {
		unsigned long ops = C.registers + C.register_fails + C.restores + C.restore_fails;

		t_msleep(20);
		if (ops != last_ops) {
			last_ops = ops;
			last_progress = t_now_ns();
		} else if (t_ms_since(last_progress) > 20000) {
			dump_tasks("no register or restore completed for 20 s");
			t_fail("the registrars are stuck");
		}
		for (int i = 0; i < 2; i++) {
			int64_t since = F->since_ns[i];

			if (since && (t_now_ns() - since) / 1000000 > STARVED_MS) {
				dump_tasks("a truncate/punch/write of a leased DAX file is starved");
				find_culprit(i, since);
				t_fail("the %s has waited %lld s in one truncate/punch/write of a leased DAX file "
				       "(lease timeouts are <= 1 s): starved by a lease armed while it waited: "
				       "new pins on its pages, or (XFS) a new file lease, which __break_lease() "
				       "waits for without breaking it (see test/debug/repro-restore-starves-breaker.c)",
				       i ? "foreign breaker process" : "truncator thread",
				       (long long)(t_now_ns() - since) / 1000000000);
			}
		}
		if (t_now_ns() >= next_kill) {
			kill(vict, SIGKILL);
			reap(vict, "the victim");
			INC(victim_kills);
			vict = spawn(victim, 300 + (int)C.victim_kills);
			next_kill = t_now_ns() + (100 + rnd(1500)) * 1000000LL;
		}
		if (breaker > 0 && waitpid(breaker, &status, WNOHANG) == breaker) {
			t_info("the foreign breaker exited with status %#x", status);
			atomic_fetch_add(&S.unexpected, 1);
			breaker = -1;
		}
	}
	S.stop = true;
	kill(vict, SIGKILL);
	reap(vict, "the victim");
	if (breaker > 0) {
		kill(breaker, SIGKILL);
		reap(breaker, "the foreign breaker");
	}
	if (flip > 0) {
		kill(flip, SIGKILL);
		reap(flip, "the flipper");
		kill(scribble, SIGKILL);
		reap(scribble, "the scribbler");
	}
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 30;
		if (pthread_timedjoin_np(th[i], NULL, &ts)) {
			dump_tasks("a thread did not stop");
			t_fail("thread %zu did not stop within 30 s", i);
		}
	}
	t_info("stopped after %lld ms", (long long)t_ms_since(t0));

	/* Every lease we know of goes; then no lease, pin or charge may be left. */
	while (S.nleases) {
		struct lease *l = &S.leases[--S.nleases];

		r = t_unregister(l->ctx, l->id);
		if (r)
			unexpected("final unregister", -r);
	}
	vmpin = proc_vmpin_kb();
	CHECK_OK(nl_stats(&nl, &st));
	t_info("after unregistering: %llu leases, %llu pinned pages (global), VmPin %ld kB",
	       (unsigned long long)st.leases, (unsigned long long)st.pinned_pages, vmpin);
	CHECK_EQ(vmpin, 0);
	CHECK_EQ(st.leases, S.base.leases);
	CHECK_EQ(st.pinned_pages, S.base.pinned_pages);
	munmap((void *)S.status, t_pg);
	close(S.ctx[0]);
	close(S.ctx[1]);
	CHECK_OK(nl_stats(&nl, &st));
	CHECK_EQ(st.contexts, S.base.contexts);
	CHECK_EQ(st.leases, S.base.leases);
	CHECK_EQ(st.pinned_pages, S.base.pinned_pages);
	/*
	 * Since 6.15 a truncate restarted for a refaulted DAX page (daxwait.c)
	 * holds the module until its kick is reaped, within 100 ms of the
	 * task running it.
	 */
	for (int64_t t0 = t_now_ns();;) {
		if (t_read_text(T_SYSMOD "/refcnt", refcnt, sizeof(refcnt)))
			break;
		if (atoi(refcnt) == 0 || t_ms_since(t0) > 2000) {
			CHECK_EQ(atoi(refcnt), 0);
			break;
		}
		t_msleep(20);
	}
	for (int i = 0; i < S.ndax; i++)
		unlink(S.dax_path[i]);
	C.foreign_ops = F->foreign_ops;
	C.flips = F->flips;
	C.scribbles = F->scribbles;

#define PRINT(n) printf(" %s=%lu", #n, (unsigned long)C.n);
	printf("stress ops:");
	COUNTERS(PRINT)
	printf("\n");
	printf("stress: %d s, %lu operations, %lu breaks, %lu acks, %lu revokes (global counters)\n", S.secs,
	       (unsigned long)(C.registers + C.register_fails + C.unregisters + C.restores + C.restore_fails +
			       C.queries + C.acks + C.ack_fails + C.munmaps + C.mremaps + C.madvises + C.mprotects +
			       C.cow_writes + C.forks + C.truncates + C.punches + C.rewrites + C.victim_kills +
			       C.nl_dumps + C.nl_gets + C.nl_requests + C.nl_revokes + C.foreign_ops +
			       C.flips + C.scribbles),
	       (unsigned long)(st.breaks - S.base.breaks), (unsigned long)(st.acks - S.base.acks),
	       (unsigned long)(st.revokes - S.base.revokes));
	CHECK_EQ(S.unexpected, 0);
	CHECK(C.registers > 0 && C.events > 0);
	t_pass();
}
