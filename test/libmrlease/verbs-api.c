// SPDX-License-Identifier: GPL-2.0
/*
 * Every libmrlease-verbs call and errno, on rxe: open (-EINVAL), reg_mr
 * (-EINVAL, -EFAULT, a failed ibv_reg_mr leaves no lease behind), the
 * accessors, process (-EINVAL; idle; a quiesce hook that says "not yet" as
 * a negative errno or as a positive value; a range not mapped yet: -EFAULT
 * until it is, the ack already given), dereg (drops an unread event), a
 * REVOKED lease, two MRs of which only one breaks, close with MRs left
 * (the PD can then be freed).  After every restore, an RDMA WRITE with the
 * new lkey carries the new contents.
 */
#include "rxe.h"

#include <sys/stat.h>

#include <mrlease_verbs.h>

#define PAGES 2

static struct rxe r;
static size_t len;
static char *dst;
static struct ibv_mr *dmr;

/* What the hooks saw, and what quiesce answers next. */
static struct hooks {
	int quiesce_ret;
	unsigned int quiesces, rekeys;
	struct mrlease_verbs_mr *mr;
	void *arg;
	struct mrlease_event ev;
	struct ibv_mr *ibmr;
} h;

static int quiesce(struct mrlease_verbs_mr *mr, const struct mrlease_event *ev, void *arg)
{
	h.quiesces++;
	h.mr = mr;
	h.arg = arg;
	h.ev = *ev;
	t_print_event(ev);
	CHECK(!mrlease_verbs_mr_ibv(mr));	/* no longer usable */
	return h.quiesce_ret;
}

static void rekey(struct mrlease_verbs_mr *mr, struct ibv_mr *ibmr, void *arg)
{
	h.rekeys++;
	h.mr = mr;
	h.arg = arg;
	h.ibmr = ibmr;
	CHECK(ibmr == mrlease_verbs_mr_ibv(mr));
}

static const struct mrlease_verbs_ops ops = { .quiesce = quiesce, .rekey = rekey };

/*
 * Wait until @c has an event queued.  Since module commit 7fa3967 a clear
 * of pinned anonymous memory is reported from a work item, after the
 * madvise() returned; these API tests allow for that (up to 5 s).  Whether
 * that delay is acceptable is what 65-verbs-dontneed checks.
 */
static void wait_pending(const struct mrlease_ctx *c)
{
	int64_t t0 = t_now_ns();

	while (!mrlease_pending(c)) {
		if (t_ms_since(t0) > 5000)
			t_fail("no event queued 5 s after the change");
		t_msleep(1);
	}
}

static void hooks_reset(void)
{
	memset(&h, 0, sizeof(h));
}

static char *anon(void *at, int prot, int extra)
{
	char *p = mmap(at, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);

	if (p == MAP_FAILED)
		t_fail("mmap: %s", t_errname(errno));
	return p;
}

/* An RDMA WRITE from the MR as it is now delivers @want in every byte. */
static void check_sends(struct mrlease_verbs_mr *mr, char want)
{
	struct ibv_mr *ibmr = mrlease_verbs_mr_ibv(mr);

	CHECK(ibmr);
	memset(dst, 0, len);
	rxe_write_sync(&r, ibmr->addr, (uint32_t)len, ibmr->lkey, dst, dmr->rkey);
	for (size_t i = 0; i < len; i++)
		if (dst[i] != want)
			t_fail("byte %zu sent is %#x, not %#x ('%c')", i, dst[i], want, want);
}

static uint32_t lease_state(struct mrlease_verbs *mv, struct mrlease_verbs_mr *mr)
{
	struct mrlease_info info;

	CHECK_OK(mrlease_query(mrlease_verbs_ctx(mv), mrlease_verbs_mr_lease(mr), &info));
	return info.state;
}

