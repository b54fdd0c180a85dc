// SPDX-License-Identifier: GPL-2.0
/*
 * The status page: mapped read-only (a whole page, or less), it shows
 * event_seq moving on every queued record (new and widened), pending
 * counting unread records and broken counting leases awaiting an ack.
 * Two mappings of the same context show the same page.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	const volatile struct mrlease_status *st = t_status(fd);
	const volatile struct mrlease_status *st2;
	char *a = t_anon(8), *b = t_anon(8);
	struct mrlease_register la, lb;
	struct mrlease_event ev[2];
	uint64_t seq;

	st2 = mmap(NULL, sizeof(*st2), PROT_READ, MAP_SHARED, fd, 0);
	CHECK(st2 != MAP_FAILED);
	CHECK_EQ(st->pending, 0);
	CHECK_EQ(st->broken, 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(st->reserved[i], 0);
	seq = st->event_seq;

	CHECK_OK(t_register(fd, a, PG(8), 1, MRLEASE_REG_PIN, 0, &la));
	CHECK_OK(t_register(fd, b, PG(8), 2, 0, 0, &lb));
	CHECK_EQ(st->event_seq, seq);

	CHECK_SYS(munmap(a + PG(1), PG(1)));
	CHECK_NE(st->event_seq, seq);
	CHECK_EQ(st->pending, 1);
	CHECK_EQ(st->broken, 1);
	CHECK_EQ(st2->event_seq, st->event_seq);
	seq = st->event_seq;

	/* Widening the unread record is news too. */
	CHECK_SYS(munmap(a + PG(6), PG(1)));
	CHECK_NE(st->event_seq, seq);
	CHECK_EQ(st->pending, 1);
	seq = st->event_seq;

	CHECK_SYS(madvise(b, PG(2), MADV_DONTNEED));
	CHECK_NE(st->event_seq, seq);
	CHECK_EQ(st->pending, 2);
	CHECK_EQ(st->broken, 2);
	seq = st->event_seq;

	CHECK_EQ(read(fd, ev, sizeof(ev[0])), sizeof(ev[0]));
	CHECK_EQ(st->pending, 1);
	CHECK_EQ(read(fd, ev, sizeof(ev[0])), sizeof(ev[0]));
	CHECK_EQ(st->pending, 0);
	CHECK_EQ(st->broken, 2);
	CHECK_EQ(st->event_seq, seq);	/* reading is not news */

	CHECK_OK(t_ack(fd, la.id, la.generation));
	CHECK_EQ(st->broken, 1);
	CHECK_OK(t_unregister(fd, lb.id));
	CHECK_EQ(st->broken, 0);
	CHECK_EQ(st->pending, 0);
	CHECK_EQ(st->event_seq, seq);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(st->reserved[i], 0);
	close(fd);
	/* The mapping outlives the fd. */
	CHECK_EQ(st->event_seq, seq);
	t_pass();
}
