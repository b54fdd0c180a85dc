// SPDX-License-Identifier: GPL-2.0
/*
 * One pinned lease over two mappings side by side, anonymous memory and a
 * DAX file (in both orders): it registers with every page pinned (the fsdax
 * part cannot take FOLL_LONGTERM pins, the anonymous part can), reports the
 * backing of its first page, and a foreign hole punch in the DAX part waits
 * for the ack.
 */
#include "fsdax.h"

#define KiB	1024u
#define PART	(128 * KiB)

static void one(struct dax_file *f, bool dax_first)
{
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;
	struct breaker b;
	struct breaker_report rep;
	char *r, *anon, *dax;
	int fd;

	t_info("--- %s first", dax_first ? "DAX" : "anonymous");
	r = CHECK_SYS(mmap(NULL, 2 * PART, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	dax = dax_first ? r : r + PART;
	anon = dax_first ? r + PART : r;
	CHECK(mmap(anon, PART, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == anon);
	memset(anon, 0x37, PART);
	CHECK(mmap(dax, PART, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f->fd, 0) == dax);

	breaker_start(&b, f->fd, BREAK_PUNCH, 16 * KiB, 16 * KiB);
	fd = t_ctx();
	CHECK_OK(t_register(fd, r, 2 * PART, 0x37, MRLEASE_REG_PIN, 30000, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.pinned_pages, 2 * PART / t_pg);
	CHECK_EQ(q.backing, dax_first ? MRLEASE_BACKING_FSDAX : MRLEASE_BACKING_ANON);

	breaker_go(&b);
	GET_EVENT(fd, ev, 10000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l, 0);
	CHECK_LE(ev.start, (uintptr_t)dax + 16 * KiB);
	CHECK_GE(ev.start + ev.length, (uintptr_t)dax + 32 * KiB);
	t_msleep(500);
	CHECK_BREAKER_WAITING(&b);
	CHECK_OK(t_ack(fd, l.id, ev.generation));
	BREAKER_DONE(&b, 5000, rep);
	CHECK_OK(t_restore(fd, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.pinned_pages, 2 * PART / t_pg);
	CHECK_EQ(dax[20 * KiB], 0);
	CHECK_EQ(anon[20 * KiB], 0x37);
	close(fd);
	CHECK_SYS(munmap(r, 2 * PART));
}

int main(void)
{
	struct dax_file f;

	dax_create(&f, 1 << 20);
	one(&f, false);
	one(&f, true);
	t_pass();
}
