// SPDX-License-Identifier: GPL-2.0
/*
 * xfs -o dax: an unprivileged holder (uid 4321, no capabilities) leasing its
 * own file gets the file-layout lease (HELD, one lease in /proc/locks), and
 * it works as for root: a foreign write (root) breaks the lease with reason
 * LAYOUT and waits for the holder's ack (>= 1.1 s), returning within 1 s of
 * it (RELEASED); a foreign punch-hole breaks it with reason CLEAR and waits
 * too; restore takes the file lease again; unregister gives it back.
 */
#define T_FS "xfs"
#include "45-layout.h"

#define HOLDER_UID	4321

static struct dax_file f;
static struct lay_holder h;

static void check_q(const struct lay_reply *r, uint32_t state, uint64_t pinned, uint32_t layout)
{
	t_info("holder's lease: state %u pinned %llu layout %u layout_error %d", r->q.state,
	       (unsigned long long)r->q.pinned_pages, r->q.layout, r->q.layout_error);
	CHECK_EQ(r->q.state, state);
	CHECK_EQ(r->q.pinned_pages, pinned);
	CHECK_EQ(r->q.layout, layout);
	CHECK_EQ(r->q.layout_error, 0);
}

static void one_break(const struct lay_op *op, uint32_t reason)
{
	uint32_t waiting = reason == MRLEASE_REASON_LAYOUT ? MRLEASE_LAYOUT_BROKEN : MRLEASE_LAYOUT_HELD;
	struct breaker_report rep;
	struct lay_reply r;
	struct breaker b;
	int64_t t0;

	t_info("---- a foreign %s", lay_kind_name(op->kind));
	lay_breaker_start(&b, op, BREAKER_COMM);
	LAY_HOLDER_BREAK(&h, &b, reason, &r);
	lay_holder_call(&h, LAY_H_QUERY, 0, &r);
	check_q(&r, MRLEASE_STATE_BROKEN, LEASE_LEN / t_pg, waiting);

	t0 = t_now_ns();
	lay_holder_call(&h, LAY_H_ACK, 0, &r);
	CHECK_OK(r.ret);
	BREAKER_DONE(&b, 5000, rep);
	t_info("the breaker returned %lld ms after the ack (waited %lld ms in all)",
	       (long long)(rep.end_ns - t0) / 1000000, (long long)(rep.end_ns - rep.start_ns) / 1000000);
	CHECK_LT(rep.end_ns - t0, 1000000000);
	lay_holder_call(&h, LAY_H_QUERY, 0, &r);
	check_q(&r, MRLEASE_STATE_ACKED, 0, MRLEASE_LAYOUT_RELEASED);
	CHECK_EQ(lay_proc_leases(f.fd), 0);

	lay_holder_call(&h, LAY_H_RESTORE, 0, &r);
	CHECK_OK(r.ret);
	check_q(&r, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(lay_proc_leases(f.fd), 1);
	h.l = r.l;
}

int main(void)
{
	struct lay_holder_cfg cfg = {
		.len = LEASE_LEN, .cookie = 0x45ee, .flags = MRLEASE_REG_PIN, .timeout_ms = 30000,
		.uid = HOLDER_UID,
	};
	struct lay_reply r;
	uint8_t *want;

	t_watchdog(110);
	lay_need_root();
	dax_create(&f, FILE_SIZE);
	want = lay_shadow(FILE_SIZE, FILE_SIZE, 0);
	CHECK_SYS(fchown(f.fd, HOLDER_UID, HOLDER_UID));
	cfg.addr = f.map + LEASE_OFF;
	lay_holder_start(&h, &cfg, &r);
	check_q(&r, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(lay_proc_leases(f.fd), 1);

	one_break(&(struct lay_op){ .kind = LAY_WRITE, .fd = f.fd, .off = 3 * MiB, .len = 4096, .byte = 0x2f },
		  MRLEASE_REASON_LAYOUT);
	memset(want + 3 * MiB, 0x2f, 4096);
	one_break(&(struct lay_op){ .kind = LAY_PUNCH, .fd = f.fd, .off = LEASE_OFF, .len = 64 * 1024 },
		  MRLEASE_REASON_CLEAR);
	memset(want + LEASE_OFF, 0, 64 * 1024);
	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, FILE_SIZE);

	lay_holder_call(&h, LAY_H_UNREGISTER, 0, &r);
	CHECK_OK(r.ret);
	CHECK_EQ(lay_proc_leases(f.fd), 0);
	lay_holder_call(&h, LAY_H_CLOSE, 0, &r);
	close(h.cmd);
	CHECK_CHILD_OK(h.pid, 5000);
	t_pass();
}
