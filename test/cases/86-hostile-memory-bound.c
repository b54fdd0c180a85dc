// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, kernel memory (issue 10, "exhaust kernel memory past the
 * per-user limits"): what one user can make the module allocate is bounded
 * by max_leases_per_ctx and max_leases_per_user, each lease costs a bounded
 * amount, and it all comes back.
 *
 * max_leases_per_user is set to 20000 and max_leases_per_ctx to 6000 (for
 * time; put back afterwards).  uid 1000 opens contexts and registers
 * one-page unpinned leases (over untouched anonymous memory) in each until
 * it fails: the first three contexts take exactly 6000 and then fail with
 * -EMFILE, the fourth 2000 and then -EUSERS, a fifth fails at once with
 * -EUSERS (pinned too), and so does a context of another process of uid
 * 1000; uid 1001 meanwhile registers 100 leases.  Root measures, against
 * the state before:
 *  - netlink: exactly 20000 more leases;
 *  - the lease cache (/proc/slabinfo "mrl_lease", or /sys/kernel/slab/
 *    mrl_lease if SLUB merged it with another cache): at least 20000
 *    objects, and objects * object size / 20000 < 2 KiB;
 *  - all slab memory (/proc/meminfo Slab): grew by < 2 KiB per lease.
 * uid 1000 closes everything but one empty context (which keeps its
 * per-user count alive): netlink counters are back (leases, pinned pages,
 * contexts but that one), the lease cache is back within 1/16 of the 20000
 * within 5 s (SLUB counts every object of a per-CPU slab as in use, and a
 * 152-byte lease fills 26 to a page: 5.10 kept 754), and the per-user
 * count is back to 0: with max_leases_per_user 10
 * the user gets exactly 10 leases, then -EUSERS.
 *
 * RLIMIT_MEMLOCK (64 KiB, 16 pages): a pinned register of 64 pages fails
 * -ENOMEM and pins nothing (VmPin 0, the global pinned-page count
 * unchanged, no lease left); 8 pages pin (VmPin 32 kB); 16 more fail with
 * -ENOMEM (VmPin still 32 kB); 8 more reach the limit exactly; 1 more fails.
 * Then SELF_LOOPS times: a pinned lease of all 16 pages, broken by the
 * holder's own mmap(MAP_FIXED) over one page: once that returned, and once
 * its record (SELF, UNPINNED: "pins already dropped") is read, VmPin is 0,
 * and a restore within the limit succeeds (the uapi: a break by the
 * holder's own process "drops the pins at once").  A module that drops
 * them later, from a work item, fails this most of the time (how often
 * depends on when the work runs).
 * No splat in the kernel log.
 */
#include "hostile.h"

#define PER_USER	20000
/* What the lease cache may still count as in use once they are freed. */
#define RETAINED	(PER_USER / 16)
#define PER_CTX		6000
#define MAX_CTX		8
#define BYTES_PER_LEASE	2048
#define MEMLOCK_PAGES	16
#define OTHER_LEASES	100
#define SELF_LOOPS	50

/* ---- the kernel's memory ---------------------------------------------------- */

struct slab {
	long long objs;			/* objects in use */
	long long size;			/* bytes per object, with its metadata */
	char how[256];			/* where it came from */
};

/* The mrl_lease cache: from /proc/slabinfo, else (a merged cache) sysfs. */
static void slab_read(struct slab *s)
{
	char line[512], target[128];
	FILE *f = fopen("/proc/slabinfo", "re");
	ssize_t n;

	memset(s, 0, sizeof(*s));
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			long long active, num, size;

			if (strncmp(line, "mrl_lease ", 10))
				continue;
			if (sscanf(line + 10, "%lld %lld %lld", &active, &num, &size) == 3) {
				s->objs = active;
				s->size = size;
				snprintf(s->how, sizeof(s->how), "/proc/slabinfo mrl_lease");
			}
			break;
		}
		fclose(f);
	}
	if (s->size)
		return;
	/* Merged into another cache: sysfs names the alias. */
	if (t_read_text("/sys/kernel/slab/mrl_lease/objects", line, sizeof(line)))
		t_fail("the mrl_lease cache is neither in /proc/slabinfo nor in /sys/kernel/slab");
	s->objs = strtoll(line, NULL, 10);
	if (t_read_text("/sys/kernel/slab/mrl_lease/slab_size", line, sizeof(line)))
		t_fail("read /sys/kernel/slab/mrl_lease/slab_size");
	s->size = strtoll(line, NULL, 10);
	n = readlink("/sys/kernel/slab/mrl_lease", target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = 0;
	snprintf(s->how, sizeof(s->how), "/sys/kernel/slab/mrl_lease -> %s (merged: other objects count too)",
		 target);
}

