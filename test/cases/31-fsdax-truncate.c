// SPDX-License-Identifier: GPL-2.0
/*
 * Another process truncates a DAX file into a pinned lease: DECOHERENCE
 * (reason CLEAR, breaker_pid = the truncater, not SELF); ftruncate() waits
 * until the ack and returns promptly after it.  Restore then fails -EFAULT
 * (part of the range lies beyond the end of the file); once the file is
 * extended again it succeeds, the part cut off reads as zeros and the rest
 * is intact.
 */
#include "fsdax.h"

#define MiB		(1u << 20)
#define FILE_SIZE	(4 * MiB)
#define LEASE_OFF	(1 * MiB)
#define LEASE_LEN	(1 * MiB)
#define CUT		(LEASE_OFF + MiB / 2)

int main(void)
{
	struct dax_scene s;
	struct mrlease_query q;
	int64_t acked_ns;
	int fd;

	dax_scene_open(&s, FILE_SIZE, BREAK_TRUNCATE, CUT, 0);

	fd = t_ctx();

	CHECK_OK(t_register(fd, s.f.map + LEASE_OFF, LEASE_LEN, 0x7c, MRLEASE_REG_PIN, 30000, &s.l));
	DAX_SCENE_BREAK(&s, fd, 0);
	CHECK_LE(s.ev.start, (uintptr_t)s.f.map + CUT);
	CHECK_EQ(s.ev.start + s.ev.length, (uintptr_t)s.f.map + LEASE_OFF + LEASE_LEN);
	CHECK_EQ(t_state(fd, s.l.id), MRLEASE_STATE_BROKEN);

	DAX_SCENE_ACK(&s, fd, 1500, &acked_ns);
	CHECK_NO_EVENT(fd, 200);

	CHECK_ERR(t_restore(fd, &s.l), EFAULT);
	CHECK_OK(t_query(fd, s.l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
	CHECK_EQ(q.pinned_pages, 0);

	CHECK_SYS(ftruncate(s.f.fd, FILE_SIZE));
	CHECK_OK(t_restore(fd, &s.l));
	CHECK_OK(t_query(fd, s.l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, LEASE_LEN / t_pg);
	DAX_CHECK_DATA(&s.f, 0, CUT);
	DAX_CHECK_ZERO(&s.f, CUT, FILE_SIZE - CUT);
	CHECK_NO_EVENT(fd, 100);
	close(fd);
	t_pass();
}
