// SPDX-License-Identifier: GPL-2.0
/*
 * MRLEASE_REG_WAIT_SELF on anonymous memory: the holder's own munmap breaks
 * the lease (SELF) but the pins stay (no UNPINNED) until the ack.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(8);
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;

	CHECK_OK(t_register(fd, a, PG(8), 0x22, MRLEASE_REG_PIN | MRLEASE_REG_WAIT_SELF, 0, &l));
	CHECK_SYS(munmap(a + PG(2), PG(2)));
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, l, MRLEASE_EVENT_F_SELF);
	CHECK_EVENT_RANGE(ev, a + PG(2), PG(2));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_BROKEN);
	CHECK_EQ(q.pinned_pages, 8);
	CHECK_OK(t_ack(fd, l.id, ev.generation));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
	CHECK_EQ(q.pinned_pages, 0);
	close(fd);
	t_pass();
}
