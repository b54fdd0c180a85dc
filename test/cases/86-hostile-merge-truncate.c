// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, the holder's only mapping of a DAX file is merged again and
 * again while another process truncates the file.  Before 6.15 a truncate
 * waits for busy DAX pages only if the file is mapped, and looks at that
 * without a lock; a merge takes the mapping out of the file's tree and puts
 * it back under i_mmap_rwsem, so for an instant the file looks unmapped and
 * the truncate goes past the pins: a WARN in dax_disassociate_entry(), and
 * blocks freed while a device may still write them.  Seen in
 * 86-hostile-thread-races on 6.1 (about one run in eight).  The module
 * keeps a mapping of its own of every fsdax file it pins (anchor.c).
 *
 * On ext4 and xfs -o dax, uid 1000 maps its 16-page file once and registers
 * four pinned leases of four pages over it; for RUN_MS:
 *  - a thread mprotect()s the first or last page read-only and back, or
 *    unmaps the first page and maps it again: splits and merges that take
 *    all of the file's mappings out of its tree for an instant;
 *  - the holder acks what breaks and restores what was acked, so the
 *    truncates wait for its pins and go on;
 *  - another process of uid 1000 truncates the file to half its size, back,
 *    and allocates it again, in a loop.
 * Then, as a check of the anchors themselves: the holder's anchor (the one
 * mapping of the file it did not make) can be made neither readable nor
 * larger, and once the holder munmaps it its leases are broken and unpinned
 * before munmap() returns.  Asserted: no splat, no truncate waits longer than
 * TRUNC_CAP_MS, nothing stays pinned, the global counters are back.
 */
#include "hostile.h"

#include <pthread.h>
#include <stdatomic.h>

#define FILE_PAGES	16
#define LEASES		4
#define RUN_MS		4000
#define TRUNC_CAP_MS	8000

static char path[300];
static atomic_int stop;		/* the holder's mapper thread */

static int map_fd;	/* the holder's, of the file */

static void *mapper(void *arg)
{
	char *map = arg;
	unsigned int seed = 77;
	long n = 0;

	/*
	 * At an end of the mapping, so that the file has one or two mappings
	 * and a merge takes them all out of its tree at once: a page made
	 * read-only and back (a split, then a merge of the two), or the first
	 * page unmapped and mapped again (the rest expands over it).
	 */
	while (!atomic_load(&stop)) {
		char *p = map;

		switch (rand_r(&seed) % 3) {
		case 1:
			p = map + PG(FILE_PAGES - 1);
			/* fall through */
		case 0:
			mprotect(p, PG(1), PROT_READ);
			mprotect(p, PG(1), PROT_READ | PROT_WRITE);
			break;
		default:
			munmap(map, PG(1));
			if (mmap(map, PG(1), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, map_fd, 0) != map)
				t_fail("mmap MAP_FIXED of the file: %s", t_errname(errno));
			break;
		}
		n++;
	}
	return (void *)n;
}

/* The holder's mapping of @path's file other than @map: the anchor, if any. */
static char *find_anchor(const char *map)
{
	char line[512], *found = NULL;
	FILE *f = fopen("/proc/self/maps", "r");

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (!strstr(line, path) || sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (lo < (uintptr_t)map || lo >= (uintptr_t)map + PG(FILE_PAGES))
			found = (char *)lo;
	}
	fclose(f);
	return found;
}

