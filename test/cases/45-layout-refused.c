// SPDX-License-Identifier: GPL-2.0
/*
 * xfs -o dax: the kernel refuses the file-layout lease to a holder that is
 * neither the file's owner nor has CAP_LEASE (the file belongs to uid 1234,
 * the holder runs as uid 4321 without capabilities).  The lease itself
 * works: query says layout REFUSED with layout_error -EACCES, no lease shows
 * in /proc/locks, and so
 *  - a foreign write() goes through at once and breaks nothing;
 *  - a foreign punch-hole still breaks the pinned lease through the mmu
 *    notifier (reason CLEAR, breaker = the puncher), but the holder may not
 *    make the owner wait (query: hold NOT_OWNER): the pins go at once
 *    (UNPINNED) and the punch returns without waiting for the ack;
 *  - restore tries again and is refused again (-EACCES).
 */
#define T_FS "xfs"
#include "45-layout.h"

#define OWNER_UID	1234
#define HOLDER_UID	4321

static void check_q(const struct lay_reply *r, uint32_t state, uint64_t pinned)
{
	t_info("holder's lease: state %u pinned %llu layout %u layout_error %d", r->q.state,
	       (unsigned long long)r->q.pinned_pages, r->q.layout, r->q.layout_error);
	CHECK_EQ(r->q.state, state);
	CHECK_EQ(r->q.pinned_pages, pinned);
	CHECK_EQ(r->q.layout, MRLEASE_LAYOUT_REFUSED);
	CHECK_EQ(r->q.layout_error, -EACCES);
}

int main(void)
{
	struct lay_holder_cfg cfg = {
		.len = LEASE_LEN, .cookie = 0x45ef, .flags = MRLEASE_REG_PIN, .timeout_ms = 30000,
		.uid = HOLDER_UID,
	};
	struct lay_op op;
	struct breaker_report rep;
	struct lay_holder h;
	struct lay_reply r;
	struct dax_file f;
	struct breaker b;
	uint8_t *want;

	t_watchdog(110);
	lay_need_root();
	dax_create(&f, FILE_SIZE);
	want = lay_shadow(FILE_SIZE, FILE_SIZE, 0);
	CHECK_SYS(fchown(f.fd, OWNER_UID, OWNER_UID));
	cfg.addr = f.map + LEASE_OFF;
	lay_holder_start(&h, &cfg, &r);
	CHECK_EQ(r.q.backing, MRLEASE_BACKING_FSDAX);
	check_q(&r, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg);
	CHECK_EQ(lay_proc_leases(f.fd), 0);

	t_info("---- a foreign write");
	op = (struct lay_op){ .kind = LAY_WRITE, .fd = f.fd, .off = LEASE_OFF, .len = 4096, .byte = 0x21 };
	LAY_NO_WAIT(&op, "mrl-writer", 1000);
	memset(want + LEASE_OFF, 0x21, 4096);
	lay_holder_call(&h, LAY_H_EVENT, 300, &r);
	if (r.got) {
		t_print_event(&r.ev);
		t_fail("a foreign write broke a lease without a layout lease");
	}

	t_info("---- a foreign punch-hole");
	op = (struct lay_op){ .kind = LAY_PUNCH, .fd = f.fd, .off = CHG_OFF, .len = CHG_LEN };
	lay_breaker_start(&b, &op, BREAKER_COMM);
	breaker_go(&b);
	lay_holder_call(&h, LAY_H_EVENT, 10000, &r);
	if (!r.got)
		t_fail("the holder got no record: %s", t_errname(-r.ret));
	t_print_event(&r.ev);
	CHECK_EVENT(r.ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, h.l,
		    MRLEASE_EVENT_F_UNPINNED);
	CHECK_EQ(r.ev.breaker_pid, b.pid);
	CHECK(strcmp(r.ev.breaker_comm, BREAKER_COMM) == 0);
	BREAKER_DONE(&b, 5000, rep);
	t_info("the puncher waited %lld ms", (long long)(rep.end_ns - rep.start_ns) / 1000000);
	CHECK_LT(rep.end_ns - rep.start_ns, 1000000000);
	lay_holder_call(&h, LAY_H_QUERY, 0, &r);
	check_q(&r, MRLEASE_STATE_BROKEN, 0);
	CHECK_EQ(r.q.hold, MRLEASE_HOLD_NOT_OWNER);

	lay_holder_call(&h, LAY_H_ACK, 0, &r);
	CHECK_OK(r.ret);
	lay_holder_call(&h, LAY_H_QUERY, 0, &r);
	check_q(&r, MRLEASE_STATE_ACKED, 0);
	memset(want + CHG_OFF, 0, CHG_LEN);

	lay_holder_call(&h, LAY_H_RESTORE, 0, &r);
	CHECK_OK(r.ret);
	check_q(&r, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg);
	CHECK_EQ(lay_proc_leases(f.fd), 0);
	lay_holder_call(&h, LAY_H_EVENT, 200, &r);
	CHECK_EQ(r.got, 0);
	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, FILE_SIZE);

	lay_holder_call(&h, LAY_H_CLOSE, 0, &r);
	CHECK_OK(r.ret);
	close(h.cmd);
	CHECK_CHILD_OK(h.pid, 5000);
	t_pass();
}
