// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, threads racing on the same leases (issue 10, "threads racing
 * restore/ack/unregister/close"): whatever order the calls land in, each
 * ends in a result the uapi documents for it, no state is inconsistent, and
 * nothing is left behind.
 *
 * On ext4 and xfs -o dax, uid 1000 maps [32 anonymous pages][16 pages of a
 * DAX file it owns] as one range, and for RACE_SECS:
 *  - 4 threads pick random slots of a shared table of lease ids and
 *    register (pinned, pinned with WAIT_SELF or unpinned, 1-8 pages
 *    anywhere in the range, timeout_ms 100-400), restore, ack (with the
 *    generation a query just gave), unregister, query, read the context's
 *    records (acking and restoring what they name), and now and then close
 *    the context and open a new one, all on the same leases;
 *  - a mapper thread munmaps and maps again, MAP_FIXED-replaces, clears
 *    (MADV_DONTNEED), reprotects and writes parts of the range;
 *  - another process of uid 1000 truncates the file to half its size,
 *    back to full size, and allocates it again (fallocate), in a loop.
 * Asserted:
 *  - every ioctl fails, if at all, only with an errno its uapi entry lists
 *    (or EBADF/EBADFD for a context another thread just closed or has not
 *    handshaken yet); the argument errors (EINVAL, EPERM, EACCES, EMFILE,
 *    EUSERS, EOPNOTSUPP) cannot happen for these calls and fail the test;
 *  - every query is consistent: a state in 1..4, pins only while ARMED or
 *    BROKEN, all of the range pinned while a pinned lease is ARMED;
 *  - every record is well formed (type, reason, flags, reserved, range);
 *  - no truncate/fallocate waits longer than TRUNC_CAP_MS (the leases'
 *    timeouts are at most 400 ms): checked while it waits, its kernel
 *    stack shown if it does;
 *  - afterwards VmPin is 0 in the holder within 1 s of its close (the
 *    value right after it is printed), the global counters are back
 *    (contexts, leases, pinned pages), and the kernel log has no splat.
 */
#include "hostile.h"

#include <pthread.h>
#include <stdatomic.h>

#define RACE_SECS	5
#define ANON_PAGES	32
#define FILE_PAGES	16
#define PAGES		(ANON_PAGES + FILE_PAGES)
#define SLOTS		16
#define WORKERS		4
#define TRUNC_CAP_MS	8000

enum op { OP_REGISTER, OP_RESTORE, OP_ACK, OP_UNREGISTER, OP_QUERY, OP_READ, OP_REOPEN, NOPS };

static const char *const op_name[NOPS] = {
	"register", "restore", "ack", "unregister", "query", "read", "reopen",
};

/*
 * What the uapi lists for each call (besides success), that can happen
 * here.  Every call also may see EBADF (another thread closed the context)
 * and EBADFD (the number now names a context not handshaken yet).
 */
static const int allowed_errs[NOPS][8] = {
	/* EFAULT: part of the range unmapped by the mapper, or beyond EOF;
	 * EAGAIN: the range or the file kept changing; ENOMEM: out of memory. */
	[OP_REGISTER] = { EFAULT, EAGAIN, ENOMEM },
	[OP_RESTORE] = { ENOENT, EBUSY, EFAULT, EAGAIN, ENOMEM },
	[OP_ACK] = { ENOENT, ESTALE, EINVAL, ETIMEDOUT },
	[OP_UNREGISTER] = { ENOENT },
	[OP_QUERY] = { ENOENT },
	[OP_READ] = { EAGAIN },
	[OP_REOPEN] = { 0 },
};

struct shared {
	atomic_int stop;
	atomic_llong call_ns;		/* when the truncator's current call began, 0 between calls */
	atomic_int call;		/* which: 1 truncate to half, 2 back, 3 fallocate */
};

static const char *const call_name[] = { "-", "truncate to half", "truncate back", "fallocate" };
static pid_t agents[2];

static struct shared *sh;
static char path[300];

