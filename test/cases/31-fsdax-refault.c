// SPDX-License-Identifier: GPL-2.0
/*
 * The holder touches its range again while another process's truncate
 * waits for the pins of its broken lease: the faults map the doomed pages
 * afresh.  Since Linux 6.15 a mapping holds a reference to a DAX page and
 * the truncate waits for the page's count to reach zero, which the holder's
 * new mappings would keep from happening for as long as they stay: the
 * truncate must still return promptly after the ack, and after a revoke by
 * the timeout.  Before 6.15 the new mappings count for nothing; the test
 * holds there too.
 */
#include "fsdax.h"

#define MiB		(1u << 20)
#define FILE_SIZE	(4 * MiB)
#define LEASE_OFF	(1 * MiB)
#define LEASE_LEN	(1 * MiB)
#define CUT		(LEASE_OFF + MiB / 2)
#define TIMEOUT_MS	1500

/* Read and write every page of the lease's range: faults map them again. */
static unsigned int touch(char *map)
{
	volatile char *p = map;
	unsigned int sum = 0;

	for (size_t off = LEASE_OFF; off < LEASE_OFF + LEASE_LEN; off += t_pg) {
		sum += (unsigned char)p[off];
		p[off] = p[off];
	}
	return sum;
}

/* @ack: ack the break; otherwise let the timeout revoke the lease. */
static void round_trip(bool ack)
{
	struct dax_file f;
	struct breaker b;
	struct breaker_report rep;
	struct mrlease_register l;
	struct mrlease_event ev;
	int64_t let_go_ns, broken_ns;
	int fd;

	dax_create(&f, FILE_SIZE);
	breaker_start(&b, f.fd, BREAK_TRUNCATE, CUT, 0);
	fd = t_ctx();
	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0x31, MRLEASE_REG_PIN,
			    ack ? 30000 : TIMEOUT_MS, &l));
	breaker_go(&b);
	GET_EVENT(fd, ev, 10000);
	broken_ns = t_now_ns();
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l, 0);
	CHECK_EQ(ev.breaker_pid, b.pid);

	/* The truncate waits for us; meanwhile the pages are mapped again. */
	t_msleep(200);
	CHECK_BREAKER_WAITING(&b);
	t_info("touched the range (sum %u) while the truncate waited", touch(f.map));
	t_msleep(100);
	CHECK_BREAKER_WAITING(&b);

	if (ack) {
		let_go_ns = t_now_ns();
		CHECK_OK(t_ack(fd, l.id, ev.generation));
	} else {
		/* The break came before we read it: the deadline is no later. */
		let_go_ns = broken_ns + TIMEOUT_MS * 1000000LL;
	}
	BREAKER_DONE(&b, TIMEOUT_MS + 5000, rep);
	t_info("%s: ftruncate returned %lld ms after the %s", ack ? "ack" : "timeout",
	       (long long)(rep.end_ns - let_go_ns) / 1000000, ack ? "ack" : "deadline");
	CHECK_LT(rep.end_ns - let_go_ns, 1000000000);
	if (!ack)
		CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_REVOKED);
	close(fd);
	CHECK_SYS(munmap(f.map, f.size));
	close(f.fd);
}

int main(void)
{
	round_trip(true);
	round_trip(false);
	t_pass();
}
