// SPDX-License-Identifier: GPL-2.0
/*
 * MRLEASE_IOC_ACK: -EINVAL on an ARMED lease, -ESTALE with a generation that
 * is not the lease's, 0 once, -EINVAL for a second ack, -ENOENT once the
 * lease is gone.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(4);
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;

	CHECK_OK(t_register(fd, a, PG(4), 7, MRLEASE_REG_PIN, 0, &l));
	CHECK_ERR(t_ack(fd, l.id, l.generation), EINVAL);

	CHECK_SYS(madvise(a, PG(1), MADV_DONTNEED));
	GET_EVENT(fd, ev, 2000);
	CHECK_EQ(ev.generation, l.generation);
	CHECK_ERR(t_ack(fd, l.id, l.generation + 1), ESTALE);
	CHECK_ERR(t_ack(fd, l.id, l.generation - 1), ESTALE);
	CHECK_ERR(t_ack(fd, l.id, ~l.generation), ESTALE);
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_BROKEN);
	CHECK_OK(t_ack(fd, l.id, l.generation));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
	CHECK_EQ(q.pinned_pages, 0);
	CHECK_ERR(t_ack(fd, l.id, l.generation), EINVAL);

	CHECK_OK(t_restore(fd, &l));
	CHECK_ERR(t_ack(fd, l.id, l.generation), EINVAL);
	CHECK_OK(t_unregister(fd, l.id));
	CHECK_ERR(t_ack(fd, l.id, l.generation), ENOENT);
	close(fd);
	t_pass();
}
