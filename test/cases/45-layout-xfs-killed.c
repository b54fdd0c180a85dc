// SPDX-License-Identifier: GPL-2.0
/*
 * xfs -o dax: the holder of a pinned lease (a child process) is SIGKILLed
 * while another child waits for its ack: its exit drops the pins and gives
 * the file lease back, and the breaker returns within 1 s of the kill.
 * Cases: a zero-range (reason CLEAR: waits for the pins), a foreign write
 * and an FICLONERANGE into the file if the filesystem can reflink (reason
 * LAYOUT: waits on the layout lease).  The data outside the changed range is
 * intact, and no lease is left on the file.
 */
#define T_FS "xfs"
#include "45-layout.h"

#define OTHER_XOR	0x33

static void one_case(enum lay_kind kind)
{
	uint32_t reason = kind == LAY_ZERO ? MRLEASE_REASON_CLEAR : MRLEASE_REASON_LAYOUT;
	struct lay_op op = { .kind = kind, .off = CHG_OFF, .len = CHG_LEN, .byte = 0x4b };
	struct lay_holder_cfg cfg = {
		.len = LEASE_LEN, .cookie = 0x45d0 + kind, .flags = MRLEASE_REG_PIN, .timeout_ms = 60000,
	};
	struct breaker_report rep;
	struct lay_holder h;
	struct lay_reply r;
	struct dax_file f;
	struct breaker b;
	int64_t t_kill;
	uint8_t *want;
	int other = -1, st;

	t_info("---- %s, the holder is killed", lay_kind_name(kind));
	dax_create(&f, FILE_SIZE);
	want = lay_shadow(FILE_SIZE, FILE_SIZE, 0);
	op.fd = f.fd;
	if (kind == LAY_CLONE_RANGE) {
		other = lay_other_create(CHG_LEN, OTHER_XOR, "other");
		op.fd2 = other;
	}
	lay_breaker_start(&b, &op, BREAKER_COMM);
	cfg.addr = f.map + LEASE_OFF;
	lay_holder_start(&h, &cfg, &r);
	CHECK_EQ(r.q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(r.q.pinned_pages, LEASE_LEN / t_pg);
	CHECK_EQ(r.q.layout, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(lay_proc_leases(f.fd), 1);

	LAY_HOLDER_BREAK(&h, &b, reason, &r);
	lay_holder_call(&h, LAY_H_QUERY, 0, &r);
	CHECK_EQ(r.q.state, MRLEASE_STATE_BROKEN);
	CHECK_EQ(r.q.pinned_pages, LEASE_LEN / t_pg);
	CHECK_EQ(r.q.layout, reason == MRLEASE_REASON_CLEAR ? MRLEASE_LAYOUT_HELD : MRLEASE_LAYOUT_BROKEN);

	t_kill = t_now_ns();
	CHECK_SYS(kill(h.pid, SIGKILL));
	BREAKER_DONE(&b, 5000, rep);
	t_info("the breaker returned %lld ms after the kill (waited %lld ms in all)",
	       (long long)(rep.end_ns - t_kill) / 1000000, (long long)(rep.end_ns - rep.start_ns) / 1000000);
	CHECK_LT(rep.end_ns - t_kill, 1000000000);
	CHECK_EQ(t_wait(h.pid, 5000, &st), 1);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CHECK_EQ(lay_proc_leases(f.fd), 0);

	if (kind == LAY_ZERO)
		memset(want + CHG_OFF, 0, CHG_LEN);
	else if (kind == LAY_WRITE)
		memset(want + CHG_OFF, op.byte, CHG_LEN);
	else
		for (size_t i = 0; i < CHG_LEN; i++)
			want[CHG_OFF + i] = lay_pattern(i, OTHER_XOR);
	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, FILE_SIZE);

	close(h.cmd);
	close(h.rep);
	if (other >= 0)
		close(other);
	munmap(f.map, FILE_SIZE);
	close(f.fd);
	free(want);
}

int main(void)
{
	const char *reflink = getenv("MRLEASE_XFS_REFLINK");
	int a, b, err;

	t_watchdog(110);
	one_case(LAY_ZERO);
	one_case(LAY_WRITE);

	/* Reflink only where the filesystem can. */
	a = lay_other_create(64 * 1024, 0, "probe-a");
	b = lay_other_create(64 * 1024, 0, "probe-b");
	err = lay_do(&(struct lay_op){ .kind = LAY_CLONE_RANGE, .fd = a, .fd2 = b, .len = 64 * 1024 });
	close(a);
	close(b);
	if (reflink && !strcmp(reflink, "0"))
		t_info("case FICLONERANGE skipped: the xfs was made without reflink");
	else if (err == EOPNOTSUPP || err == EINVAL)
		t_info("case FICLONERANGE skipped: it fails with %s on xfs -o dax", t_errname(err));
	else if (err)
		t_fail("FICLONERANGE between two scratch files: %s", t_errname(err));
	else
		one_case(LAY_CLONE_RANGE);
	t_pass();
}
