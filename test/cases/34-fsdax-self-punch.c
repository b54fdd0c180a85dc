// SPDX-License-Identifier: GPL-2.0
/*
 * The holder punches a hole into, and then truncates into, its own pinned
 * lease on a DAX file: neither call waits on the holder (the pins are
 * dropped at once), and the records say SELF and UNPINNED with the holder's
 * own pid.
 */
#include "fsdax.h"

#define MiB		(1u << 20)
#define FILE_SIZE	(4 * MiB)
#define LEASE_OFF	(1 * MiB)
#define LEASE_LEN	(1 * MiB)
#define HOLE_OFF	(LEASE_OFF + 64 * 1024)
#define HOLE_LEN	(64 * 1024)
#define CUT		(LEASE_OFF + MiB / 2)

int main(void)
{
	struct dax_file f;
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;
	int64_t t0;
	int fd;

	t_watchdog(40);
	dax_create(&f, FILE_SIZE);
	fd = t_ctx();
	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0x5e1f, MRLEASE_REG_PIN, 30000, &l));

	t0 = t_now_ns();
	CHECK_SYS(fallocate(f.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, HOLE_OFF, HOLE_LEN));
	t_info("own punch took %lld ms", (long long)t_ms_since(t0));
	CHECK_LT(t_ms_since(t0), 5000);
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_LE(ev.start, (uintptr_t)f.map + HOLE_OFF);
	CHECK_GE(ev.start + ev.length, (uintptr_t)f.map + HOLE_OFF + HOLE_LEN);
	CHECK_EVENT_BY(ev, getpid());
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_BROKEN);
	CHECK_EQ(q.pinned_pages, 0);
	CHECK_OK(t_ack(fd, l.id, ev.generation));
	CHECK_OK(t_restore(fd, &l));
	DAX_CHECK_ZERO(&f, HOLE_OFF, HOLE_LEN);
	DAX_CHECK_DATA(&f, LEASE_OFF, HOLE_OFF - LEASE_OFF);
	DAX_CHECK_DATA(&f, HOLE_OFF + HOLE_LEN, FILE_SIZE - HOLE_OFF - HOLE_LEN);

	t0 = t_now_ns();
	CHECK_SYS(ftruncate(f.fd, CUT));
	t_info("own truncate took %lld ms", (long long)t_ms_since(t0));
	CHECK_LT(t_ms_since(t0), 5000);
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_LE(ev.start, (uintptr_t)f.map + CUT);
	CHECK_EVENT_BY(ev, getpid());
	CHECK_NO_EVENT(fd, 200);
	close(fd);
	t_pass();
}
