// SPDX-License-Identifier: GPL-2.0
/*
 * The status page after madvise(MADV_DONTNEED) (issue 10, item 10): the
 * page is faulted back in, not SIGBUS.
 *
 * As uid 1000: map the status page, get one record queued, madvise
 * (MADV_DONTNEED) the mapping, read it again: no SIGBUS, the same event_seq
 * (and pending, broken); a later break moves event_seq as seen through
 * that mapping (it shows the live page, not a copy); the same after a
 * second MADV_DONTNEED.
 */
#include "hostile.h"

static sigjmp_buf jb;

static void on_sigbus(int sig)
{
	siglongjmp(jb, sig);
}

static void attacker(int in, int out, void *arg)
{
	const volatile struct mrlease_status *st;
	struct mrlease_register l;
	char *a = t_anon(4);
	uint64_t seq, pending, broken;
	int ctx = t_ctx();

	(void)in;
	(void)out;
	(void)arg;
	st = t_status(ctx);
	CHECK_OK(t_register(ctx, a, PG(4), 12, 0, 0, &l));
	CHECK_SYS(munmap(a + PG(1), t_pg));
	seq = st->event_seq;
	pending = st->pending;
	broken = st->broken;
	CHECK_EQ(pending, 1);
	CHECK_EQ(broken, 1);

	signal(SIGBUS, on_sigbus);
	for (int round = 0; round < 2; round++) {
		uint64_t seq2;

		CHECK_SYS(madvise((void *)st, t_pg, MADV_DONTNEED));
		if (sigsetjmp(jb, 1))
			t_fail("SIGBUS reading the status page after MADV_DONTNEED");
		seq2 = st->event_seq;
		t_info("round %d: event_seq %llu before MADV_DONTNEED, %llu after", round,
		       (unsigned long long)seq, (unsigned long long)seq2);
		CHECK_EQ(seq2, seq);
		CHECK_EQ(st->pending, pending);
		CHECK_EQ(st->broken, broken);
		/* Widen the unread record: news, through this very mapping. */
		CHECK_SYS(munmap(a + PG(2 + round), t_pg));
		CHECK_NE(st->event_seq, seq);
		seq = st->event_seq;
	}
	signal(SIGBUS, SIG_DFL);
	close(ctx);
}

int main(void)
{
	struct h_agent a;

	h_need_root();
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, attacker, NULL);
	CHECK_CHILD_OK(a.pid, 20000);
	t_pass();
}
