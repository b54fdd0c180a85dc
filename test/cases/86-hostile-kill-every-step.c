// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, SIGKILL at every step (issue 10, "SIGKILL at every step"):
 * a holder killed anywhere in register, break, ack, restore, query or
 * unregister of a big pinned lease is reaped at once and leaves nothing
 * behind: no lease, no pinned page, no VmPin.
 *
 * KILLS times: a child of uid 1000 (no capabilities; RLIMIT_MEMLOCK
 * unlimited, so that how soon dropped pins are uncharged, which
 * 86-hostile-memory-bound checks, plays no part here) maps and writes
 * 64 MiB of anonymous memory (every other child with MADV_NOHUGEPAGE, so
 * that 16384 small pages are pinned instead of 32 huge ones) and loops:
 * register it pinned (with MRLEASE_REG_WAIT_SELF every other time, so that
 * its own break keeps the pins), break it (MAP_FIXED over its first page),
 * ack the break, restore (re-pins 64 MiB), query (ARMED, all pinned),
 * unregister; every call must succeed.  The test SIGKILLs it, half the
 * times after a random delay within one loop's duration (measured on the
 * first child of each kind), the other half as soon as it enters the next
 * step of a round: the two pins take most of a loop, so random kills alone
 * can all land in them (on the debug kernel, with 10 kills, they once all
 * hit restore).  It asserts:
 *  - it is reaped within REAP_MS (2 s) and died of the SIGKILL (a failed
 *    call would have made it exit 1 first);
 *  - within REAP_MS more the global counters are back (leases, pinned
 *    pages, contexts).
 * At the end: the counters as before, a root dump shows no lease of uid
 * 1000, no process on the system has a nonzero VmPin, and the kernel log
 * has no splat.  The steps the kills landed in are printed; at least two
 * different steps must have been hit.
 */
#include "hostile.h"

#include <dirent.h>
#include <stdatomic.h>

#define KILLS		50
#define SIZE		(64 * MiB)
#define REAP_MS		2000

enum step { S_MAP, S_REGISTER, S_BREAK, S_ACK, S_RESTORE, S_QUERY, S_UNREGISTER, NSTEPS };

static const char *const step_name[NSTEPS] = {
	"map", "register", "break", "ack", "restore", "query", "unregister",
};

struct shared {
	atomic_int child;		/* which child (its index + 1) is ready */
	atomic_int step;		/* what it is doing */
	atomic_long loops;		/* whole loops done */
	atomic_long loop_us;		/* the last loop's duration */
};

static struct shared *sh;

static void child_loop(int idx)
{
	struct mrlease_register l;
	struct mrlease_query q;
	char *a;
	int ctx;

	atomic_store(&sh->step, S_MAP);
	a = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	/* Every other child pins 16384 small pages instead of 32 huge ones. */
	if (idx & 1)
		madvise(a, SIZE, MADV_NOHUGEPAGE);
	memset(a, 1, SIZE);
	ctx = t_ctx();
	atomic_store(&sh->child, idx + 1);
	for (long i = 0;; i++) {
		int64_t t0 = t_now_ns();

		atomic_store(&sh->step, S_REGISTER);
		CHECK_OK(t_register(ctx, a, SIZE, (uint64_t)i,
				      MRLEASE_REG_PIN | (i & 1 ? MRLEASE_REG_WAIT_SELF : 0), 0, &l));
		atomic_store(&sh->step, S_BREAK);
		CHECK(mmap(a, t_pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			   -1, 0) == a);
		atomic_store(&sh->step, S_ACK);
		CHECK_OK(t_ack(ctx, l.id, l.generation));
		atomic_store(&sh->step, S_RESTORE);
		CHECK_OK(t_restore(ctx, &l));
		atomic_store(&sh->step, S_QUERY);
		CHECK_OK(t_query(ctx, l.id, &q));
		CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
		CHECK_EQ(q.pinned_pages, SIZE / t_pg);
		atomic_store(&sh->step, S_UNREGISTER);
		CHECK_OK(t_unregister(ctx, l.id));
		atomic_store(&sh->loop_us, (t_now_ns() - t0) / 1000);
		atomic_fetch_add(&sh->loops, 1);
	}
}

/*
 * Wait until the child enters @step (it may last microseconds: look without
 * sleeping), for at most a second; the kill then lands wherever it is.
 */
static void aim_at_step(int step)
{
	int64_t t0 = t_now_ns();

	while (atomic_load(&sh->step) == step && t_ms_since(t0) < 1000)
		;
	while (atomic_load(&sh->step) != step && t_ms_since(t0) < 1000)
		;
}

/* Leases of uid 1000 and their pinned pages, in root's dump. */
struct uid_count {
	uint64_t leases, pinned;
};

static void uid_cb(void *arg, const struct nlmsghdr *h, const void *attrs, size_t len)
{
	struct uid_count *c = arg;

	(void)h;
	if (nl_u64(nl_attr(attrs, len, MRLEASE_A_OWNER_UID)) != H_UID)
		return;
	c->leases++;
	c->pinned += nl_u64(nl_attr(attrs, len, MRLEASE_A_PINNED_PAGES));
}