static void test_args(void)
{
	struct mrlease_verbs *mv;
	struct mrlease_verbs_mr *mr;
	char *buf = anon(NULL, PROT_READ | PROT_WRITE, 0), *ro;

	CHECK_ERR(mrlease_verbs_open(NULL, &ops, 0), EINVAL);
	CHECK_ERR(mrlease_verbs_open(&mv, &ops, 1), EINVAL);
	CHECK_OK(mrlease_verbs_open(&mv, NULL, 0));	/* no hooks is fine */
	CHECK(mrlease_verbs_ctx(mv));
	CHECK_GE(mrlease_get_fd(mrlease_verbs_ctx(mv)), 0);
	CHECK(!mrlease_verbs_ctx(NULL));
	CHECK(!mrlease_verbs_mr_ibv(NULL));
	CHECK_EQ(mrlease_verbs_mr_lease(NULL), 0);
	CHECK_ERR(mrlease_verbs_process(NULL), EINVAL);
	CHECK_ERR(mrlease_verbs_dereg_mr(NULL), EINVAL);
	mrlease_verbs_close(NULL);

	memset(buf, 1, len);
	CHECK_ERR(mrlease_verbs_reg_mr(NULL, r.pd, buf, len, IBV_ACCESS_LOCAL_WRITE, 0, NULL, &mr), EINVAL);
	CHECK_ERR(mrlease_verbs_reg_mr(mv, NULL, buf, len, IBV_ACCESS_LOCAL_WRITE, 0, NULL, &mr), EINVAL);
	CHECK_ERR(mrlease_verbs_reg_mr(mv, r.pd, buf, len, IBV_ACCESS_LOCAL_WRITE, 0, NULL, NULL), EINVAL);
	CHECK_ERR(mrlease_verbs_reg_mr(mv, r.pd, buf, 0, IBV_ACCESS_LOCAL_WRITE, 0, NULL, &mr), EINVAL);
	CHECK_ERR(mrlease_verbs_reg_mr(mv, r.pd, buf, len, IBV_ACCESS_LOCAL_WRITE, 1u << 9, NULL, &mr),
		  EINVAL);
	CHECK_ERR(mrlease_verbs_reg_mr(mv, r.pd, NULL, len, IBV_ACCESS_LOCAL_WRITE, 0, NULL, &mr), EFAULT);

	/* ibv_reg_mr() refuses (remote write needs local write; a read-only mapping): no lease left. */
	CHECK_ERR(mrlease_verbs_reg_mr(mv, r.pd, buf, len, IBV_ACCESS_REMOTE_WRITE, MRLEASE_PIN, NULL, &mr),
		  EINVAL);
	ro = anon(NULL, PROT_READ, 0);
	CHECK_ERR(mrlease_verbs_reg_mr(mv, r.pd, ro, len, IBV_ACCESS_LOCAL_WRITE, 0, NULL, &mr), EFAULT);
	CHECK_SYS(munmap(buf, len));
	CHECK_SYS(munmap(ro, len));
	CHECK(!mrlease_pending(mrlease_verbs_ctx(mv)));

	/* Idle: nothing to do, no hook called (there are none). */
	CHECK_OK(mrlease_verbs_process(mv));
	mrlease_verbs_close(mv);
}