/* 'r': v0 = acks, v1 = restores, v2 = mapper ops, v3 = anchors seen, v4 = VmPin kB at the end. */
static void holder(int in, int out, void *arg)
{
	struct mrlease_register l[LEASES];
	struct h_msg m = { .op = 'r' }, c;
	int ctx = t_ctx();
	pthread_t th;
	int64_t t0;
	void *n;
	char *map, *anchor;

	(void)arg;
	map_fd = open(path, O_RDWR | O_CLOEXEC);
	if (map_fd < 0)
		t_fail("open %s: %s", path, t_errname(errno));
	map = mmap(NULL, PG(FILE_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	CHECK(map != MAP_FAILED);
	memset(map, 1, PG(FILE_PAGES));
	for (int i = 0; i < LEASES; i++)
		CHECK_OK(h_register(ctx, map + PG(4 * i), PG(4), MRLEASE_REG_PIN, 100, &l[i]));
	CHECK_EQ(pthread_create(&th, NULL, mapper, map), 0);
	/* Armed before the truncator starts: from now on a break is a race. */
	h_say(out, 'g', 0);
	t0 = t_now_ns();
	while (t_ms_since(t0) < RUN_MS) {
		for (int i = 0; i < LEASES; i++) {
			struct mrlease_query q;
			int r;

			if (t_query(ctx, l[i].id, &q))
				t_fail("query: %s", t_errname(errno));
			if (q.state == MRLEASE_STATE_BROKEN) {
				r = t_ack(ctx, l[i].id, q.generation);
				if (!r)
					m.v[0]++;
				else if (r != -ETIMEDOUT && r != -ESTALE && r != -EINVAL)
					t_fail("ack: %s", t_errname(-r));
			} else if (q.state != MRLEASE_STATE_ARMED) {
				/* EAGAIN while a truncate runs, EFAULT beyond EOF. */
				r = t_restore_once(ctx, &l[i]);
				if (!r)
					m.v[1]++;
				else if (r != -EAGAIN && r != -EFAULT && r != -EBUSY)
					t_fail("restore: %s", t_errname(-r));
			}
		}
		usleep(100);
	}
	atomic_store(&stop, 1);
	CHECK_EQ(pthread_join(th, &n), 0);
	m.v[2] = (intptr_t)n;
	/* The rest with the truncator stopped. */
	h_say(out, 'd', 0);
	H_EXPECT(in, c, 'c', 30000);

	/* The anchor: unmapping it breaks and unpins every fsdax lease. */
	anchor = find_anchor(map);
	if (anchor) {
		m.v[3] = 1;
		for (int i = 0; i < LEASES; i++)
			if (t_state(ctx, l[i].id) != MRLEASE_STATE_ARMED)
				t_restore(ctx, &l[i]);
		/* Sealed: never readable (a pin, a look at the file), never grown in place. */
		CHECK(mprotect(anchor, PG(1), PROT_READ) == -1 && errno == EACCES);
		CHECK(mremap(anchor, PG(1), PG(2), 0) == MAP_FAILED);
		CHECK_SYS(munmap(anchor, PG(1)));
		for (int i = 0; i < LEASES; i++) {
			struct mrlease_query q;

			CHECK_OK(t_query(ctx, l[i].id, &q));
			if (q.state == MRLEASE_STATE_BROKEN || q.state == MRLEASE_STATE_ARMED)
				CHECK_EQ(q.pinned_pages, 0);
		}
		CHECK_EQ(proc_vmpin_kb(), 0);
	}
	close(ctx);
	t0 = t_now_ns();
	while ((m.v[4] = proc_vmpin_kb()) != 0 && t_ms_since(t0) < 1000)
		t_msleep(5);
	munmap(map, PG(FILE_PAGES));
	h_send(out, &m);
}

/* Until any message: 't', v0 = cycles, v1 = longest call in ms, v2 = failed calls. */
static void truncator(int in, int out, void *arg)
{
	struct h_msg m = { .op = 't' }, c;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	unsigned int seed = 4242;

	(void)arg;
	if (fd < 0)
		t_fail("open %s: %s", path, t_errname(errno));
	for (;;) {
		for (int call = 1; call <= 3; call++) {
			int64_t t0 = t_now_ns(), ms;
			int r;

			if (call == 3)
				r = fallocate(fd, 0, 0, (off_t)PG(FILE_PAGES));
			else
				r = ftruncate(fd, (off_t)PG(call == 1 ? FILE_PAGES / 2 : FILE_PAGES));
			ms = t_ms_since(t0);
			m.v[2] += r != 0;
			if (ms > m.v[1])
				m.v[1] = ms;
		}
		m.v[0]++;
		/* A pause in which the holder's restores get through. */
		if (h_recv(in, &c, 2 + (int)(rand_r(&seed) % 8)))
			break;
	}
	close(fd);
	h_send(out, &m);
}

static void one_fs(void)
{
	struct nl_stats base;
	struct h_agent h, t;
	struct h_msg m, tm;
	int fd, kfd;

	fd = h_dax_file(FILE_PAGES, H_UID, 0600, path, sizeof(path));
	atomic_store(&stop, 0);
	h_stats(&base);
	kfd = kmsg_open();
	h_agent_start(&h, "mrl-hostile", H_UID, 64 * MiB, holder, NULL);
	H_EXPECT(h.from, m, 'g', 30000);
	h_agent_start(&t, "mrl-truncator", H_UID, 64 * KiB, truncator, NULL);
	H_EXPECT(h.from, m, 'd', RUN_MS + TRUNC_CAP_MS + 30000);
	h_say(t.to, 's', 0);
	H_EXPECT(t.from, tm, 't', TRUNC_CAP_MS * 3 + 10000);
	h_say(h.to, 'c', 0);
	H_EXPECT(h.from, m, 'r', 30000);
	t_info("holder: %lld acks, %lld restores, %lld mapper ops; anchor %s; VmPin %lld kB after its close",
	       (long long)m.v[0], (long long)m.v[1], (long long)m.v[2], m.v[3] ? "found and unmapped" : "none",
	       (long long)m.v[4]);
	CHECK_CHILD_OK(h.pid, 10000);
	CHECK_EQ(m.v[4], 0);
	CHECK_GE(m.v[2], 1);
	t_info("truncator: %lld cycles, the longest call took %lld ms (cap %d), %lld failed", (long long)tm.v[0],
	       (long long)tm.v[1], TRUNC_CAP_MS, (long long)tm.v[2]);
	CHECK_CHILD_OK(t.pid, 10000);
	CHECK_GE(tm.v[0], 1);
	CHECK_EQ(tm.v[2], 0);
	CHECK_LE(tm.v[1], TRUNC_CAP_MS);
	H_CHECK_STATS(&base);
	H_CHECK_NO_SPLAT(kfd, "while the holder's mapping merged and the file was truncated");
	close(kfd);
	close(fd);
}

int main(void)
{
	t_watchdog(110);
	h_need_root();
	h_each_fs(one_fs);
	t_pass();
}
