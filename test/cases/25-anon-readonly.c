// SPDX-License-Identifier: GPL-2.0
/*
 * A pinned lease on read-only memory (think: an MR for remote reads): the
 * pages can be pinned without write access; making the memory writable
 * changes nothing, but the first write, which replaces the shared zero page
 * with a private page, breaks the lease (reason CLEAR).
 *
 * Newer kernels (seen on 6.12 and 7.2) no longer pin the shared zero page
 * for the long term: the pin itself gives each page a private copy, and
 * the write then changes no translation.  The test reads the frame behind
 * the address before and after the write and expects a break exactly when
 * it changed, and then one that covers that page only.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;
	volatile char *a;
	uint64_t pfn;
	char sum = 0;

	a = CHECK_SYS(mmap(NULL, PG(4), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	madvise((void *)a, PG(4), MADV_NOHUGEPAGE);
	for (int i = 0; i < 4; i++)
		sum += a[PG(i)];	/* map the zero page */
	CHECK_EQ(sum, 0);
	CHECK_OK(t_register(fd, (void *)a, PG(4), 0x25, MRLEASE_REG_PIN, 0, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.pinned_pages, 4);

	CHECK_SYS(mprotect((void *)a, PG(4), PROT_READ | PROT_WRITE));
	CHECK_NO_EVENT(fd, 200);
	pfn = t_pfn(a + PG(1));
	CHECK_NE(pfn, 0);
	a[PG(1)] = 1;
	if (t_pfn(a + PG(1)) == pfn) {
		t_info("the pin gave the page a private copy: the write replaced nothing");
		CHECK_NO_EVENT(fd, 500);
		CHECK_OK(t_query(fd, l.id, &q));
		CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
		CHECK_EQ(q.pinned_pages, 4);
		CHECK_EQ(q.breaks, 0);
		close(fd);
		t_pass();
	}
	t_info("the write replaced the shared zero page");
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_EVENT_RANGE(ev, a + PG(1), PG(1));
	close(fd);
	t_pass();
}
