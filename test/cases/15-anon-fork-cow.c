// SPDX-License-Identifier: GPL-2.0
/*
 * fork() write-protects the parent's private pages; that alone does not
 * break a lease.  A later write by the parent copies the page (COW): the
 * translation changes, so an unpinned lease over it breaks with reason CLEAR
 * over exactly that page.  The child's writes and exit change only the
 * child's address space and break nothing of the parent's.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(8);
	struct mrlease_register la;
	struct mrlease_event ev;
	int go[2];
	pid_t pid;
	char c;

	CHECK_OK(t_register(fd, a, PG(8), 0xc0, 0, 0, &la));
	t_pipe(go);
	pid = t_fork();
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		CHECK_EQ(a[PG(3)], 4);	/* still the parent's old data */
		a[PG(5)] = 1;
		_exit(0);
	}
	close(go[0]);
	CHECK_NO_EVENT(fd, 200);
	CHECK_EQ(t_state(fd, la.id), MRLEASE_STATE_ARMED);

	a[PG(3)] = 99;		/* COW in the parent */
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, la, MRLEASE_EVENT_F_SELF);
	CHECK_EVENT_RANGE(ev, a + PG(3), PG(1));
	CHECK_EVENT_BY(ev, getpid());

	t_write_full(go[1], "g", 1);
	CHECK_CHILD_OK(pid, 5000);
	CHECK_NO_EVENT(fd, 200);
	CHECK_EQ(a[PG(5)], 6);
	close(fd);
	t_pass();
}
