// SPDX-License-Identifier: GPL-2.0
/*
 * False break of a pinned shmem lease by reclaim (issue 10, item 9): reclaim
 * unmaps a pinned memfd page, cannot free it (it is pinned), and the same
 * page is mapped again on the next touch; a pinned lease on it must not
 * break.
 *
 * As uid 1000: a pinned lease on four touched pages of a memfd; then
 * madvise(MADV_PAGEOUT) on them (skip if the kernel does not know it).
 * 200 ms later the lease is still ARMED with its pins, no record came, and
 * the pages still hold what was written.
 */
#include "hostile.h"

#include <sys/utsname.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

#define PAGES		4

/* 'r': err = madvise's result; q after 200 ms; v0 = 1 if a record came (ev). */
static void holder(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'r' };
	struct mrlease_register l;
	char *p;
	int mfd, ctx, r;

	(void)in;
	(void)arg;
	mfd = memfd_create("mrl-hostile", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	CHECK_SYS(ftruncate(mfd, (off_t)PG(PAGES)));
	p = mmap(NULL, PG(PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(p != MAP_FAILED);
	for (int i = 0; i < PAGES; i++)
		memset(p + PG(i), 0x61 + i, t_pg);
	ctx = t_ctx();
	CHECK_OK(t_register(ctx, p, PG(PAGES), 11, MRLEASE_REG_PIN, 30000, &l));
	CHECK_EQ(t_state(ctx, l.id), MRLEASE_STATE_ARMED);

	m.err = madvise(p, PG(PAGES), MADV_PAGEOUT) ? -errno : 0;
	if (!m.err) {
		t_msleep(200);
		CHECK_OK(t_query(ctx, l.id, &m.q));
		r = t_event(ctx, &m.ev, 0);
		m.v[0] = r;
		for (int i = 0; i < PAGES; i++)
			for (size_t j = 0; j < t_pg; j++)
				if (p[PG(i) + j] != 0x61 + i)
					t_fail("page %d byte %zu is %#x after the pageout", i, j, p[PG(i) + j]);
	}
	h_send(out, &m);
	close(ctx);
}

int main(void)
{
	struct h_agent a;
	struct utsname u;
	struct h_msg m;

	h_need_root();
	/*
	 * kswapd and direct reclaim run with PF_MEMALLOC on every kernel,
	 * and so does MADV_PAGEOUT's reclaim from 6.1 on; on 5.10 the
	 * holder's own MADV_PAGEOUT looks like any other clear of its own.
	 */
	if (uname(&u) == 0 && strverscmp(u.release, "6") < 0)
		t_skip("%s: MADV_PAGEOUT reclaims without PF_MEMALLOC before 6.x", u.release);
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, holder, NULL);
	H_EXPECT(a.from, m, 'r', 20000);
	if (m.err == -EINVAL)
		t_skip("madvise(MADV_PAGEOUT): EINVAL (kernel without it)");
	CHECK_OK(m.err);
	h_print_query("200 ms after MADV_PAGEOUT", &m.q);
	if (m.v[0] == 1)
		t_print_event(&m.ev);
	CHECK_EQ(m.q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(m.q.pinned_pages, PAGES);
	CHECK_EQ(m.q.breaks, 0);
	CHECK_NE(m.v[0], 1);
	CHECK_CHILD_OK(a.pid, 10000);
	t_pass();
}
