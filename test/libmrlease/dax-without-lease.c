// SPDX-License-Identifier: GPL-2.0
/*
 * The case for mrlease (issue 13): an on-demand-paging MR over a file on
 * an -o dax filesystem, registered with plain ibv_reg_mr() and no lease.
 * ODP MRs do not pin, so nothing holds a foreign change back:
 *
 *  - message A is RDMA-written into page HOLE of the file (checked with
 *    pread());
 *  - another process (another user) punches pages HOLE..HOLE+NHOLE-1: its
 *    fallocate() returns at once (under PUNCH_FAST_MS; with a pinned lease
 *    it would wait for the holder's ack), and the blocks are gone: pread()
 *    reads zeros, SEEK_DATA skips the range, the file has fewer blocks.
 *    Message A is lost and nobody was told;
 *  - the application, not knowing, writes message B through the same MR
 *    and rkey into the same page: the WRITE succeeds, the NIC's page fault
 *    allocates a new zeroed block, and B sits in it.  The hole is silently
 *    re-filled (SEEK_DATA finds it, the block count grows again) while the
 *    rest of the punched range stays a hole.
 *
 * Everything asserted here is what the kernel and ODP do on their own; a
 * registration cache built on this MR would keep using it.  With a lease
 * (68-verbs-dax-stream) the punch waits for the quiesce and the ack, and
 * the application learns of it.  Skips where rxe has no ODP for RC WRITEs.
 */
#include "rxe.h"
#include "fsdax.h"

#include <grp.h>

#define NPAGES		16
#define HOLE		4
#define NHOLE		4
#define MSG		512u
#define PUNCH_FAST_MS	2000
#define OTHER_UID	1000

static struct dax_file f;

/* Page @pg starts with MSG bytes of @c, and the rest of it is @rest (-1: the file's pattern). */
static void check_file_page(size_t pg, uint8_t c, int rest, const char *what)
{
	static uint8_t buf[65536];

	CHECK(t_pg <= sizeof(buf));
	if (pread(f.fd, buf, t_pg, (off_t)(pg * t_pg)) != (ssize_t)t_pg)
		t_fail("pread: %s", t_errname(errno));
	for (size_t o = 0; o < t_pg; o++) {
		uint8_t want = o < MSG ? c : rest < 0 ? dax_pattern(pg * t_pg + o) : (uint8_t)rest;

		if (buf[o] != want)
			t_fail("%s: file page %zu byte %zu is %#x, expected %#x", what, pg, o, buf[o], want);
	}
}

static bool is_hole(size_t pg)
{
	off_t d = lseek(f.fd, (off_t)(pg * t_pg), SEEK_DATA);

	return d < 0 || d > (off_t)(pg * t_pg);
}

static long long blocks(void)
{
	struct stat st;

	CHECK_SYS(fstat(f.fd, &st));
	return (long long)st.st_blocks;
}

int main(void)
{
	struct rxe r;
	struct breaker b;
	struct breaker_report rep;
	struct ibv_mr *smr, *mr;
	char why[128];
	char *src;
	long long blk_before, blk_punched, blk_after;
	int64_t took;

	dax_create(&f, NPAGES * t_pg);
	breaker_fork(&b, BREAKER_COMM, dax_punch_do,
		     &(struct dax_punch){ &f, OTHER_UID, HOLE * t_pg, NHOLE * t_pg });
	rxe_open(&r, 8);
	if (!rxe_odp_rc_write(&r, why, sizeof(why)))
		t_skip(RXE_NAME " has no ODP for RC WRITEs (%s): no MR over fsdax without pins", why);
	CHECK_LE(MSG, rxe_mtu_bytes(&r));

	src = t_anon(2);
	memset(src, 0xa1, MSG);			/* message A */
	memset(src + t_pg, 0xb2, MSG);		/* message B */
	smr = ibv_reg_mr(r.pd, src, 2 * t_pg, IBV_ACCESS_LOCAL_WRITE);
	CHECK(smr);
	mr = ibv_reg_mr(r.pd, f.map, f.size, IBV_ACCESS_ON_DEMAND | IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_WRITE);
	if (!mr)
		t_fail("ODP ibv_reg_mr over the %s DAX mapping: %s", T_FS, t_errname(errno));

	rxe_write_sync(&r, src, MSG, smr->lkey, f.map + HOLE * t_pg, mr->rkey);
	check_file_page(HOLE, 0xa1, -1, "message A");
	CHECK(!is_hole(HOLE));
	blk_before = blocks();

	breaker_go(&b);
	BREAKER_DONE(&b, 10000, rep);
	took = (rep.end_ns - rep.start_ns) / 1000000;
	t_info("without a lease, uid %d's punch of pages %d-%d returned after %lld ms", OTHER_UID, HOLE,
	       HOLE + NHOLE - 1, (long long)took);
	CHECK_LT(took, PUNCH_FAST_MS);
	for (size_t pg = HOLE; pg < HOLE + NHOLE; pg++) {
		check_file_page(pg, 0, 0, "after the punch");
		CHECK(is_hole(pg));
	}
	blk_punched = blocks();
	CHECK_LT(blk_punched, blk_before);
	t_info("message A is gone: the punched pages read zeros, %lld of %lld blocks left, "
	       "nobody was told", blk_punched, blk_before);

	/* The application goes on with the MR and rkey it has. */
	rxe_write_sync(&r, src + t_pg, MSG, smr->lkey, f.map + HOLE * t_pg, mr->rkey);
	check_file_page(HOLE, 0xb2, 0, "message B");
	CHECK(!is_hole(HOLE));
	for (size_t pg = HOLE + 1; pg < HOLE + NHOLE; pg++) {
		check_file_page(pg, 0, 0, "the rest of the hole");
		CHECK(is_hole(pg));
	}
	blk_after = blocks();
	CHECK_GT(blk_after, blk_punched);
	t_info("the next WRITE through the same rkey succeeded and silently re-filled the hole: "
	       "page %d has a new zeroed block (%lld blocks now) holding message B", HOLE, blk_after);
	for (size_t pg = 0; pg < NPAGES; pg++)
		if (pg < HOLE || pg >= HOLE + NHOLE)
			check_file_page(pg, dax_pattern(pg * t_pg), -1, "outside the hole");

	ibv_dereg_mr(mr);
	ibv_dereg_mr(smr);
	rxe_close(&r);
	t_pass();
}
