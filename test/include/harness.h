/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small harness for the mrlease tests: one program per behaviour.
 *
 * Exit status 0 is a pass, 4 a skip (the reason is printed), anything else a
 * failure.  A failed check prints file:line, the expression and the values
 * seen, runs the cleanups registered with t_defer() (in the main process
 * only) and exits 1.  In a forked child a failed check exits the child with
 * 1, which the parent turns into its own failure through CHECK_CHILD_OK().
 *
 * Helpers that wrap an ioctl return 0 or a negative errno, so that a test
 * reads as CHECK_OK(t_ack(...)) or CHECK_ERR(t_ack(...), ESTALE).
 */
#ifndef MRLEASE_TEST_HARNESS_H
#define MRLEASE_TEST_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/mrlease.h>

#include "mrlease-names.h"

#define T_SKIP		4
#define T_DEVICE	"/dev/" MRLEASE_DEVICE_NAME
#define T_SYSMOD	"/sys/module/mrlease"

static size_t t_pg;		/* page size */
static pid_t t_pid;		/* the test's main process */

/* ---- output and failure ------------------------------------------------ */

static inline const char *t_errname(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";

	return n ? n : "E?";
}

static inline void t_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void t_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

#define T_MAX_DEFER 8
static struct { void (*fn)(void *); void *arg; } t_defers[T_MAX_DEFER];
static int t_ndefers;

/* Run fn(arg) when the test ends, passed or failed (main process only). */
static inline void t_defer(void (*fn)(void *), void *arg)
{
	if (t_ndefers == T_MAX_DEFER)
		abort();
	t_defers[t_ndefers].fn = fn;
	t_defers[t_ndefers++].arg = arg;
}

static inline void t_run_defers(void)
{
	if (getpid() != t_pid)
		return;
	while (t_ndefers > 0) {
		t_ndefers--;
		t_defers[t_ndefers].fn(t_defers[t_ndefers].arg);
	}
}

static inline void __attribute__((noreturn, format(printf, 3, 4)))
t_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (getpid() != t_pid)
		printf(" [in child %d]", getpid());
	putchar('\n');
	t_run_defers();
	_exit(1);
}

#define t_fail(...)	t_fail_at(__FILE__, __LINE__, __VA_ARGS__)

static inline void __attribute__((noreturn, format(printf, 1, 2)))
t_skip(const char *fmt, ...)
{
	va_list ap;

	fputs("SKIP: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	t_run_defers();
	_exit(T_SKIP);
}

static inline void __attribute__((noreturn)) t_pass(void)
{
	t_run_defers();
	printf("PASS %s\n", program_invocation_short_name);
	_exit(0);
}

static void t_alarm(int sig)
{
	static const char msg[] = "FAIL: watchdog expired: the test hangs\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

/* Fail the test if it is still running after @seconds (default: 60). */
static inline void t_watchdog(unsigned int seconds)
{
	signal(SIGALRM, t_alarm);
	alarm(seconds);
}

__attribute__((constructor)) static void t_init(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	t_pg = (size_t)sysconf(_SC_PAGESIZE);
	t_pid = getpid();
	t_watchdog(60);
}

/* ---- checks ------------------------------------------------------------ */

#define CHECK(cond) do {							\
	if (!(cond))								\
		t_fail("CHECK(%s) failed", #cond);				\
} while (0)

#define T_CMP(a, op, b) do {							\
	long long a_ = (long long)(a), b_ = (long long)(b);		\
	if (!(a_ op b_))							\
		t_fail("%s " #op " %s: %lld (%#llx) vs %lld (%#llx)",	\
		       #a, #b, a_, a_, b_, b_);				\
} while (0)
#define CHECK_EQ(a, b)	T_CMP(a, ==, b)
#define CHECK_NE(a, b)	T_CMP(a, !=, b)
#define CHECK_LT(a, b)	T_CMP(a, <, b)
#define CHECK_LE(a, b)	T_CMP(a, <=, b)
#define CHECK_GE(a, b)	T_CMP(a, >=, b)

/* @expr returns 0 or -errno. */
#define CHECK_OK(expr) do {							\
	int r_ = (expr);							\
	if (r_)									\
		t_fail("%s: %s", #expr, t_errname(-r_));			\
} while (0)

/* @expr returns 0 or -errno; expect -@err. */
#define CHECK_ERR(expr, err) do {						\
	int r_ = (expr);							\
	if (r_ != -(err))							\
		t_fail("%s: expected %s, got %s", #expr, t_errname(err),	\
		       r_ ? t_errname(-r_) : "success");			\
} while (0)

/* @expr is a system call returning -1 (or MAP_FAILED) with errno; its value. */
#define CHECK_SYS(expr) ({							\
	__typeof__(expr) r_ = (expr);						\
	if ((long)r_ == -1L)							\
		t_fail("%s: %s", #expr, t_errname(errno));			\
	r_;									\
})

