// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile surface: swap-backed reclaim, with a real swap device (issue 10:
 * "swap-backed reclaim (give the VM a swap device)").
 *
 * Root makes /dev/zram0 a 512 MiB swap device (the swap header written
 * here, swapon(2)).  As uid 1000, a holder keeps three leases: pinned on 16
 * pages of anonymous memory, pinned on 16 pages of a memfd, unpinned on 16
 * more anonymous pages.
 *  1. The holder's own MADV_PAGEOUT of all three (6.x: reclaim runs with
 *     PF_MEMALLOC): the unpinned pages go to swap (VmSwap grows) and that
 *     lease breaks (CLEAR); the pinned leases stay ARMED with their pins,
 *     no record, the same data.
 *  2. Memory pressure from another process (root allocates and touches
 *     more than MemAvailable, so kswapd and direct reclaim swap): the
 *     pinned leases are still ARMED, with no record and the same data.
 * Nothing in the kernel log (no WARN, no BUG) and nothing left behind.
 */
#include "hostile.h"

#include <sys/swap.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

#define PAGES		16
#define ZRAM		"/sys/block/zram0"
#define ZRAM_DEV	"/dev/zram0"
#define SWAP_BYTES	(512 * MiB)

static bool pageout_ok;		/* MADV_PAGEOUT reclaims with PF_MEMALLOC */

/* /proc/meminfo or /proc/PID/status field @key, in kB; -1 if absent. */
static long long kb_field(const char *path, const char *key)
{
	char buf[4096], *p;
	size_t n = strlen(key);

	if (t_read_text(path, buf, sizeof(buf)))
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, n) && p[n] == ':')
			return strtoll(p + n + 1, NULL, 10);
	return -1;
}

static void swap_off(void *arg)
{
	(void)arg;
	if (swapoff(ZRAM_DEV))
		printf("# swapoff %s: %s\n", ZRAM_DEV, t_errname(errno));
	t_write_text(ZRAM "/reset", "1");
}

/* A version-1 swap header ("SWAPSPACE2"), as mkswap writes it. */
static void swap_on(void)
{
	char *hdr = calloc(1, t_pg);
	uint32_t *info = (uint32_t *)(hdr + 1024);	/* version, last_page, nr_badpages */
	char size[32];
	int fd;

	CHECK(hdr);
	if (access(ZRAM, F_OK))
		t_skip("no %s (zram module missing)", ZRAM);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)SWAP_BYTES);
	t_write_text(ZRAM "/reset", "1");
	CHECK_OK(t_write_text(ZRAM "/disksize", size));
	info[0] = 1;
	info[1] = (uint32_t)(SWAP_BYTES / t_pg - 1);
	info[2] = 0;
	memcpy(hdr + t_pg - 10, "SWAPSPACE2", 10);
	fd = open(ZRAM_DEV, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		t_fail("open %s: %s", ZRAM_DEV, t_errname(errno));
	CHECK_EQ(pwrite(fd, hdr, t_pg, 0), (ssize_t)t_pg);
	CHECK_SYS(fsync(fd));
	close(fd);
	free(hdr);
	if (swapon(ZRAM_DEV, 0))
		t_fail("swapon %s: %s", ZRAM_DEV, t_errname(errno));
	t_defer(swap_off, NULL);
	t_info("swap on %s: SwapTotal %lld kB", ZRAM_DEV, kb_field("/proc/meminfo", "SwapTotal"));
}

struct region {
	char *p;
	struct mrlease_register l;
	uint8_t byte;
};

static void fill(struct region *r, uint8_t byte)
{
	r->byte = byte;
	for (int i = 0; i < PAGES; i++)
		memset(r->p + PG(i), byte + i, t_pg);
}

static void check_data(const struct region *r, const char *what)
{
	for (int i = 0; i < PAGES; i++)
		for (size_t j = 0; j < t_pg; j += 512)
			if ((uint8_t)r->p[PG(i) + j] != (uint8_t)(r->byte + i))
				t_fail("%s: page %d byte %zu is %#x, not %#x", what, i, j,
				       (uint8_t)r->p[PG(i) + j], (uint8_t)(r->byte + i));
}

/* A pinned lease is ARMED with all its pins and no record came for it. */
static void check_pinned(int ctx, const struct region *r, const char *what)
{
	struct mrlease_query q;

	CHECK_OK(t_query(ctx, r->l.id, &q));
	if (q.state != MRLEASE_STATE_ARMED || q.pinned_pages != PAGES)
		t_fail("%s: the pinned lease is in state %u with %llu pins (breaks %llu)", what, q.state,
		       (unsigned long long)q.pinned_pages, (unsigned long long)q.breaks);
	check_data(r, what);
}

/*
 * 'p' after the pageout: v0 = VmSwap kB before, v1 after; v2 = the unpinned
 * lease's state; v3 = records read (ev: the last).  'q' after the pressure
 * (told 'g'o on): v0 = VmSwap kB, v3 = records.
 */
