// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, another user's leases (issue 10, "see or touch another
 * user's leases"): a lease id names one lease across all contexts, so every
 * path that takes an id must check whose it is.
 *
 * uid 1000 (the victim) registers four leases in its context: L0 unpinned,
 * L1 pinned, L2 pinned with WAIT_SELF, L3 unpinned and then broken by its
 * own madvise(MADV_DONTNEED), so that one record is queued.
 *
 * uid 1001 (the attacker), in a context of its own with one lease of its
 * own (LB):
 *  - MRLEASE_IOC_QUERY, ACK (with the right generation), UNREGISTER and
 *    RESTORE on every id from the lowest of uid 1000's ids - 16 to the
 *    highest + 16 (LB left out), on each of them + 2^32 (an id truncated to
 *    32 bits would name the victim's lease), on 0 and on ~0: -ENOENT each;
 *  - netlink (generic netlink, as uid 1001): LEASE_GET of each victim id
 *    -ENOENT, of LB succeeds with OWNER_UID 1001; a dump shows LB and only
 *    leases of uid 1001; LEASE_REVOKE of a victim id (and of LB) -EPERM;
 *    CONFIG_SET -EPERM; joining the "monitor" group -EPERM;
 *  - uid 1000 passes its context fd over SCM_RIGHTS: from uid 1001's
 *    process (another mm) register and restore fail with -EPERM, as the
 *    uapi says ("Only tasks sharing that mm may register or restore
 *    leases; others get -EPERM"); what is not bound to the mm works, the
 *    fd being a capability: read() returns L3's record (reason CLEAR,
 *    flag SELF, breaker = the victim's pid), MRLEASE_IOC_QUERY of L0 says
 *    ARMED, and the status page maps and says one lease is broken.
 * Root sees all four victim ids in its own dump (so the ids were right).
 * Afterwards uid 1000's leases are untouched: L0-L2 ARMED with the same
 * generation and pinned pages, L3 BROKEN with the same generation (no
 * restore went through); then uid 1000 restores L3 itself (generation + 1).
 * At the end no context, lease or pinned page is left, VmPin is 0 and the
 * kernel log has no splat.
 */
#include "hostile.h"

#define NL	4		/* the victim's leases */
#define SWEEP	16		/* ids tried on either side of them */

/* The victim's leases: ids, generations, pinned pages, from its 'l' message. */
struct victim {
	pid_t pid;
	uint64_t id[NL];
	uint64_t gen[NL];
};

static int sv[2];		/* the socketpair the context fd travels on */

/* Pack the victim's ids and generations into v[0..7] (NL == 4). */
static void victim_to_msg(const struct victim *vi, struct h_msg *m)
{
	for (int i = 0; i < NL; i++) {
		m->v[i] = (int64_t)vi->id[i];
		m->v[NL + i] = (int64_t)vi->gen[i];
	}
}

static void victim_from_msg(struct victim *vi, const struct h_msg *m)
{
	for (int i = 0; i < NL; i++) {
		vi->id[i] = (uint64_t)m->v[i];
		vi->gen[i] = (uint64_t)m->v[NL + i];
	}
}

/*
 * uid 1000.  'l': leases registered (ids, generations); then the context fd
 * goes to the socketpair.  On 'c': checks its leases are untouched, restores
 * L3, closes; 'd': v0 = VmPin kB after the close.
 */
static void victim(int in, int out, void *arg)
{
	static const uint32_t flags[NL] = {
		0, MRLEASE_REG_PIN, MRLEASE_REG_PIN | MRLEASE_REG_WAIT_SELF, 0,
	};
	struct mrlease_register l[NL];
	struct mrlease_query q[NL], q2;
	struct victim vi;
	struct h_msg m = { .op = 'l' };
	char *a = t_anon(8);
	int ctx = t_ctx();

	(void)arg;
	close(sv[1]);
	for (int i = 0; i < NL; i++) {
		CHECK_OK(t_register(ctx, a + PG(2 * i), PG(2), 0x1000 + i, flags[i], 0, &l[i]));
		vi.id[i] = l[i].id;
		vi.gen[i] = l[i].generation;
	}
	/* Break L3 with the victim's own clear: its record stays queued. */
	CHECK_SYS(madvise(a + PG(6), PG(1), MADV_DONTNEED));
	for (int i = 0; i < NL; i++) {
		CHECK_OK(t_query(ctx, l[i].id, &q[i]));
		CHECK_EQ(q[i].state, i == 3 ? MRLEASE_STATE_BROKEN : MRLEASE_STATE_ARMED);
		CHECK_EQ(q[i].pinned_pages, flags[i] & MRLEASE_REG_PIN ? 2 : 0);
	}
	victim_to_msg(&vi, &m);
	h_send(out, &m);
	h_send_fd(sv[0], ctx);
	close(sv[0]);

	H_EXPECT(in, m, 'c', 60000);
	for (int i = 0; i < NL; i++) {
		CHECK_OK(t_query(ctx, l[i].id, &q2));
		if (q2.state != q[i].state || q2.generation != q[i].generation ||
		    q2.pinned_pages != q[i].pinned_pages || q2.breaks != q[i].breaks) {
			h_print_query("before", &q[i]);
			h_print_query("after", &q2);
			t_fail("uid %d's lease L%d (id %llu) changed: generation %llu -> %llu, breaks %u -> %u",
			       H_UID, i, (unsigned long long)l[i].id, (unsigned long long)q[i].generation,
			       (unsigned long long)q2.generation, q[i].breaks, q2.breaks);
		}
	}
	t_info("uid %d: L0-L2 ARMED, L3 BROKEN, generations and pins as before", H_UID);
	/* The attacker read L3's record: none is left here. */
	CHECK_NO_EVENT(ctx, 200);
	CHECK_OK(t_restore(ctx, &l[3]));
	CHECK_EQ(l[3].generation, vi.gen[3] + 1);
	CHECK_EQ(t_state(ctx, l[3].id), MRLEASE_STATE_ARMED);
	close(ctx);
	memset(&m, 0, sizeof(m));
	m.op = 'd';
	m.v[0] = proc_vmpin_kb();
	h_send(out, &m);
}

/* ---- uid 1001 ------------------------------------------------------------------ */

struct seen {
	int n;
	uint64_t id[256];
	uint32_t uid[256];
};

static void seen_cb(void *arg, const struct nlmsghdr *h, const void *attrs, size_t len)
{
	struct seen *s = arg;
	const struct nlattr *id = nl_attr(attrs, len, MRLEASE_A_LEASE_ID);
	const struct nlattr *uid = nl_attr(attrs, len, MRLEASE_A_OWNER_UID);

	(void)h;
	if (s->n < (int)(sizeof(s->id) / sizeof(s->id[0]))) {
		s->id[s->n] = id ? nl_u64(id) : 0;
		s->uid[s->n] = uid ? (uint32_t)nl_u64(uid) : ~0u;
	}
	s->n++;
}

/* MRLEASE_CMD_CONFIG_SET with max_leases_per_user = 1: 0 or -errno. */
static int nl_config_set_limit(struct nl *nl)
{
	char buf[256];
	uint32_t one = 1;
	size_t len = nl_start(nl, buf, nl->family, NLM_F_REQUEST | NLM_F_ACK, MRLEASE_CMD_CONFIG_SET,
			      MRLEASE_GENL_VERSION);
	int r;

	nl_put(buf, &len, MRLEASE_A_CFG_MAX_LEASES_PER_USER, &one, sizeof(one));
	r = nl_send(nl, buf, len);
	return r ? r : nl_recv(nl, nl->seq, NULL, NULL, NULL);
}

/* Every lease ioctl that takes an id, on @id of somebody else: -ENOENT each. */
static void no_such_lease(int ctx, uint64_t id, uint64_t gen)
{
	struct mrlease_restore res = { .id = id };
	struct mrlease_query q;

	if (t_query(ctx, id, &q) != -ENOENT || t_ack(ctx, id, gen) != -ENOENT ||
	    t_ack(ctx, id, 1) != -ENOENT || t_unregister(ctx, id) != -ENOENT ||
	    t_ioctl(ctx, MRLEASE_IOC_RESTORE, &res) != -ENOENT) {
		CHECK_ERR(t_query(ctx, id, &q), ENOENT);
		CHECK_ERR(t_ack(ctx, id, gen), ENOENT);
		CHECK_ERR(t_ack(ctx, id, 1), ENOENT);
		CHECK_ERR(t_unregister(ctx, id), ENOENT);
		CHECK_ERR(t_ioctl(ctx, MRLEASE_IOC_RESTORE, &res), ENOENT);
		t_fail("id %llu: some ioctl did not fail with ENOENT, then did", (unsigned long long)id);
	}
}

/*
 * uid 1001.  Gets the victim's ids in an 'i' message (v0-7) and its pid in
 * a 'p' message; does everything described at the top; 'd': v0 = ids tried,
 * v1 = VmPin kB at the end.
 */
static void attacker(int in, int out, void *arg)
{
	struct mrlease_register own;
	struct mrlease_register other = { 0 };
	struct mrlease_event ev;
	struct mrlease_query q;
	const volatile struct mrlease_status *st;
	struct victim vi;
	struct h_msg m;
	struct seen s;
	struct nl nl;
	uint64_t lo = UINT64_MAX, hi = 0;
	unsigned int grp;
	long tried = 0;
	char *a = t_anon(4);
	int ctx = t_ctx(), pfd, r;

	(void)arg;
	close(sv[0]);
	H_EXPECT(in, m, 'i', 60000);
	victim_from_msg(&vi, &m);
	H_EXPECT(in, m, 'p', 60000);
	vi.pid = (pid_t)m.v[0];
	CHECK_OK(t_register(ctx, a, PG(1), 0xbad, 0, 0, &own));
	for (int i = 0; i < NL; i++) {
		lo = vi.id[i] < lo ? vi.id[i] : lo;
		hi = vi.id[i] > hi ? vi.id[i] : hi;
	}
	t_info("uid %d: victim ids %llu..%llu, own lease %llu", H_UID2, (unsigned long long)lo,
	       (unsigned long long)hi, (unsigned long long)own.id);

	/* ---- ioctls on ids of the victim, from the attacker's own context */
	for (int i = 0; i < NL; i++) {
		no_such_lease(ctx, vi.id[i], vi.gen[i]);
		no_such_lease(ctx, vi.id[i] | 1ull << 32, vi.gen[i]);
		tried += 2;
	}
	/*
	 * An id is a registry slot (low 24 bits) and a tag: the slots next to
	 * each victim lease's under its tag, and its slot under the next tags.
	 */
	for (int i = 0; i < NL; i++) {
		for (int d = -SWEEP; d <= SWEEP; d++) {
			uint64_t id = vi.id[i] + (int64_t)d;

			if (d && id != own.id) {
				no_such_lease(ctx, id, 1);
				tried++;
			}
		}
		for (uint64_t t = 1; t <= SWEEP; t++) {
			no_such_lease(ctx, vi.id[i] + (t << 24), vi.gen[i]);
			tried++;
		}
	}
	no_such_lease(ctx, 0, 0);
	no_such_lease(ctx, UINT64_MAX, 1);
	tried += 2;
	/* Its own lease answers, so the ENOENTs are not an accident of this context. */
	CHECK_EQ(t_state(ctx, own.id), MRLEASE_STATE_ARMED);
	t_info("uid %d: query/ack/unregister/restore of %ld ids not its own: ENOENT each", H_UID2, tried);

	/* ---- netlink */
	r = nl_open(&nl, 10000);
	if (r)
		t_fail("resolving the %s genl family as uid %d: %s", MRLEASE_GENL_NAME, H_UID2, t_errname(-r));
	for (int i = 0; i < NL; i++) {
		memset(&s, 0, sizeof(s));
		r = nl_request(&nl, MRLEASE_CMD_LEASE_GET, 0, vi.id[i], seen_cb, &s, NULL);
		if (r != -ENOENT || s.n)
			t_fail("LEASE_GET of uid %d's lease %llu as uid %d: %s, %d replies (expected ENOENT)",
			       H_UID, (unsigned long long)vi.id[i], H_UID2, r ? t_errname(-r) : "success", s.n);
		CHECK_EQ(nl_request(&nl, MRLEASE_CMD_LEASE_REVOKE, 0, vi.id[i], NULL, NULL, NULL), -EPERM);
	}
	memset(&s, 0, sizeof(s));
	CHECK_OK(nl_request(&nl, MRLEASE_CMD_LEASE_GET, 0, own.id, seen_cb, &s, NULL));
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.id[0], own.id);
	CHECK_EQ(s.uid[0], H_UID2);
	CHECK_EQ(nl_request(&nl, MRLEASE_CMD_LEASE_REVOKE, 0, own.id, NULL, NULL, NULL), -EPERM);
	memset(&s, 0, sizeof(s));
	CHECK_OK(nl_request(&nl, MRLEASE_CMD_LEASE_GET, NLM_F_DUMP, 0, seen_cb, &s, NULL));
	t_info("uid %d's dump: %d lease(s)", H_UID2, s.n);
	CHECK_LE(s.n, (int)(sizeof(s.id) / sizeof(s.id[0])));
	for (int j = 0; j < s.n; j++) {
		for (int i = 0; i < NL; i++)
			if (s.id[j] == vi.id[i])
				t_fail("uid %d's dump shows uid %d's lease %llu", H_UID2, H_UID,
				       (unsigned long long)vi.id[i]);
		if (s.uid[j] != H_UID2)
			t_fail("uid %d's dump shows lease %llu of uid %u", H_UID2, (unsigned long long)s.id[j],
			       s.uid[j]);
	}
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.id[0], own.id);
	CHECK_EQ(nl_config_set_limit(&nl), -EPERM);
	grp = nl.monitor_grp;
	CHECK(grp != 0);
	CHECK_SYSERR(setsockopt(nl.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)), EPERM);
	nl_close(&nl);
	CHECK_SYSERR(open(T_SYSMOD "/parameters/max_leases_per_user", O_WRONLY | O_CLOEXEC), EACCES);
	t_info("uid %d: netlink GET ENOENT, dump shows only its own lease, REVOKE/CONFIG_SET/monitor EPERM",
	       H_UID2);

	/* ---- the victim's context fd, in this (foreign) mm */
	pfd = h_recv_fd(sv[1]);
	close(sv[1]);
	CHECK_ERR(h_register(pfd, a + PG(1), PG(1), 0, 0, NULL), EPERM);
	CHECK_ERR(h_register(pfd, a + PG(1), PG(1), MRLEASE_REG_PIN, 0, NULL), EPERM);
	for (int i = 0; i < NL; i++) {
		other.id = vi.id[i];
		CHECK_ERR(t_restore_once(pfd, &other), EPERM);
	}
	/* Not bound to the mm: reading, querying, the status page. */
	st = t_status(pfd);
	CHECK_EQ(st->broken, 1);
	CHECK_OK(t_query(pfd, vi.id[0], &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.generation, vi.gen[0]);
	GET_EVENT(pfd, ev, 2000);
	CHECK_EQ(ev.type, MRLEASE_EVENT_DECOHERENCE);
	CHECK_EQ(ev.reason, MRLEASE_REASON_CLEAR);
	CHECK_EQ(ev.id, vi.id[3]);
	CHECK_EQ(ev.cookie, 0x1003);
	CHECK_EQ(ev.generation, vi.gen[3]);
	CHECK_EQ(ev.flags & MRLEASE_EVENT_F_SELF, MRLEASE_EVENT_F_SELF);
	CHECK_EQ(ev.breaker_pid, vi.pid);
	CHECK_NO_EVENT(pfd, 100);
	CHECK_EQ(st->pending, 0);
	/* Its own context still knows nothing of the victim's ids. */
	no_such_lease(ctx, vi.id[3], vi.gen[3]);
	munmap((void *)st, t_pg);
	close(pfd);
	t_info("uid %d with uid %d's context fd: register/restore EPERM; read, query, status page work",
	       H_UID2, H_UID);
	close(ctx);

	memset(&m, 0, sizeof(m));
	m.op = 'd';
	m.v[0] = tried;
	m.v[1] = proc_vmpin_kb();
	h_send(out, &m);
}

