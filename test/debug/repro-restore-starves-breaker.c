// SPDX-License-Identifier: GPL-2.0
/*
 * Reproducer (found by 97-stress): a restore right after a foreign hole
 * punch of a leased fsdax file starves the puncher for good.
 *
 * The puncher waits in ext4_break_layouts() / xfs_break_dax_layouts() for
 * the refcount of one pinned DAX page to drop to 1, and drops the
 * filesystem's invalidate lock (ext4) / MMAPLOCK (xfs) while it sleeps.
 * MRLEASE_IOC_RESTORE of the BROKEN lease unpins (the puncher is woken) and
 * at once re-arms: it faults the same, not yet punched, page back in and
 * pins it again before the puncher has re-checked the refcount.  The lease
 * is ARMED again, so nothing will ever break it or time it out, and the
 * punch (holding i_rwsem) waits until the holder unregisters or exits.
 * The same goes for a new MRLEASE_IOC_REGISTER of the range.
 *
 * Second scenario (XFS only, the same shape with the FL_LAYOUT lease instead
 * of the pins): see layout_livelock().  Third: the same with two holders,
 * see layout_two_holders().
 *
 * Each round: a forked child punches page 0, the holder reads the break and
 * restores at once; the punch must return within 5 s.  Exit 1 with the
 * evidence if it does not (the lease is then unregistered to free the
 * child).  Build with `make -C test debug-repro`, run in the VM with
 * `test/rig/vm.sh --no-suite --run test/build/debug/repro-restore-starves-breaker`
 * (uses $MRLEASE_XFS and $MRLEASE_EXT4).
 */
#include "harness.h"

#include <sys/stat.h>

#define PAGES	16
#define ROUNDS	50

/*
 * A PAGES-page file named @tag in @dir, filled with 0x5a, unlinked at once
 * and mapped shared; *@fd gets its descriptor.
 */
static char *repro_file(const char *dir, const char *tag, int *fd)
{
	static char buf[PAGES << 12];
	char path[256], *map;

	snprintf(path, sizeof(path), "%s/%s.%d", dir, tag, getpid());
	*fd = CHECK_SYS(open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
	unlink(path);
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(pwrite(*fd, buf, PG(PAGES), 0), (ssize_t)PG(PAGES));
	CHECK_SYS(fsync(*fd));
	map = mmap(NULL, PG(PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	CHECK(map != MAP_FAILED);
	return map;
}

static int one_fs(const char *var)
{
	const char *dir = getenv(var);
	char path[256];
	static char buf[PAGES << 12];
	struct mrlease_register l;
	char *map;
	int fd, ctx;

	if (!dir || !*dir) {
		t_info("%s not set: skipped", var);
		return 0;
	}
	map = repro_file(dir, "repro", &fd);
	ctx = t_ctx();
	CHECK_OK(t_register(ctx, map, PG(PAGES), 1, MRLEASE_REG_PIN, 10000, &l));

	for (int round = 0; round < ROUNDS; round++) {
		struct mrlease_event ev;
		struct mrlease_query q;
		int done[2];
		pid_t pid;
		char c;

		t_pipe(done);
		pid = t_fork();
		if (pid == 0) {
			prctl(PR_SET_NAME, "mrl-puncher");
			if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)t_pg))
				_exit(1);
			t_write_full(done[1], "d", 1);
			_exit(0);
		}
		close(done[1]);
		GET_EVENT(ctx, ev, 5000);
		CHECK_OK(t_restore(ctx, &l));		/* acks, unpins, re-pins */
		if (!t_read_full(done[0], &c, 1, 5000)) {
			char st[4096];

			CHECK_OK(t_query(ctx, l.id, &q));
			t_info("%s round %d: the puncher is still waiting 5 s after the restore", var, round);
			t_info("lease %llu: state %u, %llu pinned pages, generation %llu, breaks %u",
			       (unsigned long long)l.id, q.state, (unsigned long long)q.pinned_pages,
			       (unsigned long long)q.generation, q.breaks);
			snprintf(path, sizeof(path), "/proc/%d/stack", pid);
			if (!t_read_text(path, st, sizeof(st)))
				t_info("puncher's kernel stack:\n%s", st);
			CHECK_OK(t_unregister(ctx, l.id));
			if (t_read_full(done[0], &c, 1, 5000))
				t_info("the puncher went on once the lease was unregistered");
			t_info("%s: restore starved a waiting hole punch (round %d of %d)", var, round, ROUNDS);
			CHECK_CHILD_OK(pid, 5000);
			close(ctx);
			munmap(map, PG(PAGES));
			close(fd);
			return 1;
		}
		CHECK_CHILD_OK(pid, 5000);
		close(done[0]);
		/* Blocks for the next punch. */
		CHECK_EQ(pwrite(fd, buf, t_pg, 0), (ssize_t)t_pg);
		while (t_event(ctx, &ev, 0) == 1)
			;
		if (t_state(ctx, l.id) != MRLEASE_STATE_ARMED)
			CHECK_OK(t_restore(ctx, &l));
	}
	t_info("%s: %d rounds, every punch returned", var, ROUNDS);
	close(ctx);
	munmap(map, PG(PAGES));
	close(fd);
	return 0;
}

/*
 * XFS layout leases: another process's write() breaks the context's
 * FL_LAYOUT lease (lm_break) and waits in __break_lease() until it is gone.
 * A restore acks, gives the file lease back (the writer is woken) and at
 * once takes a new one.  When the writer looks again it finds the new lease
 * and, as __break_lease() does after its first pass, only waits for it
 * (1-jiffy timeouts, no lm_break, no FL_UNLOCK_PENDING): the module is never
 * told, so the writer waits until the holder unregisters or exits.
 * Returns 1 if one write() is still waiting 5 s after a single restore.
 */
