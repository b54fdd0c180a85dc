// SPDX-License-Identifier: GPL-2.0
/*
 * xfs -o dax: a holder that reads the record and never acks (timeout_ms =
 * 1000).  The lease is REVOKED (record REVOKED, reason TIMEOUT, pins
 * dropped, breaker as in the record) about 1 s after the break, and the
 * breaker, which waited until then, goes on within 1 s of the revoke; a late
 * ack fails -ETIMEDOUT; the file lease was given back (RELEASED) and restore
 * takes it again.  Cases: a truncate against a pinned lease (reason CLEAR:
 * the breaker waits for the pins), a foreign write against a pinned lease
 * and against an unpinned one (reason LAYOUT: the breaker waits on the
 * layout lease).
 */
#define T_FS "xfs"
#include "45-layout.h"

#define TIMEOUT_MS	1000

static void one_case(enum lay_kind kind, uint32_t flags)
{
	uint32_t reason = kind == LAY_WRITE ? MRLEASE_REASON_LAYOUT : MRLEASE_REASON_CLEAR;
	struct lay_op op = { .kind = kind, .off = 3 * MiB, .len = 4096, .byte = 0x5e };
	struct mrlease_register l;
	struct mrlease_event ev;
	struct breaker_report rep;
	struct dax_file f;
	struct breaker b;
	int64_t t_ev, t_rev;
	uint8_t *want;
	int fd;

	t_info("---- %s, %s lease, never acked", lay_kind_name(kind),
	       flags & MRLEASE_REG_PIN ? "pinned" : "unpinned");
	dax_create(&f, FILE_SIZE);
	want = lay_shadow(FILE_SIZE, FILE_SIZE, 0);
	op.fd = f.fd;
	if (kind == LAY_TRUNCATE)
		op.off = LEASE_OFF + LEASE_LEN / 2;	/* the new size: inside the lease */
	lay_breaker_start(&b, &op, BREAKER_COMM);
	fd = t_ctx();
	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0x45c0 + kind, flags, TIMEOUT_MS, &l));
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_ARMED, lay_pins(&l), MRLEASE_LAYOUT_HELD);

	breaker_go(&b);
	GET_EVENT(fd, ev, 10000);
	t_ev = t_now_ns();
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, reason, l, 0);
	CHECK_EQ(ev.breaker_pid, b.pid);
	CHECK(strcmp(ev.breaker_comm, BREAKER_COMM) == 0);
	t_msleep(TIMEOUT_MS / 2);
	CHECK_BREAKER_WAITING(&b);
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_BROKEN, lay_pins(&l),
		    flags & MRLEASE_REG_PIN && reason == MRLEASE_REASON_CLEAR ?
		    MRLEASE_LAYOUT_HELD : MRLEASE_LAYOUT_BROKEN);

	GET_EVENT(fd, ev, 10000);
	t_rev = t_now_ns();
	/* UNPINNED: the pins were dropped (CHECK_EVENT ignores it for an unpinned lease). */
	CHECK_EVENT(ev, MRLEASE_EVENT_REVOKED, MRLEASE_REASON_TIMEOUT, l,
		    flags & MRLEASE_REG_PIN ? MRLEASE_EVENT_F_UNPINNED : 0);
	CHECK_EQ(ev.breaker_pid, b.pid);
	BREAKER_DONE(&b, 5000, rep);
	t_info("revoked %lld ms after the record; the breaker waited %lld ms, returned %lld ms after the revoke",
	       (long long)(t_rev - t_ev) / 1000000, (long long)(rep.end_ns - rep.start_ns) / 1000000,
	       (long long)(rep.end_ns - t_rev) / 1000000);
	CHECK_GE(rep.end_ns - rep.start_ns, (TIMEOUT_MS - 50) * 1000000ll);
	CHECK_LT(rep.end_ns - rep.start_ns, 10000 * 1000000ll);
	CHECK_LT(rep.end_ns - t_rev, 1000000000);
	CHECK_LT(t_rev - rep.end_ns, 1000000000);

	CHECK_LEASE(fd, l.id, MRLEASE_STATE_REVOKED, 0, MRLEASE_LAYOUT_RELEASED);
	CHECK_EQ(lay_proc_leases(f.fd), 0);
	CHECK_ERR(t_ack(fd, l.id, l.generation), ETIMEDOUT);
	CHECK_NO_EVENT(fd, 200);

	if (kind == LAY_TRUNCATE) {
		memset(want + op.off, 0, FILE_SIZE - (size_t)op.off);
		LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, (size_t)op.off);
		CHECK_SYS(ftruncate(f.fd, FILE_SIZE));
	} else {
		memset(want + op.off, op.byte, (size_t)op.len);
	}
	LAY_RESTORE_HELD(fd, l);
	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, FILE_SIZE);
	CHECK_NO_EVENT(fd, 100);
	close(fd);
	CHECK_EQ(lay_proc_leases(f.fd), 0);
	munmap(f.map, FILE_SIZE);
	close(f.fd);
	free(want);
}

int main(void)
{
	t_watchdog(110);
	one_case(LAY_TRUNCATE, MRLEASE_REG_PIN);
	one_case(LAY_WRITE, MRLEASE_REG_PIN);
	one_case(LAY_WRITE, 0);
	t_pass();
}
