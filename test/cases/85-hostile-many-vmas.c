// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, kernel CPU time per register (issue 10, item 8): the cost of
 * a register must not be quadratic in the number of distinct files its
 * range maps.
 *
 * As uid 1000: a range of N adjacent one-page mappings of N different
 * memfds (each created, mapped MAP_FIXED into a reserved area and closed),
 * for N = 4000 and N = 16000 (less if vm.max_map_count does not allow it);
 * one unpinned register over each range is timed (the best of 3).  Expected:
 * time(large) / time(small) < 2 * (large / small), where quadratic would be
 * about (large / small)^2 (a search of the file list per mapping: 64,000
 * mappings took 7.8 s per register under emulation).
 */
#include "hostile.h"

#define N_SMALL		4000
#define N_LARGE		16000
#define RUNS		3

/* Reserve n pages and map one page of a new memfd at each. */
static char *build(int n)
{
	char *area = mmap(NULL, PG(n), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	CHECK(area != MAP_FAILED);
	for (int i = 0; i < n; i++) {
		int fd = memfd_create("mrl-vma", MFD_CLOEXEC);

		if (fd < 0)
			t_fail("memfd_create #%d: %s", i, t_errname(errno));
		CHECK_SYS(ftruncate(fd, (off_t)t_pg));
		if (mmap(area + PG(i), t_pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) !=
		    area + PG(i))
			t_fail("mmap of memfd #%d: %s", i, t_errname(errno));
		close(fd);
	}
	return area;
}

/* Best time of RUNS registers over [area, +n pages), in microseconds. */
static int64_t time_register(int ctx, char *area, int n)
{
	int64_t best = INT64_MAX;

	for (int r = 0; r < RUNS; r++) {
		struct mrlease_register l;
		int64_t t0 = t_now_ns(), us;
		int ret = h_register(ctx, area, PG(n), 0, 0, &l);

		us = (t_now_ns() - t0) / 1000;
		if (ret)
			t_fail("register over %d mappings: %s", n, t_errname(-ret));
		CHECK_OK(t_unregister(ctx, l.id));
		if (us < best)
			best = us;
	}
	return best;
}

/* 't': v0 = small n, v1 = its time (us), v2 = large n, v3 = its time (us). */
static void attacker(int in, int out, void *arg)
{
	struct h_msg m = { .op = 't' };
	int large = *(int *)arg;
	int ctx = t_ctx();
	char *area;
	int64_t t0;

	(void)in;
	t0 = t_now_ns();
	area = build(large);
	t_info("%d one-page memfd mappings built in %lld ms", large, (long long)t_ms_since(t0));
	/* The small range is the start of the large one. */
	m.v[0] = N_SMALL;
	m.v[1] = time_register(ctx, area, N_SMALL);
	m.v[2] = large;
	m.v[3] = time_register(ctx, area, large);
	munmap(area, PG(large));
	close(ctx);
	h_send(out, &m);
}

int main(void)
{
	struct nl_stats base;
	struct h_agent a;
	struct h_msg m;
	char buf[32];
	int large = N_LARGE;
	double ratio, limit;

	t_watchdog(170);
	h_need_root();
	/* A cost measurement: KASAN makes it minutes and says nothing of it. */
	if (h_debug_kernel())
		t_skip("the debug kernel: register costs are measured on stock kernels");
	if (!t_read_text("/proc/sys/vm/max_map_count", buf, sizeof(buf)) && atoi(buf) - 1000 < large)
		large = atoi(buf) - 1000;
	if (large < 2 * N_SMALL)
		t_skip("vm.max_map_count %s is too small", buf);
	h_stats(&base);
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, attacker, &large);
	H_EXPECT(a.from, m, 't', 160000);
	CHECK_CHILD_OK(a.pid, 20000);
	ratio = (double)m.v[3] / (double)(m.v[1] ? m.v[1] : 1);
	limit = 2.0 * (double)m.v[2] / (double)m.v[0];
	t_info("register over %lld mappings: %lld us; over %lld: %lld us; ratio %.1f (linear %.1f, "
	       "quadratic %.1f, limit %.1f)", (long long)m.v[0], (long long)m.v[1], (long long)m.v[2],
	       (long long)m.v[3], ratio, (double)m.v[2] / (double)m.v[0],
	       ((double)m.v[2] / (double)m.v[0]) * ((double)m.v[2] / (double)m.v[0]), limit);
	if (ratio >= limit)
		t_fail("a register over %lld mappings costs %.1f times one over %lld: quadratic",
		       (long long)m.v[2], ratio, (long long)m.v[0]);
	H_CHECK_STATS(&base);
	t_pass();
}
