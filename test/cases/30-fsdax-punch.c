// SPDX-License-Identifier: GPL-2.0
/*
 * Another process punches a hole into a pinned lease on a DAX file:
 * the holder gets a DECOHERENCE record (reason CLEAR, not SELF, pins still
 * held, breaker_pid = the puncher); the puncher waits in fallocate() for as
 * long as the lease is not acked (checked 1.5 s later) and returns promptly
 * (< 1 s) after the ack; restore re-arms the lease on the new blocks, which
 * read as zeros, while the data around the hole is intact.
 */
#include "fsdax.h"

#define MiB		(1u << 20)
#define FILE_SIZE	(4 * MiB)
#define LEASE_OFF	(1 * MiB)
#define LEASE_LEN	(1 * MiB)
#define HOLE_OFF	(LEASE_OFF + MiB / 4)
#define HOLE_LEN	(MiB / 4)

int main(void)
{
	struct dax_scene s;
	struct mrlease_query q;
	const volatile struct mrlease_status *st;
	struct stat sb;
	uint64_t gen;
	int64_t acked_ns;
	int fd;

	dax_scene_open(&s, FILE_SIZE, BREAK_PUNCH, HOLE_OFF, HOLE_LEN);

	fd = t_ctx();
	st = t_status(fd);

	CHECK_OK(t_register(fd, s.f.map + LEASE_OFF, LEASE_LEN, 0xda7a, MRLEASE_REG_PIN, 30000, &s.l));
	CHECK_OK(t_query(fd, s.l.id, &q));
	CHECK_SYS(fstat(s.f.fd, &sb));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.backing, MRLEASE_BACKING_FSDAX);
	CHECK_EQ(q.pinned_pages, LEASE_LEN / t_pg);
	CHECK_EQ(q.ino, sb.st_ino);
	CHECK_EQ(q.offset, LEASE_OFF);
	CHECK_EQ(q.timeout_ms, 30000);

	DAX_SCENE_BREAK(&s, fd, 0);
	/* The filesystem may unmap more than the hole; the record is clipped to the lease. */
	CHECK_LE(s.ev.start, (uintptr_t)s.f.map + HOLE_OFF);
	CHECK_GE(s.ev.start + s.ev.length, (uintptr_t)s.f.map + HOLE_OFF + HOLE_LEN);
	CHECK_OK(t_query(fd, s.l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_BROKEN);
	CHECK_EQ(q.pinned_pages, LEASE_LEN / t_pg);
	CHECK_EQ(st->broken, 1);

	DAX_SCENE_ACK(&s, fd, 1500, &acked_ns);
	CHECK_OK(t_query(fd, s.l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
	CHECK_EQ(q.pinned_pages, 0);
	CHECK_EQ(st->broken, 0);
	CHECK_NO_EVENT(fd, 200);

	gen = s.l.generation;
	CHECK_OK(t_restore(fd, &s.l));
	CHECK_NE(s.l.generation, gen);
	CHECK_OK(t_query(fd, s.l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, LEASE_LEN / t_pg);
	CHECK_EQ(q.generation, s.l.generation);

	DAX_CHECK_DATA(&s.f, 0, HOLE_OFF);
	DAX_CHECK_ZERO(&s.f, HOLE_OFF, HOLE_LEN);
	DAX_CHECK_DATA(&s.f, HOLE_OFF + HOLE_LEN, FILE_SIZE - HOLE_OFF - HOLE_LEN);

	/* The restored lease maps the file: writes through it reach the file. */
	memset(s.f.map + HOLE_OFF, 0x77, t_pg);
	{
		char c;

		CHECK_EQ(pread(s.f.fd, &c, 1, HOLE_OFF + 100), 1);
		CHECK_EQ(c, 0x77);
	}
	CHECK_NO_EVENT(fd, 100);
	CHECK_OK(t_unregister(fd, s.l.id));
	close(fd);
	t_pass();
}
