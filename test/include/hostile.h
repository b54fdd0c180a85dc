/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the 85-hostile-* tests: an unprivileged attacker (a forked
 * child that drops to uid 1000, no capabilities) against the module, with a
 * bound asserted on everything it could make wait.  The test's main process
 * stays root: it sets parameters and sysctls (put back when the test ends),
 * makes files on the DAX mounts and owns them to whom it wants, runs the
 * "victim" changes (truncate, punch, write, chmod) in children of its own,
 * and watches the kernel log.
 *
 * The DAX filesystem of a case is chosen at run time (h_fs, both ext4 and
 * xfs in one program), so fsdax.h is included with T_FS naming that
 * variable: its breakers (breaker_fork() and friends) work as for the
 * fsdax tests.
 *
 * An agent is a forked child running a function as some uid; it talks to
 * the test over two pipes in struct h_msg records.
 */
#ifndef MRLEASE_TEST_HOSTILE_H
#define MRLEASE_TEST_HOSTILE_H

static const char *h_fs = "ext4";
#define T_FS h_fs
#include "fsdax.h"

#include <grp.h>
#include <setjmp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#include "kmsg.h"
#include "nl.h"

#define KiB		(1ull << 10)
#define MiB		(1ull << 20)
#define GiB		(1ull << 30)
#define TiB		(1ull << 40)

#define H_UID		1000	/* the attacker */
#define H_UID2		1001	/* another unprivileged user (a victim) */
#define H_HOUR_MS	3600000	/* the longest timeout_ms register takes */

/* ---- root, users, the device ------------------------------------------- */

static inline void h_need_root(void)
{
	char buf[32];

	if (geteuid() != 0)
		t_skip("needs root to set up an unprivileged attacker");
	t_open_device_to_all();
	if (!t_read_text(T_SYSMOD "/parameters/max_break_timeout_ms", buf, sizeof(buf)))
		t_info("max_break_timeout_ms is %s", buf);
}

/* Print what task @pid is doing: state, wchan, kernel stack (root only). */
static inline void h_show_task(pid_t pid)
{
	char path[64], buf[2048];
	const char *const files[] = { "stat", "wchan", "stack" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, files[i]);
		if (t_read_text(path, buf, sizeof(buf)))
			continue;
		for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
			t_info("task %d %s: %s", pid, files[i], l);
	}
}

/*
 * Become @uid (and gid @uid) for good, without capabilities (no CAP_LEASE,
 * CAP_IPC_LOCK, CAP_SYS_ADMIN), with RLIMIT_MEMLOCK @memlock bytes.
 */
static inline void h_become(uid_t uid, rlim_t memlock)
{
	struct rlimit rl = { memlock, memlock };

	CHECK_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	CHECK_SYS(setgroups(0, NULL));
	CHECK_SYS(setresgid(uid, uid, uid));
	CHECK_SYS(setresuid(uid, uid, uid));
	/* A change of credentials clears these two. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_DUMPABLE, 1);
	CHECK_EQ(geteuid(), uid);
	CHECK_EQ(t_cap_eff(), 0);
}

/* ---- settings put back when the test ends -------------------------------- */

struct h_saved {
	char path[160];
	char value[64];
};

static struct h_saved h_saved[4];
static int h_nsaved;

static void h_put_back(void *arg)
{
	struct h_saved *s = arg;
	int r = t_write_text(s->path, s->value);

	if (r)
		printf("# could not put %s back to %s: %s\n", s->path, s->value, t_errname(-r));
}

/* Write @value to the sysfs/procfs file @path until the test ends: 0 or -errno. */
static inline int h_set(const char *path, const char *value)
{
	struct h_saved *s;
	int r;

	if (h_nsaved == (int)(sizeof(h_saved) / sizeof(h_saved[0])))
		abort();
	s = &h_saved[h_nsaved];
	snprintf(s->path, sizeof(s->path), "%s", path);
	r = t_read_text(path, s->value, sizeof(s->value));
	if (r)
		return r;
	r = t_write_text(path, value);
	if (r)
		return r;
	h_nsaved++;
	t_defer(h_put_back, s);
	t_info("%s: %s -> %s", path, s->value, value);
	return 0;
}

/* A module parameter, as h_set(). */
static inline int h_param_set(const char *name, long long value)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), T_SYSMOD "/parameters/%s", name);
	snprintf(buf, sizeof(buf), "%lld", value);
	return h_set(path, buf);
}

