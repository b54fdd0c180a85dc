// SPDX-License-Identifier: GPL-2.0
/*
 * breaker_pid is given in the reader's pid namespace: a breaker inside a
 * child pid namespace shows with its pid as seen from the holder's; a
 * breaker the holder's namespace cannot see shows as 0.  Memory shared
 * through a memfd lets another process break the lease.
 */
#include "harness.h"

#include <sched.h>

#define KiB 1024

static int mfd;
static char *m;

static void punch(void)
{
	prctl(PR_SET_NAME, "mrl-breaker");
	CHECK_SYS(fallocate(mfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 16 * KiB));
}

/* Fork a child in a new pid namespace; in the parent, its pid as seen here. */
static pid_t fork_in_new_ns(void (*fn)(int), int arg)
{
	int p[2];
	pid_t mid, inner;

	t_pipe(p);
	mid = t_fork();
	if (mid == 0) {
		CHECK_SYS(unshare(CLONE_NEWPID));
		inner = t_fork();
		if (inner == 0) {
			CHECK_EQ(getpid(), 1);
			fn(arg);
			_exit(0);
		}
		t_write_full(p[1], &inner, sizeof(inner));
		CHECK_CHILD_OK(inner, 20000);
		_exit(0);
	}
	close(p[1]);
	if (!t_read_full(p[0], &inner, sizeof(inner), 5000))
		t_fail("no pid from the new namespace");
	close(p[0]);
	return inner;
}

static void punch_in_ns(int arg)
{
	(void)arg;
	punch();
}

/* Holder in a new namespace: register, say ready, read the record, send it. */
static void hold_in_ns(int out)
{
	int fd = t_ctx();
	struct mrlease_register l;
	struct mrlease_event ev;

	CHECK_OK(t_register(fd, m, 64 * KiB, 0x27, 0, 0, &l));
	t_write_full(out, &l, sizeof(l));
	GET_EVENT(fd, ev, 10000);
	t_write_full(out, &ev, sizeof(ev));
}

int main(void)
{
	int fd = t_ctx(), p[2];
	struct mrlease_register l;
	struct mrlease_event ev;
	pid_t pid;

	mfd = CHECK_SYS(memfd_create("mrlease-pidns", MFD_CLOEXEC));
	CHECK_SYS(ftruncate(mfd, 64 * KiB));
	m = CHECK_SYS(mmap(NULL, 64 * KiB, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0));
	memset(m, 1, 64 * KiB);

	/* A: the breaker is in a child namespace, visible from here. */
	CHECK_OK(t_register(fd, m, 64 * KiB, 0x27a, 0, 0, &l));
	pid = fork_in_new_ns(punch_in_ns, 0);
	GET_EVENT(fd, ev, 10000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l, 0);
	CHECK_EQ(ev.breaker_pid, pid);
	CHECK(strcmp(ev.breaker_comm, "mrl-breaker") == 0);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	close(fd);

	/* B: the holder is in a child namespace; the breaker (we) is not visible there. */
	memset(m, 1, 64 * KiB);
	t_pipe(p);
	fork_in_new_ns(hold_in_ns, p[1]);
	close(p[1]);
	if (!t_read_full(p[0], &l, sizeof(l), 10000))
		t_fail("the holder did not register");
	punch();
	if (!t_read_full(p[0], &ev, sizeof(ev), 10000))
		t_fail("the holder got no record");
	t_print_event(&ev);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l, 0);
	CHECK_EQ(ev.breaker_pid, 0);
	t_pass();
}