/* @expr is a system call; expect it to fail with errno @err. */
#define CHECK_SYSERR(expr, err) do {						\
	errno = 0;								\
	long r_ = (long)(expr);							\
	if (r_ != -1L || errno != (err))					\
		t_fail("%s: expected %s, got %ld (errno %s)", #expr,		\
		       t_errname(err), r_, t_errname(errno));			\
} while (0)

/* ---- time -------------------------------------------------------------- */

static inline int64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t t_ms_since(int64_t t0)
{
	return (t_now_ns() - t0) / 1000000;
}

/* Effective capabilities of this process, from /proc/self/status. */
static inline unsigned long long t_cap_eff(void)
{
	char line[256];
	unsigned long long caps = ~0ull;
	FILE *f = fopen("/proc/self/status", "r");

	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return caps;
}

static inline void t_msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- processes --------------------------------------------------------- */

/* fork(); the child dies with the parent and reports failures as its status. */
static inline pid_t t_fork(void)
{
	pid_t pid = fork();

	if (pid < 0)
		t_fail("fork: %s", t_errname(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(0);
	}
	return pid;
}

/* Wait up to @timeout_ms for @pid: 1 and *status when it ended, 0 if not. */
static inline int t_wait(pid_t pid, int timeout_ms, int *status)
{
	int64_t t0 = t_now_ns();
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			t_fail("waitpid(%d): %s", pid, t_errname(errno));
		if (t_ms_since(t0) >= timeout_ms)
			return 0;
		t_msleep(2);
	}
}

static inline void t_check_child_at(const char *file, int line, pid_t pid, int timeout_ms)
{
	int st;

	if (!t_wait(pid, timeout_ms, &st)) {
		kill(pid, SIGKILL);
		t_fail_at(file, line, "child %d still running after %d ms", pid, timeout_ms);
	}
	if (WIFSIGNALED(st))
		t_fail_at(file, line, "child %d killed by signal %d", pid, WTERMSIG(st));
	if (WEXITSTATUS(st))
		t_fail_at(file, line, "child %d exited with %d", pid, WEXITSTATUS(st));
}

/* The child ends within @timeout_ms with status 0. */
#define CHECK_CHILD_OK(pid, timeout_ms) t_check_child_at(__FILE__, __LINE__, pid, timeout_ms)

static inline void t_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		t_fail("pipe2: %s", t_errname(errno));
}

/* Read exactly @len bytes from @fd within @timeout_ms: 1, or 0 on timeout/EOF. */
static inline int t_read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	int64_t t0 = t_now_ns();
	size_t done = 0;

	while (done < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = timeout_ms - (int)t_ms_since(t0);
		ssize_t n;

		if (left < 0 || poll(&p, 1, left) == 0)
			return 0;
		n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		done += (size_t)n;
	}
	return 1;
}

static inline void t_write_full(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		t_fail("write to pipe: %s", t_errname(errno));
}

/* ---- files ------------------------------------------------------------- */

/* Read a small text file into @buf: 0 or -errno. */
static inline int t_read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

static inline int t_write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* A module parameter as a number; fails the test if it cannot be read. */
static inline long long t_param_get(const char *name)
{
	char path[128], buf[64];
	int r;

	snprintf(path, sizeof(path), T_SYSMOD "/parameters/%s", name);
	r = t_read_text(path, buf, sizeof(buf));
	if (r)
		t_fail("read %s: %s", path, t_errname(-r));
	return strtoll(buf, NULL, 0);
}

static inline int t_param_set(const char *name, long long value)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), T_SYSMOD "/parameters/%s", name);
	snprintf(buf, sizeof(buf), "%lld", value);
	return t_write_text(path, buf);
}

/* ---- memory ------------------------------------------------------------ */

/*
 * @pages of private anonymous memory, no THP (so that partial unmaps do not
 * split huge pages and widen the breaks), every page written with its index.
 */