static void holder(int in, int out, void *arg)
{
	struct region anon = {}, shm = {}, unp = {};
	struct mrlease_event ev;
	struct h_msg m = { .op = 'p' };
	int ctx, mfd, r;
	char path[64];

	(void)arg;
	snprintf(path, sizeof(path), "/proc/%d/status", getpid());
	anon.p = mmap(NULL, PG(PAGES), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unp.p = mmap(NULL, PG(PAGES), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mfd = memfd_create("mrl-hostile", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	CHECK_SYS(ftruncate(mfd, (off_t)PG(PAGES)));
	shm.p = mmap(NULL, PG(PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(anon.p != MAP_FAILED && unp.p != MAP_FAILED && shm.p != MAP_FAILED);
	/* No THP: a huge page is swapped out whole, or split first. */
	madvise(anon.p, PG(PAGES), MADV_NOHUGEPAGE);
	madvise(unp.p, PG(PAGES), MADV_NOHUGEPAGE);
	fill(&anon, 0x10);
	fill(&shm, 0x40);
	fill(&unp, 0x70);
	ctx = t_ctx();
	CHECK_OK(t_register(ctx, anon.p, PG(PAGES), 1, MRLEASE_REG_PIN, 30000, &anon.l));
	CHECK_OK(t_register(ctx, shm.p, PG(PAGES), 2, MRLEASE_REG_PIN, 30000, &shm.l));
	CHECK_OK(t_register(ctx, unp.p, PG(PAGES), 3, 0, 30000, &unp.l));

	m.v[0] = kb_field(path, "VmSwap");
	CHECK_SYS(madvise(unp.p, PG(PAGES), MADV_PAGEOUT));
	if (pageout_ok) {
		CHECK_SYS(madvise(anon.p, PG(PAGES), MADV_PAGEOUT));
		CHECK_SYS(madvise(shm.p, PG(PAGES), MADV_PAGEOUT));
	}
	t_msleep(300);
	m.v[1] = kb_field(path, "VmSwap");
	m.v[2] = t_state(ctx, unp.l.id);
	while ((r = t_event(ctx, &ev, 0)) == 1) {
		if (ev.id != unp.l.id)
			t_fail("a record for lease %llu (pinned) after MADV_PAGEOUT, reason %u",
			       (unsigned long long)ev.id, ev.reason);
		m.ev = ev;
		m.v[3]++;
	}
	check_pinned(ctx, &anon, "anon, after MADV_PAGEOUT");
	check_pinned(ctx, &shm, "memfd, after MADV_PAGEOUT");
	check_data(&unp, "unpinned, swapped in again");
	h_send(out, &m);

	H_EXPECT(in, m, 'g', 120000);
	memset(&m, 0, sizeof(m));
	m.op = 'q';
	check_pinned(ctx, &anon, "anon, after the memory pressure");
	check_pinned(ctx, &shm, "memfd, after the memory pressure");
	while ((r = t_event(ctx, &ev, 0)) == 1) {
		if (ev.id != unp.l.id)
			t_fail("a record for lease %llu (pinned) under memory pressure, reason %u",
			       (unsigned long long)ev.id, ev.reason);
		m.v[3]++;
	}
	m.v[0] = kb_field(path, "VmSwap");
	h_send(out, &m);
	close(ctx);
}

/* Allocate and touch @bytes in a child (the OOM killer's first choice). */
static void pressure(size_t bytes)
{
	long long peak = 0;
	pid_t pid = t_fork();
	int st;

	if (pid == 0) {
		size_t chunk = 4 * MiB;

		t_write_text("/proc/self/oom_score_adj", "1000");
		for (size_t done = 0; done < bytes; done += chunk) {
			char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				_exit(2);
			memset(p, 0x5a, chunk);
		}
		_exit(0);
	}
	for (;;) {
		long long total = kb_field("/proc/meminfo", "SwapTotal");
		long long used = total - kb_field("/proc/meminfo", "SwapFree");
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (used > peak)
			peak = used;
		if (w == pid)
			break;
		t_msleep(50);
	}
	t_info("memory pressure: %zu MiB touched by pid %d (%s), swap used at peak %lld kB", (size_t)(bytes / MiB),
	       pid, WIFEXITED(st) ? "exited" : "killed", peak);
	if (peak <= 0)
		t_fail("the pressure swapped nothing out");
}

int main(void)
{
	struct utsname u;
	struct nl_stats base;
	struct h_agent a;
	struct h_msg m;
	long long avail;

	t_watchdog(170);
	h_need_root();
	/* As in 85-hostile-shmem-pageout: before 6.x MADV_PAGEOUT has no PF_MEMALLOC. */
	pageout_ok = uname(&u) == 0 && strverscmp(u.release, "6") >= 0;
	swap_on();
	h_stats(&base);
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, holder, NULL);
	H_EXPECT(a.from, m, 'p', 30000);
	t_info("MADV_PAGEOUT%s: VmSwap %lld -> %lld kB; the unpinned lease is in state %lld, %lld record(s)",
	       pageout_ok ? "" : " (unpinned only: before 6.x)", (long long)m.v[0], (long long)m.v[1],
	       (long long)m.v[2], (long long)m.v[3]);
	if (m.v[3])
		t_print_event(&m.ev);
	if (m.v[1] <= m.v[0])
		t_fail("nothing went to swap (VmSwap %lld -> %lld kB)", (long long)m.v[0], (long long)m.v[1]);
	CHECK_EQ(m.v[2], MRLEASE_STATE_BROKEN);
	CHECK_EQ(m.v[3], 1);
	CHECK_EQ(m.ev.reason, MRLEASE_REASON_CLEAR);

	avail = kb_field("/proc/meminfo", "MemAvailable");
	CHECK(avail > 0);
	pressure((size_t)avail * KiB + 192 * MiB);
	h_say(a.to, 'g', 0);
	H_EXPECT(a.from, m, 'q', 60000);
	t_info("after the pressure: holder VmSwap %lld kB, %lld more record(s) (unpinned lease only)",
	       (long long)m.v[0], (long long)m.v[3]);
	CHECK_CHILD_OK(a.pid, 10000);
	H_CHECK_STATS(&base);
	t_pass();
}
