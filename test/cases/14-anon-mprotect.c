// SPDX-License-Identifier: GPL-2.0
/*
 * Protection-only changes do not break a lease: mprotect() to read-only, to
 * PROT_NONE and back, on part and on all of the range; the pins stay.
 * Neither do mlock() and munlock().
 *
 * One exception is the kernel's, not ours: 5.10 copies a pinned page on
 * the first write after read-only -> read-write (its copy-on-write reuse
 * test counts the pin as another user), and then the lease rightly breaks
 * for that page.  The test reads the frame behind the address before and
 * after that write and expects a break exactly when it changed.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	const volatile struct mrlease_status *st = t_status(fd);
	char *a = t_anon(16);
	struct mrlease_register la, lu;
	struct mrlease_query q;
	uint64_t seq = st->event_seq;
	struct mrlease_event ev;
	uint64_t pfn;

	CHECK_OK(t_register(fd, a, PG(16), 0x9, MRLEASE_REG_PIN, 0, &la));
	CHECK_OK(t_register(fd, a + PG(4), PG(4), 0x8, 0, 0, &lu));

	CHECK_SYS(mprotect(a + PG(2), PG(4), PROT_READ));
	CHECK_SYS(mprotect(a, PG(16), PROT_NONE));
	CHECK_SYS(mprotect(a, PG(16), PROT_READ));
	CHECK_SYS(mprotect(a, PG(16), PROT_READ | PROT_WRITE));
	pfn = t_pfn(a + PG(3));
	CHECK_NE(pfn, 0);
	a[PG(3)] = 42;		/* write fault on a formerly read-only pte */
	if (t_pfn(a + PG(3)) != pfn) {
		t_info("this kernel copied the pinned page on the write: the lease must break there");
		GET_EVENT(fd, ev, 2000);
		CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, la,
			    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
		CHECK_EVENT_RANGE(ev, a + PG(3), PG(1));
		CHECK_NO_EVENT(fd, 200);
		CHECK_EQ(t_state(fd, lu.id), MRLEASE_STATE_ARMED);
		close(fd);
		t_pass();
	}
	CHECK_SYS(mlock(a + PG(4), PG(8)));
	CHECK_SYS(munlock(a, PG(16)));
	CHECK_NO_EVENT(fd, 200);

	CHECK_EQ(st->event_seq, seq);
	CHECK_EQ(st->broken, 0);
	CHECK_OK(t_query(fd, la.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, 16);
	CHECK_EQ(q.breaks, 0);
	CHECK_EQ(t_state(fd, lu.id), MRLEASE_STATE_ARMED);
	CHECK_EQ(a[PG(9)], 10);
	close(fd);
	t_pass();
}
