// SPDX-License-Identifier: GPL-2.0
/*
 * xfs -o dax: the file lease follows the memory.  A lease on file A (HELD,
 * a lease on A in /proc/locks); the holder maps file B over the range with
 * mmap(MAP_FIXED) (the lease breaks: UNMAP, SELF) and restores: the lease
 * now guards B (query: B's inode, HELD), A's file lease is given back.  A
 * foreign write to A then goes through at once and breaks nothing; one to B
 * breaks the lease (LAYOUT) and waits for the ack.  A lease on anonymous
 * memory or shmem has no layout lease (NONE).
 */
#define T_FS "xfs"
#define FILE_SIZE	(2 * MiB)
#include "45-layout.h"

#define WRITER_COMM	"mrl-writer"

int main(void)
{
	struct lay_expect x = {
		.reason = MRLEASE_REASON_LAYOUT,
		.layout_waiting = MRLEASE_LAYOUT_BROKEN,
		.layout_after = MRLEASE_LAYOUT_RELEASED,
		.whole = true,
	};
	struct mrlease_register l, n;
	struct mrlease_event ev;
	struct mrlease_query q;
	struct dax_file a, b;
	struct breaker w;
	struct lay_op op;
	struct stat sb;
	char *p;
	int fd;

	t_watchdog(110);
	dax_create(&a, FILE_SIZE);
	dax_create(&b, FILE_SIZE);
	fd = t_ctx();
	CHECK_OK(t_register(fd, a.map, LEASE_LEN, 0x45b0, MRLEASE_REG_PIN, 30000, &l));
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(lay_proc_leases(a.fd), 1);
	CHECK_EQ(lay_proc_leases(b.fd), 0);

	/* Map B where A was. */
	p = mmap(a.map, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, b.fd, 0);
	CHECK(p == a.map);
	GET_EVENT(fd, ev, 5000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, l,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	/* Broken by our own munmap: the file lease on A is not broken, just unused. */
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_BROKEN);
	CHECK_EQ(q.layout, MRLEASE_LAYOUT_HELD);
	LAY_RESTORE_HELD(fd, l);
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_SYS(fstat(b.fd, &sb));
	CHECK_EQ(q.ino, sb.st_ino);
	CHECK_EQ(lay_proc_leases(a.fd), 0);
	CHECK_EQ(lay_proc_leases(b.fd), 1);

	t_info("---- a foreign write to A, which is no longer leased");
	op = (struct lay_op){ .kind = LAY_WRITE, .fd = a.fd, .off = 0, .len = 4096, .byte = 0x1a };
	LAY_NO_WAIT(&op, WRITER_COMM, 1000);
	CHECK_NO_EVENT(fd, 300);
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg, MRLEASE_LAYOUT_HELD);

	t_info("---- a foreign write to B");
	op = (struct lay_op){ .kind = LAY_WRITE, .fd = b.fd, .off = 0, .len = 4096, .byte = 0x1b };
	lay_breaker_start(&w, &op, WRITER_COMM);
	LAY_BREAK_ACK(fd, l, &w, WRITER_COMM, &x);
	CHECK_EQ((uint8_t)a.map[0], 0x1b);	/* a.map is B's mapping now */
	CHECK_OK(t_unregister(fd, l.id));
	CHECK_EQ(lay_proc_leases(b.fd), 0);

	t_info("---- anonymous memory and shmem have no layout lease");
	{
		char *anon = t_anon(4);
		char *shm = mmap(NULL, 4 * t_pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		CHECK(shm != MAP_FAILED);
		memset(shm, 1, 4 * t_pg);
		CHECK_OK(t_register(fd, anon, 4 * t_pg, 1, MRLEASE_REG_PIN, 0, &n));
		CHECK_LEASE(fd, n.id, MRLEASE_STATE_ARMED, 4, MRLEASE_LAYOUT_NONE);
		CHECK_OK(t_register(fd, shm, 4 * t_pg, 2, MRLEASE_REG_PIN, 0, &n));
		CHECK_LEASE(fd, n.id, MRLEASE_STATE_ARMED, 4, MRLEASE_LAYOUT_NONE);
		CHECK_OK(t_query(fd, n.id, &q));
		CHECK_EQ(q.backing, MRLEASE_BACKING_SHMEM);
	}
	close(fd);
	t_pass();
}
