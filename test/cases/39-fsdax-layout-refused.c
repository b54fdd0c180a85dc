// SPDX-License-Identifier: GPL-2.0
/*
 * A holder that may not take the file-layout lease (user 65534, not the
 * file's owner, no CAP_LEASE) still gets its lease: query says layout
 * REFUSED with -EACCES and hold NOT_OWNER.  A foreign hole punch breaks it
 * and is reported, but, as a kernel lease would not let this user make the
 * owner wait, the pins go at once (UNPINNED) and the punch does not wait
 * for the ack.
 */
#include "fsdax.h"

#include <grp.h>
#include <sys/resource.h>

#define MiB		(1u << 20)
#define LEASE_LEN	(256 * 1024)

/* As user 65534: lease the mapping, report, wait for a record, ack it. */
static void holder(struct dax_file *f, int out)
{
	struct rlimit rl = { MiB, MiB };
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;
	int fd;

	CHECK_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	CHECK_SYS(setgroups(0, NULL));
	CHECK_SYS(setgid(65534));
	CHECK_SYS(setuid(65534));
	fd = t_ctx();
	CHECK_OK(t_register(fd, f->map, LEASE_LEN, 0x39, MRLEASE_REG_PIN, 30000, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	t_info("layout %u, layout_error %d", q.layout, q.layout_error);
	CHECK_EQ(q.layout, MRLEASE_LAYOUT_REFUSED);
	CHECK_EQ(q.layout_error, -EACCES);
	CHECK_EQ(q.hold, MRLEASE_HOLD_NOT_OWNER);
	CHECK_EQ(q.pinned_pages, LEASE_LEN / t_pg);
	t_write_full(out, &l, sizeof(l));
	GET_EVENT(fd, ev, 10000);
	t_write_full(out, &ev, sizeof(ev));
	t_msleep(1000);
	CHECK_OK(t_ack(fd, l.id, ev.generation));
	_exit(0);
}

int main(void)
{
	struct dax_scene s;
	int p[2];
	pid_t h;

	if (geteuid() != 0)
		t_skip("needs root to set up an unprivileged user");
	dax_scene_open(&s, 1 * MiB, BREAK_PUNCH, 64 * 1024, 64 * 1024);
	t_open_device_to_all();

	h = dax_scene_holder(&s, p, holder);
	breaker_go(&s.b);
	if (!t_read_full(p[0], &s.ev, sizeof(s.ev), 10000))
		t_fail("the holder got no record");
	t_print_event(&s.ev);
	CHECK_EVENT(s.ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, s.l,
		    MRLEASE_EVENT_F_UNPINNED);
	CHECK_EQ(s.ev.breaker_pid, s.b.pid);
	/* The holder acks 1 s after its record: the punch must not wait. */
	BREAKER_DONE(&s.b, 5000, s.rep);
	t_info("the puncher waited %lld ms", (long long)(s.rep.end_ns - s.rep.start_ns) / 1000000);
	CHECK_LT(s.rep.end_ns - s.rep.start_ns, 900000000);
	CHECK_CHILD_OK(h, 5000);
	t_pass();
}
