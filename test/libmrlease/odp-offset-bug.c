// SPDX-License-Identifier: GPL-2.0
/*
 * Watches for the rxe ODP sub-page offset bug (issue 13): in Debian's
 * 7.2.13, rxe copies an RDMA WRITE that lands at a non-zero offset inside a
 * page of an on-demand-paging MR to offset 0 of that page, and reports
 * success.  The DAX stream tests keep each transfer to one packet at a page
 * start because of it; this test tells when a kernel fixes it.
 *
 * A WRITE of MSG bytes to offset OFF of the second page of an anonymous
 * buffer, once through a plain MR and once through an ODP MR over the same
 * kind of buffer.  The plain MR must place it right (asserted: that is not
 * the bug).  For the ODP MR the test prints "rxe ODP offset bug present" or
 * "absent" (or what it found instead) and passes either way: a kernel bug
 * must not fail the suite.  Skips where rxe has no ODP for RC WRITEs.
 */
#include "rxe.h"

#define OFF	512u
#define MSG	64u
#define OLD	0x11
#define NEW	0xc5

/* Fill two pages with OLD, write NEW to [page + OFF, + MSG) through @mr: where did it land? */
static const char *write_at_offset(struct rxe *r, char *dst, struct ibv_mr *mr, char *src,
				   struct ibv_mr *smr)
{
	char *pg = dst + t_pg;
	bool at_off = true, at_zero = true, rest_old = true;

	memset(dst, OLD, 2 * t_pg);
	rxe_write_sync(r, src, MSG, smr->lkey, pg + OFF, mr->rkey);
	for (size_t i = 0; i < MSG; i++) {
		at_off &= (uint8_t)pg[OFF + i] == NEW;
		at_zero &= (uint8_t)pg[i] == NEW;
	}
	for (size_t i = 0; i < 2 * t_pg; i++) {
		size_t o = i >= t_pg ? i - t_pg : SIZE_MAX;

		if ((o >= OFF && o < OFF + MSG) || o < MSG)
			continue;
		rest_old &= (uint8_t)dst[i] == OLD;
	}
	if (at_off && !at_zero && rest_old)
		return "right";
	if (at_zero && !at_off && rest_old)
		return "at offset 0";
	return "elsewhere";
}

int main(void)
{
	struct rxe r;
	char why[128];
	char *src, *a, *b;
	struct ibv_mr *smr, *plain, *odp;
	const char *got;

	rxe_open(&r, 8);
	if (!rxe_odp_rc_write(&r, why, sizeof(why)))
		t_skip(RXE_NAME " has no ODP for RC WRITEs (%s)", why);
	CHECK_LE(OFF + MSG, rxe_mtu_bytes(&r));

	src = t_anon(1);
	memset(src, NEW, MSG);
	smr = ibv_reg_mr(r.pd, src, t_pg, IBV_ACCESS_LOCAL_WRITE);
	a = t_anon(2);
	b = t_anon(2);
	plain = ibv_reg_mr(r.pd, a, 2 * t_pg, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	odp = ibv_reg_mr(r.pd, b, 2 * t_pg, IBV_ACCESS_ON_DEMAND | IBV_ACCESS_LOCAL_WRITE |
			 IBV_ACCESS_REMOTE_WRITE);
	CHECK(smr && plain);
	if (!odp)
		t_fail("ODP ibv_reg_mr although the device reports ODP: %s", t_errname(errno));

	got = write_at_offset(&r, a, plain, src, smr);
	t_info("plain MR: a %u-byte WRITE to offset %u of a page landed %s", MSG, OFF, got);
	CHECK(!strcmp(got, "right"));

	got = write_at_offset(&r, b, odp, src, smr);
	t_info("ODP MR:   a %u-byte WRITE to offset %u of a page landed %s", MSG, OFF, got);
	if (!strcmp(got, "right"))
		t_info("rxe ODP offset bug absent");
	else if (!strcmp(got, "at offset 0"))
		t_info("rxe ODP offset bug present: data for offset %u was copied to offset 0 "
		       "and the completion said success", OFF);
	else
		t_info("rxe ODP offset bug: unexpected placement (first bytes of the page %#x, "
		       "at the offset %#x)", (uint8_t)b[t_pg], (uint8_t)b[t_pg + OFF]);

	ibv_dereg_mr(odp);
	ibv_dereg_mr(plain);
	ibv_dereg_mr(smr);
	rxe_close(&r);
	t_pass();
}
