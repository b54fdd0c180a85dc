// SPDX-License-Identifier: GPL-2.0
/*
 * A pinned lease on a transparent huge page: mprotect() of part of it
 * splits the huge PMD, which the kernel reports as a "clear" of the whole
 * 2 MiB although no page changes; that is a protection change only and must
 * not break the lease.  An munmap of one 4 KiB page of another huge page
 * does break its lease, and the record covers that page (splitting the PMD
 * first may widen it to the huge page and make its reason CLEAR).
 */
#include "harness.h"

#define HPAGE	(2u << 20)

static size_t anon_huge_kb(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	bool in = false;
	size_t kb = 0;

	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s ", &lo, &hi, perms) == 3)
			in = lo <= (uintptr_t)addr && (uintptr_t)addr < hi;
		else if (in && sscanf(line, "AnonHugePages: %zu kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

int main(void)
{
	int fd = t_ctx();
	char *raw, *h, *h2, thp[64] = "";
	struct mrlease_register l, l2;
	struct mrlease_event ev;
	struct mrlease_query q;

	if (t_read_text("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof(thp)) ||
	    strstr(thp, "[never]"))
		t_skip("transparent huge pages are not available (%s)", thp);
	raw = CHECK_SYS(mmap(NULL, 3 * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	h = (char *)(((uintptr_t)raw + HPAGE - 1) & ~(uintptr_t)(HPAGE - 1));
	h2 = h + HPAGE;
	CHECK_SYS(madvise(h, 2 * HPAGE, MADV_HUGEPAGE));
	memset(h, 0x23, 2 * HPAGE);
	if (anon_huge_kb(h) < 2 * HPAGE / 1024)
		t_skip("no huge pages were allocated (AnonHugePages %zu kB)", anon_huge_kb(h));

	CHECK_OK(t_register(fd, h2, HPAGE, 0x7f, MRLEASE_REG_PIN, 0, &l2));
	CHECK_SYS(munmap(h2 + PG(100), PG(1)));
	GET_EVENT(fd, ev, 2000);
	CHECK(ev.reason == MRLEASE_REASON_UNMAP || ev.reason == MRLEASE_REASON_CLEAR);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, ev.reason, l2,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_LE(ev.start, (uintptr_t)h2 + PG(100));
	CHECK_GE(ev.start + ev.length, (uintptr_t)h2 + PG(101));
	if (ev.length != PG(1))
		t_info("note: the record covers %llu KiB for a 4 KiB munmap", (unsigned long long)ev.length / 1024);

	CHECK_OK(t_register(fd, h, HPAGE, 0x7e, MRLEASE_REG_PIN, 0, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.pinned_pages, HPAGE / t_pg);

	CHECK_SYS(mprotect(h + PG(8), PG(8), PROT_READ));
	CHECK_NO_EVENT(fd, 200);
	CHECK_SYS(mprotect(h, HPAGE, PROT_READ | PROT_WRITE));
	CHECK_NO_EVENT(fd, 200);
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_ARMED);
	close(fd);
	t_pass();
}
