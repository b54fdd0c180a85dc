// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, "who may make whom wait" (issue 10, item 2): a reader of a
 * file must not make its owner's truncate wait.
 *
 * On ext4 and xfs -o dax: uid 1000 opens a ROOT-owned 0644 file read-only,
 * maps it PROT_READ and takes a pinned lease on it asking for timeout_ms
 * 3600000.  Query says hold MRLEASE_HOLD_NOT_OWNER; root's truncate returns
 * at once (< 3 s; hard cap 10 s), and the attacker still gets its
 * DECOHERENCE record (reason CLEAR, not SELF) with MRLEASE_EVENT_F_UNPINNED,
 * the lease BROKEN without pins.
 *
 * hold for the other kinds of lease: root's pinned lease on its own file,
 * uid 1000's pinned leases on its own file, on anonymous memory and on its
 * own memfd: MRLEASE_HOLD_WAIT; a pinned lease spanning [its own file][the
 * root-owned file]: NOT_OWNER; unpinned leases: MRLEASE_HOLD_NONE.
 */
#include "hostile.h"

#define FILE_PAGES	8
#define AT_ONCE_MS	3000
#define CAP_MS		10000

static char root_path[300], own_path[300];

static uint32_t hold_of(int ctx, const void *addr, size_t len, uint32_t flags, const char *what)
{
	struct mrlease_register l;
	struct mrlease_query q;

	CHECK_OK(t_register(ctx, addr, len, 2, flags, H_HOUR_MS, &l));
	CHECK_OK(t_query(ctx, l.id, &q));
	h_print_query(what, &q);
	CHECK_OK(t_unregister(ctx, l.id));
	return q.hold;
}

/*
 * 'a': the lease on the root-owned file is armed (q); 'e': the record of
 * its break (v0 = 1 if one came) and the query after it (q); 'h': v = hold
 * of the other leases (own file, anon, memfd, own+root file, unpinned root
 * file, unpinned anon).
 */