static inline char *t_anon(size_t pages)
{
	char *p = mmap(NULL, pages * t_pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		t_fail("mmap %zu anonymous pages: %s", pages, t_errname(errno));
	madvise(p, pages * t_pg, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < pages; i++)
		memset(p + i * t_pg, (int)(i & 0x7f) + 1, t_pg);
	return p;
}

#define PG(n)	((size_t)(n) * t_pg)

/*
 * The page frame behind @addr, from /proc/self/pagemap (the tests run as
 * root, which sees real frame numbers), or 0 if nothing is mapped there.
 * Tests whose expectation depends on whether the kernel really replaced a
 * page (copy-on-write rules differ between kernel versions) compare it
 * before and after: a lease must break exactly when the frame changes.
 */
static inline uint64_t t_pfn(const volatile void *addr)
{
	uint64_t entry = 0;
	off_t off = (off_t)((uintptr_t)addr / t_pg * sizeof(entry));
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		t_fail("open /proc/self/pagemap: %s", t_errname(errno));
	if (pread(fd, &entry, sizeof(entry), off) != (ssize_t)sizeof(entry))
		t_fail("read /proc/self/pagemap: %s", t_errname(errno));
	close(fd);
	if (!(entry >> 63))		/* not present */
		return 0;
	return entry & ((1ull << 55) - 1);
}

/* ---- other users ------------------------------------------------------- */

struct t_saved_mode {
	const char *path;
	mode_t mode;
};

static void t_put_mode_back(void *arg)
{
	struct t_saved_mode *m = arg;

	chmod(m->path, m->mode);
}

/* Give everybody at least @mode on @path until the test ends. */
static inline void t_allow(struct t_saved_mode *m, const char *path, mode_t mode)
{
	struct stat st;

	CHECK_SYS(stat(path, &st));
	m->path = path;
	m->mode = st.st_mode & 07777;
	if ((m->mode & mode) == mode)
		return;
	CHECK_SYS(chmod(path, m->mode | mode));
	t_defer(t_put_mode_back, m);
}

/*
 * Let unprivileged users (the tests drop to uid 65534) reach and open the
 * device until the test ends: an initramfs root may be 0700.  Needs root.
 */
static inline void t_open_device_to_all(void)
{
	static struct t_saved_mode modes[3];

	t_allow(&modes[0], "/", 0111);
	t_allow(&modes[1], "/dev", 0111);
	t_allow(&modes[2], T_DEVICE, 0666);
}

/* ---- mrlease ----------------------------------------------------------- */

static inline int t_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* open(/dev/mrlease) with @flags added to O_RDWR | O_CLOEXEC; no handshake. */
static inline int t_open_raw(int flags)
{
	int fd = open(T_DEVICE, O_RDWR | O_CLOEXEC | flags);

	if (fd < 0)
		t_fail("open " T_DEVICE ": %s (is the module loaded?)", t_errname(errno));
	return fd;
}

static inline int t_api(int fd, uint64_t features, struct mrlease_api *out)
{
	struct mrlease_api a = { .api = MRLEASE_API, .features = features };
	int r = t_ioctl(fd, MRLEASE_IOC_API, &a);

	if (out)
		*out = a;
	return r;
}

/* A context with every feature; fails the test otherwise. */
static inline int t_ctx_flags(int flags)
{
	struct mrlease_api a;
	int fd = t_open_raw(flags), r;

	r = t_api(fd, MRLEASE_FEATURE_ALL, &a);
	if (r)
		t_fail("MRLEASE_IOC_API: %s", t_errname(-r));
	if (a.features != MRLEASE_FEATURE_ALL)
		t_fail("MRLEASE_IOC_API granted %#llx, wanted %#llx",
		       (unsigned long long)a.features, (unsigned long long)MRLEASE_FEATURE_ALL);
	return fd;
}

static inline int t_ctx(void)
{
	return t_ctx_flags(0);
}

/*
 * Register and restore fail with -EAGAIN, by contract, while a change of a
 * leased file is still going on (a truncate holding the file, a broken file
 * lease given back less than 200 ms ago): the wrappers retry for up to 2 s
 * as a library would.  t_restore_once() does not.
 */
#define T_EAGAIN_TRIES	100
#define T_EAGAIN_MS	20

static inline int t_register(int fd, const void *addr, size_t len, uint64_t cookie,
			       uint32_t flags, uint32_t timeout_ms, struct mrlease_register *out)
{
	struct mrlease_register r;
	int ret, i;

	for (i = 0;; i++) {
		r = (struct mrlease_register){
			.addr = (uintptr_t)addr, .len = len, .cookie = cookie,
			.flags = flags, .timeout_ms = timeout_ms,
		};
		ret = t_ioctl(fd, MRLEASE_IOC_REGISTER, &r);
		if (ret != -EAGAIN || i == T_EAGAIN_TRIES)
			break;
		t_msleep(T_EAGAIN_MS);
	}
	if (out)
		*out = r;
	return ret;
}

static inline int t_unregister(int fd, uint64_t id)
{
	struct mrlease_lease_ref ref = { .id = id };

	return t_ioctl(fd, MRLEASE_IOC_UNREGISTER, &ref);
}

static inline int t_ack(int fd, uint64_t id, uint64_t generation)
{
	struct mrlease_lease_ref ref = { .id = id, .generation = generation };

	return t_ioctl(fd, MRLEASE_IOC_ACK, &ref);
}

/* Restore lease @l, updating l->generation and l->token on success. */
static inline int t_restore_once(int fd, struct mrlease_register *l)
{
	struct mrlease_restore r = { .id = l->id };
	int ret = t_ioctl(fd, MRLEASE_IOC_RESTORE, &r);

	if (!ret) {
		l->generation = r.generation;
		l->token = r.token;
	}
	return ret;
}

static inline int t_restore(int fd, struct mrlease_register *l)
{
	int ret, i;

	for (i = 0; (ret = t_restore_once(fd, l)) == -EAGAIN && i < T_EAGAIN_TRIES; i++)
		t_msleep(T_EAGAIN_MS);
	return ret;
}

static inline int t_query(int fd, uint64_t id, struct mrlease_query *q)
{
	memset(q, 0, sizeof(*q));
	q->id = id;
	return t_ioctl(fd, MRLEASE_IOC_QUERY, q);
}

static inline uint32_t t_state(int fd, uint64_t id)
{
	struct mrlease_query q;
	int r = t_query(fd, id, &q);

	if (r)
		t_fail("MRLEASE_IOC_QUERY id %llu: %s", (unsigned long long)id, t_errname(-r));
	return q.state;
}

/* The read-only status page of @fd. */
static inline const volatile struct mrlease_status *t_status(int fd)
{
	void *p = mmap(NULL, t_pg, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		t_fail("mmap of the status page: %s", t_errname(errno));
	return p;
}

static inline const char *t_type_name(uint32_t t)
{
	const char *name = mrlease_name(mrlease_event_names, t);

	return name ? name : "?";
}

static inline const char *t_reason_name(uint32_t r)
{
	const char *name = mrlease_name(mrlease_reason_names, r);

	return name ? name : "?";
}

static inline void t_print_event(const struct mrlease_event *e)
{
	t_info("event %s reason=%s id=%llu cookie=%#llx gen=%llu range=%#llx+%#llx flags=%s%s%s%#x pid=%d comm=%.16s",
	       t_type_name(e->type), t_reason_name(e->reason),
	       (unsigned long long)e->id, (unsigned long long)e->cookie,
	       (unsigned long long)e->generation, (unsigned long long)e->start,
	       (unsigned long long)e->length,
	       e->flags & MRLEASE_EVENT_F_SELF ? "SELF|" : "",
	       e->flags & MRLEASE_EVENT_F_KTHREAD ? "KTHREAD|" : "",
	       e->flags & MRLEASE_EVENT_F_UNPINNED ? "UNPINNED|" : "",
	       e->flags, e->breaker_pid, e->breaker_comm);
}

/*
 * Wait up to @timeout_ms for a record and read exactly one: 1 if one came,
 * 0 if none, -errno on error.  Works on blocking and non-blocking fds.
 *
 * poll() also reports EPOLLIN while a page-table check runs that may or may
 * not queue a record; when it queues none, a blocking read() would wait for
 * the next record, whenever that comes.  So the read after poll() is a
 * non-blocking one, and an -EAGAIN from it means: poll again (as select(2)
 * advises for sockets).
 */
static inline int t_event(int fd, struct mrlease_event *ev, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t t0 = t_now_ns();
	int fl = fcntl(fd, F_GETFL);
	ssize_t n;
	int r;

	if (fl < 0)
		return -errno;
	for (;;) {
		int left = timeout_ms - (int)t_ms_since(t0);

		r = poll(&p, 1, left < 0 ? 0 : left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		if (!(p.revents & POLLIN))
			return -EIO;
		if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK))
			return -errno;
		n = read(fd, ev, sizeof(*ev));
		r = n < 0 ? -errno : 0;
		if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl))
			return -errno;
		if (r == -EAGAIN && t_ms_since(t0) < timeout_ms)
			continue;	/* a check ended without a record */
		if (r == -EAGAIN)
			return 0;
		if (r)
			return r;
		return n == sizeof(*ev) ? 1 : -EIO;
	}
}