static void test_cycle(void)
{
	struct mrlease_verbs *mv;
	struct mrlease_verbs_mr *mr, *other;
	struct mrlease_info info;
	struct ibv_mr *before;
	char *buf = anon(NULL, PROT_READ | PROT_WRITE, 0);
	char *buf2 = anon(NULL, PROT_READ | PROT_WRITE, 0);
	int token, token2;
	uint64_t gen;
	uint32_t lkey;

	CHECK_OK(mrlease_verbs_open(&mv, &ops, 0));
	memset(buf, 'a', len);
	memset(buf2, 'z', len);
	CHECK_OK(mrlease_verbs_reg_mr(mv, r.pd, buf, len, IBV_ACCESS_LOCAL_WRITE, MRLEASE_PIN,
				      &token, &mr));
	CHECK_OK(mrlease_verbs_reg_mr(mv, r.pd, buf2, len, IBV_ACCESS_LOCAL_WRITE, 0, &token2, &other));
	CHECK_NE(mrlease_verbs_mr_lease(mr), 0);
	CHECK_NE(mrlease_verbs_mr_lease(mr), mrlease_verbs_mr_lease(other));
	CHECK_OK(mrlease_query(mrlease_verbs_ctx(mv), mrlease_verbs_mr_lease(mr), &info));
	CHECK_EQ(info.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(info.addr, (uintptr_t)buf);
	CHECK_EQ(info.length, len);
	CHECK_EQ(info.flags, MRLEASE_PIN);
	CHECK_EQ(info.pinned_pages, PAGES);
	gen = info.generation;
	before = mrlease_verbs_mr_ibv(mr);
	CHECK(before && before->addr == buf && before->length == len);
	lkey = before->lkey;
	check_sends(mr, 'a');
	check_sends(other, 'z');

	hooks_reset();
	CHECK_OK(mrlease_verbs_process(mv));
	CHECK_EQ(h.quiesces + h.rekeys, 0);

	/* madvise(DONTNEED) + rewrite: one quiesce, one rekey, the new pages sent. */
	CHECK_SYS(madvise(buf, len, MADV_DONTNEED));
	memset(buf, 'b', len);
	wait_pending(mrlease_verbs_ctx(mv));
	CHECK_OK(mrlease_verbs_process(mv));
	CHECK(!mrlease_pending(mrlease_verbs_ctx(mv)));
	CHECK_EQ(h.quiesces, 1);
	CHECK_EQ(h.rekeys, 1);
	CHECK(h.mr == mr);
	CHECK(h.arg == &token);
	CHECK_EQ(h.ev.type, MRLEASE_EVENT_DECOHERENCE);
	CHECK_EQ(h.ev.reason, MRLEASE_REASON_CLEAR);
	CHECK_EQ(h.ev.id, mrlease_verbs_mr_lease(mr));
	CHECK_EQ(h.ev.generation, gen);
	CHECK(h.ibmr == mrlease_verbs_mr_ibv(mr));
	t_info("re-registered: lkey %#x -> %#x, rkey -> %#x", lkey, h.ibmr->lkey, h.ibmr->rkey);
	check_sends(mr, 'b');
	check_sends(other, 'z');
	CHECK_OK(mrlease_query(mrlease_verbs_ctx(mv), mrlease_verbs_mr_lease(mr), &info));
	CHECK_EQ(info.state, MRLEASE_STATE_ARMED);
	CHECK_GT(info.generation, gen);
	CHECK_EQ(info.pinned_pages, PAGES);
	gen = info.generation;

	/* quiesce says "not yet": no ack, nothing restored, asked again next time. */
	hooks_reset();
	h.quiesce_ret = -EBUSY;
	CHECK_SYS(madvise(buf, t_pg, MADV_DONTNEED));
	memset(buf, 'c', len);
	wait_pending(mrlease_verbs_ctx(mv));
	CHECK_ERR(mrlease_verbs_process(mv), EBUSY);
	CHECK(!mrlease_verbs_mr_ibv(mr));
	CHECK_EQ(lease_state(mv, mr), MRLEASE_STATE_BROKEN);
	h.quiesce_ret = 1;
	CHECK_ERR(mrlease_verbs_process(mv), EAGAIN);
	CHECK_EQ(lease_state(mv, mr), MRLEASE_STATE_BROKEN);
	CHECK_EQ(h.quiesces, 2);
	CHECK_EQ(h.rekeys, 0);
	h.quiesce_ret = 0;
	CHECK_OK(mrlease_verbs_process(mv));
	CHECK_EQ(h.quiesces, 3);
	CHECK_EQ(h.rekeys, 1);
	CHECK_EQ(h.ev.generation, gen);
	check_sends(mr, 'c');

	/* munmap, process (nothing mapped: acked, -EFAULT until it is), mmap, process. */
	hooks_reset();
	CHECK_SYS(munmap(buf, len));
	CHECK_ERR(mrlease_verbs_process(mv), EFAULT);
	CHECK_EQ(h.quiesces, 1);
	CHECK_EQ(h.ev.reason, MRLEASE_REASON_UNMAP);
	CHECK_EQ(lease_state(mv, mr), MRLEASE_STATE_ACKED);
	CHECK(!mrlease_verbs_mr_ibv(mr));
	CHECK_ERR(mrlease_verbs_process(mv), EFAULT);
	CHECK_EQ(h.quiesces, 1);	/* told once */
	CHECK(anon(buf, PROT_READ | PROT_WRITE, MAP_FIXED_NOREPLACE) == buf);
	memset(buf, 'd', len);
	CHECK(!mrlease_pending(mrlease_verbs_ctx(mv)));
	CHECK_OK(mrlease_verbs_process(mv));
	CHECK_EQ(h.rekeys, 1);
	CHECK_EQ(lease_state(mv, mr), MRLEASE_STATE_ARMED);
	check_sends(mr, 'd');
	check_sends(other, 'z');

	/* dereg with an event unread: the event goes with it, no hook runs. */
	hooks_reset();
	{
		uint64_t id = mrlease_verbs_mr_lease(other);

		CHECK_SYS(madvise(buf2, len, MADV_DONTNEED));
		CHECK(mrlease_pending(mrlease_verbs_ctx(mv)));
		CHECK_OK(mrlease_verbs_dereg_mr(other));
		CHECK(!mrlease_pending(mrlease_verbs_ctx(mv)));
		CHECK_ERR(mrlease_query(mrlease_verbs_ctx(mv), id, &info), ENOENT);
	}
	CHECK_OK(mrlease_verbs_process(mv));
	CHECK_EQ(h.quiesces + h.rekeys, 0);

	/* close deregisters what is left: the PD has no MR left afterwards. */
	mrlease_verbs_close(mv);
	munmap(buf, len);
	munmap(buf2, len);
}

static long long old_timeout;

static void put_timeout_back(void *arg)
{
	(void)arg;
	t_param_set("break_timeout_ms", old_timeout);
}

/* No quiesce within the break timeout: the REVOKED record is handled like a break. */
static void test_revoked(void)
{
	struct mrlease_verbs *mv;
	struct mrlease_verbs_mr *mr;
	char *buf = anon(NULL, PROT_READ | PROT_WRITE, 0);

	old_timeout = t_param_get("break_timeout_ms");
	CHECK_OK(t_param_set("break_timeout_ms", 50));
	t_defer(put_timeout_back, NULL);

	CHECK_OK(mrlease_verbs_open(&mv, &ops, 0));
	memset(buf, 'e', len);
	/* WAIT_SELF keeps the pins on our own break, so that the timeout runs. */
	CHECK_OK(mrlease_verbs_reg_mr(mv, r.pd, buf, len, IBV_ACCESS_LOCAL_WRITE,
				      MRLEASE_PIN | MRLEASE_WAIT_SELF, NULL, &mr));
	CHECK_OK(t_param_set("break_timeout_ms", old_timeout));
	hooks_reset();
	CHECK_SYS(madvise(buf, len, MADV_DONTNEED));
	memset(buf, 'f', len);
	{
		int64_t t0 = t_now_ns();

		/* A loaded TCG host may run the timeout work late. */
		while (lease_state(mv, mr) != MRLEASE_STATE_REVOKED && t_ms_since(t0) < 10000)
			t_msleep(10);
	}
	CHECK_EQ(lease_state(mv, mr), MRLEASE_STATE_REVOKED);
	CHECK_OK(mrlease_verbs_process(mv));
	CHECK_EQ(h.quiesces, 1);
	CHECK_EQ(h.ev.type, MRLEASE_EVENT_REVOKED);
	CHECK_EQ(h.ev.reason, MRLEASE_REASON_TIMEOUT);
	CHECK_EQ(h.rekeys, 1);
	CHECK_EQ(lease_state(mv, mr), MRLEASE_STATE_ARMED);
	check_sends(mr, 'f');
	CHECK_OK(mrlease_verbs_dereg_mr(mr));
	mrlease_verbs_close(mv);
	munmap(buf, len);
}

/* What the provider does with ibv_rereg_mr(CHANGE_TRANSLATION); the library works either way. */
static void probe_rereg(void)
{
	char *b = anon(NULL, PROT_READ | PROT_WRITE, 0);
	struct ibv_mr *m;
	int ret;

	memset(b, 1, len);
	m = ibv_reg_mr(r.pd, b, len, IBV_ACCESS_LOCAL_WRITE);
	CHECK(m);
	errno = 0;
	ret = ibv_rereg_mr(m, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, b, len, 0);
	t_info("ibv_rereg_mr(IBV_REREG_MR_CHANGE_TRANSLATION) on %s: %d (errno %s): the library %s",
	       RXE_NAME, ret, t_errname(errno),
	       ret ? "falls back to ibv_dereg_mr + ibv_reg_mr" : "re-registers in place");
	/* Even a failed rereg leaves an MR to deregister (ibv_rereg_mr(3)). */
	CHECK_OK(-ibv_dereg_mr(m));
	munmap(b, len);
}

int main(void)
{
	t_watchdog(100);
	len = PAGES * t_pg;
	rxe_open(&r, 8);
	dst = anon(NULL, PROT_READ | PROT_WRITE, 0);
	dmr = ibv_reg_mr(r.pd, dst, len, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	CHECK(dmr);

	probe_rereg();
	test_args();
	test_cycle();
	test_revoked();

	/* Nothing of ours is left on the PD but the destination MR. */
	CHECK_OK(-ibv_dereg_mr(dmr));
	CHECK_OK(-ibv_destroy_qp(r.qs));
	CHECK_OK(-ibv_destroy_qp(r.qr));
	CHECK_OK(-ibv_dealloc_pd(r.pd));
	ibv_destroy_cq(r.scq);
	ibv_destroy_cq(r.rcq);
	ibv_close_device(r.ctx);
	t_pass();
}