/* The holder's state, shared by its threads. */
static atomic_int ctx;
static atomic_ullong slot[SLOTS];
static atomic_bool stop;
static char *base;
static int file_fd;
static atomic_uint counts[NOPS][160];
static atomic_uint n_events, n_restored, n_reopens, n_mapper;

static unsigned int rnd(unsigned int *seed, unsigned int n)
{
	*seed = *seed * 1103515245 + 12345;
	return (*seed >> 8) % n;
}

/* Count @r (0 or -errno) of @op and fail the test if the uapi does not list it. */
static void note(enum op op, int r)
{
	int e = -r;

	if (e < 0 || e >= 160)
		t_fail("%s: result %d", op_name[op], r);
	atomic_fetch_add(&counts[op][e], 1);
	if (!e || e == EBADF || e == EBADFD)
		return;
	for (int i = 0; i < 8 && allowed_errs[op][i]; i++)
		if (allowed_errs[op][i] == e)
			return;
	t_fail("%s: %s, which its uapi entry does not list", op_name[op], t_errname(e));
}

static void check_query(const struct mrlease_query *q)
{
	uint64_t pages = q->len / t_pg;

	if (q->state < MRLEASE_STATE_ARMED || q->state > MRLEASE_STATE_REVOKED ||
	    q->generation == 0 || q->addr < (uintptr_t)base || q->addr + q->len > (uintptr_t)base + PG(PAGES) ||
	    q->pinned_pages > pages ||
	    ((q->state == MRLEASE_STATE_ACKED || q->state == MRLEASE_STATE_REVOKED) && q->pinned_pages) ||
	    (!(q->lease_flags & MRLEASE_REG_PIN) && q->pinned_pages) ||
	    (q->state == MRLEASE_STATE_ARMED && (q->lease_flags & MRLEASE_REG_PIN) &&
	     q->pinned_pages != pages)) {
		h_print_query("inconsistent", q);
		t_fail("query of lease %llu: state %u, gen %llu, %llu of %llu pages pinned, flags %#x",
		       (unsigned long long)q->id, q->state, (unsigned long long)q->generation,
		       (unsigned long long)q->pinned_pages, (unsigned long long)pages, q->lease_flags);
	}
}

static void check_record(const struct mrlease_event *e)
{
	if ((e->type != MRLEASE_EVENT_DECOHERENCE && e->type != MRLEASE_EVENT_REVOKED) ||
	    e->reason < MRLEASE_REASON_UNMAP || e->reason > MRLEASE_REASON_LAYOUT || e->id == 0 ||
	    e->generation == 0 || e->reserved[0] || e->reserved[1] || e->reserved[2] ||
	    (e->flags & ~(MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_KTHREAD | MRLEASE_EVENT_F_UNPINNED)) ||
	    !memchr(e->breaker_comm, 0, sizeof(e->breaker_comm)) ||
	    (e->type == MRLEASE_EVENT_DECOHERENCE &&
	     (e->length == 0 || e->start < (uintptr_t)base ||
	      e->start + e->length > (uintptr_t)base + PG(PAGES) || (e->start | e->length) & (t_pg - 1)))) {
		t_print_event(e);
		t_fail("malformed record");
	}
}

static void reopen(void)
{
	int fresh = t_ctx_flags(O_NONBLOCK);
	int old = atomic_exchange(&ctx, fresh);

	close(old);
	atomic_fetch_add(&n_reopens, 1);
	note(OP_REOPEN, 0);
}

static void read_records(int fd)
{
	struct mrlease_event ev[8];
	ssize_t n = read(fd, ev, sizeof(ev));

	if (n < 0) {
		note(OP_READ, -errno);
		return;
	}
	note(OP_READ, 0);
	if (n == 0 || n % sizeof(ev[0]))
		t_fail("read %zd bytes, not whole records", n);
	for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++) {
		struct mrlease_register l = { .id = ev[i].id };
		int r;

		check_record(&ev[i]);
		atomic_fetch_add(&n_events, 1);
		if (ev[i].type == MRLEASE_EVENT_DECOHERENCE)
			note(OP_ACK, t_ack(fd, ev[i].id, ev[i].generation));
		r = t_restore_once(fd, &l);
		note(OP_RESTORE, r);
		if (!r)
			atomic_fetch_add(&n_restored, 1);
	}
}

