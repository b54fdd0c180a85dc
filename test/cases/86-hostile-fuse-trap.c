// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, a register that waits on a FUSE daemon: the twin of
 * 85-hostile-uffd-trap, with a FUSE page instead of a userfaultfd page.
 * Nothing root does to a file may hang because a reader's register is stuck
 * in a page fault that user space never lets finish.
 *
 * Root opens /dev/fuse and mounts a FUSE filesystem (allow_other) on a
 * directory under /tmp; its daemon, a raw /dev/fuse server in this file
 * (no libfuse) run as uid 1000, serves one regular file "f" (0666, 4 pages)
 * and answers everything but FUSE_READ, which it never answers (nor its
 * FUSE_INTERRUPT, if one comes).  On ext4 and xfs -o dax, uid 1000 maps a
 * ROOT-owned 0644 DAX file read-only at one page and the FUSE file (shared,
 * read-only; not direct I/O, so the fault goes through FUSE_READ) at the
 * page next to it, in both orders:
 *  - [DAX][FUSE]: the register faults the DAX page in, then waits in the
 *    FUSE fault;
 *  - [FUSE][DAX]: it waits in the FUSE fault before the DAX page.
 * A thread registers a pinned lease over the two pages; the daemon reports
 * the READ the fault sent.  While the register still waits, no page may be
 * pinned (the global counter is back at the test's start), and root, in
 * children (each within 2 s; hard cap 10 s):
 *  - chmod()s the DAX file: an arm that held the file's i_rwsem while it
 *    pinned left this in D state for as long as the daemon liked;
 *  - truncates the DAX file to half its size (the mapped page stays), then
 *    to 0 (it goes).
 * A victim still blocked at the cap is shown (state, wchan, kernel stack)
 * with the registering thread.  The register must still be waiting then;
 * the attacker is SIGKILLed and must be reaped within 5 s (the fault waits
 * killably for the page the read-ahead locked), and at the end no context,
 * lease or pin is left.
 */
#include "hostile.h"

#include <pthread.h>
#include <sys/mount.h>
#include <linux/fuse.h>

#define FILE_PAGES	16
#define FUSE_PAGES	4
#define AT_ONCE_MS	2000
#define CAP_MS		10000
#define REAP_MS		5000

#define FUSE_ROOT_ID	1
#define FUSE_FILE_ID	2
#define FUSE_BUF	(256 * 1024)

static char path[300];		/* the DAX file */
static char mnt[64];		/* the FUSE mount ("" when none) */
static char fpath[80];		/* the FUSE file */
static pid_t attacker_pid, daemon_pid;
static struct nl_stats base;
static int area_ctx, area_out;
static char *area;
static bool fuse_first;
static struct t_saved_mode tmpmode;

/* ---- the FUSE daemon --------------------------------------------------- */

static void fuse_attr_of(uint64_t nodeid, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = nodeid;
	a->blksize = (uint32_t)t_pg;
	if (nodeid == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		a->mode = S_IFREG | 0666;
		a->nlink = 1;
		a->size = PG(FUSE_PAGES);
		a->blocks = PG(FUSE_PAGES) / 512;
	}
}

/* Answer request @unique with @error (0 or -errno) and @len bytes of @arg. */
static void fuse_reply(int fd, uint64_t unique, int error, const void *arg, size_t len)
{
	struct {
		struct fuse_out_header h;
		char arg[256];
	} r;
	size_t n = sizeof(r.h) + (error ? 0 : len);

	CHECK(len <= sizeof(r.arg));
	r.h = (struct fuse_out_header){ .len = (uint32_t)n, .error = error, .unique = unique };
	if (!error && len)
		memcpy(r.arg, arg, len);
	/* ENOENT: the kernel gave up on the request (interrupted, aborted). */
	if (write(fd, &r, n) != (ssize_t)n && errno != ENOENT)
		t_fail("write to /dev/fuse (unique %llu): %s", (unsigned long long)unique,
		       t_errname(errno));
}

/*
 * Serve /dev/fuse @arg until the connection goes.  Messages to the test:
 * 'i' INIT answered (v0 kernel's minor, v1 minor answered, v2 flags,
 * v3 max_readahead), 'r' a READ held (v0 nodeid, v1 offset, v2 size,
 * v3 unique, v4 pid), 'n' an INTERRUPT (v0 the unique), 'x' the
 * connection went (err).
 */
static void fuse_daemon(int in, int out, void *arg)
{
	int fd = *(const int *)arg;
	char *buf = malloc(FUSE_BUF);
	struct h_msg m;

	(void)in;
	CHECK(buf);
	for (;;) {
		const struct fuse_in_header *h = (const void *)buf;
		const void *p = buf + sizeof(*h);
		ssize_t n = read(fd, buf, FUSE_BUF);

		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOENT))
			continue;
		if (n < 0) {
			/* ENODEV: unmounted or aborted. */
			m = (struct h_msg){ .op = 'x', .err = -errno };
			h_send(out, &m);
			return;
		}
		if ((size_t)n < sizeof(*h) || h->len != (uint32_t)n)
			t_fail("short or odd FUSE request: %zd bytes, len %u", n,
			       (size_t)n < sizeof(*h) ? 0 : h->len);
		switch (h->opcode) {
		case FUSE_INIT: {
			const struct fuse_init_in *ii = p;
			struct fuse_init_out io = {
				.major = FUSE_KERNEL_VERSION,
				.minor = ii->minor < FUSE_KERNEL_MINOR_VERSION ?
					 ii->minor : FUSE_KERNEL_MINOR_VERSION,
				.max_readahead = ii->max_readahead,
				/*
				 * Read-ahead sent in the background: the fault
				 * then waits killably for the page lock, not for
				 * the answer (a synchronous request, once the
				 * daemon has read it, waits for the answer even
				 * when its task is killed).
				 */
				.flags = ii->flags & FUSE_ASYNC_READ,
				.max_write = 64 * 1024,
			};

			if (ii->major != FUSE_KERNEL_VERSION) {
				fuse_reply(fd, h->unique, -EPROTO, NULL, 0);
				t_fail("FUSE_INIT: kernel speaks %u.%u", ii->major, ii->minor);
			}
			fuse_reply(fd, h->unique, 0, &io, sizeof(io));
			m = (struct h_msg){ .op = 'i', .v = { ii->minor, io.minor, io.flags,
							      io.max_readahead } };
			h_send(out, &m);
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out e = {
				.nodeid = FUSE_FILE_ID, .generation = 1,
				.entry_valid = 3600, .attr_valid = 3600,
			};

			if (h->nodeid != FUSE_ROOT_ID || strcmp(p, "f")) {
				fuse_reply(fd, h->unique, -ENOENT, NULL, 0);
				break;
			}
			fuse_attr_of(FUSE_FILE_ID, &e.attr);
			fuse_reply(fd, h->unique, 0, &e, sizeof(e));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out a = { .attr_valid = 3600 };

			if (h->nodeid != FUSE_ROOT_ID && h->nodeid != FUSE_FILE_ID) {
				fuse_reply(fd, h->unique, -ENOENT, NULL, 0);
				break;
			}
			fuse_attr_of(h->nodeid, &a.attr);
			fuse_reply(fd, h->unique, 0, &a, sizeof(a));
			break;
		}
		case FUSE_OPEN: {
			/* No FOPEN_DIRECT_IO: faults read through the page cache. */
			struct fuse_open_out o = { .fh = 1 };

			if (h->nodeid != FUSE_FILE_ID) {
				fuse_reply(fd, h->unique, -EISDIR, NULL, 0);
				break;
			}
			fuse_reply(fd, h->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_READ: {
			const struct fuse_read_in *r = p;

			/* Held for good. */
			m = (struct h_msg){ .op = 'r', .v = { (int64_t)h->nodeid, (int64_t)r->offset,
							      r->size, (int64_t)h->unique, h->pid } };
			h_send(out, &m);
			break;
		}
		case FUSE_INTERRUPT: {
			const struct fuse_interrupt_in *ii = p;

			/* Ignored: the kernel may wait for the answer as long as we like. */
			m = (struct h_msg){ .op = 'n', .v = { (int64_t)ii->unique } };
			h_send(out, &m);
			break;
		}
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
			break;		/* no answer */
		case FUSE_FLUSH:
		case FUSE_RELEASE:
		case FUSE_RELEASEDIR:
		case FUSE_ACCESS:
			fuse_reply(fd, h->unique, 0, NULL, 0);
			break;
		default:
			fuse_reply(fd, h->unique, -ENOSYS, NULL, 0);
			break;
		}
	}
}

/* Tear down the FUSE mount of the current case, if any. */
static void fuse_down(void)
{
	int st;

	if (daemon_pid > 0) {
		/* Its /dev/fuse descriptor closed: the connection is aborted. */
		kill(daemon_pid, SIGKILL);
		if (!t_wait(daemon_pid, 5000, &st))
			printf("# the FUSE daemon %d is not reaped after 5 s\n", daemon_pid);
		daemon_pid = 0;
	}
	if (mnt[0]) {
		if (umount2(mnt, MNT_DETACH))
			printf("# umount2 %s: %s\n", mnt, t_errname(errno));
		rmdir(mnt);
		mnt[0] = 0;
	}
}

/*
 * Mount the FUSE filesystem and start its daemon (uid 1000); @d its agent.
 * Skips if the kernel has no FUSE.
 */
static void fuse_up(struct h_agent *d)
{
	char opts[128];
	struct h_msg m;
	int fd;

	snprintf(mnt, sizeof(mnt), "/tmp/mrl-fuse.%d", getpid());
	if (mkdir(mnt, 0755) && errno != EEXIST)
		t_fail("mkdir %s: %s", mnt, t_errname(errno));
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);	/* the daemon, forked, keeps it */
	if (fd < 0) {
		int e = errno;

		rmdir(mnt);
		mnt[0] = 0;
		t_skip("open /dev/fuse: %s (no fuse module in the guest?)", t_errname(e));
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
	if (mount("mrl-fuse", mnt, "fuse", MS_NOSUID | MS_NODEV, opts)) {
		int e = errno;

		close(fd);
		rmdir(mnt);
		mnt[0] = 0;
		if (e == ENODEV)
			t_skip("mount -t fuse: %s (no fuse filesystem in the guest)", t_errname(e));
		t_fail("mount -t fuse %s (%s): %s", mnt, opts, t_errname(e));
	}
	h_agent_start(d, "mrl-fuse-daemon", H_UID, 64 * MiB, fuse_daemon, &fd);
	daemon_pid = d->pid;
	/* Only the daemon holds the connection: its death aborts it. */
	close(fd);
	H_EXPECT(d->from, m, 'i', 10000);
	t_info("FUSE mounted on %s: kernel 7.%lld, answered 7.%lld, flags %#llx, max_readahead %lld",
	       mnt, (long long)m.v[0], (long long)m.v[1], (long long)m.v[2], (long long)m.v[3]);
	snprintf(fpath, sizeof(fpath), "%s/f", mnt);
}

/* ---- the attacker ------------------------------------------------------ */

/* 'g': the register starts (v0 = its tid); 'R': it returned (err). */
static void *registrar(void *arg)
{
	struct h_msg m = { .op = 'g' };

	(void)arg;
	m.v[0] = gettid();
	h_send(area_out, &m);
	m.op = 'R';
	m.err = h_register(area_ctx, area, PG(2), MRLEASE_REG_PIN, H_HOUR_MS, NULL);
	h_send(area_out, &m);
	return NULL;
}

static void attacker(int in, int out, void *arg)
{
	char *dax_at, *fuse_at;
	struct h_msg m;
	pthread_t th;
	int fd, ffd;

	(void)arg;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_fail("open %s: %s", path, t_errname(errno));
	ffd = open(fpath, O_RDONLY | O_CLOEXEC);
	if (ffd < 0)
		t_fail("open %s: %s", fpath, t_errname(errno));
	area = mmap(NULL, PG(2), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(area != MAP_FAILED);
	dax_at = fuse_first ? area + t_pg : area;
	fuse_at = fuse_first ? area : area + t_pg;
	CHECK(mmap(dax_at, t_pg, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == dax_at);
	CHECK(mmap(fuse_at, t_pg, PROT_READ, MAP_SHARED | MAP_FIXED, ffd, 0) == fuse_at);
	/* The mappings keep the files; the FUSE flush is answered now. */
	close(fd);
	close(ffd);
	area_ctx = t_ctx();
	area_out = out;
	CHECK_EQ(pthread_create(&th, NULL, registrar, NULL), 0);
	/* Never let it finish; wait to be killed. */
	h_recv(in, &m, 3600 * 1000);
}

static void kill_attacker(void)
{
	if (attacker_pid > 0)
		kill(attacker_pid, SIGKILL);
}

/* At the end of the test: the attacker first (unlink waits for i_rwsem too), then FUSE. */
static void teardown(void *arg)
{
	(void)arg;
	kill_attacker();
	fuse_down();
	if (tmpmode.path)
		t_put_mode_back(&tmpmode);
}

/* ---- root --------------------------------------------------------------- */

static struct h_agent att;
static pid_t reg_tid;

/* Show task @pid (if any) and the registering thread; kill the attacker. */
static void show_stuck(pid_t pid)
{
	if (pid > 0)
		h_show_task(pid);
	if (reg_tid > 0) {
		t_info("the registering thread, %d of attacker %d:", reg_tid, attacker_pid);
		h_show_task(reg_tid);
	}
	kill_attacker();
}

/* The register has not returned and its process lives. */
static void check_still_waiting(const char *when)
{
	struct h_msg m;
	int st = 0;

	if (h_recv(att.from, &m, 0)) {
		if (m.op == 'R')
			t_fail("the register returned %s (%s): it should wait in the FUSE fault",
			       when, t_errname(-m.err));
		t_fail("unexpected message '%c' from the attacker %s", m.op, when);
	}
	if (waitpid(att.pid, &st, WNOHANG) != 0)
		t_fail("the attacker is gone %s (status %#x)", when, st);
}

static int do_truncate(const void *arg)
{
	const int *a = arg;

	return ftruncate(a[0], (off_t)a[1]) ? errno : 0;
}

static int do_chmod(const void *arg)
{
	(void)arg;
	return chmod(path, 0640) ? errno : 0;
}

/* Run @fn in a root child; it must return within AT_ONCE_MS (hard cap CAP_MS). */
static void victim(const char *what, int (*fn)(const void *), const void *arg)
{
	struct breaker_report rep;
	struct breaker b;
	int64_t took;

	breaker_fork(&b, "mrl-victim", fn, arg);
	breaker_go(&b);
	if (!breaker_returned(&b, CAP_MS, &rep)) {
		show_stuck(b.pid);
		t_fail("root's %s is still blocked after %d ms, while uid %d's register waits in a "
		       "FUSE fault", what, CAP_MS, H_UID);
	}
	took = (rep.end_ns - rep.start_ns) / 1000000;
	t_info("root's %s returned after %lld ms (%s)", what, (long long)took, t_errname(rep.err));
	if (took >= AT_ONCE_MS)
		kill_attacker();
	CHECK_EQ(rep.err, 0);
	CHECK_CHILD_OK(b.pid, 5000);
	CHECK_LT(took, AT_ONCE_MS);
}

static void one_case(bool fuse_page_first)
{
	static bool deferred;
	struct h_agent d;
	struct nl_stats s;
	struct h_msg m;
	int64_t t_kill, reaped;
	int fd, st, args[2];

	fuse_first = fuse_page_first;
	t_info("---- %s: [%s][%s]", h_fs, fuse_first ? "FUSE" : "DAX", fuse_first ? "DAX" : "FUSE");
	fd = h_dax_file(FILE_PAGES, 0, 0644, path, sizeof(path));
	/* After h_dax_file()'s unlink: run before it. */
	if (!deferred) {
		struct stat tst;

		/* Let uid 1000 reach the mount (a tmpfs /tmp may be 0700). */
		if (!stat("/tmp", &tst) && (tst.st_mode & 0111) != 0111) {
			tmpmode.path = "/tmp";
			tmpmode.mode = tst.st_mode & 07777;
			CHECK_SYS(chmod("/tmp", tmpmode.mode | 0111));
		}
		t_defer(teardown, NULL);
	}
	deferred = true;
	fuse_up(&d);

	reg_tid = 0;
	h_agent_start(&att, "mrl-hostile", H_UID, 64 * MiB, attacker, NULL);
	attacker_pid = att.pid;
	H_EXPECT(att.from, m, 'g', 30000);
	reg_tid = (pid_t)m.v[0];

	/* The READ of the fault, or the register's early return. */
	for (;;) {
		struct pollfd p[2] = { { .fd = d.from, .events = POLLIN },
				       { .fd = att.from, .events = POLLIN } };

		if (poll(p, 2, 30000) <= 0)
			t_fail("no FUSE_READ from the register's fault within 30 s");
		if (p[1].revents) {
			if (!h_recv(att.from, &m, 1000))
				t_fail("the attacker died before its register faulted on the FUSE page");
			t_fail("the register returned (%s) before it faulted on the FUSE page",
			       t_errname(-m.err));
		}
		if (!h_recv(d.from, &m, 1000))
			t_fail("the FUSE daemon died");
		if (m.op == 'r')
			break;
		t_info("FUSE daemon: '%c' %lld", m.op, (long long)m.v[0]);
	}
	t_info("uid %d's register waits in a FUSE fault: READ of node %lld at %lld, %lld bytes, "
	       "unique %lld, pid %lld (registering thread %d), never answered", H_UID,
	       (long long)m.v[0], (long long)m.v[1], (long long)m.v[2], (long long)m.v[3],
	       (long long)m.v[4], reg_tid);
	CHECK_EQ(m.v[0], FUSE_FILE_ID);
	CHECK_EQ(m.v[1], 0);
	/* The request's pid is the faulting thread's: the register's fault, nothing else. */
	CHECK_EQ(m.v[4], reg_tid);
	t_msleep(500);
	check_still_waiting("before root's changes");
	h_stats(&s);
	t_info("while it waits: %llu contexts, %llu leases, %llu pinned pages",
	       (unsigned long long)s.contexts, (unsigned long long)s.leases,
	       (unsigned long long)s.pinned_pages);
	if (s.pinned_pages != base.pinned_pages)
		show_stuck(0);
	CHECK_EQ(s.pinned_pages, base.pinned_pages);

	victim("chmod", do_chmod, NULL);
	args[0] = fd;
	args[1] = (int)PG(FILE_PAGES / 2);
	victim("truncate to half (the mapped page stays)", do_truncate, args);
	args[1] = 0;
	victim("truncate to 0 (the mapped page goes)", do_truncate, args);
	check_still_waiting("after root's changes");

	t_kill = t_now_ns();
	CHECK_SYS(kill(att.pid, SIGKILL));
	if (!t_wait(att.pid, 2 * REAP_MS, &st)) {
		show_stuck(att.pid);
		t_fail("the SIGKILLed attacker is not reaped after %d ms", 2 * REAP_MS);
	}
	reaped = t_ms_since(t_kill);
	t_info("the attacker was reaped %lld ms after SIGKILL", (long long)reaped);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CHECK_LT(reaped, REAP_MS);
	attacker_pid = 0;
	close(att.to);
	close(att.from);
	/* Anything the daemon saw meanwhile (an INTERRUPT, say). */
	while (h_recv(d.from, &m, 0))
		t_info("FUSE daemon: '%c' %lld", m.op, (long long)m.v[0]);
	fuse_down();
	close(d.to);
	close(d.from);
	close(fd);
}

static void one_fs(void)
{
	one_case(false);
	one_case(true);
}

int main(void)
{
	t_watchdog(110);
	h_need_root();
	h_stats(&base);
	h_each_fs(one_fs);
	H_CHECK_STATS(&base);
	t_pass();
}
