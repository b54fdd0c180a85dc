// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, a register that waits on user space (issue 10, item 6):
 * nothing root does to a file may hang because a reader's register is stuck
 * in a page fault.
 *
 * vm.unprivileged_userfaultfd is set to 1.  On ext4 and xfs -o dax, uid 1000
 * maps a ROOT-owned 0644 file read-only at A and, right after it at
 * A + 4096, an anonymous page registered with userfaultfd (missing mode),
 * whose fault it never answers.  A thread registers a pinned lease over
 * [A, A + 8192): it blocks in the fault (the userfaultfd reports it).  Then
 * root, in children, while the register still waits (each within 3 s; hard
 * cap 10 s):
 *  - chmod()s the file: an arm that held the file's i_rwsem while it pinned
 *    left this in D state for good;
 *  - truncates the file to half its size (A's page stays), then to 0: no
 *    pin taken by the stuck register may hold them either (filesystems wait
 *    for every busy DAX page of the file before they truncate any part).
 * A victim still blocked at the cap is shown (state, wchan, kernel stack).
 * Then the attacker is SIGKILLed and must be reaped within 5 s.
 */
#include "hostile.h"

#include <pthread.h>
#include <linux/userfaultfd.h>

#define FILE_PAGES	16
#define AT_ONCE_MS	3000
#define CAP_MS		10000

static char path[300];
static pid_t attacker_pid;
static int area_ctx;
static char *area;

static void *registrar(void *arg)
{
	(void)arg;
	h_register(area_ctx, area, PG(2), MRLEASE_REG_PIN, H_HOUR_MS, NULL);
	return NULL;
}

/* 'b': the register is blocked in the fault (v0 = address); 'E': could not set up (err). */
static void attacker(int in, int out, void *arg)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct h_msg m = { .op = 'b' };
	struct uffd_msg um;
	struct pollfd p;
	pthread_t th;
	int fd, uffd;

	(void)arg;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_fail("open %s: %s", path, t_errname(errno));
	area = mmap(NULL, PG(2), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(area != MAP_FAILED);
	CHECK(mmap(area, t_pg, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == area);
	CHECK(mmap(area + t_pg, t_pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		   -1, 0) == area + t_pg);
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		m.op = 'E';
		m.err = -errno;
		h_send(out, &m);
		return;
	}
	CHECK_SYS(ioctl(uffd, UFFDIO_API, &api));
	reg = (struct uffdio_register){
		.range = { .start = (uintptr_t)area + t_pg, .len = t_pg },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	CHECK_SYS(ioctl(uffd, UFFDIO_REGISTER, &reg));
	area_ctx = t_ctx();
	CHECK_EQ(pthread_create(&th, NULL, registrar, NULL), 0);

	p = (struct pollfd){ .fd = uffd, .events = POLLIN };
	if (poll(&p, 1, 20000) != 1)
		t_fail("the register did not fault on the userfaultfd page within 20 s");
	CHECK_EQ(read(uffd, &um, sizeof(um)), sizeof(um));
	CHECK_EQ(um.event, UFFD_EVENT_PAGEFAULT);
	m.v[0] = (int64_t)um.arg.pagefault.address;
	h_send(out, &m);
	/* Never answer; wait to be killed. */
	h_recv(in, &m, 3600 * 1000);
}

static void kill_attacker(void *arg)
{
	(void)arg;
	if (attacker_pid > 0)
		kill(attacker_pid, SIGKILL);
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
		h_show_task(b.pid);
		kill_attacker(NULL);
		t_fail("root's %s is still blocked after %d ms, while uid %d's register waits in a "
		       "userfaultfd fault", what, CAP_MS, H_UID);
	}
	took = (rep.end_ns - rep.start_ns) / 1000000;
	t_info("root's %s returned after %lld ms (%s)", what, (long long)took, t_errname(rep.err));
	if (took >= AT_ONCE_MS)
		kill_attacker(NULL);
	CHECK_EQ(rep.err, 0);
	CHECK_CHILD_OK(b.pid, 5000);
	CHECK_LT(took, AT_ONCE_MS);
}

static void one_fs(void)
{
	static bool deferred;
	struct h_agent a;
	struct h_msg m;
	int64_t t_kill;
	int fd, st, args[2];

	fd = h_dax_file(FILE_PAGES, 0, 0644, path, sizeof(path));
	/* Killed before the files are unlinked: unlink waits for i_rwsem too. */
	if (!deferred)
		t_defer(kill_attacker, NULL);
	deferred = true;
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, attacker, NULL);
	attacker_pid = a.pid;
	if (!h_recv(a.from, &m, 30000))
		t_fail("the attacker did not report its register blocked in the fault");
	if (m.op == 'E')
		t_skip("userfaultfd as uid %d: %s", H_UID, t_errname(-m.err));
	CHECK_EQ(m.op, 'b');
	t_info("uid %d's register waits in a userfaultfd fault at %#llx", H_UID, (unsigned long long)m.v[0]);
	t_msleep(500);
	CHECK_EQ(waitpid(a.pid, &st, WNOHANG), 0);

	victim("chmod", do_chmod, NULL);
	args[0] = fd;
	args[1] = (int)PG(FILE_PAGES / 2);
	victim("truncate to half (the leased page stays)", do_truncate, args);
	args[1] = 0;
	victim("truncate to 0 (the leased page goes)", do_truncate, args);

	t_kill = t_now_ns();
	CHECK_SYS(kill(a.pid, SIGKILL));
	if (!t_wait(a.pid, 10000, &st))
		t_fail("the SIGKILLed attacker is not reaped after 10 s");
	t_info("the attacker was reaped %lld ms after SIGKILL", (long long)t_ms_since(t_kill));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CHECK_LT(t_ms_since(t_kill), 5000);
	attacker_pid = 0;
	close(a.to);
	close(a.from);
	close(fd);
}

int main(void)
{
	struct nl_stats base;
	int r;

	t_watchdog(110);
	h_need_root();
	r = h_set("/proc/sys/vm/unprivileged_userfaultfd", "1");
	if (r)
		t_skip("vm.unprivileged_userfaultfd: %s", t_errname(-r));
	h_stats(&base);
	h_each_fs(one_fs);
	H_CHECK_STATS(&base);
	t_pass();
}
