// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, chained waits across the two phases of an xfs change
 * (issue 10: "while any breaker waits on an inode, no lease of anyone may
 * pin that inode's pages again").
 *
 * xfs_break_layouts() waits first for busy DAX pages (with the file's
 * i_rwsem held), then for layout leases to go (with i_rwsem dropped), and
 * starts over whenever a wait dropped a lock.  An owner of the file with
 * several contexts can feed it: while the breaker waits for pins, take new
 * layout leases (no i_rwsem needed); while it waits for those, pin the page
 * again (i_rwsem is free); and so on, each wait bounded by the ceiling but
 * their number by nothing.
 *
 * uid 1000 owns an xfs DAX file: context A holds a pinned lease on page 0,
 * context B an unpinned lease on page 8 (both with the file's layout lease);
 * max_break_timeout_ms is 2000.  Root punches page 0.  From then on the
 * attacker never acks and keeps registering, round robin, pinned leases on
 * page 0 from four more contexts and unpinned ones on page 8 from another
 * four (a context whose layout lease is broken takes no lease on the file,
 * so the two kinds need contexts of their own).
 *
 * Expected: the punch waits for A's pins (one ceiling) and B's layout lease
 * (one more: the phases are separate waits, each bounded), never a third:
 * it returns within 2 x ceiling + 3 s.  The old module kept it waiting for
 * as long as the attacker went on.
 *
 * Then the other way round (ext4 and xfs): only a layout lease being broken
 * keeps arms off a file.  The owner takes an ordinary read lease
 * (F_SETLEASE) and breaks it itself with a non-blocking open for writing,
 * which leaves it "being broken" for fs.lease-break-time; another user's
 * pinned register on the file must still succeed (it failed with -EAGAIN
 * for as long as the owner liked when any breaking lease counted).
 */
#include "hostile.h"

#define FILE_PAGES	16
#define LAYOUT_PAGE	8
#define CEILING_MS	2000
#define SLACK_MS	3000
#define CAP_MS		20000
#define NR_CTX		8
#define MAX_KEPT	2000

static char path[300];

/*
 * 'a': both leases armed (q = B's lease); 'e': A's record of the break;
 * then registers until told 's'top; 'r': v = attempts, EAGAIN, pinned
 * successes, unpinned successes, other failures, the first other errno.
 */
static void attacker(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'a' };
	struct mrlease_register la, lb;
	struct mrlease_event ev;
	int a, b, ctx[NR_CTX], r, turn = 0;
	char *map;

	(void)arg;
	map = h_map_file(path, FILE_PAGES);
	CHECK_EQ(map[0], (char)dax_pattern(0));
	CHECK_EQ(map[PG(LAYOUT_PAGE)], (char)dax_pattern(PG(LAYOUT_PAGE)));
	a = t_ctx();
	b = t_ctx();
	for (int i = 0; i < NR_CTX; i++)
		ctx[i] = t_ctx();
	CHECK_OK(t_register(a, map, t_pg, 1, MRLEASE_REG_PIN, H_HOUR_MS, &la));
	CHECK_OK(t_register(b, map + PG(LAYOUT_PAGE), t_pg, 2, 0, H_HOUR_MS, &lb));
	CHECK_OK(t_query(a, la.id, &m.q));
	h_send(out, &m);
	memset(&m, 0, sizeof(m));
	m.op = 'b';
	CHECK_OK(t_query(b, lb.id, &m.q));
	h_send(out, &m);

	r = t_event(a, &ev, 10000);
	memset(&m, 0, sizeof(m));
	m.op = 'e';
	m.err = r < 0 ? r : 0;
	m.v[0] = r;
	m.ev = ev;
	h_send(out, &m);
	if (r != 1)
		return;

	memset(&m, 0, sizeof(m));
	m.op = 'r';
	for (;;) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		int i = turn++ % (NR_CTX / 2);

		if (poll(&p, 1, 0) == 1)
			break;		/* told to stop (or the test is over) */
		for (int pin = 0; pin < 2; pin++) {
			if (m.v[2] + m.v[3] >= MAX_KEPT)
				break;
			m.v[0]++;
			r = h_register(ctx[pin * NR_CTX / 2 + i], pin ? map : map + PG(LAYOUT_PAGE), t_pg,
				       pin ? MRLEASE_REG_PIN : 0, H_HOUR_MS, NULL);
			if (r == -EAGAIN) {
				m.v[1]++;
			} else if (!r) {
				m.v[pin ? 2 : 3]++;	/* kept, never acked */
			} else {
				if (!m.v[4])
					m.v[5] = -r;
				m.v[4]++;
			}
		}
		t_msleep(5);
	}
	h_send(out, &m);
	/* Our leases, pins and file leases go with the contexts. */
}

