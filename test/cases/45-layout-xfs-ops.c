// SPDX-License-Identifier: GPL-2.0
/*
 * xfs -o dax: another process truncates, punches, collapses, inserts into or
 * zeroes a range of a file under a pinned lease held by this process.
 *
 * The lease breaks with reason CLEAR, not LAYOUT: for these operations XFS
 * (xfs_break_layouts(BREAK_UNMAP)) first waits for busy DAX pages, which
 * unmaps the file (the mmu notifier: CLEAR) and then sleeps on our pins;
 * only once the ack dropped them does it break the layout lease, which then
 * finds no armed lease left and is simply given back.  So while the breaker
 * waits the layout is still HELD, and after it returned it is RELEASED.  The
 * breaker waits (>= 1.1 s after the record) until the ack and returns within
 * 1 s of it; the data outside the changed range is intact; restore takes the
 * layout lease again (HELD).
 *
 * Last case: an unpinned lease.  No page is busy, so the punch goes straight
 * to the layout lease: the record still says CLEAR (the notifier came first),
 * but now the layout is BROKEN while the puncher waits, and it waits on the
 * layout lease alone until the ack.
 */
#define T_FS "xfs"
#include "45-layout.h"

static void one_case(enum lay_kind kind, uint32_t flags)
{
	struct lay_expect x = {
		.reason = MRLEASE_REASON_CLEAR,
		.layout_waiting = flags & MRLEASE_REG_PIN ? MRLEASE_LAYOUT_HELD : MRLEASE_LAYOUT_BROKEN,
		.layout_after = MRLEASE_LAYOUT_RELEASED,
	};
	struct lay_op op = { .kind = kind, .off = CHG_OFF, .len = CHG_LEN };
	size_t size = FILE_SIZE;
	struct mrlease_register l;
	struct dax_file f;
	struct breaker b;
	uint8_t *want;
	int fd;

	t_info("---- %s, %s lease", lay_kind_name(kind), flags & MRLEASE_REG_PIN ? "pinned" : "unpinned");
	dax_create(&f, FILE_SIZE);
	want = lay_shadow(FILE_SIZE, FILE_SIZE + CHG_LEN, 0);
	op.fd = f.fd;
	if (kind == LAY_TRUNCATE)
		op.off = CHG_OFF;	/* the new size: inside the lease */
	lay_breaker_start(&b, &op, BREAKER_COMM);

	fd = t_ctx();
	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0x4500 + kind, flags, 30000, &l));
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_ARMED, lay_pins(&l), MRLEASE_LAYOUT_HELD);
	CHECK_EQ(lay_proc_leases(f.fd), 1);

	LAY_BREAK_ACK(fd, l, &b, BREAKER_COMM, &x);
	/* The file lease was given back. */
	CHECK_EQ(lay_proc_leases(f.fd), 0);

	switch (kind) {
	case LAY_TRUNCATE:
		/* Grow it back so that the lease's range is inside the file again. */
		memset(want + CHG_OFF, 0, FILE_SIZE - CHG_OFF);
		LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, CHG_OFF);
		CHECK_SYS(ftruncate(f.fd, FILE_SIZE));
		break;
	case LAY_PUNCH:
	case LAY_ZERO:
		memset(want + CHG_OFF, 0, CHG_LEN);
		break;
	case LAY_COLLAPSE:
		memmove(want + CHG_OFF, want + CHG_OFF + CHG_LEN, FILE_SIZE - CHG_OFF - CHG_LEN);
		size = FILE_SIZE - CHG_LEN;
		break;
	case LAY_INSERT:
		memmove(want + CHG_OFF + CHG_LEN, want + CHG_OFF, FILE_SIZE - CHG_OFF);
		memset(want + CHG_OFF, 0, CHG_LEN);
		size = FILE_SIZE + CHG_LEN;
		break;
	default:
		abort();
	}
	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, size);

	LAY_RESTORE_HELD(fd, l);
	CHECK_EQ(lay_proc_leases(f.fd), 1);
	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, size);
	CHECK_NO_EVENT(fd, 100);

	CHECK_OK(t_unregister(fd, l.id));
	CHECK_EQ(lay_proc_leases(f.fd), 0);
	close(fd);
	munmap(f.map, FILE_SIZE);
	close(f.fd);
	free(want);
}

int main(void)
{
	t_watchdog(110);
	one_case(LAY_TRUNCATE, MRLEASE_REG_PIN);
	one_case(LAY_PUNCH, MRLEASE_REG_PIN);
	one_case(LAY_COLLAPSE, MRLEASE_REG_PIN);
	one_case(LAY_INSERT, MRLEASE_REG_PIN);
	one_case(LAY_ZERO, MRLEASE_REG_PIN);
	one_case(LAY_PUNCH, 0);
	t_pass();
}
