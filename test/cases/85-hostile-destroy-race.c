// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, lease teardown against a layout break (issue 10, item 1).
 *
 * uid 1000 owns files on the xfs -o dax mount and maps them MAP_SHARED; it
 * loops register/unregister of a lease over a mapping (pinned and unpinned
 * in turn, break timeouts of 100-450 ms), while another process of uid 1000
 * loops pwrite() into the files, so that XFS breaks the lease's file-layout
 * lease (lm_break) during its teardown.  A break that landed after the
 * teardown cancelled the timeout work queued it again on a lease about to be
 * freed: a use-after-free of timeout_work, a kernel panic (from the timer)
 * within seconds.
 *
 * To hit the teardown, the holder tells the writer through shared memory
 * which file it is about to unregister, and the writer writes it at once
 * (with a varying delay on either side); the holder goes round NFILES
 * files because a register on a file waits (-EAGAIN) for 200 ms after a
 * broken layout lease on it was given back.  A slower free-running pwrite()
 * loop over all files keeps going meanwhile.
 *
 * Passes if the kernel survives H_SECS of it plus 1.5 s (timers left to
 * fire), every pwrite() returned within 10 s, no splat in the kernel log,
 * and no context, lease or pinned page is left.
 */
#include "hostile.h"

#include <stdatomic.h>

#define H_SECS		6
#define NFILES		16
#define FILE_PAGES	4

struct shared {
	atomic_long turn;		/* bumped by the holder before each unregister */
	atomic_int file;		/* which file */
	atomic_int delay;		/* > 0: the writer waits so many spins; < 0: the holder */
	atomic_int stop;
};

static char paths[NFILES][300];
static struct shared *sh;

static void spin(int n)
{
	for (volatile int i = 0; i < n; i++)
		;
}

static int open_all(int *fds)
{
	for (int f = 0; f < NFILES; f++) {
		fds[f] = open(paths[f], O_RDWR | O_CLOEXEC);
		if (fds[f] < 0)
			t_fail("open %s as uid %d: %s", paths[f], H_UID, t_errname(errno));
	}
	return 0;
}

/* 'r': v = registers ok, EAGAIN, other errors, first other errno, VmPin kB at the end. */
static void holder(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'r' };
	char *map[NFILES];
	int fds[NFILES], ctx, i;
	uint32_t rnd = 12345;
	int64_t t0;

	(void)in;
	(void)arg;
	open_all(fds);
	for (int f = 0; f < NFILES; f++) {
		map[f] = mmap(NULL, PG(FILE_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, fds[f], 0);
		CHECK(map[f] != MAP_FAILED);
	}
	ctx = t_ctx_flags(O_NONBLOCK);
	t0 = t_now_ns();
	for (i = 0; t_ms_since(t0) < H_SECS * 1000; i++) {
		struct mrlease_register l;
		int f = i % NFILES, d;
		uint32_t flags = (i / NFILES) & 1 ? MRLEASE_REG_PIN : 0;
		int r = h_register(ctx, map[f], PG(FILE_PAGES), flags, 100 + 50 * (uint32_t)(i % 8), &l);

		if (r == -EAGAIN) {
			m.v[1]++;
			continue;
		}
		if (r) {
			if (!m.v[2])
				m.v[3] = -r;
			m.v[2]++;
			continue;
		}
		m.v[0]++;
		rnd = rnd * 1103515245 + 12345;
		d = (int)((rnd >> 8) % 4000) - 1000;
		atomic_store(&sh->file, f);
		atomic_store(&sh->delay, d);
		atomic_fetch_add(&sh->turn, 1);
		if (d < 0)
			spin(-d);
		CHECK_OK(t_unregister(ctx, l.id));
		/* Records of leases gone are dropped with them; read what is left. */
		if (i % 64 == 0) {
			struct mrlease_event ev[8];

			while (read(ctx, ev, sizeof(ev)) > 0)
				;
		}
	}
	atomic_store(&sh->stop, 1);
	close(ctx);
	for (int f = 0; f < NFILES; f++) {
		munmap(map[f], PG(FILE_PAGES));
		close(fds[f]);
	}
	m.v[4] = proc_vmpin_kb();
	h_send(out, &m);
}

