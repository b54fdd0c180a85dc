// SPDX-License-Identifier: GPL-2.0
/*
 * The ack / restore cycle: a lease broken by munmap is acked (ACKED), the
 * range is mapped again at the same address, restore re-arms it (ARMED, new
 * generation, pages pinned again) and the next break carries the new
 * generation.  Restore of a BROKEN lease implies the ack.  Restore while the
 * range is unmapped or has a hole fails -EFAULT and leaves the lease alone;
 * restore of an ARMED lease fails -EBUSY.
 */
#include "harness.h"

static void remap(char *p, size_t len, int flags)
{
	CHECK(mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0) == p);
	memset(p, 0x5a, len);
}

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(8);
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;
	uint64_t gen0;

	CHECK_OK(t_register(fd, a, PG(8), 0x5e5e, MRLEASE_REG_PIN, 0, &l));
	gen0 = l.generation;
	CHECK_ERR(t_restore(fd, &l), EBUSY);
	CHECK_EQ(l.generation, gen0);

	/* Break, ack, map again, restore. */
	CHECK_SYS(munmap(a, PG(8)));
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, l,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_OK(t_ack(fd, l.id, ev.generation));
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_ACKED);
	CHECK_ERR(t_restore(fd, &l), EFAULT);		/* nothing mapped */
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_ACKED);
	remap(a, PG(8), MAP_FIXED_NOREPLACE);
	CHECK_OK(t_restore(fd, &l));
	CHECK_NE(l.generation, gen0);
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.generation, l.generation);
	CHECK_EQ(q.pinned_pages, 8);
	CHECK_EQ(q.addr, (uintptr_t)a);
	CHECK_EQ(q.len, PG(8));
	CHECK_EQ(q.cookie, 0x5e5e);
	CHECK_EQ(q.breaks, 1);
	CHECK_ERR(t_restore(fd, &l), EBUSY);
	CHECK_NO_EVENT(fd, 100);

	/* Broken again: the record has the new generation; the old one is stale. */
	gen0 = l.generation;
	remap(a + PG(2), PG(2), MAP_FIXED);
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, l,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_EVENT_RANGE(ev, a + PG(2), PG(2));

	/* Restore straight from BROKEN: implies the ack. */
	CHECK_OK(t_restore(fd, &l));
	CHECK_NE(l.generation, gen0);
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_ARMED);
	CHECK_ERR(t_ack(fd, l.id, gen0), ESTALE);

	/* A hole in the range: restore fails, the lease stays ACKED. */
	CHECK_SYS(munmap(a + PG(5), PG(1)));
	GET_EVENT(fd, ev, 2000);
	CHECK_EQ(ev.generation, l.generation);
	CHECK_OK(t_ack(fd, l.id, l.generation));
	gen0 = l.generation;
	CHECK_ERR(t_restore(fd, &l), EFAULT);
	CHECK_EQ(l.generation, gen0);
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
	CHECK_EQ(q.pinned_pages, 0);
	remap(a + PG(5), PG(1), MAP_FIXED_NOREPLACE);
	CHECK_OK(t_restore(fd, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, 8);
	CHECK_EQ(q.breaks, 3);
	CHECK_NO_EVENT(fd, 100);
	CHECK_OK(t_unregister(fd, l.id));
	close(fd);
	t_pass();
}