/* ---- files on the DAX mounts --------------------------------------------- */

static char h_paths[24][300];
static int h_npaths;

static void h_unlink_all(void *arg)
{
	(void)arg;
	while (h_npaths > 0)
		unlink(h_paths[--h_npaths]);
}

/* The DAX mount of @fs, or NULL. */
static inline const char *h_dax_dir(const char *fs)
{
	const char *dir = getenv(strcmp(fs, "xfs") ? "MRLEASE_EXT4" : "MRLEASE_XFS");
	struct stat st;

	if (!dir || !*dir || stat(dir, &st) || !S_ISDIR(st.st_mode))
		return NULL;
	return dir;
}

/*
 * Make a file of @pages pages on the DAX mount of h_fs, filled with the
 * fsdax.h pattern (blocks allocated), owned by @owner with @mode; its path in
 * @path (it stays there until the test ends, so that other users can open
 * it).  Returns root's O_RDWR descriptor; the file is not mapped.
 */
static inline int h_dax_file(size_t pages, uid_t owner, mode_t mode, char *path, size_t path_size)
{
	static struct t_saved_mode dirmode;
	const char *dir = h_dax_dir(h_fs);
	struct statx stx;
	char *buf;
	int fd;

	if (!dir)
		t_fail("no %s DAX mount ($MRLEASE_%s)", h_fs, strcmp(h_fs, "xfs") ? "EXT4" : "XFS");
	if (h_npaths == 0)
		t_defer(h_unlink_all, NULL);
	if (h_npaths == (int)(sizeof(h_paths) / sizeof(h_paths[0])))
		abort();
	if (!dirmode.path) {
		/* Let the other users reach the mounts (a tmpfs root may be 0700). */
		const char *mnt = "/mnt";
		struct stat st;

		if (!stat(mnt, &st) && (st.st_mode & 0111) != 0111)
			t_allow(&dirmode, mnt, 0111);
		dirmode.path = mnt;
	}
	snprintf(path, path_size, "%s/%s.%d.%d", dir, program_invocation_short_name, getpid(), h_npaths);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		t_fail("create %s: %s", path, t_errname(errno));
	{
		size_t n = strnlen(path, sizeof(h_paths[0]) - 1);

		memcpy(h_paths[h_npaths], path, n);
		h_paths[h_npaths++][n] = 0;
	}
	buf = malloc(pages * t_pg);
	CHECK(buf);
	for (size_t i = 0; i < pages; i++)
		memset(buf + i * t_pg, dax_pattern(i * t_pg), t_pg);
	if (pwrite(fd, buf, pages * t_pg, 0) != (ssize_t)(pages * t_pg))
		t_fail("write %s: %s", path, t_errname(errno));
	free(buf);
	CHECK_SYS(fsync(fd));
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx))
		t_fail("statx %s: %s", path, t_errname(errno));
	if (!(stx.stx_attributes_mask & STATX_ATTR_DAX) || !(stx.stx_attributes & STATX_ATTR_DAX))
		t_fail("%s is not a DAX file: is %s mounted with -o dax?", path, dir);
	CHECK_SYS(fchown(fd, owner, owner));
	CHECK_SYS(fchmod(fd, mode));
	return fd;
}

/*
 * The rig's debug kernel (KASAN, kmemleak: test/debug/kernel.sh names it
 * 6.1.N-mrlease-debug-KEY): freed objects sit in KASAN's quarantine, and
 * everything runs several times slower.
 */
