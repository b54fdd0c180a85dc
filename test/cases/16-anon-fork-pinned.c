// SPDX-License-Identifier: GPL-2.0
/*
 * fork() of a process holding a pinned lease: the kernel gives the child
 * copies of pinned pages, so neither the fork, nor the child's writes and
 * exit, nor the parent's own writes afterwards break the lease, and each
 * process keeps its own data.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(8);
	struct mrlease_register la;
	struct mrlease_query q;
	pid_t pid;

	CHECK_OK(t_register(fd, a + PG(1), PG(6), 0xf0, MRLEASE_REG_PIN, 0, &la));
	pid = t_fork();
	if (pid == 0) {
		for (int i = 0; i < 8; i++) {
			CHECK_EQ(a[PG(i)], i + 1);
			a[PG(i)] = 100;
		}
		_exit(0);
	}
	CHECK_CHILD_OK(pid, 5000);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(a[PG(i)], i + 1);
		a[PG(i)] = (char)(50 + i);
	}
	CHECK_NO_EVENT(fd, 200);
	CHECK_OK(t_query(fd, la.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, 6);
	CHECK_EQ(q.breaks, 0);
	close(fd);
	t_pass();
}
