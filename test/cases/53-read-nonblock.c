// SPDX-License-Identifier: GPL-2.0
/*
 * read() of an empty queue fails -EAGAIN with O_NONBLOCK, whether set at
 * open() or later with fcntl(); a queued record is still returned.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx_flags(O_NONBLOCK), fd2 = t_ctx();
	char *a = t_anon(2);
	struct mrlease_register l;
	struct mrlease_event ev;

	CHECK_SYSERR(read(fd, &ev, sizeof(ev)), EAGAIN);
	CHECK_SYS(fcntl(fd2, F_SETFL, O_NONBLOCK));
	CHECK_SYSERR(read(fd2, &ev, sizeof(ev)), EAGAIN);

	CHECK_OK(t_register(fd, a, PG(2), 0x53, 0, 0, &l));
	CHECK_SYS(munmap(a, PG(1)));
	CHECK_EQ(read(fd, &ev, sizeof(ev)), sizeof(ev));
	CHECK_EQ(ev.id, l.id);
	CHECK_SYSERR(read(fd, &ev, sizeof(ev)), EAGAIN);
	CHECK_SYSERR(read(fd2, &ev, sizeof(ev)), EAGAIN);	/* not another context's */
	close(fd);
	close(fd2);
	t_pass();
}
