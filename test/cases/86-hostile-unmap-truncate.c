// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, the last mapping of a DAX file goes while a call holds its
 * pins: filesystems wait for busy DAX pages only while the file is mapped,
 * so once the holder's munmap has returned, a truncate frees the blocks at
 * once.  A pin still held then is a WARN in dax_disassociate_entry() and a
 * pinned page handed to the next file that gets the block.  Seen in the
 * debug lane of 86-hostile-thread-races: the pins were in flight in a call
 * (taken off the lease, not yet dropped; or taken by an arm, not yet
 * published) while another thread's munmap found none to let go of.
 *
 * On ext4 and xfs -o dax, uid 1000 maps root's 0666 16-page file, registers
 * a pinned lease over it and then, for ROUND_MS, in rounds:
 *  - a second thread runs one call on the range: a register of a new
 *    pinned lease, the unregister of the pinned one, or the ack of a
 *    pinned lease left BROKEN with its pins by the holder's own
 *    MADV_DONTNEED (MRLEASE_REG_WAIT_SELF);
 *  - at the same moment the first thread munmaps the range and tells root,
 *    which truncates the file to 0 and allocates it again at once.
 * Asserted: the kernel log has no splat, nothing stays pinned (VmPin 0
 * within 1 s of the close, the global counters back), and no truncate waits longer than TRUNC_CAP_MS.
 * The module's race windows (make check-race) stretch the in-flight spans.
 */
#include "hostile.h"

#include <pthread.h>
#include <stdatomic.h>

#define FILE_PAGES	16
#define ROUND_MS	1500
#define TRUNC_CAP_MS	4000

enum call { C_REGISTER, C_UNREGISTER, C_ACK, NCALLS };

static const char *const call_name[NCALLS] = { "register", "unregister", "ack" };

static char path[300];

/* The holder's two threads meet here each round. */
static struct {
	atomic_int go;		/* round number the worker is to run */
	atomic_int done;	/* round number it finished */
	int ctx;
	enum call call;
	char *map;
	struct mrlease_register lease;	/* the pinned lease of the round */
	struct mrlease_register extra;	/* what C_REGISTER registered */
	int ret;
} w;

static int reg_once(int ctx, void *addr, uint32_t flags, struct mrlease_register *out)
{
	*out = (struct mrlease_register){
		.addr = (uintptr_t)addr, .len = PG(FILE_PAGES), .cookie = 7,
		.flags = flags, .timeout_ms = 200,
	};
	return t_ioctl(ctx, MRLEASE_IOC_REGISTER, out);
}

static void *worker(void *arg)
{
	int round = 0;

	(void)arg;
	for (;;) {
		while (atomic_load(&w.go) == round)
			;
		if (atomic_load(&w.go) < 0)
			return NULL;
		round = atomic_load(&w.go);
		switch (w.call) {
		case C_REGISTER:
			w.ret = reg_once(w.ctx, w.map, MRLEASE_REG_PIN, &w.extra);
			break;
		case C_UNREGISTER:
			w.ret = t_unregister(w.ctx, w.lease.id);
			break;
		default:
			w.ret = t_ack(w.ctx, w.lease.id, w.lease.generation);
			break;
		}
		atomic_store(&w.done, round);
	}
}

/*
 * uid 1000: rounds until ROUND_MS is over.  Writes 'T' to @out after each
 * munmap and waits for root's 'k' on @in; at the end 'x' and the counts.
 */
