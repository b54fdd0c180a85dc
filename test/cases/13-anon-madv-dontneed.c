// SPDX-License-Identifier: GPL-2.0
/*
 * madvise(MADV_DONTNEED) drops the pages behind part of a lease: the lease
 * breaks with reason CLEAR over exactly that part.  The range stays mapped,
 * so a restore afterwards succeeds and re-arms the lease on the new pages.
 * A query right after the madvise() already tells the break.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(16), *b = t_anon(8);
	struct mrlease_register la, lb;
	struct mrlease_event ev;
	struct mrlease_query q;
	uint64_t gen;

	CHECK_OK(t_register(fd, a + PG(2), PG(10), 0xd0, MRLEASE_REG_PIN, 0, &la));
	CHECK_OK(t_register(fd, b, PG(8), 0xd1, 0, 0, &lb));

	CHECK_SYS(madvise(a + PG(6), PG(8), MADV_DONTNEED));
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, la,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_EVENT_RANGE(ev, a + PG(6), PG(6));
	CHECK_EVENT_BY(ev, getpid());
	CHECK_EQ(a[PG(7)], 0);		/* fresh zero page */
	CHECK_EQ(a[PG(5)], 6);
	CHECK_NO_EVENT(fd, 200);

	CHECK_SYS(madvise(b + PG(7), PG(1), MADV_DONTNEED));
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, lb, MRLEASE_EVENT_F_SELF);
	CHECK_EVENT_RANGE(ev, b + PG(7), PG(1));

	gen = la.generation;
	CHECK_OK(t_restore(fd, &la));
	CHECK_NE(la.generation, gen);
	CHECK_OK(t_query(fd, la.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, 10);
	CHECK_EQ(q.generation, la.generation);
	CHECK_EQ(q.breaks, 1);

	/* Broken again: the record carries the new generation. */
	CHECK_SYS(madvise(a + PG(2), PG(1), MADV_DONTNEED));
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, la,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_EVENT_RANGE(ev, a + PG(2), PG(1));

	/*
	 * A clear of a pinned range is checked against the page tables
	 * before it counts; a query right after the madvise() waits for the
	 * check and sees the break.
	 */
	for (int i = 0; i < 50; i++) {
		CHECK_OK(t_restore(fd, &la));
		CHECK_SYS(madvise(a + PG(3 + i % 8), PG(1), MADV_DONTNEED));
		CHECK_OK(t_query(fd, la.id, &q));
		CHECK_EQ(q.state, MRLEASE_STATE_BROKEN);
		GET_EVENT(fd, ev, 2000);
		CHECK_EQ(ev.generation, la.generation);
	}
	close(fd);
	t_pass();
}