static void one_write(int fd, int f, int64_t *longest)
{
	static char buf[512];
	int64_t t = t_now_ns();

	if (pwrite(fd, buf, sizeof(buf), (off_t)PG(f % FILE_PAGES)) != sizeof(buf))
		t_fail("pwrite: %s", t_errname(errno));
	t = (t_now_ns() - t) / 1000000;
	if (t > *longest)
		*longest = t;
	if (t > 10000)
		t_fail("a pwrite() took %lld ms", (long long)t);
}

/*
 * 'w': v0 = writes, v1 = longest pwrite() in ms.  arg 0: writes the file the
 * holder is about to unregister, when it says so; 1: all files, in a loop.
 */
static void writer(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'w' };
	int fds[NFILES], f = 0;
	long seen = 0;

	(void)in;
	open_all(fds);
	while (!atomic_load(&sh->stop)) {
		if (arg) {
			one_write(fds[f], f, &m.v[1]);
			f = (f + 1) % NFILES;
			usleep(500);
		} else {
			long turn = atomic_load(&sh->turn);
			int d;

			if (turn == seen)
				continue;
			seen = turn;
			f = atomic_load(&sh->file);
			d = atomic_load(&sh->delay);
			if (d > 0)
				spin(d);
			one_write(fds[f], f, &m.v[1]);
		}
		m.v[0]++;
	}
	h_send(out, &m);
}

int main(void)
{
	struct h_agent h, w[2];
	struct nl_stats base;
	struct h_msg m;
	int fds[NFILES], kfd;

	t_watchdog(120);
	h_need_root();
	h_fs = "xfs";
	if (!h_dax_dir(h_fs))
		t_skip("no xfs DAX mount ($MRLEASE_XFS)");
	for (int f = 0; f < NFILES; f++)
		fds[f] = h_dax_file(FILE_PAGES, H_UID, 0644, paths[f], sizeof(paths[f]));
	sh = h_shared(sizeof(*sh));
	h_stats(&base);
	kfd = kmsg_open();

	t_info("uid %d registers/unregisters leases on %d xfs files while uid %d writes them, for %d s",
	       H_UID, NFILES, H_UID, H_SECS);
	for (int i = 0; i < 2; i++)
		h_agent_start(&w[i], i ? "mrl-writer" : "mrl-aimed-writer", H_UID, 64 * KiB, writer,
			      (void *)(intptr_t)i);
	h_agent_start(&h, "mrl-hostile", H_UID, 64 * MiB, holder, NULL);

	H_EXPECT(h.from, m, 'r', (H_SECS + 60) * 1000);
	t_info("holder: %lld registers, %lld EAGAIN, %lld other failures (first: %s); VmPin %lld kB",
	       (long long)m.v[0], (long long)m.v[1], (long long)m.v[2], t_errname((int)m.v[3]),
	       (long long)m.v[4]);
	CHECK_EQ(m.v[2], 0);
	CHECK_GE(m.v[0], 1);
	CHECK_EQ(m.v[4], 0);
	CHECK_CHILD_OK(h.pid, 10000);
	for (int i = 0; i < 2; i++) {
		H_EXPECT(w[i].from, m, 'w', 30000);
		t_info("%s writer: %lld writes, the longest took %lld ms", i ? "free-running" : "aimed",
		       (long long)m.v[0], (long long)m.v[1]);
		CHECK_CHILD_OK(w[i].pid, 10000);
	}
	/* Let any timer that outlived its lease fire while we look. */
	t_msleep(1500);
	H_CHECK_STATS(&base);
	H_CHECK_NO_SPLAT(kfd, "while leases were torn down under layout breaks");
	for (int f = 0; f < NFILES; f++)
		close(fds[f]);
	t_pass();
}
