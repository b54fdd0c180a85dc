// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, allocations sized by user input (issue 10, item 4): the
 * RLIMIT_MEMLOCK check comes before any allocation for the pins.
 *
 * uid 1000 with RLIMIT_MEMLOCK 64 KiB maps 2 TiB, then 768 GiB, of
 * PROT_READ MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE memory and registers
 * a pinned lease over all of it: each fails with -ENOMEM within 3 s, and the
 * kernel log shows no splat (a page array sized first was a WARNING in
 * kvmalloc_node for 2 TiB, and a 1.5 GiB vmalloc per ioctl for 768 GiB).
 */
#include "hostile.h"

#define FAST_MS		3000

static const uint64_t sizes[] = { 2 * TiB, 768 * GiB };

/* 'r' per size: err = the register's result, v0 = its time in ms, v1 = mmap errno. */
static void attacker(int in, int out, void *arg)
{
	int ctx = t_ctx();

	(void)arg;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct h_msg m = { .op = 'r' };
		char *p = mmap(NULL, sizes[i], PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		int64_t t0;

		if (p == MAP_FAILED) {
			m.v[1] = errno;
			h_send(out, &m);
			return;
		}
		t0 = t_now_ns();
		m.err = h_register(ctx, p, sizes[i], MRLEASE_REG_PIN, 0, NULL);
		m.v[0] = t_ms_since(t0);
		munmap(p, sizes[i]);
		h_send(out, &m);
		/* Wait until the test looked at the kernel log. */
		if (!h_recv(in, &m, 60000))
			return;
	}
	close(ctx);
}

int main(void)
{
	struct nl_stats base;
	struct h_agent a;
	struct h_msg m;
	int kfd;

	t_watchdog(110);
	h_need_root();
	h_stats(&base);
	kfd = kmsg_open();
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * KiB, attacker, NULL);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		H_EXPECT(a.from, m, 'r', 60000);
		if (m.v[1])
			t_skip("mmap of %llu GiB: %s", (unsigned long long)(sizes[i] / GiB),
			       t_errname((int)m.v[1]));
		t_info("pinned register of %llu GiB with a 64 KiB memlock limit: %s after %lld ms",
		       (unsigned long long)(sizes[i] / GiB), m.err ? t_errname(-m.err) : "success",
		       (long long)m.v[0]);
		H_CHECK_NO_SPLAT(kfd, "from an unprivileged register");
		CHECK_EQ(m.err, -ENOMEM);
		CHECK_LT(m.v[0], FAST_MS);
		h_say(a.to, 'n', 0);
	}
	CHECK_CHILD_OK(a.pid, 10000);
	H_CHECK_STATS(&base);
	t_pass();
}
