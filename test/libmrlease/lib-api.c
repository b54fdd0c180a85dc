// SPDX-License-Identifier: GPL-2.0
/*
 * Every libmrlease call and every errno it documents, against the module:
 * open (bad arguments, no /dev/mrlease), close, get_fd, register and
 * register_timeout (bad arguments, -EFAULT, -EACCES, -EPERM, -ENOMEM,
 * -EMFILE, -EUSERS), unregister, pending, get_event (-EAGAIN, the record's
 * fields), ack_event (-EINVAL, -ESTALE, -ENOENT; REVOKED and a late ack
 * count as done), restore (-EBUSY, -EFAULT, -EPERM, -ENOENT, the new
 * generation), query, the three string helpers, and the one-load checks
 * (mrlease_get_status, mrlease_status_pending, mrlease_register_valid,
 * mrlease_restore_valid, mrlease_valid).
 */
#include "harness.h"

#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <mrlease.h>

#define CHECK_GT(a, b)	T_CMP(a, >, b)

static struct mrlease_ctx *ctx;

/*
 * Wait until @c has an event queued.  Since module commit 7fa3967 a clear
 * of pinned anonymous memory is reported from a work item, after the
 * madvise() returned; these API tests allow for that (up to 5 s).  Whether
 * that delay is acceptable is what 65-verbs-dontneed checks.
 */
static void wait_pending(const struct mrlease_ctx *c)
{
	int64_t t0 = t_now_ns();

	while (!mrlease_pending(c)) {
		if (t_ms_since(t0) > 5000)
			t_fail("no event queued 5 s after the change");
		t_msleep(1);
	}
}

static void close_ctx(void *arg)
{
	(void)arg;
	mrlease_close(ctx);
}

static struct mrlease_event get_event(struct mrlease_ctx *c)
{
	struct mrlease_event ev;
	int64_t t0 = t_now_ns();
	int r;

	while ((r = mrlease_get_event(c, &ev)) == -EAGAIN && t_ms_since(t0) < 2000)
		t_msleep(1);
	if (r)
		t_fail("mrlease_get_event: %s", mrlease_strerror(r));
	t_print_event(&ev);
	return ev;
}

