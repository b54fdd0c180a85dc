// SPDX-License-Identifier: GPL-2.0
/*
 * Protection-only changes do not break a lease: mprotect() to read-only, to
 * PROT_NONE and back, on part and on all of the range; the pins stay.
 * Neither do mlock() and munlock().
 */
#include "harness.h"

int main(void)
{
	int fd = mrl_ctx();
	const volatile struct mrlease_status *st = mrl_status(fd);
	char *a = t_anon(16);
	struct mrlease_register la, lu;
	struct mrlease_query q;
	uint64_t seq = st->event_seq;

	CHECK_OK(mrl_register(fd, a, PG(16), 0x9, MRLEASE_REG_PIN, 0, &la));
	CHECK_OK(mrl_register(fd, a + PG(4), PG(4), 0x8, 0, 0, &lu));

	CHECK_SYS(mprotect(a + PG(2), PG(4), PROT_READ));
	CHECK_SYS(mprotect(a, PG(16), PROT_NONE));
	CHECK_SYS(mprotect(a, PG(16), PROT_READ));
	CHECK_SYS(mprotect(a, PG(16), PROT_READ | PROT_WRITE));
	a[PG(3)] = 42;		/* write fault on a formerly read-only pte */
	CHECK_SYS(mlock(a + PG(4), PG(8)));
	CHECK_SYS(munlock(a, PG(16)));
	CHECK_NO_EVENT(fd, 200);

	CHECK_EQ(st->event_seq, seq);
	CHECK_EQ(st->broken, 0);
	CHECK_OK(mrl_query(fd, la.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, 16);
	CHECK_EQ(q.breaks, 0);
	CHECK_EQ(mrl_state(fd, lu.id), MRLEASE_STATE_ARMED);
	CHECK_EQ(a[PG(9)], 10);
	close(fd);
	t_pass();
}
