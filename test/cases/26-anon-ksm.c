// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel thread breaks a lease: ksmd merges identical pages under an
 * unpinned lease; the record says CLEAR, flagged KTHREAD (not SELF), with
 * breaker_pid 0.  A pinned lease over identical pages is left alone (KSM
 * does not merge pinned pages).  The KSM settings are put back afterwards.
 */
#include "harness.h"

#define KSM "/sys/kernel/mm/ksm/"
#define N 32

static char old_run[16], old_scan[16], old_sleep[16];

static void put_back(void *arg)
{
	(void)arg;
	t_write_text(KSM "run", "2");	/* unmerge everything */
	t_write_text(KSM "pages_to_scan", old_scan);
	t_write_text(KSM "sleep_millisecs", old_sleep);
	t_write_text(KSM "run", old_run);
}

int main(void)
{
	int fd = t_ctx();
	struct mrlease_register lu, lp;
	struct mrlease_event ev;
	bool got_lu = false, got_lp = false;
	char *a, *b;

	if (t_read_text(KSM "run", old_run, sizeof(old_run)) ||
	    t_read_text(KSM "pages_to_scan", old_scan, sizeof(old_scan)) ||
	    t_read_text(KSM "sleep_millisecs", old_sleep, sizeof(old_sleep)))
		t_skip("no KSM (" KSM ")");
	a = t_anon(N);
	b = t_anon(N);
	for (int i = 0; i < N; i++) {
		memset(a + PG(i), 0x26, t_pg);
		memset(b + PG(i), 0x26, t_pg);
	}
	CHECK_OK(t_register(fd, a, PG(N), 0xa, 0, 0, &lu));
	CHECK_OK(t_register(fd, b, PG(N), 0xb, MRLEASE_REG_PIN, 0, &lp));
	CHECK_SYS(madvise(a, PG(N), MADV_MERGEABLE));
	CHECK_SYS(madvise(b, PG(N), MADV_MERGEABLE));

	t_defer(put_back, NULL);
	CHECK_OK(t_write_text(KSM "pages_to_scan", "10000"));
	CHECK_OK(t_write_text(KSM "sleep_millisecs", "10"));
	CHECK_OK(t_write_text(KSM "run", "1"));

	/* Records for lu; one for lp would be a break although nothing changed. */
	for (int64_t t0 = t_now_ns(); !got_lu || t_ms_since(t0) < 1000;) {
		if (t_ms_since(t0) > 20000)
			t_fail("ksmd broke nothing within 20 s");
		if (t_event(fd, &ev, 100) != 1)
			continue;
		t_print_event(&ev);
		if (ev.id == lp.id) {
			got_lp = true;
			continue;
		}
		CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, lu, MRLEASE_EVENT_F_KTHREAD);
		CHECK_EQ(ev.breaker_pid, 0);
		t_info("broken by kernel thread \"%s\"", ev.breaker_comm);
		got_lu = true;
	}
	if (got_lp)
		t_fail("ksmd broke the pinned lease, whose pages it cannot merge");
	CHECK_EQ(t_state(fd, lp.id), MRLEASE_STATE_ARMED);
	close(fd);
	t_pass();
}