/* Read one record, waiting up to @timeout_ms; fail if none comes. */
#define GET_EVENT(fd, ev, timeout_ms) do {					\
	int r_ = t_event(fd, &(ev), timeout_ms);				\
	if (r_ < 0)								\
		t_fail("reading an event: %s", t_errname(-r_));		\
	if (r_ == 0)								\
		t_fail("no event within %d ms", (int)(timeout_ms));		\
	t_print_event(&(ev));							\
} while (0)

/* No record arrives within @timeout_ms. */
#define CHECK_NO_EVENT(fd, timeout_ms) do {					\
	struct mrlease_event e_;						\
	int r_ = t_event(fd, &e_, timeout_ms);				\
	if (r_ == 1) {								\
		t_print_event(&e_);						\
		t_fail("unexpected event (waited %d ms)", (int)(timeout_ms));	\
	}									\
	if (r_ < 0)								\
		t_fail("polling for events: %s", t_errname(-r_));		\
} while (0)

static inline void t_check_event_at(const char *file, int line, const struct mrlease_event *e,
				    uint32_t type, uint32_t reason,
				    const struct mrlease_register *l, uint32_t flags)
{
	uint64_t lstart = l->addr & ~(uint64_t)(t_pg - 1);
	uint64_t lend = (l->addr + l->len + t_pg - 1) & ~(uint64_t)(t_pg - 1);
	/* "Pins already dropped" means nothing for a lease without pins. */
	uint32_t ignore = l->flags & MRLEASE_REG_PIN ? 0 : MRLEASE_EVENT_F_UNPINNED;
	const char *what = NULL;

	if (e->type != type)
		what = "type";
	else if (e->reason != reason)
		what = "reason";
	else if (e->id != l->id)
		what = "id";
	else if (e->cookie != l->cookie)
		what = "cookie";
	else if (e->generation != l->generation)
		what = "generation";
	else if ((e->flags & ~ignore) != flags)
		what = "flags";
	else if (e->reserved[0] || e->reserved[1] || e->reserved[2])
		what = "reserved (not zero)";
	else if (!memchr(e->breaker_comm, 0, sizeof(e->breaker_comm)))
		what = "breaker_comm (not NUL-terminated)";
	else if (type == MRLEASE_EVENT_DECOHERENCE &&
		 (e->length == 0 || e->start < lstart || e->start + e->length > lend ||
		  (e->start | e->length) & (t_pg - 1)))
		what = "range (empty, unaligned or outside the lease)";
	if (!what)
		return;
	t_info("expected %s reason=%s id=%llu cookie=%#llx gen=%llu flags=%#x in %#llx-%#llx",
	       t_type_name(type), t_reason_name(reason), (unsigned long long)l->id,
	       (unsigned long long)l->cookie, (unsigned long long)l->generation, flags,
	       (unsigned long long)lstart, (unsigned long long)lend);
	t_print_event(e);
	t_fail_at(file, line, "event has the wrong %s", what);
}

