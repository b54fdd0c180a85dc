// SPDX-License-Identifier: GPL-2.0
/*
 * munmap() of part of a lease breaks it: one DECOHERENCE record, reason
 * UNMAP, flagged SELF (and UNPINNED: a self-inflicted break drops the pins at
 * once), covering exactly the unmapped part.  Further unmaps before the
 * record is read widen it; overlapping leases each get their record; a lease
 * elsewhere is not touched.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(16), *b = t_anon(16), *c = t_anon(8);
	struct mrlease_register la, lo, lb, lc;
	struct mrlease_event ev, ev2;
	struct mrlease_query q;

	/* la: pages 2..13 of a, pinned; lo: pages 6..15 of a, overlapping it. */
	CHECK_OK(t_register(fd, a + PG(2), PG(12), 0x1122334455667788ull, MRLEASE_REG_PIN, 0, &la));
	CHECK_OK(t_register(fd, a + PG(6), PG(10), 0xc0, 0, 0, &lo));
	CHECK_OK(t_register(fd, b, PG(16), 0xb0, MRLEASE_REG_PIN, 0, &lb));
	CHECK_OK(t_register(fd, c + PG(2), PG(4), 0xc0c0, MRLEASE_REG_PIN, 0, &lc));
	CHECK_NE(la.id, 0);
	CHECK(la.id != lo.id && la.id != lb.id && la.id != lc.id && lo.id != lb.id);
	CHECK_OK(t_query(fd, la.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, 12);
	CHECK_EQ(q.backing, MRLEASE_BACKING_ANON);
	CHECK_EQ(q.addr, (uintptr_t)a + PG(2));
	CHECK_EQ(q.len, PG(12));
	CHECK_EQ(q.cookie, la.cookie);
	CHECK_EQ(q.generation, la.generation);
	CHECK_EQ(q.lease_flags, MRLEASE_REG_PIN);
	CHECK_EQ(q.breaks, 0);
	CHECK_NO_EVENT(fd, 100);

	/* Unmap pages 4..5: only la covers them. */
	CHECK_SYS(munmap(a + PG(4), PG(2)));
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, la,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_EVENT_RANGE(ev, a + PG(4), PG(2));
	CHECK_EVENT_BY(ev, getpid());
	CHECK_OK(t_query(fd, la.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_BROKEN);
	CHECK_EQ(q.pinned_pages, 0);
	CHECK_EQ(q.breaks, 1);
	CHECK_EQ(t_state(fd, lo.id), MRLEASE_STATE_ARMED);
	CHECK_NO_EVENT(fd, 100);

	/* Pages 12..13: la is already broken (its record read), lo breaks. */
	CHECK_SYS(munmap(a + PG(12), PG(2)));
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, lo, MRLEASE_EVENT_F_SELF);
	CHECK_EVENT_RANGE(ev, a + PG(12), PG(2));
	CHECK_NO_EVENT(fd, 100);

	/* Two unmaps of b before reading: one record, widened over both. */
	CHECK_SYS(munmap(b + PG(3), PG(1)));
	CHECK_SYS(munmap(b + PG(10), PG(2)));
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, lb,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK(ev.start <= (uintptr_t)b + PG(3));
	CHECK(ev.start + ev.length >= (uintptr_t)b + PG(12));
	CHECK_EQ(t_event(fd, &ev2, 100), 0);

	/* Unmapping a whole range: clipped to the lease. */
	CHECK_SYS(munmap(c, PG(8)));
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, lc,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_EVENT_RANGE(ev, c + PG(2), PG(4));
	CHECK_NO_EVENT(fd, 100);

	CHECK_OK(t_unregister(fd, la.id));
	CHECK_OK(t_unregister(fd, lo.id));
	CHECK_OK(t_unregister(fd, lb.id));
	CHECK_OK(t_unregister(fd, lc.id));
	CHECK_ERR(t_unregister(fd, la.id), ENOENT);
	close(fd);
	t_pass();
}