static inline bool h_debug_kernel(void)
{
	struct utsname u;

	return uname(&u) == 0 && strstr(u.release, "-mrlease-debug-");
}

/* Memory the test's processes share (a fork keeps it), zeroed; fails the test otherwise. */
static inline void *h_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	return p;
}

/* Map @pages of the file at @path shared and writable; fails the test otherwise. */
static inline char *h_map_file(const char *path, size_t pages)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	char *map;

	if (fd < 0)
		t_fail("open %s: %s", path, t_errname(errno));
	map = mmap(NULL, PG(pages), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		t_fail("mmap %s: %s", path, t_errname(errno));
	close(fd);
	return map;
}

/* Run @fn for each DAX filesystem that is mounted; skip if none is. */
static inline void h_each_fs(void (*fn)(void))
{
	static const char *const fss[] = { "ext4", "xfs" };
	int ran = 0;

	for (size_t i = 0; i < sizeof(fss) / sizeof(fss[0]); i++) {
		h_fs = fss[i];
		if (!h_dax_dir(h_fs)) {
			t_info("no %s DAX mount: its case is left out", h_fs);
			continue;
		}
		t_info("======== %s -o dax", h_fs);
		fn();
		ran++;
	}
	if (!ran)
		t_skip("no DAX mount ($MRLEASE_EXT4, $MRLEASE_XFS)");
}

/* ---- agents: children that run as another user ------------------------ */

struct h_msg {
	int32_t op;			/* what it is about */
	int32_t err;			/* 0 or -errno */
	int64_t t_ns;			/* CLOCK_MONOTONIC when it was sent */
	int64_t v[8];			/* values, by agreement */
	struct mrlease_event ev;
	struct mrlease_query q;
};

struct h_agent {
	pid_t pid;
	int to;				/* write end: to the agent */
	int from;			/* read end: from the agent */
};

typedef void (*h_agent_fn)(int in, int out, void *arg);

/*
 * Fork an agent named @comm that becomes @uid (0: stays root) with
 * RLIMIT_MEMLOCK @memlock and runs @fn(in, out, @arg), then exits 0.  @arg
 * may point into the caller's frame (the child has its own copy).
 */
static inline void h_agent_start(struct h_agent *a, const char *comm, uid_t uid, rlim_t memlock,
				 h_agent_fn fn, void *arg)
{
	int to[2], from[2];

	t_pipe(to);
	t_pipe(from);
	a->pid = t_fork();
	if (a->pid == 0) {
		prctl(PR_SET_NAME, comm);
		close(to[1]);
		close(from[0]);
		if (uid)
			h_become(uid, memlock);
		fn(to[0], from[1], arg);
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	a->to = to[1];
	a->from = from[0];
}

static inline void h_send(int fd, const struct h_msg *m)
{
	struct h_msg c = *m;

	c.t_ns = t_now_ns();
	t_write_full(fd, &c, sizeof(c));
}

/* Send just @op (and @v0). */
static inline void h_say(int fd, int op, int64_t v0)
{
	struct h_msg m = { .op = op, .v = { v0 } };

	h_send(fd, &m);
}

/* 1 and *@m if a record came within @timeout_ms, 0 if not (or EOF). */
static inline int h_recv(int fd, struct h_msg *m, int timeout_ms)
{
	return t_read_full(fd, m, sizeof(*m), timeout_ms);
}

/* Receive a record with @op within @timeout_ms, or fail. */
#define H_EXPECT(fd, m, op_, timeout_ms) do {					\
	if (!h_recv(fd, &(m), timeout_ms))					\
		t_fail("no '%c' message within %d ms", (op_), (int)(timeout_ms)); \
	if ((m).op != (op_))							\
		t_fail("message '%c' (err %s), expected '%c'", (m).op,		\
		       t_errname(-(m).err), (op_));				\
} while (0)

/* ---- mrlease, raw ----------------------------------------------------------- */

