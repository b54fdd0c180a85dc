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
	struct dax_file f;
	struct breaker b;
	struct breaker_report rep;
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;
	int64_t acked_ns;
	int fd;

	dax_create(&f, FILE_SIZE);
	breaker_start(&b, f.fd, BREAK_TRUNCATE, CUT, 0);
	fd = t_ctx();

	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0x7c, MRLEASE_REG_PIN, 30000, &l));
	breaker_go(&b);
	GET_EVENT(fd, ev, 10000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l, 0);
	CHECK_LE(ev.start, (uintptr_t)f.map + CUT);
	CHECK_EQ(ev.start + ev.length, (uintptr_t)f.map + LEASE_OFF + LEASE_LEN);
	CHECK_EQ(ev.breaker_pid, b.pid);
	CHECK(strcmp(ev.breaker_comm, BREAKER_COMM) == 0);

	t_msleep(1500);
	CHECK_BREAKER_WAITING(&b);
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_BROKEN);

	acked_ns = t_now_ns();
	CHECK_OK(t_ack(fd, l.id, ev.generation));
	BREAKER_DONE(&b, 5000, rep);
	t_info("ftruncate returned %lld ms after the ack", (long long)(rep.end_ns - acked_ns) / 1000000);
	CHECK_LT(rep.end_ns - acked_ns, 1000000000);
	CHECK_NO_EVENT(fd, 200);

	CHECK_ERR(t_restore(fd, &l), EFAULT);
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
	CHECK_EQ(q.pinned_pages, 0);

	CHECK_SYS(ftruncate(f.fd, FILE_SIZE));
	CHECK_OK(t_restore(fd, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, LEASE_LEN / t_pg);
	DAX_CHECK_DATA(&f, 0, CUT);
	DAX_CHECK_ZERO(&f, CUT, FILE_SIZE - CUT);
	CHECK_NO_EVENT(fd, 100);
	close(fd);
	t_pass();
}
