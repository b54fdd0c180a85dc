// SPDX-License-Identifier: GPL-2.0
/*
 * read() with a buffer smaller than one record fails -EINVAL and consumes
 * nothing.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx_flags(O_NONBLOCK);
	const volatile struct mrlease_status *st = t_status(fd);
	char *a = t_anon(2);
	struct mrlease_register l;
	struct mrlease_event ev;
	char small[sizeof(ev)];

	CHECK_OK(t_register(fd, a, PG(2), 0x54, 0, 0, &l));
	CHECK_SYS(munmap(a, PG(2)));
	CHECK_EQ(st->pending, 1);
	CHECK_SYSERR(read(fd, small, sizeof(small) - 1), EINVAL);
	CHECK_SYSERR(read(fd, small, 1), EINVAL);
	CHECK_EQ(st->pending, 1);
	CHECK_EQ(read(fd, &ev, sizeof(ev)), sizeof(ev));
	CHECK_EQ(ev.id, l.id);
	CHECK_EQ(st->pending, 0);
	close(fd);
	t_pass();
}
