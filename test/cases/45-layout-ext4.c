// SPDX-License-Identifier: GPL-2.0
/*
 * ext4 -o dax: a lease on the file takes the layout lease (HELD), but ext4
 * never breaks layout leases:
 *  - a write() by another process, an overwrite inside the lease's range or
 *    an allocating write past the end of the file, returns at once and
 *    breaks nothing; the layout stays HELD;
 *  - a punch-hole or zero-range by another process still breaks the pinned
 *    lease through the mmu notifier (reason CLEAR), and waits for the ack
 *    (ext4_break_layouts() waits for busy DAX pages); the layout lease is
 *    never broken: HELD all along, and after restore.
 */
#define T_FS "ext4"
#include "45-layout.h"

int main(void)
{
	struct lay_expect x = {
		.reason = MRLEASE_REASON_CLEAR,
		.layout_waiting = MRLEASE_LAYOUT_HELD,
		.layout_after = MRLEASE_LAYOUT_HELD,
	};
	struct lay_op op = { .kind = LAY_WRITE, .off = LEASE_OFF + 8 * 4096, .len = 4096, .byte = 0x6e };
	struct mrlease_register l;
	struct dax_file f;
	struct breaker b;
	uint8_t *want;
	int fd;

	t_watchdog(110);
	dax_create(&f, FILE_SIZE);
	want = lay_shadow(FILE_SIZE, FILE_SIZE + MiB, 0);
	op.fd = f.fd;
	fd = t_ctx();
	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0x45e4, MRLEASE_REG_PIN, 30000, &l));
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(lay_proc_leases(f.fd), 1);

	t_info("---- foreign writes: an overwrite in the range, an allocating write past the end");
	LAY_NO_WAIT(&op, "mrl-writer", 1000);
	memset(want + op.off, op.byte, 4096);
	op.off = FILE_SIZE + 64 * 1024;
	op.byte = 0x6f;
	LAY_NO_WAIT(&op, "mrl-writer", 1000);
	memset(want + op.off, op.byte, 4096);
	CHECK_NO_EVENT(fd, 300);
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg, MRLEASE_LAYOUT_HELD);
	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, FILE_SIZE + 64 * 1024 + 4096);

	t_info("---- a foreign punch-hole");
	op = (struct lay_op){ .kind = LAY_PUNCH, .fd = f.fd, .off = CHG_OFF, .len = CHG_LEN };
	lay_breaker_start(&b, &op, BREAKER_COMM);
	LAY_BREAK_ACK(fd, l, &b, BREAKER_COMM, &x);
	CHECK_EQ(lay_proc_leases(f.fd), 1);
	memset(want + CHG_OFF, 0, CHG_LEN);
	LAY_RESTORE_HELD(fd, l);
	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, FILE_SIZE + 64 * 1024 + 4096);

	t_info("---- a foreign zero-range");
	op = (struct lay_op){ .kind = LAY_ZERO, .fd = f.fd, .off = LEASE_OFF, .len = 64 * 1024 };
	lay_breaker_start(&b, &op, BREAKER_COMM);
	LAY_BREAK_ACK(fd, l, &b, BREAKER_COMM, &x);
	memset(want + LEASE_OFF, 0, 64 * 1024);
	LAY_RESTORE_HELD(fd, l);
	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, FILE_SIZE + 64 * 1024 + 4096);
	CHECK_NO_EVENT(fd, 100);

	CHECK_OK(t_unregister(fd, l.id));
	CHECK_EQ(lay_proc_leases(f.fd), 0);
	close(fd);
	t_pass();
}
