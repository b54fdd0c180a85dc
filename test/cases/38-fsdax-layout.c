// SPDX-License-Identifier: GPL-2.0
/*
 * File-layout leases: a lease on a file mapping takes an FL_LAYOUT lease on
 * the file (query: layout HELD).  XFS breaks it on a write() by another
 * process: the lease breaks with reason LAYOUT, the writer waits until the
 * ack, the file lease is then given back (RELEASED) and restore takes it
 * again.  ext4 never breaks layout leases: the write goes through at once
 * and breaks nothing.  The holder's own write() never waits on its own
 * layout lease.
 */
#include "fsdax.h"

#define MiB		(1u << 20)
#define FILE_SIZE	(4 * MiB)
#define LEASE_OFF	(1 * MiB)
#define LEASE_LEN	(1 * MiB)
#define WRITE_OFF	(3 * MiB)

struct write_args {
	int fd;
	size_t off;
};

static int write_page(const void *arg)
{
	const struct write_args *w = arg;
	static char page[4096];

	memset(page, 0x38, sizeof(page));
	if (pwrite(w->fd, page, sizeof(page), (off_t)w->off) == sizeof(page))
		return 0;
	return errno ? errno : EIO;
}

/* A child that pwrite()s one page at @off and reports like a breaker. */
static void writer_start(struct breaker *b, int fd, size_t off)
{
	struct write_args w = { .fd = fd, .off = off };

	breaker_fork(b, "mrl-writer", write_page, &w);
}

int main(void)
{
	bool xfs = !strcmp(T_FS, "xfs");
	struct dax_file f;
	struct breaker w;
	struct breaker_report rep;
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;
	static char page[4096];
	int64_t t0;
	int fd;

	dax_create(&f, FILE_SIZE);
	writer_start(&w, f.fd, WRITE_OFF);
	fd = t_ctx();
	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0x38, MRLEASE_REG_PIN, 30000, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.layout, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(q.layout_error, 0);

	/* Our own write never waits on our own lease, and breaks nothing. */
	memset(page, 0x39, sizeof(page));
	t0 = t_now_ns();
	CHECK_EQ(pwrite(f.fd, page, sizeof(page), WRITE_OFF + MiB / 2), sizeof(page));
	CHECK_LT(t_ms_since(t0), 2000);
	CHECK_NO_EVENT(fd, 200);
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_ARMED);

	breaker_go(&w);
	if (!xfs) {
		BREAKER_DONE(&w, 5000, rep);
		CHECK_NO_EVENT(fd, 300);
		CHECK_OK(t_query(fd, l.id, &q));
		CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
		CHECK_EQ(q.layout, MRLEASE_LAYOUT_HELD);
		close(fd);
		t_pass();
	}

	GET_EVENT(fd, ev, 10000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_LAYOUT, l, 0);
	CHECK_EQ(ev.breaker_pid, w.pid);
	CHECK(strcmp(ev.breaker_comm, "mrl-writer") == 0);
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_BROKEN);
	CHECK_EQ(q.layout, MRLEASE_LAYOUT_BROKEN);
	t_msleep(1000);
	CHECK_BREAKER_WAITING(&w);

	t0 = t_now_ns();
	CHECK_OK(t_ack(fd, l.id, ev.generation));
	BREAKER_DONE(&w, 5000, rep);
	t_info("the writer returned %lld ms after the ack", (long long)(rep.end_ns - t0) / 1000000);
	CHECK_LT(rep.end_ns - t0, 1000000000);
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.layout, MRLEASE_LAYOUT_RELEASED);

	CHECK_OK(t_restore(fd, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.layout, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(f.map[WRITE_OFF], 0x38);
	CHECK_NO_EVENT(fd, 200);
	close(fd);
	t_pass();
}
