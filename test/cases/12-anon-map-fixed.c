// SPDX-License-Identifier: GPL-2.0
/*
 * mmap(MAP_FIXED) over part of a lease replaces the pages behind it: the
 * lease breaks with reason UNMAP over exactly the replaced part.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(16), *b = t_anon(8);
	struct mrlease_register la, lb;
	struct mrlease_event ev;

	CHECK_OK(t_register(fd, a + PG(1), PG(14), 0xf1, MRLEASE_REG_PIN, 0, &la));
	CHECK_OK(t_register(fd, b, PG(8), 0xf2, 0, 0, &lb));

	/* New anonymous pages over pages 0..3 of a: overlaps lease pages 1..3. */
	CHECK(mmap(a, PG(4), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == a);
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, la,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_EVENT_RANGE(ev, a + PG(1), PG(3));
	CHECK_EVENT_BY(ev, getpid());
	CHECK_EQ(a[PG(2)], 0);
	CHECK_EQ(a[PG(5)], 6);

	/* A shared mapping in the middle of b. */
	CHECK(mmap(b + PG(3), PG(2), PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == b + PG(3));
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, lb, MRLEASE_EVENT_F_SELF);
	CHECK_EVENT_RANGE(ev, b + PG(3), PG(2));
	CHECK_NO_EVENT(fd, 200);

	/* MAP_FIXED_NOREPLACE over a lease fails and breaks nothing. */
	CHECK_OK(t_restore(fd, &lb));
	CHECK_SYSERR(mmap(b, PG(1), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
	CHECK_NO_EVENT(fd, 200);
	CHECK_EQ(t_state(fd, lb.id), MRLEASE_STATE_ARMED);
	close(fd);
	t_pass();
}
