// SPDX-License-Identifier: GPL-2.0
/*
 * mremap() breaks a lease with reason UNMAP: moving the mapping away (the
 * whole lease), and shrinking it (only the part cut off).  Growing a mapping
 * in place changes nothing under the lease.
 */
#include "harness.h"

/* Read records until one for each of @n leases came; fail on duplicates. */
static void get_events(int fd, struct mrlease_event *out, const struct mrlease_register *l, int n)
{
	for (int got = 0; got < n; got++) {
		struct mrlease_event ev;
		int i;

		GET_EVENT(fd, ev, 2000);
		for (i = 0; i < n && l[i].id != ev.id; i++)
			;
		if (i == n)
			t_fail("event for an unexpected lease %llu", (unsigned long long)ev.id);
		if (out[i].type)
			t_fail("second event for lease %llu", (unsigned long long)ev.id);
		out[i] = ev;
	}
}

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(8), *b = t_anon(8), *c = t_anon(8), *dst;
	struct mrlease_register l[3];
	struct mrlease_event ev[3] = { 0 };

	/* Leave room after c to grow into. */
	CHECK_SYS(munmap(c + PG(4), PG(4)));
	dst = mmap(NULL, PG(8), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(dst != MAP_FAILED);
	CHECK_OK(t_register(fd, a, PG(8), 0xa, MRLEASE_REG_PIN, 0, &l[0]));
	CHECK_OK(t_register(fd, b + PG(1), PG(6), 0xb, MRLEASE_REG_PIN, 0, &l[1]));
	CHECK_OK(t_register(fd, c, PG(4), 0xc, 0, 0, &l[2]));

	/* Grow c in place: no break. */
	CHECK(mremap(c, PG(4), PG(6), 0) == c);
	CHECK_NO_EVENT(fd, 200);

	/* Move all of a, shrink b to 4 pages (cuts pages 4..6 of the lease). */
	CHECK(mremap(a, PG(8), PG(8), MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst);
	CHECK(mremap(b, PG(8), PG(4), 0) == b);
	get_events(fd, ev, l, 2);

	CHECK_EVENT(ev[0], MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, l[0],
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_EVENT_RANGE(ev[0], a, PG(8));
	CHECK_EVENT_BY(ev[0], getpid());
	CHECK_EVENT(ev[1], MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, l[1],
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_EVENT_RANGE(ev[1], b + PG(4), PG(3));
	CHECK_NO_EVENT(fd, 200);

	/* The data moved with the mapping; the lease stays on the old range. */
	CHECK_EQ(dst[PG(5)], 6);
	CHECK_EQ(t_state(fd, l[0].id), MRLEASE_STATE_BROKEN);
	CHECK_EQ(t_state(fd, l[2].id), MRLEASE_STATE_ARMED);

	/* Moving c away breaks it as a whole. */
	CHECK(mremap(c, PG(6), PG(6), MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst);
	memset(ev, 0, sizeof(ev));
	get_events(fd, ev + 2, l + 2, 1);
	CHECK_EVENT(ev[2], MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, l[2], MRLEASE_EVENT_F_SELF);
	CHECK_EVENT_RANGE(ev[2], c, PG(4));
	close(fd);
	t_pass();
}
