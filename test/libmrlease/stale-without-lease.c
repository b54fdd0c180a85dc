// SPDX-License-Identifier: GPL-2.0
/*
 * The hazard the library exists for, shown on rxe without it: an MR
 * registered with plain ibv_reg_mr() keeps sending the pages it pinned at
 * registration after the application munmaps and re-mmaps the address with
 * new contents, and after madvise(MADV_DONTNEED) + rewrite.  This is the
 * control for 63..65: if rxe followed the mapping by itself, their byte
 * checks would prove nothing, and this test fails.
 */
#include "rxe.h"

#define PAGES 2

static void fill(char *p, size_t len, int v)
{
	memset(p, v, len);
}

static char *anon(void *at, size_t len, int extra)
{
	char *p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);

	if (p == MAP_FAILED)
		t_fail("mmap: %s", t_errname(errno));
	return p;
}

/* What an RDMA WRITE from @mr delivers now: 'o'ld or 'n'ew contents. */
static char deliver(struct rxe *r, struct ibv_mr *mr, char *dst, struct ibv_mr *dmr, size_t len)
{
	memset(dst, 0, len);
	rxe_write_sync(r, mr->addr, (uint32_t)len, mr->lkey, dst, dmr->rkey);
	for (size_t i = 1; i < len; i++)
		if (dst[i] != dst[0])
			t_fail("torn message: byte 0 %#x, byte %zu %#x", dst[0], i, dst[i]);
	return dst[0];
}

int main(void)
{
	struct rxe r;
	size_t len = PAGES * t_pg;
	char *buf, *dst = anon(NULL, len, 0);
	struct ibv_mr *mr, *dmr;

	rxe_open(&r, 8);
	dmr = ibv_reg_mr(r.pd, dst, len, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	CHECK(dmr);

	/* munmap + mmap at the same address, new contents. */
	buf = anon(NULL, len, 0);
	fill(buf, len, 'o');
	mr = ibv_reg_mr(r.pd, buf, len, IBV_ACCESS_LOCAL_WRITE);
	CHECK(mr);
	CHECK_EQ(deliver(&r, mr, dst, dmr, len), 'o');
	CHECK_SYS(munmap(buf, len));
	CHECK(anon(buf, len, MAP_FIXED_NOREPLACE) == buf);
	fill(buf, len, 'n');
	CHECK_EQ(deliver(&r, mr, dst, dmr, len), 'o');
	t_info("munmap + mmap: the old MR still sends the old pages");
	CHECK_OK(-ibv_dereg_mr(mr));

	/* A new registration sees the new pages. */
	mr = ibv_reg_mr(r.pd, buf, len, IBV_ACCESS_LOCAL_WRITE);
	CHECK(mr);
	CHECK_EQ(deliver(&r, mr, dst, dmr, len), 'n');

	/* madvise(MADV_DONTNEED) + rewrite. */
	fill(buf, len, 'o');
	CHECK_EQ(deliver(&r, mr, dst, dmr, len), 'o');
	CHECK_SYS(madvise(buf, len, MADV_DONTNEED));
	fill(buf, len, 'n');
	CHECK_EQ(deliver(&r, mr, dst, dmr, len), 'o');
	t_info("madvise(MADV_DONTNEED) + rewrite: the old MR still sends the old pages");
	CHECK_OK(-ibv_dereg_mr(mr));

	ibv_dereg_mr(dmr);
	rxe_close(&r);
	t_pass();
}