static void holder(int in, int out, void *arg)
{
	int64_t ok[NCALLS] = { 0 }, tried[NCALLS] = { 0 }, start = t_now_ns();
	struct h_msg m = { .op = 'x' };
	pthread_t th;
	int round = 0;

	(void)arg;
	w.ctx = t_ctx();
	CHECK(pthread_create(&th, NULL, worker, NULL) == 0);
	while (t_ms_since(start) < ROUND_MS) {
		struct h_msg c, t = { .op = 'T' };
		unsigned int spin;
		int r;

		round++;
		w.call = (enum call)(round % NCALLS);
		w.map = h_map_file(path, FILE_PAGES);
		memset(w.map, round & 0xff, PG(FILE_PAGES));
		r = reg_once(w.ctx, w.map, MRLEASE_REG_PIN |
			     (w.call == C_ACK ? MRLEASE_REG_WAIT_SELF : 0), &w.lease);
		if (r) {
			/* The last truncate's layout break may still be settling. */
			CHECK(r == -EAGAIN);
			CHECK_SYS(munmap(w.map, PG(FILE_PAGES)));
			h_send(out, &t);
			H_EXPECT(in, c, 'k', TRUNC_CAP_MS + 10000);
			continue;
		}
		if (w.call == C_ACK) {
			struct mrlease_query q;

			/* Our own CLEAR: BROKEN, the pins kept for the ack. */
			CHECK_SYS(madvise(w.map, PG(1), MADV_DONTNEED));
			CHECK_OK(t_query(w.ctx, w.lease.id, &q));
			CHECK_EQ(q.state, MRLEASE_STATE_BROKEN);
			w.lease.generation = q.generation;
		}
		tried[w.call]++;
		w.ret = 1;
		atomic_store(&w.go, round);
		/* Land the munmap anywhere in the call. */
		for (spin = (unsigned int)rand() % 100000; spin; spin--)
			__asm__ volatile("" ::: "memory");
		CHECK_SYS(munmap(w.map, PG(FILE_PAGES)));
		h_send(out, &t);
		while (atomic_load(&w.done) != round)
			;
		if (!w.ret)
			ok[w.call]++;
		if (w.call == C_REGISTER && !w.ret)
			t_unregister(w.ctx, w.extra.id);
		if (w.call != C_UNREGISTER || w.ret)
			t_unregister(w.ctx, w.lease.id);
		H_EXPECT(in, c, 'k', TRUNC_CAP_MS + 10000);
	}
	atomic_store(&w.go, -1);
	pthread_join(th, NULL);
	close(w.ctx);
	for (int i = 0; i < NCALLS; i++) {
		m.v[2 * i] = tried[i];
		m.v[2 * i + 1] = ok[i];
	}
	/* Pins of the rest of the range may be on a work item's way out. */
	start = t_now_ns();
	while ((m.v[6] = proc_vmpin_kb()) != 0 && t_ms_since(start) < 1000)
		t_msleep(5);
	h_send(out, &m);
}

static void run_fs(void)
{
	int64_t longest = 0, rounds = 0;
	struct nl_stats base;
	struct h_agent a;
	struct h_msg m;
	int fd;

	h_stats(&base);
	/* root's: no file-layout lease (EACCES), a truncate waits for pins only. */
	fd = h_dax_file(FILE_PAGES, 0, 0666, path, sizeof(path));
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, holder, NULL);
	for (;;) {
		struct h_msg k = { .op = 'k' };
		int64_t t0;

		if (!h_recv(a.from, &m, ROUND_MS + 60000))
			t_fail("the holder went quiet");
		if (m.op == 'x')
			break;
		CHECK_EQ(m.op, 'T');
		/* Right after its munmap: nothing maps the file now. */
		t0 = t_now_ns();
		CHECK_SYS(ftruncate(fd, 0));
		CHECK_SYS(fallocate(fd, 0, 0, (off_t)PG(FILE_PAGES)));
		if (t_ms_since(t0) > longest)
			longest = t_ms_since(t0);
		rounds++;
		h_send(a.to, &k);
	}
	t_info("%lld rounds; the longest truncate + fallocate took %lld ms (cap %d)", (long long)rounds,
	       (long long)longest, TRUNC_CAP_MS);
	for (int i = 0; i < NCALLS; i++)
		t_info("  %-10s raced %lld times, succeeded %lld", call_name[i], (long long)m.v[2 * i],
		       (long long)m.v[2 * i + 1]);
	t_info("holder's VmPin at its end: %lld kB", (long long)m.v[6]);
	CHECK_CHILD_OK(a.pid, 10000);
	CHECK_EQ(m.v[6], 0);
	CHECK_GE(rounds, 3);
	CHECK_LE(longest, TRUNC_CAP_MS);
	H_CHECK_STATS(&base);
	close(fd);
}

int main(void)
{
	int kfd;

	t_watchdog(120);
	h_need_root();
	kfd = kmsg_open();
	h_each_fs(run_fs);
	H_CHECK_NO_SPLAT(kfd, "while munmaps raced calls holding pins");
	close(kfd);
	t_pass();
}
