// SPDX-License-Identifier: GPL-2.0
/*
 * The holder of a pinned lease on a DAX file is SIGKILLed while another
 * process waits in fallocate(PUNCH_HOLE) for its ack: the exit drops the
 * pins and the puncher returns promptly.
 */
#include "fsdax.h"

#define MiB		(1u << 20)
#define FILE_SIZE	(4 * MiB)
#define LEASE_OFF	(1 * MiB)
#define LEASE_LEN	(2 * MiB)
#define HOLE_OFF	(2 * MiB)
#define HOLE_LEN	(128 * 1024)

static void holder(struct dax_file *f, int out)
{
	int fd = t_ctx();
	struct mrlease_register l;
	struct mrlease_event ev;

	prctl(PR_SET_NAME, "mrl-holder");
	CHECK_OK(t_register(fd, f->map + LEASE_OFF, LEASE_LEN, 0x401d, MRLEASE_REG_PIN, 60000, &l));
	t_write_full(out, &l, sizeof(l));
	GET_EVENT(fd, ev, 20000);
	t_write_full(out, &ev, sizeof(ev));
	for (;;)
		pause();
}

int main(void)
{
	struct dax_scene s;
	int p[2], st;
	int64_t t_kill;
	pid_t h;

	dax_scene_open(&s, FILE_SIZE, BREAK_PUNCH, HOLE_OFF, HOLE_LEN);
	h = dax_scene_holder(&s, p, holder);

	breaker_go(&s.b);
	if (!t_read_full(p[0], &s.ev, sizeof(s.ev), 15000))
		t_fail("the holder got no event");
	t_print_event(&s.ev);
	CHECK_EVENT(s.ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, s.l, 0);
	CHECK_EQ(s.ev.breaker_pid, s.b.pid);

	t_msleep(1000);
	CHECK_BREAKER_WAITING(&s.b);

	t_kill = t_now_ns();
	CHECK_SYS(kill(h, SIGKILL));
	BREAKER_DONE(&s.b, 5000, s.rep);
	t_info("the puncher returned %lld ms after the holder was killed",
	       (long long)(s.rep.end_ns - t_kill) / 1000000);
	CHECK_LT(s.rep.end_ns - t_kill, 2000000000);
	CHECK_EQ(t_wait(h, 5000, &st), 1);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	DAX_CHECK_ZERO(&s.f, HOLE_OFF, HOLE_LEN);
	DAX_CHECK_DATA(&s.f, LEASE_OFF, HOLE_OFF - LEASE_OFF);
	t_pass();
}