static void xfs_case(void)
{
	struct breaker_report rep;
	struct breaker b;
	struct h_agent a;
	struct h_msg m;
	int64_t waited;
	int fd;

	if (strcmp(h_fs, "xfs"))
		return;		/* ext4 has no layout leases: one phase, as 85-hostile-repin-chain */
	fd = h_dax_file(FILE_PAGES, H_UID, 0644, path, sizeof(path));
	breaker_start(&b, fd, BREAK_PUNCH, 0, t_pg);
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, attacker, NULL);
	H_EXPECT(a.from, m, 'a', 20000);
	h_print_query("context A's pinned lease", &m.q);
	CHECK_EQ(m.q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(m.q.pinned_pages, 1);
	CHECK_EQ(m.q.layout, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(m.q.hold, MRLEASE_HOLD_WAIT);
	H_EXPECT(a.from, m, 'b', 20000);
	h_print_query("context B's unpinned lease", &m.q);
	CHECK_EQ(m.q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(m.q.layout, MRLEASE_LAYOUT_HELD);

	breaker_go(&b);
	H_EXPECT(a.from, m, 'e', 20000);
	if (m.v[0] != 1)
		t_fail("the attacker got no record of the break: %s", t_errname(-m.err));
	t_print_event(&m.ev);

	if (!breaker_returned(&b, CAP_MS, &rep)) {
		h_say(a.to, 's', 0);
		if (h_recv(a.from, &m, 5000))
			t_info("attacker: %lld registers, %lld EAGAIN, %lld pinned and %lld unpinned kept, "
			       "%lld failed otherwise (first: %s)", (long long)m.v[0], (long long)m.v[1],
			       (long long)m.v[2], (long long)m.v[3], (long long)m.v[4],
			       t_errname((int)m.v[5]));
		t_fail("root's punch is still blocked %d ms after it started (ceiling %d ms): waits chained",
		       CAP_MS, CEILING_MS);
	}
	h_say(a.to, 's', 0);
	waited = (rep.end_ns - rep.start_ns) / 1000000;
	t_info("root's punch returned after %lld ms (%s); bound 2 x %d + %d ms", (long long)waited,
	       t_errname(rep.err), CEILING_MS, SLACK_MS);
	CHECK_EQ(rep.err, 0);
	CHECK_CHILD_OK(b.pid, 5000);
	H_EXPECT(a.from, m, 'r', 20000);
	t_info("attacker: %lld registers, %lld EAGAIN, %lld pinned and %lld unpinned kept, %lld failed "
	       "otherwise (first: %s)", (long long)m.v[0], (long long)m.v[1], (long long)m.v[2],
	       (long long)m.v[3], (long long)m.v[4], t_errname((int)m.v[5]));
	CHECK_CHILD_OK(a.pid, 10000);
	CHECK_LT(waited, 2 * CEILING_MS + SLACK_MS);
	close(fd);
}

/* 'a': a read lease on @path, left being broken (v0: errno of the open). */
static void stale_leaser(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'a' };
	int fd = open(path, O_RDONLY | O_CLOEXEC), w;

	(void)arg;
	CHECK(fd >= 0);
	signal(SIGIO, SIG_IGN);		/* the break notice a lease holder gets */
	CHECK_SYS(fcntl(fd, F_SETLEASE, F_RDLCK));
	w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	m.v[0] = w < 0 ? errno : 0;
	h_send(out, &m);
	H_EXPECT(in, m, 's', 60000);
	close(fd);
}

/* 'r': err = the pinned register of a page of @path, read-only. */
static void stale_victim(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'r' };
	struct mrlease_register l;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ctx;
	char *map;

	(void)in;
	(void)arg;
	CHECK(fd >= 0);
	map = mmap(NULL, t_pg, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED);
	CHECK_EQ(map[0], (char)dax_pattern(0));
	ctx = t_ctx();
	m.err = t_register(ctx, map, t_pg, 7, MRLEASE_REG_PIN, 1000, &l);
	h_send(out, &m);
	close(ctx);
}

static void stale_case(void)
{
	struct h_agent a, v;
	struct h_msg m;
	int fd;

	t_info("---- %s: a read lease left being broken does not keep others' arms off", h_fs);
	fd = h_dax_file(FILE_PAGES, H_UID, 0644, path, sizeof(path));
	close(fd);		/* no read lease while anyone has it open for writing */
	h_agent_start(&a, "mrl-leaser", H_UID, 64 * MiB, stale_leaser, NULL);
	H_EXPECT(a.from, m, 'a', 20000);
	t_info("the owner's own O_WRONLY|O_NONBLOCK open: %s", t_errname((int)m.v[0]));
	CHECK_EQ(m.v[0], EWOULDBLOCK);
	h_agent_start(&v, "mrl-victim", H_UID2, 64 * MiB, stale_victim, NULL);
	H_EXPECT(v.from, m, 'r', 20000);
	t_info("uid %d's pinned register: %s", H_UID2, t_errname(-m.err));
	CHECK_OK(m.err);
	CHECK_CHILD_OK(v.pid, 10000);
	h_say(a.to, 's', 0);
	CHECK_CHILD_OK(a.pid, 10000);
}

int main(void)
{
	struct nl_stats base;

	t_watchdog(120);
	h_need_root();
	if (!h_dax_dir("xfs"))
		t_skip("no xfs DAX mount ($MRLEASE_XFS)");
	CHECK_OK(h_param_set("max_break_timeout_ms", CEILING_MS));
	h_stats(&base);
	h_each_fs(xfs_case);
	h_each_fs(stale_case);
	H_CHECK_STATS(&base);
	t_pass();
}
