// SPDX-License-Identifier: GPL-2.0
/*
 * xfs -o dax, write(): XFS breaks layout leases on every write() (it cannot
 * tell an allocating write from an overwrite), so:
 *  - the holder's own pwrite(), from its main thread or another thread, into
 *    the lease's range or elsewhere, returns at once and breaks nothing;
 *    neither does another process opening the file for writing (the VFS
 *    lease break on open ignores layout leases);
 *  - a pwrite() by another process, even an overwrite outside the lease's
 *    range, breaks the lease with reason LAYOUT (the record covers the whole
 *    lease; breaker = the writer), the layout is BROKEN, and the writer waits
 *    until the ack (>= 1.1 s later), then returns within 1 s; RELEASED;
 *  - while the lease is acked but not restored there is no file lease: a
 *    foreign write goes through at once and breaks nothing;
 *  - after restore (HELD) a foreign write into the range waits again (our
 *    own write meanwhile does not), and unregistering the lease lets it go
 *    as an ack would;
 *  - an unpinned lease holds the writer just the same (the layout lease
 *    alone makes it wait).
 */
#define T_FS "xfs"
#include "45-layout.h"

#define WRITER_COMM	"mrl-writer"

static struct dax_file f;
static uint8_t *want;

/* Our own pwrite of one page of @byte at @off returns at once. */
static void own_write(size_t off, uint8_t byte)
{
	static char page[4096];
	int64_t t0 = t_now_ns();

	memset(page, byte, sizeof(page));
	CHECK_EQ(pwrite(f.fd, page, sizeof(page), (off_t)off), sizeof(page));
	CHECK_LT(t_ms_since(t0), 500);
	memset(want + off, byte, sizeof(page));
}

static void *own_write_thread(void *arg)
{
	(void)arg;
	own_write(LEASE_OFF + 8 * t_pg, 0x72);
	own_write(3 * MiB + 8 * t_pg, 0x73);
	return NULL;
}

/* A breaker that writes one page of @byte at @off. */
static void writer_start(struct breaker *b, size_t off, uint8_t byte)
{
	struct lay_op op = { .kind = LAY_WRITE, .fd = f.fd, .off = (off_t)off, .len = 4096, .byte = byte };

	lay_breaker_start(b, &op, WRITER_COMM);
	memset(want + off, byte, 4096);
}

int main(void)
{
	struct lay_expect x = {
		.reason = MRLEASE_REASON_LAYOUT,
		.layout_waiting = MRLEASE_LAYOUT_BROKEN,
		.layout_after = MRLEASE_LAYOUT_RELEASED,
		.whole = true,
	};
	struct mrlease_register l, u;
	struct mrlease_event ev;
	struct breaker_report rep;
	struct breaker w;
	pthread_t th;
	int64_t t0;
	int fd;

	t_watchdog(110);
	dax_create(&f, FILE_SIZE);
	want = lay_shadow(FILE_SIZE, FILE_SIZE, 0);
	fd = t_ctx();
	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0x45a1, MRLEASE_REG_PIN, 30000, &l));
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg, MRLEASE_LAYOUT_HELD);

	t_info("---- our own writes");
	own_write(LEASE_OFF + 4 * t_pg, 0x70);
	own_write(3 * MiB, 0x71);
	CHECK(pthread_create(&th, NULL, own_write_thread, NULL) == 0);
	CHECK(pthread_join(th, NULL) == 0);
	CHECK_NO_EVENT(fd, 200);
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg, MRLEASE_LAYOUT_HELD);

	t_info("---- another process opens the file for writing");
	{
		pid_t pid = t_fork();

		if (pid == 0) {
			char path[64];
			int64_t t = t_now_ns();
			int wfd;

			snprintf(path, sizeof(path), "/proc/%d/fd/%d", t_pid, f.fd);
			wfd = open(path, O_RDWR);
			if (wfd < 0)
				t_fail("open %s: %s", path, t_errname(errno));
			CHECK_LT(t_ms_since(t), 500);
			close(wfd);
			_exit(0);
		}
		CHECK_CHILD_OK(pid, 5000);
	}
	CHECK_NO_EVENT(fd, 200);
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg, MRLEASE_LAYOUT_HELD);

	t_info("---- a foreign overwrite outside the lease's range");
	writer_start(&w, 3 * MiB + 16 * t_pg, 0x38);
	LAY_BREAK_ACK(fd, l, &w, WRITER_COMM, &x);
	CHECK_EQ(lay_proc_leases(f.fd), 0);

	t_info("---- acked, not restored: no file lease, nothing waits");
	{
		struct lay_op op = { .kind = LAY_WRITE, .fd = f.fd, .off = LEASE_OFF, .len = 4096, .byte = 0x39 };

		LAY_NO_WAIT(&op, WRITER_COMM, 1000);
		memset(want + LEASE_OFF, 0x39, 4096);
	}
	CHECK_NO_EVENT(fd, 200);
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_ACKED, 0, MRLEASE_LAYOUT_RELEASED);

	t_info("---- restored: a foreign write into the range waits; unregister lets it go");
	LAY_RESTORE_HELD(fd, l);
	writer_start(&w, LEASE_OFF + 2 * t_pg, 0x3a);
	breaker_go(&w);
	GET_EVENT(fd, ev, 10000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_LAYOUT, l, 0);
	CHECK_EVENT_RANGE(ev, l.addr, l.len);
	CHECK_EQ(ev.breaker_pid, w.pid);
	CHECK(strcmp(ev.breaker_comm, WRITER_COMM) == 0);
	t_msleep(1100);
	CHECK_BREAKER_WAITING(&w);
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_BROKEN, LEASE_LEN / t_pg, MRLEASE_LAYOUT_BROKEN);
	/* Our own write does not queue up behind the breaking file lease. */
	own_write(3 * MiB + 32 * t_pg, 0x74);
	CHECK_BREAKER_WAITING(&w);
	t0 = t_now_ns();
	CHECK_OK(t_unregister(fd, l.id));
	BREAKER_DONE(&w, 5000, rep);
	t_info("the writer returned %lld ms after the unregister", (long long)(rep.end_ns - t0) / 1000000);
	CHECK_LT(rep.end_ns - t0, 1000000000);
	CHECK_EQ(lay_proc_leases(f.fd), 0);
	CHECK_NO_EVENT(fd, 200);
	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, FILE_SIZE);

	t_info("---- an unpinned lease holds a foreign writer too");
	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0x45a2, 0, 30000, &u));
	CHECK_LEASE(fd, u.id, MRLEASE_STATE_ARMED, 0, MRLEASE_LAYOUT_HELD);
	writer_start(&w, 2 * MiB, 0x3b);
	LAY_BREAK_ACK(fd, u, &w, WRITER_COMM, &x);
	LAY_RESTORE_HELD(fd, u);
	CHECK_OK(t_unregister(fd, u.id));
	CHECK_EQ(lay_proc_leases(f.fd), 0);

	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, FILE_SIZE);
	close(fd);
	t_pass();
}