/* One register, no retries: 0 or -errno. */
static inline int h_register(int fd, const void *addr, size_t len, uint32_t flags, uint32_t timeout_ms,
			     struct mrlease_register *out)
{
	struct mrlease_register r = {
		.addr = (uintptr_t)addr, .len = len, .cookie = (uintptr_t)addr,
		.flags = flags, .timeout_ms = timeout_ms,
	};
	int ret = t_ioctl(fd, MRLEASE_IOC_REGISTER, &r);

	if (out)
		*out = r;
	return ret;
}

static inline const char *h_hold_name(uint32_t h)
{
	switch (h) {
	case MRLEASE_HOLD_NONE: return "NONE";
	case MRLEASE_HOLD_WAIT: return "WAIT";
	case MRLEASE_HOLD_NOT_OWNER: return "NOT_OWNER";
	}
	return "?";
}

static inline void h_print_query(const char *what, const struct mrlease_query *q)
{
	t_info("%s: state %u pinned %llu backing %u timeout_ms %u layout %u layout_error %d hold %u (%s)",
	       what, q->state, (unsigned long long)q->pinned_pages, q->backing, q->timeout_ms, q->layout,
	       q->layout_error, q->hold, h_hold_name(q->hold));
}

/* ---- the kernel's view ------------------------------------------------------- */

/* Global counters (netlink); fails the test if they cannot be read. */
static inline void h_stats(struct nl_stats *s)
{
	static struct nl nl;
	static bool open;
	int r;

	if (!open) {
		r = nl_open(&nl, 10000);
		if (r)
			t_fail("resolving the %s genl family: %s", MRLEASE_GENL_NAME, t_errname(-r));
		open = true;
	}
	r = nl_stats(&nl, s);
	if (r)
		t_fail("MRLEASE_CMD_STATS_GET: %s", t_errname(-r));
}

/* No lease, pin or context left beyond @base; waits up to 5 s for them to go. */
static inline void h_check_stats_at(const char *file, int line, const struct nl_stats *base)
{
	struct nl_stats s;
	int64_t t0 = t_now_ns();

	for (;;) {
		h_stats(&s);
		if (s.leases == base->leases && s.pinned_pages == base->pinned_pages &&
		    s.contexts == base->contexts)
			break;
		if (t_ms_since(t0) > 5000)
			t_fail_at(file, line, "left behind: %llu contexts, %llu leases, %llu pinned pages "
				  "(before: %llu, %llu, %llu)",
				  (unsigned long long)s.contexts, (unsigned long long)s.leases,
				  (unsigned long long)s.pinned_pages, (unsigned long long)base->contexts,
				  (unsigned long long)base->leases, (unsigned long long)base->pinned_pages);
		t_msleep(50);
	}
	t_info("counters back: %llu contexts, %llu leases, %llu pinned pages",
	       (unsigned long long)s.contexts, (unsigned long long)s.leases,
	       (unsigned long long)s.pinned_pages);
}

#define H_CHECK_STATS(base) h_check_stats_at(__FILE__, __LINE__, base)

/* No splat in the kernel log since kmsg_open() / the last call. */
#define H_CHECK_NO_SPLAT(kfd, what) do {					\
	int n_ = kmsg_splats(kfd, 20);						\
	if (n_)									\
		t_fail("%d kernel log line(s) like a splat %s", n_, what);	\
} while (0)

/* ---- passing a descriptor ---------------------------------------------------- */

static inline void h_send_fd(int sock, int fd)
{
	char c = 'f';
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	CHECK_EQ(sendmsg(sock, &mh, 0), 1);
}

static inline int h_recv_fd(int sock)
{
	char c;
	struct iovec iov = { &c, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	int fd;

	CHECK_EQ(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC), 1);
	cm = CMSG_FIRSTHDR(&mh);
	CHECK(cm && cm->cmsg_type == SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

#endif /* MRLEASE_TEST_HOSTILE_H */
