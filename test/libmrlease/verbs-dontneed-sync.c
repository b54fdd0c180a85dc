// SPDX-License-Identifier: GPL-2.0
/*
 * A single-threaded registration cache is hitless only if a change of the
 * mapping that the application itself made is visible to mrlease_pending()
 * by the time the system call returns: its next post checks only that.
 * This test does it 1000 times for the case most likely to be deferred, a
 * pinned anonymous lease (MRLEASE_PIN) and madvise(MADV_DONTNEED): it checks
 * right after the call, and again after rewriting the page, where the fast
 * path would post; if that still comes back false it posts and looks at what
 * arrives: the old pages.
 */
#include "rxe.h"

#include <mrlease_verbs.h>

#define ROUNDS	1000

int main(void)
{
	struct rxe r;
	struct mrlease_verbs *mv;
	struct mrlease_verbs_mr *mr;
	struct mrlease_ctx *lctx;
	size_t len = t_pg;
	char *buf = t_anon(1), *dst = t_anon(1);
	struct ibv_mr *dmr;
	int late = 0, stale = 0;

	t_watchdog(100);
	rxe_open(&r, 8);
	dmr = ibv_reg_mr(r.pd, dst, len, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	CHECK(dmr);
	CHECK_OK(mrlease_verbs_open(&mv, NULL, 0));
	lctx = mrlease_verbs_ctx(mv);
	CHECK_OK(mrlease_verbs_reg_mr(mv, r.pd, buf, len, IBV_ACCESS_LOCAL_WRITE, MRLEASE_PIN,
				      NULL, &mr));

	for (int i = 1; i <= ROUNDS; i++) {
		struct ibv_mr *ibmr = mrlease_verbs_mr_ibv(mr);
		int64_t t0;

		CHECK(ibmr);
		CHECK_SYS(madvise(buf, len, MADV_DONTNEED));
		if (!mrlease_pending(lctx))
			late++;
		memset(buf, i & 0xff, len);
		if (!mrlease_pending(lctx)) {
			/* The fast path: nothing pending, post with the MR at hand. */
			rxe_write_sync(&r, buf, (uint32_t)len, ibmr->lkey, dst, dmr->rkey);
			if ((unsigned char)dst[0] != (i & 0xff) && !stale++)
				t_info("round %d: the buffer holds %#x, the MR sent %#x (old pages)",
				       i, i & 0xff, (unsigned char)dst[0]);
		}
		t0 = t_now_ns();
		while (!mrlease_pending(lctx)) {
			if (t_ms_since(t0) > 5000)
				t_fail("round %d: no event 5 s after madvise(MADV_DONTNEED)", i);
			t_msleep(1);
		}
		CHECK_OK(mrlease_verbs_process(mv));
	}
	t_info("%d of %d madvise(MADV_DONTNEED) returned before the break was visible; "
	       "%d posts after the rewrite sent the old pages", late, ROUNDS, stale);
	CHECK_EQ(late, 0);

	mrlease_verbs_close(mv);
	ibv_dereg_mr(dmr);
	rxe_close(&r);
	t_pass();
}