/* A /proc/meminfo field in kB. */
static long long meminfo_kb(const char *field)
{
	char line[256];
	long long kb = -1;
	size_t len = strlen(field);
	FILE *f = fopen("/proc/meminfo", "re");

	CHECK(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			kb = strtoll(line + len + 1, NULL, 10);
	fclose(f);
	CHECK_GE(kb, 0);
	return kb;
}

/* ---- uid 1000 ------------------------------------------------------------------- */

/*
 * 'f': the limits are reached (v0 = leases, v1 = contexts, v2 = ms);
 * on 'x' closes them all, 'c' (v0 = ms); on 'r' registers until it fails,
 * 'r' (v0 = leases, err); on 'm' the memlock part, 'm' (v = VmPin kB after
 * each step), and on 'q' unregisters, breaks its own pinned leases
 * SELF_LOOPS times, 'M' (v0 = VmPin kB after the unregister; of the loops:
 * v1 = VmPin > 0 after the munmap returned or after the F_UNPINNED record
 * was read, v2 = restores -ENOMEM, v3 = registers -ENOMEM; v4 = the most
 * VmPin kB seen then).
 */
static void hog(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'f' };
	struct mrlease_register l;
	int ctx[MAX_CTX], nctx = 0, total = 0, r = 0, c, pc, anchor;
	char *a, *p;
	int64_t t0;

	(void)arg;
	/*
	 * The user's count lives as long as one of its contexts: this one, with
	 * no lease, keeps it across the close below, so a count that did not
	 * come back would show.
	 */
	anchor = t_ctx();
	/* Leases need mappings, not pages: nothing of this is ever touched. */
	a = mmap(NULL, PG(PER_USER + 64), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(a != MAP_FAILED);
	t0 = t_now_ns();
	for (c = 0; c < MAX_CTX && r != -EUSERS; c++) {
		int n = 0;

		ctx[nctx++] = t_ctx();
		while (!(r = h_register(ctx[c], a + PG(total), PG(1), 0, 0, NULL))) {
			n++;
			total++;
		}
		t_info("context %d: %d leases, then %s (%d in all)", c, n, t_errname(-r), total);
		if (total < PER_USER) {
			CHECK_EQ(r, -EMFILE);
			CHECK_EQ(n, PER_CTX);
		} else {
			CHECK_EQ(r, -EUSERS);
			CHECK_EQ(n, PER_USER - c * PER_CTX);
		}
	}
	CHECK_EQ(total, PER_USER);
	CHECK_EQ(r, -EUSERS);
	/* A fresh context is over the user's limit from the start, pinned or not. */
	ctx[nctx++] = t_ctx();
	CHECK_ERR(h_register(ctx[nctx - 1], a + PG(total), PG(1), 0, 0, NULL), EUSERS);
	CHECK_ERR(h_register(ctx[nctx - 1], a + PG(total), PG(1), MRLEASE_REG_PIN, 0, NULL), EUSERS);
	/* So is another process of the same user. */
	pc = t_fork();
	if (pc == 0) {
		int c2 = t_ctx();

		CHECK_ERR(h_register(c2, a + PG(total), PG(1), 0, 0, NULL), EUSERS);
		_exit(0);
	}
	CHECK_CHILD_OK(pc, 10000);
	m.v[0] = total;
	m.v[1] = nctx;
	m.v[2] = t_ms_since(t0);
	h_send(out, &m);

	H_EXPECT(in, m, 'x', 60000);
	t0 = t_now_ns();
	for (c = 0; c < nctx; c++)
		close(ctx[c]);
	memset(&m, 0, sizeof(m));
	m.op = 'c';
	m.v[0] = t_ms_since(t0);
	h_send(out, &m);

	H_EXPECT(in, m, 'r', 60000);
	c = t_ctx();
	memset(&m, 0, sizeof(m));
	m.op = 'r';
	while (!(r = h_register(c, a + PG(m.v[0]), PG(1), 0, 0, NULL)) && m.v[0] < 1000)
		m.v[0]++;
	m.err = r;
	close(c);
	munmap(a, PG(PER_USER + 64));
	h_send(out, &m);

	/* ---- RLIMIT_MEMLOCK */
	H_EXPECT(in, m, 'm', 60000);
	p = t_anon(64);
	c = t_ctx();
	memset(&m, 0, sizeof(m));
	m.op = 'm';
	CHECK_ERR(h_register(c, p, PG(64), MRLEASE_REG_PIN, 0, NULL), ENOMEM);
	m.v[0] = proc_vmpin_kb();
	CHECK_OK(h_register(c, p, PG(8), MRLEASE_REG_PIN, 0, &l));
	CHECK_EQ(t_state(c, l.id), MRLEASE_STATE_ARMED);
	m.v[1] = proc_vmpin_kb();
	CHECK_ERR(h_register(c, p + PG(8), PG(16), MRLEASE_REG_PIN, 0, NULL), ENOMEM);
	m.v[2] = proc_vmpin_kb();
	pc = h_register(c, p + PG(8), PG(8), MRLEASE_REG_PIN, 0, NULL);
	m.v[3] = proc_vmpin_kb();
	CHECK_OK(pc);
	CHECK_ERR(h_register(c, p + PG(16), PG(1), MRLEASE_REG_PIN, 0, NULL), ENOMEM);
	m.v[4] = proc_vmpin_kb();
	/* Unpinned leases are not charged. */
	CHECK_OK(h_register(c, p + PG(16), PG(48), 0, 0, NULL));
	m.v[5] = proc_vmpin_kb();
	h_send(out, &m);
	H_EXPECT(in, m, 'q', 60000);
	close(c);
	memset(&m, 0, sizeof(m));
	m.op = 'M';
	m.v[0] = proc_vmpin_kb();

	/*
	 * Pins a break of the holder's own drops are gone, and uncharged, once
	 * its record (MRLEASE_EVENT_F_UNPINNED, "pins already dropped") is read:
	 * a restore within the limit works at once.
	 */
	c = t_ctx();
	for (int i = 0; i < SELF_LOOPS; i++) {
		struct mrlease_event ev;
		long kb;

		r = h_register(c, p, PG(MEMLOCK_PAGES), MRLEASE_REG_PIN, 0, &l);
		if (r) {
			CHECK_EQ(r, -ENOMEM);
			m.v[3]++;
			t_msleep(100);
			continue;
		}
		CHECK(mmap(p, t_pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			   -1, 0) == p);
		kb = proc_vmpin_kb();
		CHECK_EQ(t_event(c, &ev, 2000), 1);
		CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, l,
			    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
		kb = kb > proc_vmpin_kb() ? kb : proc_vmpin_kb();
		if (kb) {
			m.v[1]++;
			m.v[4] = kb > m.v[4] ? kb : m.v[4];
		}
		r = t_restore_once(c, &l);
		if (r) {
			CHECK_EQ(r, -ENOMEM);
			m.v[2]++;
		}
		CHECK_OK(t_unregister(c, l.id));
		/* Whatever lingers goes before the next round. */
		t_msleep(20);
	}
	close(c);
	close(anchor);
	h_send(out, &m);
}

/* uid 1001: 'o' (v0 = leases it registered, err = the first failure). */
static void other(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'o' };
	char *p = t_anon(1);
	int c = t_ctx();

	(void)in;
	(void)arg;
	while (m.v[0] < OTHER_LEASES && !(m.err = h_register(c, p, PG(1), 0, 0, NULL)))
		m.v[0]++;
	close(c);
	h_send(out, &m);
}