/*
 * @ev is a record of @type and @reason for lease @l (id, cookie, generation,
 * range inside the lease) with exactly the event flags @flags (the UNPINNED
 * bit is ignored for a lease registered without MRLEASE_REG_PIN).
 */
#define CHECK_EVENT(ev, type, reason, l, flags) \
	t_check_event_at(__FILE__, __LINE__, &(ev), type, reason, &(l), flags)

/* @ev covers exactly [start, start + len). */
#define CHECK_EVENT_RANGE(ev, start_, len_) do {				\
	CHECK_EQ((ev).start, (uintptr_t)(start_));				\
	CHECK_EQ((ev).length, (len_));						\
} while (0)

/* The record was caused by this process (pid and comm). */
#define CHECK_EVENT_BY(ev, pid) do {						\
	CHECK_EQ((ev).breaker_pid, (pid));					\
	CHECK(strncmp((ev).breaker_comm, t_comm(),				\
		      sizeof((ev).breaker_comm)) == 0);				\
} while (0)

/* This task's comm, as the kernel reports it. */
static inline const char *t_comm(void)
{
	static char comm[17];

	prctl(PR_GET_NAME, comm);
	return comm;
}

/* How many of this process's descriptors are open on /dev/mrlease. */
static inline int t_mrlease_fds(void)
{
	char path[64], target[64];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = 0;
		n += !strcmp(target, "/dev/mrlease");
	}
	return n;
}

/* How many mappings of /dev/mrlease this process has (each keeps a context alive, as a descriptor does). */
static inline int t_mrlease_maps(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (!maps)
		return -1;
	while (fgets(line, sizeof(line), maps))
		n += strstr(line, " /dev/mrlease") != NULL;
	fclose(maps);
	return n;
}

#endif /* MRLEASE_TEST_HARNESS_H */
