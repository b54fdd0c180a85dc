// SPDX-License-Identifier: GPL-2.0
/*
 * A holder that never acks: with timeout_ms = 1000 the lease is REVOKED
 * about 1 s after the break (record REVOKED, reason TIMEOUT), its pins are
 * dropped and the waiting puncher goes on; the lease's state is REVOKED and a
 * late ack fails -ETIMEDOUT.  Restore re-arms a revoked lease.  If the
 * DECOHERENCE record was not read yet, the REVOKED record replaces it.
 */
#include "fsdax.h"

#define MiB		(1u << 20)
#define FILE_SIZE	(4 * MiB)
#define LEASE_OFF	(2 * MiB)
#define LEASE_LEN	(1 * MiB)
#define HOLE_OFF	(LEASE_OFF + MiB / 2)
#define HOLE_LEN	(64 * 1024)
#define TIMEOUT_MS	1000

static void check_revoked_at(int line, const struct mrlease_event *ev, const struct mrlease_register *l)
{
	if (ev->type != MRLEASE_EVENT_REVOKED || ev->reason != MRLEASE_REASON_TIMEOUT ||
	    ev->id != l->id || ev->cookie != l->cookie || ev->generation != l->generation ||
	    (ev->flags & MRLEASE_EVENT_F_SELF) || ev->reserved[0] || ev->reserved[1] || ev->reserved[2])
		t_fail_at(__FILE__, line, "expected REVOKED reason=timeout id=%llu cookie=%#llx gen=%llu, not SELF",
			  (unsigned long long)l->id, (unsigned long long)l->cookie,
			  (unsigned long long)l->generation);
}
#define CHECK_REVOKED(ev, l)	check_revoked_at(__LINE__, &(ev), &(l))

int main(void)
{
	struct dax_scene s;
	struct mrlease_query q;
	const volatile struct mrlease_status *st;
	int64_t t_rev, waited;
	uint64_t seq;
	int fd;

	dax_scene_open(&s, FILE_SIZE, BREAK_PUNCH, HOLE_OFF, HOLE_LEN);

	fd = t_ctx();
	st = t_status(fd);

	/* Round 1: read the DECOHERENCE record, never ack. */
	CHECK_OK(t_register(fd, s.f.map + LEASE_OFF, LEASE_LEN, 0x71, MRLEASE_REG_PIN, TIMEOUT_MS, &s.l));
	CHECK_OK(t_query(fd, s.l.id, &q));
	CHECK_EQ(q.timeout_ms, TIMEOUT_MS);
	DAX_SCENE_BREAK(&s, fd, 0);

	GET_EVENT(fd, s.ev, 10000);
	t_rev = t_now_ns();
	CHECK_REVOKED(s.ev, s.l);
	BREAKER_DONE(&s.b, 5000, s.rep);
	waited = (s.rep.end_ns - s.rep.start_ns) / 1000000;
	t_info("revoked %lld ms after the punch started; the puncher waited %lld ms",
	       (long long)(t_rev - s.rep.start_ns) / 1000000, (long long)waited);
	CHECK_GE(t_rev - s.rep.start_ns, (TIMEOUT_MS - 50) * 1000000ll);
	CHECK_LT(t_rev - s.rep.start_ns, 10000 * 1000000ll);
	CHECK_GE(waited, TIMEOUT_MS - 50);
	CHECK_LT(s.rep.end_ns - t_rev, 1000000000);
	CHECK_LT(t_rev - s.rep.end_ns, 1000000000);

	CHECK_OK(t_query(fd, s.l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_REVOKED);
	CHECK_EQ(q.pinned_pages, 0);
	CHECK_EQ(st->broken, 0);
	CHECK_ERR(t_ack(fd, s.l.id, s.l.generation), ETIMEDOUT);
	CHECK_NO_EVENT(fd, 200);

	/* Round 2: restore, break again, read nothing until it is revoked. */
	CHECK_OK(t_restore(fd, &s.l));
	CHECK_OK(t_query(fd, s.l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, LEASE_LEN / t_pg);
	DAX_CHECK_ZERO(&s.f, HOLE_OFF, HOLE_LEN);
	seq = st->event_seq;

	breaker_start(&s.b, s.f.fd, BREAK_PUNCH, HOLE_OFF, HOLE_LEN);
	breaker_go(&s.b);
	BREAKER_DONE(&s.b, 10000, s.rep);
	waited = (s.rep.end_ns - s.rep.start_ns) / 1000000;
	t_info("second puncher waited %lld ms", (long long)waited);
	CHECK_GE(waited, TIMEOUT_MS - 50);
	t_msleep(200);
	CHECK_EQ(st->pending, 1);
	CHECK(st->event_seq - seq >= 2);	/* queued, then replaced */
	GET_EVENT(fd, s.ev, 1000);
	CHECK_REVOKED(s.ev, s.l);
	CHECK_NO_EVENT(fd, 200);
	CHECK_EQ(st->pending, 0);
	CHECK_EQ(t_state(fd, s.l.id), MRLEASE_STATE_REVOKED);
	close(fd);
	t_pass();
}