static void test_open(void)
{
	struct mrlease_ctx *c;
	pid_t pid;
	int fd, fl;

	CHECK_ERR(mrlease_open(NULL, 0), EINVAL);
	CHECK_ERR(mrlease_open(&c, 1), EINVAL);
	CHECK_ERR(mrlease_open(&c, ~0u), EINVAL);
	CHECK_OK(mrlease_open(&ctx, 0));
	t_defer(close_ctx, NULL);

	CHECK_ERR(mrlease_get_fd(NULL), EINVAL);
	fd = mrlease_get_fd(ctx);
	CHECK_GE(fd, 0);
	fl = CHECK_SYS(fcntl(fd, F_GETFL));
	CHECK(fl & O_NONBLOCK);
	CHECK(CHECK_SYS(fcntl(fd, F_GETFD)) & FD_CLOEXEC);
	CHECK(!mrlease_pending(ctx));

	/* Without /dev/mrlease (module not loaded): -ENOENT, and the message says what to do. */
	pid = t_fork();
	if (pid == 0) {
		CHECK_SYS(unshare(CLONE_NEWNS));
		CHECK_SYS(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
		CHECK_SYS(mount("tmpfs", "/dev", "tmpfs", 0, NULL));
		CHECK_ERR(mrlease_open(&c, 0), ENOENT);
		CHECK(strstr(mrlease_strerror(-ENOENT), "module"));
		_exit(0);
	}
	CHECK_CHILD_OK(pid, 5000);

	mrlease_close(NULL);	/* a no-op */
}

static void test_register(void)
{
	char *a = t_anon(8);
	struct mrlease_info info;
	uint64_t id, id2;
	void *io;
	int mem;

	CHECK_ERR(mrlease_register(NULL, a, PG(1), 0, 0, &id), EINVAL);
	CHECK_ERR(mrlease_register(ctx, a, PG(1), 0, 0, NULL), EINVAL);
	CHECK_ERR(mrlease_register(ctx, a, 0, 0, 0, &id), EINVAL);
	CHECK_ERR(mrlease_register(ctx, a, PG(1), 0, 1u << 7, &id), EINVAL);
	CHECK_ERR(mrlease_register(ctx, a, SIZE_MAX, 0, 0, &id), EINVAL);
	CHECK_ERR(mrlease_register_timeout(ctx, a, PG(1), 0, 0, 3600001, &id), EINVAL);
	CHECK_ERR(mrlease_register_timeout(NULL, a, PG(1), 0, 0, 0, &id), EINVAL);
	CHECK_ERR(mrlease_register(ctx, NULL, PG(1), 0, 0, &id), EFAULT);
	CHECK_SYS(munmap(a + PG(7), PG(1)));
	CHECK_ERR(mrlease_register(ctx, a, PG(8), 0, MRLEASE_PIN, &id), EFAULT);

	mem = open("/dev/mem", O_RDONLY | O_CLOEXEC);
	io = mem < 0 ? MAP_FAILED : mmap(NULL, t_pg, PROT_READ, MAP_SHARED, mem, 0);
	if (io == MAP_FAILED) {
		t_info("no /dev/mem mapping (%s): -EACCES not checked", t_errname(errno));
	} else {
		CHECK_ERR(mrlease_register(ctx, io, PG(1), 0, 0, &id), EACCES);
		munmap(io, t_pg);
	}
	if (mem >= 0)
		close(mem);

	/* Success: the query shows what was registered, rounded out to pages. */
	CHECK_OK(mrlease_register_timeout(ctx, a + 10, PG(2), 0xc0ffee, MRLEASE_PIN, 1234, &id));
	CHECK_NE(id, 0);
	CHECK_ERR(mrlease_query(NULL, id, &info), EINVAL);
	CHECK_ERR(mrlease_query(ctx, id, NULL), EINVAL);
	CHECK_ERR(mrlease_query(ctx, id + 1000, &info), ENOENT);
	CHECK_OK(mrlease_query(ctx, id, &info));
	CHECK_EQ(info.id, id);
	CHECK_EQ(info.addr, (uintptr_t)a);
	CHECK_EQ(info.length, PG(3));
	CHECK_EQ(info.cookie, 0xc0ffee);
	CHECK_EQ(info.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(info.flags, MRLEASE_PIN);
	CHECK_EQ(info.backing, MRLEASE_BACKING_ANON);
	CHECK_EQ(info.pinned_pages, 3);
	CHECK_EQ(info.timeout_ms, 1234);
	CHECK_EQ(info.breaks, 0);
	CHECK_EQ(info.hold, MRLEASE_HOLD_WAIT);
	CHECK_EQ(info.layout, MRLEASE_LAYOUT_NONE);
	CHECK_EQ(info.layout_error, 0);
	{
		/* Size-versioned: exactly the caller's structure is written. */
		struct {
			struct mrlease_info info;
			unsigned char tail[16];
		} big;
		static const unsigned char zero[sizeof(big.tail)];

		memset(&big, 0xa5, sizeof(big));
		CHECK_OK(mrlease_query_info(ctx, id, &big.info, MRLEASE_INFO_SIZE_VER0));
		CHECK_EQ(big.info.id, id);
		CHECK_EQ(big.info.hold, MRLEASE_HOLD_WAIT);
		CHECK_EQ(big.info.layout, 0xa5a5a5a5u);
		memset(&big, 0xa5, sizeof(big));
		CHECK_OK(mrlease_query_info(ctx, id, &big.info, sizeof(big)));
		CHECK_EQ(big.info.cookie, 0xc0ffee);
		CHECK_EQ(big.info.layout, MRLEASE_LAYOUT_NONE);
		CHECK(!memcmp(big.tail, zero, sizeof(zero)));
		CHECK_ERR(mrlease_query_info(ctx, id, &big.info, MRLEASE_INFO_SIZE_VER0 - 1), EINVAL);
		/* The function programs built against 1.0 call: the 1.0 structure. */
		memset(&big, 0xa5, sizeof(big));
		CHECK_OK((mrlease_query)(ctx, id, &big.info));
		CHECK_EQ(big.info.pinned_pages, 3);
		CHECK_EQ(big.info.layout, 0xa5a5a5a5u);
	}

	CHECK_OK(mrlease_register(ctx, a, PG(1), 1, MRLEASE_PIN | MRLEASE_WAIT_SELF, &id2));
	CHECK_NE(id2, id);
	CHECK_OK(mrlease_query(ctx, id2, &info));
	CHECK_EQ(info.flags, MRLEASE_PIN | MRLEASE_WAIT_SELF);
	CHECK_GT(info.timeout_ms, 0);

	CHECK_ERR(mrlease_unregister(NULL, id), EINVAL);
	CHECK_OK(mrlease_unregister(ctx, id));
	CHECK_OK(mrlease_unregister(ctx, id2));
	CHECK_ERR(mrlease_unregister(ctx, id), ENOENT);
	CHECK_ERR(mrlease_query(ctx, id, &info), ENOENT);
	CHECK_SYS(munmap(a, PG(7)));
	CHECK(!mrlease_pending(ctx));
}

/* Break, read, ack, restore: the whole cycle and each call's errors. */
static void test_cycle(void)
{
	char *a = t_anon(4);
	struct mrlease_event ev, none;
	struct mrlease_info info;
	uint64_t id, gen0, gen;

	CHECK_OK(mrlease_register(ctx, a, PG(4), 42, MRLEASE_PIN, &id));
	CHECK_OK(mrlease_query(ctx, id, &info));
	gen0 = info.generation;

	CHECK_ERR(mrlease_get_event(NULL, &ev), EINVAL);
	CHECK_ERR(mrlease_get_event(ctx, NULL), EINVAL);
	CHECK_ERR(mrlease_get_event(ctx, &ev), EAGAIN);
	CHECK_ERR(mrlease_restore(ctx, id, &gen), EBUSY);
	CHECK_ERR(mrlease_restore(NULL, id, &gen), EINVAL);
	CHECK_ERR(mrlease_restore(ctx, id + 1000, &gen), ENOENT);

	CHECK(!mrlease_pending(ctx));
	CHECK_SYS(madvise(a + PG(1), PG(2), MADV_DONTNEED));
	wait_pending(ctx);
	CHECK(mrlease_pending(ctx));	/* a check does not consume */
	ev = get_event(ctx);
	CHECK(!mrlease_pending(ctx));
	CHECK_EQ(ev.type, MRLEASE_EVENT_DECOHERENCE);
	CHECK_EQ(ev.reason, MRLEASE_REASON_CLEAR);
	CHECK_EQ(ev.id, id);
	CHECK_EQ(ev.cookie, 42);
	CHECK_EQ(ev.generation, gen0);
	CHECK_EQ(ev.start, (uintptr_t)a + PG(1));
	CHECK_EQ(ev.length, PG(2));
	CHECK(ev.flags & MRLEASE_EVENT_F_SELF);
	CHECK_EQ(ev.breaker_pid, getpid());
	CHECK(!strncmp(ev.breaker_comm, t_comm(), sizeof(ev.breaker_comm)));
	CHECK_ERR(mrlease_get_event(ctx, &none), EAGAIN);

	CHECK_OK(mrlease_query(ctx, id, &info));
	CHECK_EQ(info.state, MRLEASE_STATE_BROKEN);
	CHECK_EQ(info.breaks, 1);

	/* ack: bad arguments, a stale generation, then once. */
	CHECK_ERR(mrlease_ack_event(NULL, &ev), EINVAL);
	CHECK_ERR(mrlease_ack_event(ctx, NULL), EINVAL);
	{
		struct mrlease_event bad = ev;

		bad.generation++;
		CHECK_ERR(mrlease_ack_event(ctx, &bad), ESTALE);
		bad = ev;
		bad.id += 1000;
		CHECK_ERR(mrlease_ack_event(ctx, &bad), ENOENT);
	}
	CHECK_OK(mrlease_ack_event(ctx, &ev));
	CHECK_ERR(mrlease_ack_event(ctx, &ev), EINVAL);
	CHECK_OK(mrlease_query(ctx, id, &info));
	CHECK_EQ(info.state, MRLEASE_STATE_ACKED);
	CHECK_EQ(info.pinned_pages, 0);

	/* restore: a generation pointer is optional; a restored lease is armed and pinned again. */
	CHECK_OK(mrlease_restore(ctx, id, &gen));
	CHECK_GT(gen, gen0);
	CHECK_OK(mrlease_query(ctx, id, &info));
	CHECK_EQ(info.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(info.generation, gen);
	CHECK_EQ(info.pinned_pages, 4);
	CHECK_ERR(mrlease_ack_event(ctx, &ev), ESTALE);

	/* A broken lease restores without an ack; a range not mapped fails -EFAULT until it is. */
	CHECK_SYS(munmap(a, PG(4)));
	ev = get_event(ctx);
	CHECK_EQ(ev.reason, MRLEASE_REASON_UNMAP);
	CHECK_EQ(ev.generation, gen);
	CHECK_ERR(mrlease_restore(ctx, id, NULL), EFAULT);
	CHECK(mmap(a, PG(4), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == a);
	CHECK_OK(mrlease_restore(ctx, id, NULL));
	CHECK_OK(mrlease_query(ctx, id, &info));
	CHECK_EQ(info.state, MRLEASE_STATE_ARMED);
	CHECK_GT(info.generation, gen);
	CHECK_EQ(info.breaks, 2);

	/* Unregistering a broken lease drops its unread record. */
	CHECK_SYS(madvise(a, PG(1), MADV_DONTNEED));
	wait_pending(ctx);
	CHECK_OK(mrlease_unregister(ctx, id));
	CHECK(!mrlease_pending(ctx));
	CHECK_ERR(mrlease_get_event(ctx, &ev), EAGAIN);
	CHECK_ERR(mrlease_ack_event(ctx, &ev), ENOENT);
	CHECK_ERR(mrlease_restore(ctx, id, NULL), ENOENT);
	munmap(a, PG(4));
}

static long long old_timeout;

static void put_timeout_back(void *arg)
{
	(void)arg;
	t_param_set("break_timeout_ms", old_timeout);
}

/* Wait (up to 10 s: a loaded TCG host delays the timeout work) until lease @id is in @state. */
static void wait_state(uint64_t id, uint32_t state)
{
	struct mrlease_info info;
	int64_t t0 = t_now_ns();

	do {
		CHECK_OK(mrlease_query(ctx, id, &info));
		if (info.state == state)
			return;
		t_msleep(10);
	} while (t_ms_since(t0) < 10000);
	t_fail("lease %llu is %s after 10 s, not %s", (unsigned long long)id,
	       mrlease_state_str(info.state), mrlease_state_str(state));
}

/* No ack within the break timeout: a REVOKED record, whose ack (and a late one) count as done. */
static void test_revoke(void)
{
	char *a = t_anon(2);
	struct mrlease_event ev;
	struct mrlease_info info;
	uint64_t id;

	/* WAIT_SELF keeps the pins on our own break, so the timeout applies. */
	CHECK_OK(mrlease_register_timeout(ctx, a, PG(2), 7, MRLEASE_PIN | MRLEASE_WAIT_SELF, 50, &id));
	CHECK_SYS(madvise(a, PG(1), MADV_DONTNEED));
	wait_state(id, MRLEASE_STATE_REVOKED);
	ev = get_event(ctx);
	CHECK_EQ(ev.type, MRLEASE_EVENT_REVOKED);
	CHECK_EQ(ev.reason, MRLEASE_REASON_TIMEOUT);
	CHECK_EQ(ev.id, id);
	CHECK_OK(mrlease_query(ctx, id, &info));
	CHECK_EQ(info.state, MRLEASE_STATE_REVOKED);
	CHECK_EQ(info.pinned_pages, 0);
	CHECK_OK(mrlease_ack_event(ctx, &ev));
	ev.type = MRLEASE_EVENT_DECOHERENCE;	/* an ack that came too late: -ETIMEDOUT inside */
	CHECK_OK(mrlease_ack_event(ctx, &ev));
	CHECK_OK(mrlease_restore(ctx, id, NULL));
	CHECK_OK(mrlease_query(ctx, id, &info));
	CHECK_EQ(info.state, MRLEASE_STATE_ARMED);
	CHECK_OK(mrlease_unregister(ctx, id));

	/* The module default applies when register() gives none. */
	old_timeout = t_param_get("break_timeout_ms");
	CHECK_OK(t_param_set("break_timeout_ms", 4321));
	t_defer(put_timeout_back, NULL);
	CHECK_OK(mrlease_register(ctx, a, PG(2), 0, 0, &id));
	CHECK_OK(mrlease_query(ctx, id, &info));
	CHECK_EQ(info.timeout_ms, 4321);
	CHECK_OK(mrlease_unregister(ctx, id));
	munmap(a, PG(2));
}

/* Another process (another mm) holding the context's fd: -EPERM for register and restore. */
static void test_foreign(void)
{
	char *a = t_anon(2);
	uint64_t id;
	pid_t pid;

	CHECK_OK(mrlease_register(ctx, a, PG(2), 0, 0, &id));
	CHECK_SYS(madvise(a, PG(1), MADV_DONTNEED));
	get_event(ctx);
	pid = t_fork();
	if (pid == 0) {
		uint64_t id2;

		CHECK_ERR(mrlease_register(ctx, a, PG(1), 0, 0, &id2), EPERM);
		CHECK_ERR(mrlease_restore(ctx, id, NULL), EPERM);
		_exit(0);
	}
	CHECK_CHILD_OK(pid, 5000);
	CHECK_OK(mrlease_restore(ctx, id, NULL));
	CHECK_OK(mrlease_unregister(ctx, id));
	munmap(a, PG(2));
}

/*
 * mrlease_forget() in a forked child: its descriptor and mappings of the
 * parent's context go, the parent's lease stays armed and still breaks.
 */
static void test_forget(void)
{
	struct mrlease_info info = { 0 };
	struct mrlease_event ev;
	char *a = t_anon(2);
	uint64_t id;
	pid_t pid;

	CHECK_OK(mrlease_register(ctx, a, PG(2), 0, 0, &id));
	pid = t_fork();
	if (pid == 0) {
		int fds = t_mrlease_fds(), maps = t_mrlease_maps();

		mrlease_forget(ctx);
		mrlease_forget(NULL);
		if (fds < 1 || maps < 1 || t_mrlease_fds() || t_mrlease_maps())
			t_fail("child: %d descriptor(s) and %d mapping(s) of /dev/mrlease before "
			       "mrlease_forget(), %d and %d after", fds, maps, t_mrlease_fds(),
			       t_mrlease_maps());
		_exit(0);
	}
	CHECK_CHILD_OK(pid, 5000);
	CHECK_OK(mrlease_query(ctx, id, &info));
	CHECK_EQ(info.state, MRLEASE_STATE_ARMED);
	CHECK_SYS(madvise(a, PG(1), MADV_DONTNEED));
	ev = get_event(ctx);
	CHECK_EQ(ev.id, id);
	CHECK_OK(mrlease_unregister(ctx, id));
	munmap(a, PG(2));
}

static long long old_ctx_max, old_user_max;

static void put_limits_back(void *arg)
{
	(void)arg;
	t_param_set("max_leases_per_ctx", old_ctx_max);
	t_param_set("max_leases_per_user", old_user_max);
}

/* -EMFILE (per context), -EUSERS (per user), -ENOMEM (RLIMIT_MEMLOCK without CAP_IPC_LOCK). */
static void test_limits(void)
{
	char *a = t_anon(4);
	uint64_t ids[4];
	pid_t pid;

	old_ctx_max = t_param_get("max_leases_per_ctx");
	old_user_max = t_param_get("max_leases_per_user");
	t_defer(put_limits_back, NULL);

	CHECK_OK(t_param_set("max_leases_per_ctx", 2));
	CHECK_OK(mrlease_register(ctx, a, PG(1), 0, 0, &ids[0]));
	CHECK_OK(mrlease_register(ctx, a, PG(1), 0, 0, &ids[1]));
	CHECK_ERR(mrlease_register(ctx, a, PG(1), 0, 0, &ids[2]), EMFILE);
	CHECK(strstr(mrlease_strerror(-EMFILE), "max_leases_per_ctx"));
	CHECK_OK(mrlease_unregister(ctx, ids[0]));
	CHECK_OK(mrlease_unregister(ctx, ids[1]));
	CHECK_OK(t_param_set("max_leases_per_ctx", old_ctx_max));

	/* The per-user count covers every context of every process of the user. */
	CHECK_OK(t_param_set("max_leases_per_user", 1));
	CHECK_OK(mrlease_register(ctx, a, PG(1), 0, 0, &ids[0]));
	{
		struct mrlease_ctx *c2;

		CHECK_OK(mrlease_open(&c2, 0));
		CHECK_ERR(mrlease_register(c2, a, PG(1), 0, 0, &ids[1]), EUSERS);
		mrlease_close(c2);
	}
	CHECK_ERR(mrlease_register(ctx, a, PG(1), 0, 0, &ids[1]), EUSERS);
	CHECK(strstr(mrlease_strerror(-EUSERS), "max_leases_per_user"));
	CHECK_OK(mrlease_unregister(ctx, ids[0]));
	CHECK_OK(t_param_set("max_leases_per_user", old_user_max));

	/* Pinning 4 pages against an 8 KiB RLIMIT_MEMLOCK, as an unprivileged user. */
	if (geteuid() != 0) {
		t_info("not root: -ENOMEM not checked");
		return;
	}
	t_open_device_to_all();
	pid = t_fork();
	if (pid == 0) {
		struct rlimit rl = { PG(2), PG(2) };
		struct mrlease_ctx *c;
		uint64_t id;

		CHECK_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
		CHECK_SYS(setgroups(0, NULL));
		CHECK_SYS(setgid(65534));
		CHECK_SYS(setuid(65534));
		CHECK_OK(mrlease_open(&c, 0));
		CHECK_ERR(mrlease_register(c, a, PG(4), 0, MRLEASE_PIN, &id), ENOMEM);
		CHECK_OK(mrlease_register(c, a, PG(2), 0, MRLEASE_PIN, &id));
		CHECK_OK(mrlease_register(c, a, PG(4), 0, 0, &id));	/* unpinned: not charged */
		mrlease_close(c);
		_exit(0);
	}
	CHECK_CHILD_OK(pid, 5000);
	munmap(a, PG(4));
}

static void test_strings(void)
{
	static const int errs[] = { 0, ENOENT, ENXIO, ENODEV, EBADFD, EFAULT, EACCES, ENOMEM,
				    EMFILE, EUSERS, ESTALE, ETIMEDOUT, EBUSY, EPERM, EAGAIN,
				    EOPNOTSUPP, EINVAL };

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		const char *s = mrlease_strerror(-errs[i]);

		CHECK(s && *s);
		CHECK(!strcmp(s, mrlease_strerror(errs[i])));	/* either sign */
	}
	CHECK(!strcmp(mrlease_strerror(-EINVAL), strerror(EINVAL)));
	CHECK(!strcmp(mrlease_reason_str(MRLEASE_REASON_UNMAP), "unmap"));
	CHECK(!strcmp(mrlease_reason_str(MRLEASE_REASON_CLEAR), "clear"));
	CHECK(!strcmp(mrlease_reason_str(MRLEASE_REASON_MIGRATE), "migrate"));
	CHECK(!strcmp(mrlease_reason_str(MRLEASE_REASON_EXIT), "exit"));
	CHECK(!strcmp(mrlease_reason_str(MRLEASE_REASON_OTHER), "other"));
	CHECK(!strcmp(mrlease_reason_str(MRLEASE_REASON_TIMEOUT), "timeout"));
	CHECK(!strcmp(mrlease_reason_str(MRLEASE_REASON_ADMIN), "admin"));
	CHECK(!strcmp(mrlease_reason_str(MRLEASE_REASON_LAYOUT), "layout"));
	CHECK(!strcmp(mrlease_reason_str(0), "unknown"));
	CHECK(!strcmp(mrlease_reason_str(99), "unknown"));
	CHECK(!strcmp(mrlease_state_str(MRLEASE_STATE_ARMED), "armed"));
	CHECK(!strcmp(mrlease_state_str(MRLEASE_STATE_BROKEN), "broken"));
	CHECK(!strcmp(mrlease_state_str(MRLEASE_STATE_ACKED), "acked"));
	CHECK(!strcmp(mrlease_state_str(MRLEASE_STATE_REVOKED), "revoked"));
	CHECK(!strcmp(mrlease_state_str(0), "unknown"));
}

/*
 * The one-load checks: mrlease_status_pending() agrees with
 * mrlease_pending(); mrlease_valid() is true while the lease is armed,
 * false from the break on (the word is cleared before madvise() returns),
 * true again after restore_valid(), false after unregister; a NULL valid is
 * accepted.
 */
static void test_valid(void)
{
	const volatile struct mrlease_status *st = mrlease_get_status(ctx);
	struct mrlease_valid v, v2;
	char *m = t_anon(2);
	uint64_t id, id2, gen, token;

	CHECK(st != NULL);
	CHECK(mrlease_get_status(NULL) == NULL);
	CHECK(!mrlease_status_pending(st));
	CHECK_ERR(mrlease_register_valid(NULL, m, 4096, 1, 0, 0, &id, &v), EINVAL);
	CHECK_OK(mrlease_register_valid(ctx, m, 4096, 1, 0, 0, &id, &v));
	CHECK(v.word != NULL);
	CHECK_NE(v.token, 0);
	CHECK(mrlease_valid(&v));
	CHECK_OK(mrlease_register_valid(ctx, m + 4096, 4096, 2, 0, 0, &id2, NULL));
	CHECK_SYS(madvise(m, 4096, MADV_DONTNEED));
	CHECK(!mrlease_valid(&v));
	CHECK(mrlease_status_pending(st));
	CHECK(mrlease_pending(ctx));
	get_event(ctx);
	CHECK(!mrlease_status_pending(st));
	token = v.token;
	CHECK_OK(mrlease_restore_valid(ctx, id, &gen, &v));
	CHECK(v.token > token);
	CHECK(mrlease_valid(&v));
	v2 = v;
	v2.token = token;
	CHECK(!mrlease_valid(&v2));		/* the old token is gone for good */
	CHECK_OK(mrlease_unregister(ctx, id));
	CHECK(!mrlease_valid(&v));
	CHECK_OK(mrlease_unregister(ctx, id2));
	munmap(m, 8192);
}

int main(void)
{
	test_open();
	test_register();
	test_valid();
	test_cycle();
	test_revoke();
	test_foreign();
	test_forget();
	test_limits();
	test_strings();
	t_pass();
}