/* Processes with a nonzero VmPin: printed, counted. */
static int vmpin_holders(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int found = 0;

	CHECK(d);
	while ((de = readdir(d))) {
		char path[300], line[256], comm[64] = "?";
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			long kb;

			if (!strncmp(line, "Name:", 5))
				sscanf(line + 5, "%63s", comm);
			if (sscanf(line, "VmPin: %ld", &kb) == 1 && kb) {
				t_info("pid %s (%s): VmPin %ld kB", de->d_name, comm, kb);
				found++;
			}
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

static bool stats_back(const struct nl_stats *base)
{
	struct nl_stats s;

	h_stats(&s);
	return s.leases == base->leases && s.pinned_pages == base->pinned_pages &&
	       s.contexts == base->contexts;
}

int main(void)
{
	int hits[NSTEPS] = { 0 }, distinct = 0, aimed = 0, kfd, r;
	int64_t reap_max = 0, clean_max = 0, cycle_us[2] = { 0 };
	unsigned int seed = (unsigned int)getpid();
	struct uid_count c = { 0 };
	struct nl_stats base;
	struct nl nl;

	/* KASAN makes each loop several times slower: fewer kills there. */
	int kills = h_debug_kernel() ? KILLS / 5 : KILLS;

	t_watchdog(115);
	h_need_root();
	sh = h_shared(sizeof(*sh));
	h_stats(&base);
	kfd = kmsg_open();
	CHECK_EQ(vmpin_holders(), 0);

	for (int k = 0; k < kills; k++) {
		int64_t t0, delay_us, reap, clean;
		pid_t pid;
		int st, at;

		atomic_store(&sh->loops, 0);
		pid = t_fork();
		if (pid == 0) {
			prctl(PR_SET_NAME, "mrl-victim");
			h_become(H_UID, RLIM_INFINITY);
			child_loop(k);
			_exit(0);
		}
		t0 = t_now_ns();
		while (atomic_load(&sh->child) != k + 1) {
			if (t_ms_since(t0) > 30000)
				t_fail("child %d did not map its memory within 30 s", k);
			if (waitpid(pid, &st, WNOHANG) == pid)
				t_fail("child %d ended before it was killed (status %#x)", k, st);
			usleep(500);
		}
		if (k < 2) {
			/* Measure one loop of each kind, to aim the kills at its steps. */
			while (atomic_load(&sh->loops) < 1) {
				if (t_ms_since(t0) > 30000)
					t_fail("child %d did no whole loop within 30 s", k);
				if (waitpid(pid, &st, WNOHANG) == pid)
					t_fail("child %d ended (status %#x)", k, st);
				usleep(500);
			}
			cycle_us[k] = atomic_load(&sh->loop_us);
			t_info("one loop (register, break, ack, restore, query, unregister of %llu MiB, "
			       "%s pages) takes %lld ms", (unsigned long long)(SIZE / MiB),
			       k ? "small" : "huge", (long long)(cycle_us[k] / 1000));
		}
		/* Two random kills, then two aimed: each kind of child gets both. */
		if (k % 4 >= 2) {
			aim_at_step(S_REGISTER + aimed++ % (NSTEPS - S_REGISTER));
		} else {
			delay_us = (int64_t)(rand_r(&seed) % (cycle_us[k & 1] + 1));
			usleep((useconds_t)delay_us);
		}
		at = atomic_load(&sh->step);
		CHECK_SYS(kill(pid, SIGKILL));
		t0 = t_now_ns();
		if (!t_wait(pid, REAP_MS, &st))
			t_fail("kill %d (in %s): the child was not reaped within %d ms", k, step_name[at],
			       REAP_MS);
		reap = t_ms_since(t0);
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
			t_fail("kill %d: the child ended with status %#x before the SIGKILL (a call failed)",
			       k, st);
		while (!stats_back(&base)) {
			if (t_ms_since(t0) > 2 * REAP_MS) {
				struct nl_stats s;

				h_stats(&s);
				t_fail("kill %d (in %s): %llu leases, %llu pinned pages, %llu contexts left "
				       "%lld ms after the kill", k, step_name[at],
				       (unsigned long long)(s.leases - base.leases),
				       (unsigned long long)(s.pinned_pages - base.pinned_pages),
				       (unsigned long long)(s.contexts - base.contexts),
				       (long long)t_ms_since(t0));
			}
			t_msleep(5);
		}
		clean = t_ms_since(t0);
		reap_max = reap > reap_max ? reap : reap_max;
		clean_max = clean > clean_max ? clean : clean_max;
		hits[at]++;
	}
	for (int s = 0; s < NSTEPS; s++) {
		if (hits[s])
			distinct++;
		t_info("killed in %-10s %d times", step_name[s], hits[s]);
	}
	t_info("%d kills: reaped within %lld ms, counters back within %lld ms of the kill (bounds %d, %d ms)",
	       kills, (long long)reap_max, (long long)clean_max, REAP_MS, 2 * REAP_MS);
	CHECK_GE(distinct, 2);

	H_CHECK_STATS(&base);
	r = nl_open(&nl, 10000);
	if (r)
		t_fail("resolving the %s genl family: %s", MRLEASE_GENL_NAME, t_errname(-r));
	CHECK_OK(nl_request(&nl, MRLEASE_CMD_LEASE_GET, NLM_F_DUMP, 0, uid_cb, &c, NULL));
	nl_close(&nl);
	t_info("root's dump: %llu leases of uid %d, %llu pinned pages", (unsigned long long)c.leases, H_UID,
	       (unsigned long long)c.pinned);
	CHECK_EQ(c.leases, 0);
	CHECK_EQ(c.pinned, 0);
	CHECK_EQ(vmpin_holders(), 0);
	H_CHECK_NO_SPLAT(kfd, "while a holder was SIGKILLed at every step");
	t_pass();
}