/* Root's dump: how many of the victim's ids it shows. */
static int root_sees(const struct victim *vi)
{
	static struct nl nl;
	struct seen s = { 0 };
	int found = 0, r;

	r = nl_open(&nl, 10000);
	if (r)
		t_fail("resolving the %s genl family: %s", MRLEASE_GENL_NAME, t_errname(-r));
	for (int i = 0; i < NL; i++) {
		memset(&s, 0, sizeof(s));
		CHECK_OK(nl_request(&nl, MRLEASE_CMD_LEASE_GET, 0, vi->id[i], seen_cb, &s, NULL));
		CHECK_EQ(s.n, 1);
		CHECK_EQ(s.uid[0], H_UID);
		found++;
	}
	nl_close(&nl);
	return found;
}

int main(void)
{
	struct h_agent v, at;
	struct nl_stats base;
	struct victim vi;
	struct h_msg m;
	long long limit;
	int kfd;

	t_watchdog(110);
	h_need_root();
	h_stats(&base);
	kfd = kmsg_open();
	limit = t_param_get("max_leases_per_user");
	CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	h_agent_start(&v, "mrl-victim", H_UID, 1 * MiB, victim, NULL);
	h_agent_start(&at, "mrl-hostile", H_UID2, 1 * MiB, attacker, NULL);
	close(sv[0]);
	close(sv[1]);

	H_EXPECT(v.from, m, 'l', 30000);
	victim_from_msg(&vi, &m);
	vi.pid = v.pid;
	CHECK_EQ(root_sees(&vi), NL);
	t_info("root sees uid %d's leases %llu %llu %llu %llu", H_UID, (unsigned long long)vi.id[0],
	       (unsigned long long)vi.id[1], (unsigned long long)vi.id[2], (unsigned long long)vi.id[3]);
	m.op = 'i';
	h_send(at.to, &m);
	h_say(at.to, 'p', v.pid);
	H_EXPECT(at.from, m, 'd', 90000);
	t_info("attacker: %lld ids tried, VmPin %lld kB", (long long)m.v[0], (long long)m.v[1]);
	CHECK_EQ(m.v[1], 0);
	CHECK_CHILD_OK(at.pid, 10000);
	/* Its CONFIG_SET changed nothing. */
	CHECK_EQ(t_param_get("max_leases_per_user"), limit);

	h_say(v.to, 'c', 0);
	H_EXPECT(v.from, m, 'd', 30000);
	t_info("victim: VmPin %lld kB after its close", (long long)m.v[0]);
	CHECK_EQ(m.v[0], 0);
	CHECK_CHILD_OK(v.pid, 10000);
	H_CHECK_STATS(&base);
	H_CHECK_NO_SPLAT(kfd, "while another user went after the leases");
	t_pass();
}
