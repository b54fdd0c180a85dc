// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, a pinned DAX page outliving its file's mapping (issue 10,
 * item 3).  Filesystems wait for busy DAX pages only while the file is
 * mapped, so pins kept after the holder's own mapping of an fsdax file went
 * away let a truncate free blocks that are still pinned (WARNING in
 * dax_disassociate_entry) and hand the frame to another file.
 *
 * On ext4 and xfs -o dax, uid 1000 (no other process maps the file) holds a
 * pinned MRLEASE_REG_WAIT_SELF lease over its whole mapping of a file it
 * owns, and
 *  - munmap()s the mapping, or
 *  - maps anonymous memory over it with MAP_FIXED:
 *    right after that call returns, query shows the lease BROKEN with 0
 *    pinned pages, and its record says SELF;
 *  - exits, its context kept open elsewhere (passed to root): once it is
 *    reaped the lease holds no pin (or is gone).
 * After each, a root child truncates the file to 0, writes it anew and
 * syncs (within 10 s; on xfs it waits for the 2 s timeout of the layout
 * lease, which the unacked lease still holds), and the kernel log shows no
 * splat.
 */
#include "hostile.h"

#define FILE_PAGES	16

enum how { BY_MUNMAP, BY_MAP_FIXED, BY_EXIT };

static const char *const how_names[] = { "munmap", "mmap(MAP_FIXED)", "exit" };
static char path[300];
static enum how how;
static int sock[2];

/*
 * 'd': the mapping is gone (v0 = munmap/mmap result, 0 ok), with the query
 * right after it (q, err) and the record (v1 = 1 if one came, ev).  For
 * BY_EXIT: sends its context over sock[1], says 'd' with the lease id in v2
 * and exits.
 */
static void holder(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'd' };
	struct mrlease_register l;
	char *map;
	int ctx;

	(void)arg;
	map = h_map_file(path, FILE_PAGES);
	ctx = t_ctx();
	/*
	 * On xfs the lease's file-layout lease still makes the truncate wait
	 * for the ack (the holder never acks): 2 s, then the timeout.  That
	 * wait is the ack protocol of a lease the owner may hold, not a pin.
	 */
	CHECK_OK(t_register(ctx, map, PG(FILE_PAGES), 5, MRLEASE_REG_PIN | MRLEASE_REG_WAIT_SELF,
			      2000, &l));
	CHECK_EQ(t_state(ctx, l.id), MRLEASE_STATE_ARMED);
	if (how == BY_EXIT) {
		h_send_fd(sock[1], ctx);
		m.v[2] = (int64_t)l.id;
		h_send(out, &m);
		h_recv(in, &m, 60000);
		_exit(0);
	}
	if (how == BY_MUNMAP)
		m.v[0] = munmap(map, PG(FILE_PAGES)) ? -errno : 0;
	else
		m.v[0] = mmap(map, PG(FILE_PAGES), PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == map ? 0 : -errno;
	/* Right after the unmap returned: no event read, no sleep. */
	m.err = t_query(ctx, l.id, &m.q);
	m.v[1] = t_event(ctx, &m.ev, 5000);
	h_send(out, &m);
	h_recv(in, &m, 60000);
	close(ctx);
}

static int rewrite(const void *arg)
{
	const int *fd = arg;
	char *buf = malloc(PG(FILE_PAGES));

	if (!buf)
		return ENOMEM;
	if (ftruncate(*fd, 0))
		return errno;
	memset(buf, 0x5a, PG(FILE_PAGES));
	if (pwrite(*fd, buf, PG(FILE_PAGES), 0) != (ssize_t)PG(FILE_PAGES))
		return errno ? errno : EIO;
	free(buf);
	return fsync(*fd) ? errno : 0;
}

static void one_case(void)
{
	struct breaker_report rep;
	struct breaker b;
	struct h_agent a;
	struct h_msg m;
	int fd, kfd, cfd = -1;

	t_info("---- %s: the WAIT_SELF holder's %s", h_fs, how_names[how]);
	fd = h_dax_file(FILE_PAGES, H_UID, 0644, path, sizeof(path));
	if (how == BY_EXIT)
		CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock));
	breaker_fork(&b, "mrl-rewriter", rewrite, &fd);
	kfd = kmsg_open();
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, holder, NULL);
	H_EXPECT(a.from, m, 'd', 20000);
	if (how == BY_EXIT) {
		struct mrlease_query q;
		int r;

		cfd = h_recv_fd(sock[0]);
		h_say(a.to, 'x', 0);
		CHECK_CHILD_OK(a.pid, 10000);
		r = t_query(cfd, (uint64_t)m.v[2], &q);
		if (r == -ENOENT) {
			t_info("the lease is gone with its holder");
		} else {
			CHECK_OK(r);
			h_print_query("once the holder was reaped", &q);
			CHECK_EQ(q.pinned_pages, 0);
		}
	} else {
		CHECK_OK((int)m.v[0]);
		CHECK_OK(m.err);
		h_print_query("right after the unmap returned", &m.q);
		if (m.v[1] == 1)
			t_print_event(&m.ev);
		else
			t_info("no record within 5 s: %s", t_errname((int)-m.v[1]));
	}

	breaker_go(&b);
	BREAKER_DONE(&b, 10000, rep);
	t_info("truncate + rewrite took %lld ms", (long long)(rep.end_ns - rep.start_ns) / 1000000);
	t_msleep(200);
	H_CHECK_NO_SPLAT(kfd, "after a truncate of a file whose pinned lease lost its mapping");
	close(kfd);

	if (how != BY_EXIT) {
		CHECK_EQ(m.q.state, MRLEASE_STATE_BROKEN);
		CHECK_EQ(m.q.pinned_pages, 0);
		CHECK_EQ(m.v[1], 1);
		CHECK_EQ(m.ev.type, MRLEASE_EVENT_DECOHERENCE);
		CHECK(m.ev.flags & MRLEASE_EVENT_F_SELF);
		CHECK(m.ev.flags & MRLEASE_EVENT_F_UNPINNED);
		h_say(a.to, 'x', 0);
		CHECK_CHILD_OK(a.pid, 10000);
	} else {
		close(cfd);
		close(sock[0]);
		close(sock[1]);
	}
	close(fd);
}

static void all_cases(void)
{
	for (how = BY_MUNMAP; how <= BY_EXIT; how++)
		one_case();
}

int main(void)
{
	struct nl_stats base;

	t_watchdog(110);
	h_need_root();
	h_stats(&base);
	h_each_fs(all_cases);
	H_CHECK_STATS(&base);
	t_pass();
}