static void *worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg * 7919;

	while (!atomic_load(&stop)) {
		int fd = atomic_load(&ctx), s = (int)rnd(&seed, SLOTS), what = (int)rnd(&seed, 64), r;
		uint64_t id = atomic_load(&slot[s]);
		struct mrlease_register l = { .id = id };
		struct mrlease_query q;

		if (what < 12 || !id) {
			static const uint32_t flags[] = {
				MRLEASE_REG_PIN, MRLEASE_REG_PIN | MRLEASE_REG_WAIT_SELF, 0,
			};
			unsigned int first = rnd(&seed, PAGES);
			unsigned int len = 1 + rnd(&seed, PAGES - first < 8 ? PAGES - first : 8);

			r = h_register(fd, base + PG(first), PG(len), flags[rnd(&seed, 3)],
				       100 + 100 * rnd(&seed, 4), &l);
			note(OP_REGISTER, r);
			if (!r) {
				uint64_t old = atomic_exchange(&slot[s], l.id);

				if (old)
					note(OP_UNREGISTER, t_unregister(fd, old));
			}
		} else if (what < 24) {
			r = t_restore_once(fd, &l);
			note(OP_RESTORE, r);
			if (!r)
				atomic_fetch_add(&n_restored, 1);
		} else if (what < 32) {
			r = t_query(fd, id, &q);
			note(OP_QUERY, r);
			if (!r) {
				check_query(&q);
				note(OP_ACK, t_ack(fd, id, q.generation));
			}
		} else if (what < 36) {
			note(OP_UNREGISTER, t_unregister(fd, id));
			atomic_compare_exchange_strong(&slot[s], &id, 0);
		} else if (what < 48) {
			r = t_query(fd, id, &q);
			note(OP_QUERY, r);
			if (!r)
				check_query(&q);
		} else if (what < 63) {
			read_records(fd);
		} else if (!rnd(&seed, 16)) {
			reopen();
		}
	}
	return NULL;
}

