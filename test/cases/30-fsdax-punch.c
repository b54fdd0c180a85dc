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
	struct dax_file f;
	struct breaker b;
	struct breaker_report rep;
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;
	const volatile struct mrlease_status *st;
	struct stat sb;
	uint64_t gen;
	int64_t acked_ns;
	int fd;

	dax_create(&f, FILE_SIZE);
	breaker_start(&b, f.fd, BREAK_PUNCH, HOLE_OFF, HOLE_LEN);
	fd = t_ctx();
	st = t_status(fd);

	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0xda7a, MRLEASE_REG_PIN, 30000, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_SYS(fstat(f.fd, &sb));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.backing, MRLEASE_BACKING_FSDAX);
	CHECK_EQ(q.pinned_pages, LEASE_LEN / t_pg);
	CHECK_EQ(q.ino, sb.st_ino);
	CHECK_EQ(q.offset, LEASE_OFF);
	CHECK_EQ(q.timeout_ms, 30000);

	breaker_go(&b);
	GET_EVENT(fd, ev, 10000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l, 0);
	/* The filesystem may unmap more than the hole; the record is clipped to the lease. */
	CHECK_LE(ev.start, (uintptr_t)f.map + HOLE_OFF);
	CHECK_GE(ev.start + ev.length, (uintptr_t)f.map + HOLE_OFF + HOLE_LEN);
	CHECK_EQ(ev.breaker_pid, b.pid);
	CHECK(strcmp(ev.breaker_comm, BREAKER_COMM) == 0);
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_BROKEN);
	CHECK_EQ(q.pinned_pages, LEASE_LEN / t_pg);
	CHECK_EQ(st->broken, 1);

	t_msleep(1500);
	CHECK_BREAKER_WAITING(&b);
	t_info("the puncher is still waiting after 1.5 s");

	acked_ns = t_now_ns();
	CHECK_OK(t_ack(fd, l.id, ev.generation));
	BREAKER_DONE(&b, 5000, rep);
	t_info("the puncher returned %lld ms after the ack (waited %lld ms in all)",
	       (long long)(rep.end_ns - acked_ns) / 1000000,
	       (long long)(rep.end_ns - rep.start_ns) / 1000000);
	CHECK_LT(rep.end_ns - acked_ns, 1000000000);
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
	CHECK_EQ(q.pinned_pages, 0);
	CHECK_EQ(st->broken, 0);
	CHECK_NO_EVENT(fd, 200);

	gen = l.generation;
	CHECK_OK(t_restore(fd, &l));
	CHECK_NE(l.generation, gen);
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, LEASE_LEN / t_pg);
	CHECK_EQ(q.generation, l.generation);

	DAX_CHECK_DATA(&f, 0, HOLE_OFF);
	DAX_CHECK_ZERO(&f, HOLE_OFF, HOLE_LEN);
	DAX_CHECK_DATA(&f, HOLE_OFF + HOLE_LEN, FILE_SIZE - HOLE_OFF - HOLE_LEN);

	/* The restored lease maps the file: writes through it reach the file. */
	memset(f.map + HOLE_OFF, 0x77, t_pg);
	{
		char c;

		CHECK_EQ(pread(f.fd, &c, 1, HOLE_OFF + 100), 1);
		CHECK_EQ(c, 0x77);
	}
	CHECK_NO_EVENT(fd, 100);
	CHECK_OK(t_unregister(fd, l.id));
	close(fd);
	t_pass();
}