static void attacker(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'a' };
	struct mrlease_register l;
	char *map, *own, *anon, *shm, *two;
	int fd, ofd, mfd, ctx, r;

	(void)arg;
	fd = open(root_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_fail("open %s: %s", root_path, t_errname(errno));
	CHECK_SYSERR(open(root_path, O_RDWR | O_CLOEXEC), EACCES);
	map = mmap(NULL, PG(FILE_PAGES), PROT_READ, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED);
	CHECK_EQ(map[0], (char)dax_pattern(0));
	ctx = t_ctx();

	/* The other kinds first: the file is truncated below. */
	ofd = open(own_path, O_RDWR | O_CLOEXEC);
	CHECK(ofd >= 0);
	own = mmap(NULL, PG(FILE_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, ofd, 0);
	CHECK(own != MAP_FAILED);
	anon = t_anon(2);
	mfd = memfd_create("mrl-hostile", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	CHECK_SYS(ftruncate(mfd, (off_t)PG(2)));
	shm = mmap(NULL, PG(2), PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(shm != MAP_FAILED);
	shm[0] = 1;
	/* [own file page][root file page], adjacent. */
	two = mmap(NULL, PG(2), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(two != MAP_FAILED);
	CHECK(mmap(two, t_pg, PROT_READ, MAP_SHARED | MAP_FIXED, ofd, 0) == two);
	CHECK(mmap(two + t_pg, t_pg, PROT_READ, MAP_SHARED | MAP_FIXED, fd, PG(FILE_PAGES - 1)) == two + t_pg);
	memset(&m, 0, sizeof(m));
	m.op = 'h';
	m.v[0] = hold_of(ctx, own, PG(FILE_PAGES), MRLEASE_REG_PIN, "pinned, own file");
	m.v[1] = hold_of(ctx, anon, PG(2), MRLEASE_REG_PIN, "pinned, anonymous");
	m.v[2] = hold_of(ctx, shm, PG(2), MRLEASE_REG_PIN, "pinned, own memfd");
	m.v[3] = hold_of(ctx, two, PG(2), MRLEASE_REG_PIN, "pinned, [own file][root's file]");
	m.v[4] = hold_of(ctx, map, PG(FILE_PAGES), 0, "unpinned, root's file");
	m.v[5] = hold_of(ctx, anon, PG(2), 0, "unpinned, anonymous");
	munmap(two, PG(2));
	munmap(own, PG(FILE_PAGES));
	close(ofd);
	h_send(out, &m);

	memset(&m, 0, sizeof(m));
	m.op = 'a';
	CHECK_OK(t_register(ctx, map, PG(FILE_PAGES), 1, MRLEASE_REG_PIN, H_HOUR_MS, &l));
	CHECK_OK(t_query(ctx, l.id, &m.q));
	h_send(out, &m);

	r = t_event(ctx, &m.ev, CAP_MS + 5000);
	m.op = 'e';
	m.err = r < 0 ? r : 0;
	m.v[0] = r;
	if (t_query(ctx, l.id, &m.q))
		memset(&m.q, 0, sizeof(m.q));
	h_send(out, &m);
	/* Never ack; wait for the end. */
	h_recv(in, &m, 60000);
}

int main(void)
{
	struct breaker_report rep;
	struct mrlease_register l;
	struct mrlease_query q;
	struct nl_stats base;
	struct breaker b;
	struct h_agent a;
	struct h_msg m, hm;
	int64_t waited;
	char *map;
	int rfd, ofd, ctx;

	t_watchdog(110);
	h_need_root();
	h_stats(&base);
	for (int i = 0; i < 2; i++) {
		h_fs = i ? "xfs" : "ext4";
		if (!h_dax_dir(h_fs)) {
			t_info("no %s DAX mount: its case is left out", h_fs);
			continue;
		}
		t_info("======== %s -o dax", h_fs);
		rfd = h_dax_file(FILE_PAGES, 0, 0644, root_path, sizeof(root_path));
		ofd = h_dax_file(FILE_PAGES, H_UID, 0644, own_path, sizeof(own_path));

		/* Root's own pinned lease on its own file waits. */
		map = mmap(NULL, PG(FILE_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
		CHECK(map != MAP_FAILED);
		ctx = t_ctx();
		CHECK_OK(t_register(ctx, map, PG(FILE_PAGES), 3, MRLEASE_REG_PIN, H_HOUR_MS, &l));
		CHECK_OK(t_query(ctx, l.id, &q));
		h_print_query("root, pinned, own file", &q);
		close(ctx);
		munmap(map, PG(FILE_PAGES));

		breaker_start(&b, rfd, BREAK_TRUNCATE, 0, 0);
		h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, attacker, NULL);
		H_EXPECT(a.from, hm, 'h', 20000);
		H_EXPECT(a.from, m, 'a', 20000);
		h_print_query("uid 1000, pinned, root's 0644 file read-only", &m.q);
		CHECK_EQ(m.q.state, MRLEASE_STATE_ARMED);
		CHECK_EQ(m.q.pinned_pages, FILE_PAGES);

		breaker_go(&b);
		if (!breaker_returned(&b, CAP_MS, &rep))
			t_fail("root's truncate of its own file is still blocked after %d ms by uid %d's "
			       "lease (hold %u)", CAP_MS, H_UID, m.q.hold);
		waited = (rep.end_ns - rep.start_ns) / 1000000;
		t_info("root's truncate returned after %lld ms", (long long)waited);
		CHECK_EQ(rep.err, 0);
		CHECK_CHILD_OK(b.pid, 5000);
		CHECK_LT(waited, AT_ONCE_MS);
		CHECK_EQ(m.q.hold, MRLEASE_HOLD_NOT_OWNER);

		H_EXPECT(a.from, m, 'e', CAP_MS + 10000);
		if (m.v[0] != 1)
			t_fail("the attacker got no record of the break: %s", t_errname(-m.err));
		t_print_event(&m.ev);
		CHECK_EQ(m.ev.type, MRLEASE_EVENT_DECOHERENCE);
		CHECK_EQ(m.ev.reason, MRLEASE_REASON_CLEAR);
		CHECK_EQ(m.ev.flags & MRLEASE_EVENT_F_SELF, 0);
		CHECK(m.ev.flags & MRLEASE_EVENT_F_UNPINNED);
		CHECK_EQ(m.ev.breaker_pid, b.pid);
		h_print_query("after the break", &m.q);
		CHECK_EQ(m.q.state, MRLEASE_STATE_BROKEN);
		CHECK_EQ(m.q.pinned_pages, 0);
		h_say(a.to, 'x', 0);
		CHECK_CHILD_OK(a.pid, 10000);

		CHECK_EQ(q.hold, MRLEASE_HOLD_WAIT);
		CHECK_EQ(hm.v[0], MRLEASE_HOLD_WAIT);
		CHECK_EQ(hm.v[1], MRLEASE_HOLD_WAIT);
		CHECK_EQ(hm.v[2], MRLEASE_HOLD_WAIT);
		CHECK_EQ(hm.v[3], MRLEASE_HOLD_NOT_OWNER);
		CHECK_EQ(hm.v[4], MRLEASE_HOLD_NONE);
		CHECK_EQ(hm.v[5], MRLEASE_HOLD_NONE);
		close(rfd);
		close(ofd);
	}
	H_CHECK_STATS(&base);
	t_pass();
}