/* The only thread that changes the mappings. */
static void *mapper(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	while (!atomic_load(&stop)) {
		unsigned int first = rnd(&seed, ANON_PAGES), len = 1 + rnd(&seed, 4);
		unsigned int ffirst = rnd(&seed, FILE_PAGES), flen = 1 + rnd(&seed, 4);
		char *p, *fp;

		if (first + len > ANON_PAGES)
			len = ANON_PAGES - first;
		if (ffirst + flen > FILE_PAGES)
			flen = FILE_PAGES - ffirst;
		p = base + PG(first);
		fp = base + PG(ANON_PAGES + ffirst);
		switch (rnd(&seed, 7)) {
		case 0:
			munmap(p, PG(len));
			/* fall through */
		case 1:
			if (mmap(p, PG(len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				 -1, 0) != p)
				t_fail("mmap MAP_FIXED anonymous: %s", t_errname(errno));
			break;
		case 2:
			madvise(p, PG(len), MADV_DONTNEED);
			break;
		case 3:
			memset(p, (int)len, PG(len));
			break;
		case 4:
			mprotect(fp, PG(flen), PROT_READ);
			mprotect(fp, PG(flen), PROT_READ | PROT_WRITE);
			break;
		case 5:
			munmap(fp, PG(flen));
			/* fall through */
		case 6:
			if (mmap(fp, PG(flen), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, file_fd,
				 (off_t)PG(ffirst)) != fp)
				t_fail("mmap MAP_FIXED of the file: %s", t_errname(errno));
			break;
		}
		atomic_fetch_add(&n_mapper, 1);
		usleep(200);
	}
	return NULL;
}

/*
 * 'r': v0 = calls, v1 = records, v2 = restores, v3 = reopens, v4 = mapper
 * ops, v5 = VmPin kB 1 s after the close (or once 0), v6 = right after it.
 */
static void holder(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'r' };
	pthread_t th[WORKERS + 1];
	long calls = 0;
	int64_t t0;

	(void)in;
	(void)arg;
	file_fd = open(path, O_RDWR | O_CLOEXEC);
	if (file_fd < 0)
		t_fail("open %s: %s", path, t_errname(errno));
	base = mmap(NULL, PG(PAGES), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(base != MAP_FAILED);
	CHECK(mmap(base, PG(ANON_PAGES), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		   -1, 0) == base);
	madvise(base, PG(ANON_PAGES), MADV_NOHUGEPAGE);
	memset(base, 1, PG(ANON_PAGES));
	CHECK(mmap(base + PG(ANON_PAGES), PG(FILE_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		   file_fd, 0) == base + PG(ANON_PAGES));
	atomic_store(&ctx, t_ctx_flags(O_NONBLOCK));

	for (int i = 0; i < WORKERS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1)), 0);
	CHECK_EQ(pthread_create(&th[WORKERS], NULL, mapper, (void *)99), 0);
	t0 = t_now_ns();
	while (t_ms_since(t0) < RACE_SECS * 1000)
		t_msleep(50);
	atomic_store(&stop, true);
	atomic_store(&sh->stop, 1);
	for (int i = 0; i <= WORKERS; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);

	close(atomic_load(&ctx));
	/*
	 * "Closing ... releases every lease and every pin at once"; pins that
	 * breaks dropped just before may still be on their way out (how soon is
	 * 86-hostile-memory-bound's business): give them a second.
	 */
	m.v[6] = proc_vmpin_kb();
	t0 = t_now_ns();
	while ((m.v[5] = proc_vmpin_kb()) != 0 && t_ms_since(t0) < 1000)
		t_msleep(5);
	munmap(base, PG(PAGES));
	close(file_fd);

	for (int op = 0; op < NOPS; op++) {
		char line[512];
		int len = snprintf(line, sizeof(line), "%-10s", op_name[op]);

		for (int e = 0; e < 160; e++) {
			unsigned int n = atomic_load(&counts[op][e]);

			if (n && len < (int)sizeof(line) - 40)
				len += snprintf(line + len, sizeof(line) - (size_t)len, " %s %u",
						e ? t_errname(e) : "ok", n);
			calls += n;
		}
		t_info("%s", line);
	}
	m.v[0] = calls;
	m.v[1] = atomic_load(&n_events);
	m.v[2] = atomic_load(&n_restored);
	m.v[3] = atomic_load(&n_reopens);
	m.v[4] = atomic_load(&n_mapper);
	h_send(out, &m);
}

static int64_t timed(int ret, int64_t t0, int64_t *longest, int64_t *errs)
{
	int64_t ms = t_ms_since(t0);

	if (ret)
		(*errs)++;
	if (ms > *longest)
		*longest = ms;
	return ms;
}

/* 't': v0 = cycles, v1 = longest call in ms, v2 = failed calls, v3 = first errno. */
static void truncator(int in, int out, void *arg)
{
	struct h_msg m = { .op = 't' };
	unsigned int seed = 4242;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	int64_t t0;

	(void)in;
	(void)arg;
	if (fd < 0)
		t_fail("open %s: %s", path, t_errname(errno));
	while (!atomic_load(&sh->stop)) {
		for (int call = 1; call <= 3; call++) {
			int r;

			t0 = t_now_ns();
			atomic_store(&sh->call, call);
			atomic_store(&sh->call_ns, t0);
			if (call == 3)
				r = fallocate(fd, 0, 0, (off_t)PG(FILE_PAGES));
			else
				r = ftruncate(fd, (off_t)PG(call == 1 ? FILE_PAGES / 2 : FILE_PAGES));
			atomic_store(&sh->call_ns, 0);
			if (r && !m.v[3])
				m.v[3] = errno;
			if (timed(r, t0, &m.v[1], &m.v[2]) > TRUNC_CAP_MS)
				t_fail("a %s took %lld ms", call_name[call], (long long)t_ms_since(t0));
		}
		m.v[0]++;
		t_msleep(10 + rnd(&seed, 40));
	}
	close(fd);
	h_send(out, &m);
}

