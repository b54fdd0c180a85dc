// SPDX-License-Identifier: GPL-2.0
/*
 * A puncher waiting for a broken pinned lease on a DAX file goes on as
 * soon as the lease is gone: unregistered, or its context released.  The
 * context is released with the last reference to its file: while a status
 * page mapping remains, close() alone does not end the wait; the munmap of
 * the mapping does.
 */
#include "fsdax.h"

#define MiB		(1u << 20)
#define FILE_SIZE	(4 * MiB)
#define LEASE_OFF	(1 * MiB)
#define LEASE_LEN	(1 * MiB)
#define HOLE_OFF	(LEASE_OFF + MiB / 2)
#define HOLE_LEN	(64 * 1024)

enum how { UNREGISTER, CLOSE, CLOSE_MAPPED };

static void round_trip(struct dax_file *f, enum how how)
{
	static const char *const names[] = { "unregister", "close", "close with the status page mapped" };
	const volatile struct mrlease_status *st = NULL;
	struct breaker b;
	struct breaker_report rep;
	struct mrlease_register l;
	struct mrlease_event ev;
	int64_t t0;
	int fd;

	t_info("--- %s", names[how]);
	breaker_start(&b, f->fd, BREAK_PUNCH, HOLE_OFF, HOLE_LEN);
	fd = t_ctx();
	if (how == CLOSE_MAPPED)
		st = t_status(fd);
	CHECK_OK(t_register(fd, f->map + LEASE_OFF, LEASE_LEN, how, MRLEASE_REG_PIN, 30000, &l));
	breaker_go(&b);
	GET_EVENT(fd, ev, 10000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l, 0);
	t_msleep(300);
	CHECK_BREAKER_WAITING(&b);

	t0 = t_now_ns();
	if (how == UNREGISTER) {
		CHECK_OK(t_unregister(fd, l.id));
	} else {
		close(fd);
		if (how == CLOSE_MAPPED) {
			t_msleep(500);
			CHECK_BREAKER_WAITING(&b);
			CHECK_EQ(st->broken, 1);
			t0 = t_now_ns();
			CHECK_SYS(munmap((void *)st, t_pg));
		}
	}
	BREAKER_DONE(&b, 5000, rep);
	t_info("the puncher returned %lld ms later", (long long)(rep.end_ns - t0) / 1000000);
	CHECK_LT(rep.end_ns - t0, 1000000000);
	if (how == UNREGISTER)
		close(fd);
}

int main(void)
{
	struct dax_file f;

	dax_create(&f, FILE_SIZE);
	round_trip(&f, UNREGISTER);
	round_trip(&f, CLOSE);
	round_trip(&f, CLOSE_MAPPED);
	t_pass();
}