static int layout_livelock(void)
{
	const char *dir = getenv("MRLEASE_XFS");
	struct mrlease_register l;
	char *map, c;
	int fd, ctx, done[2], breaks = 0;
	int64_t t0;
	pid_t pid;

	if (!dir || !*dir)
		return 0;
	map = repro_file(dir, "repro-layout", &fd);
	ctx = t_ctx();
	CHECK_OK(t_register(ctx, map, PG(PAGES), 1, 0, 10000, &l));

	t_pipe(done);
	pid = t_fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, "mrl-writer");
		if (pwrite(fd, "w", 1, 0) != 1)
			_exit(1);
		t_write_full(done[1], "d", 1);
		_exit(0);
	}
	close(done[1]);
	t0 = t_now_ns();
	while (!t_read_full(done[0], &c, 0 + 1, 1)) {
		struct mrlease_event ev;

		if (t_event(ctx, &ev, 10) == 1) {
			breaks++;
			CHECK_OK(t_restore(ctx, &l));
		}
		if (t_ms_since(t0) > 5000) {
			t_info("XFS layout: the writer is still waiting after 5 s and %d breaks, each "
			       "restored at once", breaks);
			CHECK_OK(t_unregister(ctx, l.id));
			if (t_read_full(done[0], &c, 1, 5000))
				t_info("the writer went on once the lease was unregistered");
			CHECK_CHILD_OK(pid, 5000);
			return 1;
		}
	}
	CHECK_CHILD_OK(pid, 5000);
	t_info("XFS layout: the write returned after %d breaks, %lld ms", breaks, (long long)t_ms_since(t0));
	close(ctx);
	munmap(map, PG(PAGES));
	close(fd);
	return 0;
}

/*
 * XFS layout leases, two holders: a writer breaks both contexts' file
 * leases; A acks at once, B never does (its lease is revoked after 1 s).
 * While B's broken lease is pending nobody can take a new file lease, but
 * the moment it goes the writer is woken, and a restore by A that gets in
 * before the writer has looked again takes a lease the writer then only
 * waits for (__break_lease() breaks only the leases it finds on its first
 * pass): A's per-context 200 ms guard has long expired.  A restores in a
 * tight loop, as a holder that wants its MR back would.  Returns 1 if a
 * write is still waiting 5 s after B's lease was revoked.
 */
static int layout_two_holders(void)
{
	const char *dir = getenv("MRLEASE_XFS");
	char *map, c;
	int fd, ctx, starved = 0;

	if (!dir || !*dir)
		return 0;
	map = repro_file(dir, "repro-2h", &fd);
	ctx = t_ctx();

	for (int round = 0; round < 10 && !starved; round++) {
		struct mrlease_register l;
		struct mrlease_event ev;
		int ready[2], done[2];
		pid_t b, w;
		int64_t t0;

		CHECK_OK(t_register(ctx, map, PG(PAGES), 1, 0, 10000, &l));
		t_pipe(ready);
		b = t_fork();
		if (b == 0) {	/* B: its own context and lease; never acks */
			int bctx = t_ctx();

			if (t_register(bctx, map, PG(PAGES), 2, 0, 1000, NULL))
				_exit(1);
			t_write_full(ready[1], "r", 1);
			for (;;)
				pause();
		}
		CHECK(t_read_full(ready[0], &c, 1, 10000));
		t_pipe(done);
		w = t_fork();
		if (w == 0) {
			prctl(PR_SET_NAME, "mrl-writer");
			if (pwrite(fd, "w", 1, 0) != 1)
				_exit(1);
			t_write_full(done[1], "d", 1);
			_exit(0);
		}
		close(done[1]);
		GET_EVENT(ctx, ev, 10000);
		CHECK_OK(t_ack(ctx, l.id, l.generation));
		/* Restore as soon as the module lets us, until the writer is through. */
		t0 = t_now_ns();
		for (;;) {
			struct mrlease_restore r = { .id = l.id };

			if (t_read_full(done[0], &c, 1, 0))
				break;
			if (t_state(ctx, l.id) == MRLEASE_STATE_BROKEN)
				CHECK_OK(t_ack(ctx, l.id, l.generation));
			if (!t_ioctl(ctx, MRLEASE_IOC_RESTORE, &r))
				l.generation = r.generation;
			while (t_event(ctx, &ev, 0) == 1)
				;
			if (t_ms_since(t0) > 7000) {	/* B's lease went after 1 s */
				t_info("XFS, two holders, round %d: the writer still waits 7 s after the break, "
				       "1 s after B's lease was revoked (A: state %u)", round, t_state(ctx, l.id));
				starved = 1;
				break;
			}
		}
		kill(b, SIGKILL);
		waitpid(b, NULL, 0);
		CHECK_OK(t_unregister(ctx, l.id));
		if (starved && t_read_full(done[0], &c, 1, 5000))
			t_info("the writer went on once A unregistered");
		CHECK_CHILD_OK(w, 5000);
		close(done[0]);
		close(ready[0]);
		close(ready[1]);
		while (t_event(ctx, &ev, 0) == 1)
			;
	}
	if (!starved)
		t_info("XFS, two holders: every write went through");
	close(ctx);
	munmap(map, PG(PAGES));
	close(fd);
	return starved;
}

int main(void)
{
	int starved;

	t_watchdog(600);
	starved = one_fs("MRLEASE_XFS");
	starved += one_fs("MRLEASE_EXT4");
	starved += layout_livelock();
	starved += layout_two_holders();
	if (starved)
		t_fail("%d of 4 scenarios starved the breaker", starved);
	t_pass();
}
