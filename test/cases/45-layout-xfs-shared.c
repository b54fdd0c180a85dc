// SPDX-License-Identifier: GPL-2.0
/*
 * xfs -o dax: one file, several leases.
 *  1. Two leases of one context share one file lease (one line in
 *     /proc/locks).  A foreign write breaks both (reason LAYOUT) and waits
 *     until both are acked: after the first ack it still waits, after the
 *     second it returns within 1 s.
 *  2. Leases of two contexts (two file leases): the writer waits for both;
 *     the context that acked first and restores while the other's file
 *     lease is still being broken is refused with -EAGAIN (no pins while a
 *     breaker waits on the file: on xfs a truncate would wait for them next);
 *     once the writer went on (and the 200 ms grace is over) the restore
 *     takes pins and a file lease again.
 *  3. A lease restored while another lease of its context still waits for
 *     its ack: once the other is acked and the writer went on, the restored
 *     (ARMED) lease must still be guarded by a file lease (HELD), so that the
 *     next foreign write breaks it again.
 */
#define T_FS "xfs"
#include "45-layout.h"

#define A_OFF		(1 * MiB)
#define B_OFF		(A_OFF + MiB / 2)
#define HALF		(MiB / 2)
#define WRITER_COMM	"mrl-writer"

static struct dax_file f;

static void writer_start(struct breaker *b, size_t off, uint8_t byte)
{
	struct lay_op op = { .kind = LAY_WRITE, .fd = f.fd, .off = (off_t)off, .len = 4096, .byte = byte };

	lay_breaker_start(b, &op, WRITER_COMM);
}

/* Read the LAYOUT records of leases @a and @b of @fd, in any order. */
static void get_two(int fd, const struct mrlease_register *a, const struct mrlease_register *b,
		    pid_t writer, struct mrlease_event *ea, struct mrlease_event *eb)
{
	struct mrlease_event ev[2];

	GET_EVENT(fd, ev[0], 10000);
	GET_EVENT(fd, ev[1], 2000);
	if (ev[0].id != a->id) {
		struct mrlease_event t = ev[0];

		ev[0] = ev[1];
		ev[1] = t;
	}
	CHECK_EVENT(ev[0], MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_LAYOUT, *a, 0);
	CHECK_EVENT(ev[1], MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_LAYOUT, *b, 0);
	CHECK_EQ(ev[0].breaker_pid, writer);
	CHECK_EQ(ev[1].breaker_pid, writer);
	*ea = ev[0];
	*eb = ev[1];
}