int main(void)
{
	struct slab s0, s1, s2;
	struct nl_stats base, s;
	struct h_agent a, o;
	struct h_msg m;
	long long slab0, slab1, slab2;
	int64_t t0;
	int kfd;

	t_watchdog(115);
	h_need_root();
	CHECK_OK(h_param_set("max_leases_per_user", PER_USER));
	CHECK_OK(h_param_set("max_leases_per_ctx", PER_CTX));
	h_stats(&base);
	kfd = kmsg_open();
	slab_read(&s0);
	slab0 = meminfo_kb("Slab");
	t_info("before: %s: %lld objects of %lld bytes; Slab %lld kB", s0.how, s0.objs, s0.size, slab0);

	h_agent_start(&a, "mrl-hostile", H_UID, MEMLOCK_PAGES * 4 * KiB, hog, NULL);
	H_EXPECT(a.from, m, 'f', 100000);
	t_info("uid %d: %lld leases in %lld contexts in %lld ms", H_UID, (long long)m.v[0], (long long)m.v[1],
	       (long long)m.v[2]);
	h_stats(&s);
	slab_read(&s1);
	slab1 = meminfo_kb("Slab");
	t_info("full: %s: %lld objects (+%lld); Slab %lld kB (+%lld kB); %llu leases, %llu contexts", s1.how,
	       s1.objs, s1.objs - s0.objs, slab1, slab1 - slab0, (unsigned long long)s.leases,
	       (unsigned long long)s.contexts);
	CHECK_EQ(s.leases - base.leases, PER_USER);
	CHECK_EQ(s.pinned_pages, base.pinned_pages);
	/* SLUB counts free objects of a CPU's slab as in use: compare the total. */
	CHECK_GE(s1.objs, PER_USER);
	t_info("per lease: %lld bytes in the lease cache, %lld bytes of all slab memory",
	       s1.objs * s1.size / PER_USER, (slab1 - slab0) * 1024 / PER_USER);
	CHECK_LT(s1.objs * s1.size, (long long)PER_USER * BYTES_PER_LEASE);
	CHECK_LT((slab1 - slab0) * 1024, (long long)PER_USER * BYTES_PER_LEASE);

	/* The limit is uid 1000's, not everybody's. */
	h_agent_start(&o, "mrl-other", H_UID2, 64 * KiB, other, NULL);
	H_EXPECT(o.from, m, 'o', 30000);
	t_info("uid %d meanwhile: %lld leases (%s)", H_UID2, (long long)m.v[0], t_errname(-m.err));
	CHECK_EQ(m.err, 0);
	CHECK_EQ(m.v[0], OTHER_LEASES);
	CHECK_CHILD_OK(o.pid, 10000);

	h_say(a.to, 'x', 0);
	H_EXPECT(a.from, m, 'c', 100000);
	t_info("closing them took %lld ms", (long long)m.v[0]);
	base.contexts++;		/* the anchor */
	H_CHECK_STATS(&base);
	/* Leases are freed after an RCU grace period. */
	t0 = t_now_ns();
	do {
		t_msleep(100);
		slab_read(&s2);
	} while (s2.objs > s0.objs + RETAINED && t_ms_since(t0) < 5000);
	slab2 = meminfo_kb("Slab");
	t_info("closed: %lld objects (%+lld against before); Slab %lld kB (%+lld kB)", s2.objs,
	       s2.objs - s0.objs, slab2, slab2 - slab0);
	/* KASAN's quarantine keeps freed leases counted for a while. */
	if (!h_debug_kernel())
		CHECK_LE(s2.objs, s0.objs + RETAINED);

	/* The user's count is 0 again: a limit of 10 gives exactly 10. */
	CHECK_OK(t_param_set("max_leases_per_user", 10));
	h_say(a.to, 'r', 0);
	H_EXPECT(a.from, m, 'r', 30000);
	t_info("with max_leases_per_user 10: %lld leases, then %s", (long long)m.v[0], t_errname(-m.err));
	CHECK_EQ(m.v[0], 10);
	CHECK_EQ(m.err, -EUSERS);
	CHECK_OK(t_param_set("max_leases_per_user", PER_USER));

	h_stats(&base);
	h_say(a.to, 'm', 0);
	H_EXPECT(a.from, m, 'm', 30000);
	t_info("VmPin kB: %lld after 64 pages refused, %lld after 8 pinned, %lld after 16 more refused, "
	       "%lld after 8 more, %lld after 1 more refused, %lld after 48 unpinned",
	       (long long)m.v[0], (long long)m.v[1], (long long)m.v[2], (long long)m.v[3], (long long)m.v[4],
	       (long long)m.v[5]);
	CHECK_EQ(m.v[0], 0);
	CHECK_EQ(m.v[1], 8 * t_pg / KiB);
	CHECK_EQ(m.v[2], 8 * t_pg / KiB);
	CHECK_EQ(m.v[3], MEMLOCK_PAGES * t_pg / KiB);
	CHECK_EQ(m.v[4], MEMLOCK_PAGES * t_pg / KiB);
	CHECK_EQ(m.v[5], MEMLOCK_PAGES * t_pg / KiB);
	h_stats(&s);
	CHECK_EQ(s.leases, base.leases + 3);
	CHECK_EQ(s.pinned_pages, base.pinned_pages + MEMLOCK_PAGES);
	h_say(a.to, 'q', 0);
	H_EXPECT(a.from, m, 'M', 30000);
	CHECK_EQ(m.v[0], 0);
	t_info("own munmap of a pinned lease, %d times: VmPin still charged after it or after its F_UNPINNED "
	       "record %lld times (up to %lld kB), restore then ENOMEM %lld times, next register ENOMEM "
	       "%lld times",
	       SELF_LOOPS, (long long)m.v[1], (long long)m.v[4], (long long)m.v[2], (long long)m.v[3]);
	CHECK_EQ(m.v[1], 0);
	CHECK_EQ(m.v[2], 0);
	CHECK_EQ(m.v[3], 0);
	CHECK_CHILD_OK(a.pid, 10000);
	base.contexts--;		/* the anchor is closed too */
	H_CHECK_STATS(&base);
	H_CHECK_NO_SPLAT(kfd, "while one user filled its limits");
	t_pass();
}
