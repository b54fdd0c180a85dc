// SPDX-License-Identifier: GPL-2.0
/*
 * The break timeout runs for a self-inflicted break too: a lease broken by
 * the holder's own munmap and never acked is REVOKED after its timeout_ms
 * (record REVOKED, reason TIMEOUT); a late ack fails -ETIMEDOUT.  An ack in
 * time stops the timer: no REVOKED record later.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(4);
	struct mrlease_register l, l2;
	struct mrlease_event ev;
	int64_t t0;

	CHECK_OK(t_register(fd, a, PG(2), 0x24, MRLEASE_REG_PIN, 300, &l));
	CHECK_OK(t_register(fd, a + PG(2), PG(2), 0x25, MRLEASE_REG_PIN, 300, &l2));
	t0 = t_now_ns();
	CHECK_SYS(munmap(a, PG(4)));
	GET_EVENT(fd, ev, 2000);
	GET_EVENT(fd, ev, 2000);
	CHECK_OK(t_ack(fd, l2.id, l2.generation));

	GET_EVENT(fd, ev, 5000);
	t_info("revoked after %lld ms", (long long)t_ms_since(t0));
	CHECK_GE(t_ms_since(t0), 290);
	CHECK_EQ(ev.type, MRLEASE_EVENT_REVOKED);
	CHECK_EQ(ev.reason, MRLEASE_REASON_TIMEOUT);
	CHECK_EQ(ev.id, l.id);
	CHECK_EQ(ev.cookie, l.cookie);
	CHECK_EQ(ev.generation, l.generation);
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_REVOKED);
	CHECK_ERR(t_ack(fd, l.id, l.generation), ETIMEDOUT);
	CHECK_NO_EVENT(fd, 500);
	CHECK_EQ(t_state(fd, l2.id), MRLEASE_STATE_ACKED);
	close(fd);
	t_pass();
}