int main(void)
{
	struct mrlease_register a, b, c;
	struct mrlease_event ea, eb, ec;
	struct breaker_report rep;
	struct mrlease_query q;
	struct breaker w;
	int64_t t0;
	int fd, fd2, r;

	t_watchdog(110);
	dax_create(&f, FILE_SIZE);
	fd = t_ctx();

	t_info("---- 1: two leases of one context");
	CHECK_OK(t_register(fd, f.map + A_OFF, HALF, 0xa, MRLEASE_REG_PIN, 30000, &a));
	CHECK_OK(t_register(fd, f.map + B_OFF, HALF, 0xb, MRLEASE_REG_PIN, 30000, &b));
	CHECK_LEASE(fd, a.id, MRLEASE_STATE_ARMED, HALF / t_pg, MRLEASE_LAYOUT_HELD);
	CHECK_LEASE(fd, b.id, MRLEASE_STATE_ARMED, HALF / t_pg, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(lay_proc_leases(f.fd), 1);
	writer_start(&w, 3 * MiB, 0x41);
	breaker_go(&w);
	get_two(fd, &a, &b, w.pid, &ea, &eb);
	CHECK_LEASE(fd, a.id, MRLEASE_STATE_BROKEN, HALF / t_pg, MRLEASE_LAYOUT_BROKEN);
	CHECK_OK(t_ack(fd, a.id, ea.generation));
	t_msleep(1100);
	CHECK_BREAKER_WAITING(&w);
	CHECK_LEASE(fd, a.id, MRLEASE_STATE_ACKED, 0, MRLEASE_LAYOUT_BROKEN);
	CHECK_LEASE(fd, b.id, MRLEASE_STATE_BROKEN, HALF / t_pg, MRLEASE_LAYOUT_BROKEN);
	t0 = t_now_ns();
	CHECK_OK(t_ack(fd, b.id, eb.generation));
	BREAKER_DONE(&w, 5000, rep);
	t_info("the writer returned %lld ms after the second ack", (long long)(rep.end_ns - t0) / 1000000);
	CHECK_LT(rep.end_ns - t0, 1000000000);
	CHECK_LEASE(fd, a.id, MRLEASE_STATE_ACKED, 0, MRLEASE_LAYOUT_RELEASED);
	CHECK_LEASE(fd, b.id, MRLEASE_STATE_ACKED, 0, MRLEASE_LAYOUT_RELEASED);
	CHECK_EQ(lay_proc_leases(f.fd), 0);
	CHECK_NO_EVENT(fd, 200);
	LAY_RESTORE_HELD(fd, a);
	LAY_RESTORE_HELD(fd, b);
	CHECK_EQ(lay_proc_leases(f.fd), 1);

	t_info("---- 2: a second context on the same file");
	CHECK_OK(t_unregister(fd, b.id));
	fd2 = t_ctx();
	CHECK_OK(t_register(fd2, f.map + B_OFF, HALF, 0xc, MRLEASE_REG_PIN, 30000, &c));
	CHECK_LEASE(fd2, c.id, MRLEASE_STATE_ARMED, HALF / t_pg, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(lay_proc_leases(f.fd), 2);
	writer_start(&w, 3 * MiB, 0x42);
	breaker_go(&w);
	GET_EVENT(fd, ea, 10000);
	CHECK_EVENT(ea, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_LAYOUT, a, 0);
	GET_EVENT(fd2, ec, 10000);
	CHECK_EVENT(ec, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_LAYOUT, c, 0);
	CHECK_EQ(ea.breaker_pid, w.pid);
	CHECK_EQ(ec.breaker_pid, w.pid);
	CHECK_OK(t_ack(fd2, c.id, ec.generation));
	t_msleep(1100);
	CHECK_BREAKER_WAITING(&w);
	CHECK_LEASE(fd2, c.id, MRLEASE_STATE_ACKED, 0, MRLEASE_LAYOUT_RELEASED);
	/* The first context's file lease is still being broken: no pins now. */
	CHECK_ERR(t_restore(fd2, &c), EAGAIN);
	CHECK_EQ(t_state(fd2, c.id), MRLEASE_STATE_ACKED);
	CHECK_BREAKER_WAITING(&w);
	t0 = t_now_ns();
	CHECK_OK(t_ack(fd, a.id, ea.generation));
	BREAKER_DONE(&w, 5000, rep);
	CHECK_LT(rep.end_ns - t0, 1000000000);
	t_msleep(300);		/* the grace after a file lease was given back */
	LAY_RESTORE_HELD(fd2, c);
	CHECK_NO_EVENT(fd2, 200);
	CHECK_EQ(t_state(fd2, c.id), MRLEASE_STATE_ARMED);
	close(fd2);
	LAY_RESTORE_HELD(fd, a);
	CHECK_EQ(lay_proc_leases(f.fd), 1);

	t_info("---- 3: restore while another lease of the context waits for its ack");
	CHECK_OK(t_register(fd, f.map + B_OFF, HALF, 0xb2, MRLEASE_REG_PIN, 30000, &b));
	CHECK_LEASE(fd, b.id, MRLEASE_STATE_ARMED, HALF / t_pg, MRLEASE_LAYOUT_HELD);
	writer_start(&w, 3 * MiB, 0x43);
	breaker_go(&w);
	get_two(fd, &a, &b, w.pid, &ea, &eb);
	CHECK_OK(t_ack(fd, a.id, ea.generation));
	r = t_restore_once(fd, &a);
	t_info("restore of lease a while lease b is still broken: %s", t_errname(-r));
	if (r && r != -EAGAIN && r != -EBUSY)
		t_fail("restore: %s", t_errname(-r));
	t_msleep(500);
	CHECK_BREAKER_WAITING(&w);
	t0 = t_now_ns();
	CHECK_OK(t_ack(fd, b.id, eb.generation));
	BREAKER_DONE(&w, 5000, rep);
	CHECK_LT(rep.end_ns - t0, 1000000000);
	if (r) {
		/* Refused while the layout was breaking: restore now. */
		LAY_RESTORE_HELD(fd, a);
	} else {
		/* It went through: a may have been broken again by the write it let in. */
		if (t_event(fd, &ea, 300) == 1) {
			t_print_event(&ea);
			CHECK_EVENT(ea, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_LAYOUT, a, 0);
			CHECK_OK(t_ack(fd, a.id, ea.generation));
			LAY_RESTORE_HELD(fd, a);
		}
	}
	CHECK_OK(t_query(fd, a.id, &q));
	t_info("lease a: state %u layout %u (%d)", q.state, q.layout, q.layout_error);
	if (q.state == MRLEASE_STATE_ARMED && q.layout != MRLEASE_LAYOUT_HELD)
		t_fail("lease a is ARMED but its file lease is %u, not HELD: "
		       "a foreign write would no longer break it", q.layout);
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(lay_proc_leases(f.fd), 1);
	/* And the next foreign write breaks it again. */
	writer_start(&w, 3 * MiB, 0x44);
	breaker_go(&w);
	GET_EVENT(fd, ea, 10000);
	CHECK_EVENT(ea, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_LAYOUT, a, 0);
	CHECK_OK(t_ack(fd, a.id, ea.generation));
	BREAKER_DONE(&w, 5000, rep);
	close(fd);
	CHECK_EQ(lay_proc_leases(f.fd), 0);
	t_pass();
}
