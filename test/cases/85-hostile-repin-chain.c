// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, chained waits (issue 10, item 2): a truncate or hole punch
 * must not be held past the administrator's ceiling by re-pinning its page.
 *
 * uid 1000 owns an fsdax file (ext4, then xfs) and holds a pinned lease on
 * its first page, asking for timeout_ms 3600000; the ceiling
 * max_break_timeout_ms is set to 2000.  Root truncates the file to 0 (then,
 * on a new file, punches the page) in a child.  From the break on, the
 * attacker never acks anything and keeps registering a NEW pinned lease over
 * [a memfd page][the same file page] (two adjacent mappings, MAP_FIXED): an
 * arm that locked only the first file of its range (the memfd) pinned the
 * doomed page again, and the truncate waited for good on a lease that no
 * timeout covered.
 *
 * Expected: those registers fail (-EAGAIN) while the change is in progress,
 * or, if one succeeds, the wait is not extended: root's truncate / punch
 * returns within the ceiling + 3 s of its start (hard cap 15 s).
 *
 * A module without max_break_timeout_ms (before the policy) is tested with
 * the first lease asking for 2000 ms itself, which shows the chain alone.
 */
#include "hostile.h"

#define FILE_PAGES	16
#define CEILING_MS	2000
#define SLACK_MS	3000
#define CAP_MS		15000

static char path[300];
static uint32_t first_timeout = H_HOUR_MS;
static enum breaker_op op;

/*
 * 'a': armed (v0 = lease id); then, on the break ('e', with the record),
 * registers over [memfd][file page] until told 's'top; 'r': v = attempts,
 * EAGAIN, successes, other failures, the first other errno, when the first
 * success came (CLOCK_MONOTONIC ns, 0 if none).
 */
static void attacker(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'a' };
	struct mrlease_register l;
	struct mrlease_event ev;
	char *area, *shm;
	int fd, mfd, ctx, r;

	(void)arg;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		t_fail("open %s: %s", path, t_errname(errno));
	mfd = memfd_create("mrl-hostile", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	CHECK_SYS(ftruncate(mfd, (off_t)t_pg));
	area = mmap(NULL, PG(3), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(area != MAP_FAILED);
	shm = mmap(area, t_pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, mfd, 0);
	CHECK(shm == area);
	CHECK(mmap(area + t_pg, t_pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == area + t_pg);
	shm[0] = 1;
	CHECK_EQ(area[t_pg], (char)dax_pattern(0));

	ctx = t_ctx();
	CHECK_OK(t_register(ctx, area + t_pg, t_pg, 1, MRLEASE_REG_PIN, first_timeout, &l));
	CHECK_OK(t_query(ctx, l.id, &m.q));
	m.v[0] = (int64_t)l.id;
	h_send(out, &m);

	r = t_event(ctx, &ev, 10000);
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
		struct mrlease_register l2;

		if (poll(&p, 1, 0) == 1)
			break;		/* told to stop (or the test is over) */
		m.v[0]++;
		r = h_register(ctx, area, PG(2), MRLEASE_REG_PIN, H_HOUR_MS, &l2);
		if (r == -EAGAIN) {
			m.v[1]++;
		} else if (!r) {
			/* Keep it, never ack it, and try again. */
			if (!m.v[2])
				m.v[5] = t_now_ns();
			m.v[2]++;
		} else {
			if (!m.v[3])
				m.v[4] = -r;
			m.v[3]++;
		}
		t_msleep(5);
	}
	h_send(out, &m);
	/* Our leases, pins and file references go with the context. */
	close(ctx);
}

static void one_case(void)
{
	struct breaker_report rep;
	struct breaker b;
	struct h_agent a;
	struct h_msg m;
	int64_t waited;
	int fd;

	t_info("---- %s: root %s the file, the attacker re-pins its page", h_fs,
	       op == BREAK_TRUNCATE ? "truncates" : "punches");
	fd = h_dax_file(FILE_PAGES, H_UID, 0644, path, sizeof(path));
	breaker_start(&b, fd, op, 0, t_pg);
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, attacker, NULL);
	H_EXPECT(a.from, m, 'a', 20000);
	h_print_query("the attacker's first lease", &m.q);
	CHECK_EQ(m.q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(m.q.pinned_pages, 1);

	breaker_go(&b);
	H_EXPECT(a.from, m, 'e', 20000);
	if (m.v[0] != 1)
		t_fail("the attacker got no record of the break: %s", t_errname(-m.err));
	t_print_event(&m.ev);

	if (!breaker_returned(&b, CAP_MS, &rep)) {
		h_say(a.to, 's', 0);
		if (h_recv(a.from, &m, 5000))
			t_info("attacker: %lld registers tried, %lld EAGAIN, %lld succeeded, %lld failed "
			       "otherwise (first: %s)", (long long)m.v[0], (long long)m.v[1],
			       (long long)m.v[2], (long long)m.v[3], t_errname((int)m.v[4]));
		t_fail("root's %s is still blocked %d ms after it started (ceiling %d ms): waits chained",
		       op == BREAK_TRUNCATE ? "truncate" : "punch", CAP_MS, CEILING_MS);
	}
	h_say(a.to, 's', 0);
	waited = (rep.end_ns - rep.start_ns) / 1000000;
	t_info("root's %s returned after %lld ms (%s)", op == BREAK_TRUNCATE ? "truncate" : "punch",
	       (long long)waited, t_errname(rep.err));
	CHECK_EQ(rep.err, 0);
	CHECK_CHILD_OK(b.pid, 5000);
	H_EXPECT(a.from, m, 'r', 20000);
	t_info("attacker: %lld registers tried, %lld EAGAIN, %lld succeeded (first %lld ms %s the breaker "
	       "returned), %lld failed otherwise (first: %s)", (long long)m.v[0], (long long)m.v[1],
	       (long long)m.v[2], m.v[2] ? llabs(m.v[5] - rep.end_ns) / 1000000 : 0,
	       m.v[5] < rep.end_ns ? "before" : "after", (long long)m.v[3], t_errname((int)m.v[4]));
	CHECK_CHILD_OK(a.pid, 10000);
	CHECK_LT(waited, CEILING_MS + SLACK_MS);
	close(fd);
}

static void both_ops(void)
{
	op = BREAK_TRUNCATE;
	one_case();
	op = BREAK_PUNCH;
	one_case();
}

int main(void)
{
	struct nl_stats base;
	int r;

	t_watchdog(170);
	h_need_root();
	r = h_param_set("max_break_timeout_ms", CEILING_MS);
	if (r == -ENOENT) {
		t_info("no max_break_timeout_ms parameter: the first lease asks for %d ms itself", CEILING_MS);
		first_timeout = CEILING_MS;
	} else {
		CHECK_OK(r);
	}
	h_stats(&base);
	h_each_fs(both_ops);
	H_CHECK_STATS(&base);
	t_pass();
}
