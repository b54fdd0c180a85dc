// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, the administrator's ceiling on break timeouts (issue 10,
 * "who may make whom wait"): a holder without CAP_SYS_ADMIN cannot make a
 * foreign truncate wait longer than max_break_timeout_ms, whatever
 * timeout_ms it asked for.
 *
 * max_break_timeout_ms is set to 1500.  On ext4 and xfs -o dax: uid 1000
 * owns a file, maps it and registers a pinned lease with timeout_ms 3600000;
 * query reports the effective timeout_ms, 1500.  Root truncates the file (a
 * child) and the holder never acks: the truncate returns after the ceiling
 * (> 1 s and < 1.5 s + 4 s; hard cap 15 s), and the holder gets a REVOKED
 * record with reason TIMEOUT (its DECOHERENCE record first, if it read that
 * in time).  A lease registered by root is not capped: query says the
 * timeout_ms it asked for.
 */
#include "hostile.h"

#define FILE_PAGES	8
#define CEILING_MS	1500
#define SLACK_MS	4000
#define CAP_MS		15000

static char path[300];

/*
 * 'a': armed (q); then 'e' for every record that comes within 20 s (ev),
 * ending with the first REVOKED one, then 'q' with the query after it.
 */
static void holder(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'a' };
	struct mrlease_register l;
	char *map;
	int ctx;

	(void)arg;
	map = h_map_file(path, FILE_PAGES);
	ctx = t_ctx();
	CHECK_OK(t_register(ctx, map, PG(FILE_PAGES), 4, MRLEASE_REG_PIN, H_HOUR_MS, &l));
	CHECK_OK(t_query(ctx, l.id, &m.q));
	h_send(out, &m);
	for (;;) {
		int r;

		memset(&m, 0, sizeof(m));
		r = t_event(ctx, &m.ev, 20000 + CAP_MS);
		m.op = 'e';
		m.err = r < 0 ? r : 0;
		m.v[0] = r;
		h_send(out, &m);
		if (r != 1 || m.ev.type == MRLEASE_EVENT_REVOKED)
			break;
	}
	memset(&m, 0, sizeof(m));
	m.op = 'q';
	m.err = t_query(ctx, l.id, &m.q);
	h_send(out, &m);
	h_recv(in, &m, 60000);
}

static void one_fs(void)
{
	struct breaker_report rep;
	struct breaker b;
	struct h_agent a;
	struct h_msg m, armed;
	int64_t waited;
	bool revoked = false;
	int fd;

	fd = h_dax_file(FILE_PAGES, H_UID, 0644, path, sizeof(path));
	breaker_start(&b, fd, BREAK_TRUNCATE, 0, 0);
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, holder, NULL);
	H_EXPECT(a.from, armed, 'a', 20000);
	h_print_query("uid 1000's lease, asked for 3600000 ms", &armed.q);
	CHECK_EQ(armed.q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(armed.q.pinned_pages, FILE_PAGES);

	breaker_go(&b);
	if (!breaker_returned(&b, CAP_MS, &rep))
		t_fail("root's truncate is still blocked after %d ms (ceiling %d ms, the lease says "
		       "timeout_ms %u)", CAP_MS, CEILING_MS, armed.q.timeout_ms);
	waited = (rep.end_ns - rep.start_ns) / 1000000;
	t_info("root's truncate returned after %lld ms", (long long)waited);
	CHECK_EQ(rep.err, 0);
	CHECK_CHILD_OK(b.pid, 5000);
	CHECK_LT(waited, CEILING_MS + SLACK_MS);
	CHECK_GE(waited, 1000);
	CHECK_EQ(armed.q.timeout_ms, CEILING_MS);

	while (!revoked) {
		H_EXPECT(a.from, m, 'e', 40000);
		if (m.v[0] != 1)
			t_fail("the holder got no REVOKED record: %s", t_errname(-m.err));
		t_print_event(&m.ev);
		if (m.ev.type == MRLEASE_EVENT_REVOKED) {
			CHECK_EQ(m.ev.reason, MRLEASE_REASON_TIMEOUT);
			revoked = true;
		} else {
			CHECK_EQ(m.ev.type, MRLEASE_EVENT_DECOHERENCE);
		}
	}
	H_EXPECT(a.from, m, 'q', 10000);
	CHECK_OK(m.err);
	h_print_query("after the revoke", &m.q);
	CHECK_EQ(m.q.state, MRLEASE_STATE_REVOKED);
	CHECK_EQ(m.q.pinned_pages, 0);
	h_say(a.to, 'x', 0);
	CHECK_CHILD_OK(a.pid, 10000);
	close(fd);
}

int main(void)
{
	struct mrlease_register l;
	struct mrlease_query q;
	struct nl_stats base;
	char *anon;
	int ctx, r;

	t_watchdog(110);
	h_need_root();
	r = h_param_set("max_break_timeout_ms", CEILING_MS);
	if (r == -ENOENT)
		t_info("no max_break_timeout_ms parameter: this module has no ceiling");
	else
		CHECK_OK(r);
	h_stats(&base);
	h_each_fs(one_fs);

	/* Root (CAP_SYS_ADMIN) is not capped. */
	anon = t_anon(1);
	ctx = t_ctx();
	CHECK_OK(t_register(ctx, anon, t_pg, 5, MRLEASE_REG_PIN, H_HOUR_MS, &l));
	CHECK_OK(t_query(ctx, l.id, &q));
	h_print_query("root's lease, asked for 3600000 ms", &q);
	CHECK_EQ(q.timeout_ms, H_HOUR_MS);
	close(ctx);
	H_CHECK_STATS(&base);
	t_pass();
}