/* The kernel stack of @pid, for the log of a failure. */
static void show_stack(pid_t pid)
{
	char p[64], buf[4096];

	snprintf(p, sizeof(p), "/proc/%d/stack", pid);
	if (!t_read_text(p, buf, sizeof(buf)))
		t_info("kernel stack of %d:\n%s", pid, buf);
}

/*
 * Wait up to @timeout_ms for the holder's 'r', failing as soon as one call
 * of the truncator has been waiting for longer than TRUNC_CAP_MS.
 */
static void wait_holder(struct h_agent *h, struct h_agent *t, struct h_msg *m, int timeout_ms)
{
	int64_t t0 = t_now_ns();

	while (!h_recv(h->from, m, 200)) {
		int64_t since = atomic_load(&sh->call_ns);

		if (since && (t_now_ns() - since) / 1000000 > TRUNC_CAP_MS) {
			show_stack(t->pid);
			t_fail("the truncator's %s has been waiting for %lld ms (cap %d ms)",
			       call_name[atomic_load(&sh->call)], (long long)((t_now_ns() - since) / 1000000),
			       TRUNC_CAP_MS);
		}
		if (t_ms_since(t0) > timeout_ms)
			t_fail("no 'r' message within %d ms", timeout_ms);
	}
	if (m->op != 'r')
		t_fail("message '%c', expected 'r'", m->op);
}

/* On a failure: the holder's pins go with it, so that root's unlink of the file does not wait. */
static void kill_agents(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2; i++)
		if (agents[i] > 0)
			kill(agents[i], SIGKILL);
}

static void one_fs(void)
{
	static bool deferred;
	struct h_agent h, t;
	struct nl_stats base_stats;
	struct h_msg m;
	int fd, kfd;

	fd = h_dax_file(FILE_PAGES, H_UID, 0600, path, sizeof(path));
	/* After h_dax_file()'s unlink, so it runs before (last in, first out). */
	if (!deferred)
		t_defer(kill_agents, NULL);
	deferred = true;
	atomic_store(&sh->stop, 0);
	h_stats(&base_stats);
	kfd = kmsg_open();
	h_agent_start(&t, "mrl-truncator", H_UID, 64 * KiB, truncator, NULL);
	h_agent_start(&h, "mrl-hostile", H_UID, 64 * MiB, holder, NULL);
	agents[0] = t.pid;
	agents[1] = h.pid;

	wait_holder(&h, &t, &m, (RACE_SECS + 60) * 1000);
	t_info("holder: %lld calls, %lld records, %lld restores, %lld reopens, %lld mapper ops; VmPin %lld kB "
	       "right after its close, %lld kB within 1 s", (long long)m.v[0], (long long)m.v[1],
	       (long long)m.v[2], (long long)m.v[3], (long long)m.v[4], (long long)m.v[6], (long long)m.v[5]);
	CHECK_EQ(m.v[5], 0);
	CHECK_GE(m.v[1], 1);
	CHECK_GE(m.v[2], 1);
	CHECK_CHILD_OK(h.pid, 10000);
	H_EXPECT(t.from, m, 't', TRUNC_CAP_MS * 3 + 10000);
	t_info("truncator: %lld cycles, the longest call took %lld ms (cap %d), %lld failed (first: %s)",
	       (long long)m.v[0], (long long)m.v[1], TRUNC_CAP_MS, (long long)m.v[2], t_errname((int)m.v[3]));
	CHECK_GE(m.v[0], 1);
	CHECK_EQ(m.v[2], 0);
	CHECK_LE(m.v[1], TRUNC_CAP_MS);
	CHECK_CHILD_OK(t.pid, 10000);
	agents[0] = agents[1] = 0;
	H_CHECK_STATS(&base_stats);
	H_CHECK_NO_SPLAT(kfd, "while threads raced on the same leases");
	close(kfd);
	close(fd);
}

int main(void)
{
	t_watchdog(110);
	h_need_root();
	sh = h_shared(sizeof(*sh));
	h_each_fs(one_fs);
	t_pass();
}
