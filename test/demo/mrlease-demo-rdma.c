// SPDX-License-Identifier: GPL-2.0
/*
 * make demo-rdma: RDMA into a file on persistent memory, hitless across
 * another user's hole punch (issue 13).  Runs in the test VM on the 7.x
 * kernel, whose rdma_rxe has on-demand paging.
 *
 * A 1 MiB file on the xfs -o dax mount is mapped shared and registered
 * through libmrlease-verbs as an ODP MR with a pinned lease (stock kernels
 * refuse long-term pins on fsdax, so a plain MR cannot be had).  A sender
 * QP on the same rxe device streams RDMA WRITEs with immediate into it, one
 * 512-byte message at the start of each page in turn.  While it runs, a
 * child running as uid 1000 punches a 16 KiB hole into the file ahead of
 * the stream (at 800 KiB).  The punch waits: the library quiesces the
 * stream (the messages in flight land), this program holds the ack back
 * one second, then acks; the punch returns; the library restores the lease
 * on the new blocks and re-registers the MR (a new rkey); the stream goes
 * on, through the hole's new blocks.  Every message is checked at its file
 * offset with pread(), and the whole file once more at the end.
 *
 * Its story lines start with "[hh:mm:ss.mmm] app:" or "breaker:"; make
 * demo-rdma prints them.  Without ODP (rxe on 6.1, 6.12) it says why in
 * one line and exits 4, the rig's skip.
 */
#define T_FS "xfs"
#include "../libmrlease/rxe.h"
#include "fsdax.h"

#include <grp.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <mrlease_verbs.h>

#define NPAGES		256
#define NMSG		NPAGES		/* message N at the start of page N */
#define MSG		512u		/* bytes per message: one packet */
#define WINDOW		8
#define PUNCH_AT	96		/* the punch starts before this message */
#define HOLE		200		/* the hole: pages 200-203, ahead of the stream, which */
#define HOLE_PAGES	4		/* waits there until the punch is over */
#define HOLD_MS		1000		/* quiesce() holds the ack back this long */
#define BREAKER_UID	1000

static struct rxe r;
static struct dax_file f;
static struct mrlease_verbs *mv;
static struct mrlease_ctx *lctx;
static struct mrlease_verbs_mr *mr;
static char *sbuf;
static struct ibv_mr *smr;
static uint32_t rkey, old_rkey;
static bool ready, punching, quiesced;
static uint32_t posted, sent, landed, verified, deferred_from;
static int64_t t_start;
static int64_t *ack_ns;			/* shared with the breaker */
static int64_t page_msg[NPAGES];	/* the last message written to each page, or -1 */
static bool page_zero[NPAGES];		/* punched: zeros after the message */
static pid_t brk_pid;
static int brk_go, brk_done;

static void say(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *who, const char *fmt, ...)
{
	char line[512];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "[%02d:%02d:%02d.%03ld] %s: ", tm.tm_hour, tm.tm_min,
		     tm.tm_sec, (long)tv.tv_usec / 1000, who);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write: the breaker prints too. */
	t_write_full(1, line, (size_t)n);
}

static uint64_t word(uint32_t seq, size_t i)
{
	return ((uint64_t)(seq + 1) << 40) ^ (i * 0x9e3779b97f4a7c15ull >> 28);
}

/* Page @pg of the file, through pread(), against the model. */
static void check_page(size_t pg)
{
	static uint8_t buf[65536];
	const uint64_t *w = (const uint64_t *)buf;
	size_t from = 0;

	if (pread(f.fd, buf, t_pg, (off_t)(pg * t_pg)) != (ssize_t)t_pg)
		t_fail("pread page %zu: %s", pg, t_errname(errno));
	if (page_msg[pg] >= 0) {
		for (size_t i = 0; i < MSG / 8; i++)
			if (w[i] != word((uint32_t)page_msg[pg], i))
				t_fail("file offset %zu: message %lld is not there (word %zu is %#llx)",
				       pg * t_pg, (long long)page_msg[pg], i, (unsigned long long)w[i]);
		from = MSG;
	}
	for (size_t o = from; o < t_pg; o++)
		if (buf[o] != (page_zero[pg] ? 0 : dax_pattern(pg * t_pg + o)))
			t_fail("file offset %zu holds %#x: %s", pg * t_pg + o, buf[o],
			       page_zero[pg] ? "the punched range should read zeros" : "a stray write?");
}

/* Message @seq landed at the start of page @seq: checked there, unless the punch runs. */
static void landed_one(uint32_t seq)
{
	if (seq != landed)
		t_fail("message %u arrived when %u was due (lost or reordered)", seq, landed);
	page_msg[seq] = seq;
	/* A pread() could wait for the punch's lock, which waits for our ack. */
	if (!punching) {
		check_page(seq);
		verified++;
	}
	landed++;
}

static void progress(void)
{
	struct ibv_wc wc;

	while (rxe_poll1(r.scq, &wc))
		sent++;
	while (rxe_poll1(r.rcq, &wc)) {
		CHECK_EQ(wc.opcode, IBV_WC_RECV_RDMA_WITH_IMM);
		rxe_post_recv(&r, 0);
		landed_one(ntohl(wc.imm_data));
	}
}

static void process_once(void)
{
	int ret = mrlease_verbs_process(mv);

	/* -EAGAIN: the restore comes before the punch has finished; the next call goes on. */
	if (ret && ret != -EAGAIN)
		t_fail("mrlease_verbs_process: %s", mrlease_strerror(ret));
}

static int quiesce(struct mrlease_verbs_mr *m, const struct mrlease_event *ev, void *arg)
{
	struct pollfd brk = { .fd = brk_done, .events = POLLIN };
	uint32_t inflight = posted - landed;
	int64_t t0 = t_now_ns();

	(void)m;
	(void)arg;
	CHECK(punching);
	CHECK_EQ(ev->breaker_pid, brk_pid);
	say("app", "lease break (%s, reason %s) by pid %d (%s): quiescing the stream",
	    ev->type == MRLEASE_EVENT_DECOHERENCE ? "DECOHERENCE" : "REVOKED",
	    mrlease_reason_str(ev->reason), ev->breaker_pid, ev->breaker_comm);
	ready = false;
	quiesced = true;
	while (sent != posted || landed != posted) {
		progress();
		if (t_ms_since(t0) > 10000)
			t_fail("quiesce: %u sent, %u landed of %u after 10 s", sent, landed, posted);
	}
	say("app", "quiesced: the peer stopped after message %u, all landed (%u were in flight)",
	    posted - 1, inflight);
	t_msleep(HOLD_MS);
	if (poll(&brk, 1, 0))
		t_fail("the punch returned before the ack");
	say("app", "the punch is still waiting after %.1f s; acking", (double)t_ms_since(t0) / 1000);
	*ack_ns = t_now_ns();
	return 0;
}

static void rekey(struct mrlease_verbs_mr *m, struct ibv_mr *ibmr, void *arg)
{
	(void)m;
	(void)arg;
	rkey = ibmr->rkey;
	ready = true;
}

/* The breaker: another user, with the file descriptor it inherits; one punch on its go. */
static void breaker_spawn(void)
{
	struct breaker_report rep = { 0 };
	int go[2], done[2];
	char c;

	t_pipe(go);
	t_pipe(done);
	brk_pid = t_fork();
	if (brk_pid) {
		close(go[0]);
		close(done[1]);
		brk_go = go[1];
		brk_done = done[0];
		return;
	}
	prctl(PR_SET_NAME, BREAKER_COMM);
	CHECK_SYS(munmap(f.map, f.size));
	CHECK_SYS(setgroups(0, NULL));
	CHECK_SYS(setresgid(BREAKER_UID, BREAKER_UID, BREAKER_UID));
	CHECK_SYS(setresuid(BREAKER_UID, BREAKER_UID, BREAKER_UID));
	if (!t_read_full(go[0], &c, 1, 60000))
		_exit(0);
	say("breaker", "uid %d, pid %d: fallocate(PUNCH_HOLE) of %zu KiB at file offset %zu KiB, "
	    "inside the MR", BREAKER_UID, getpid(), HOLE_PAGES * t_pg >> 10, HOLE * t_pg >> 10);
	rep.start_ns = t_now_ns();
	if (fallocate(f.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(HOLE * t_pg),
		      (off_t)(HOLE_PAGES * t_pg)))
		rep.err = errno;
	rep.end_ns = t_now_ns();
	say("breaker", "punch returned after %.1f s, %lld ms after the ack",
	    (double)(rep.end_ns - rep.start_ns) / 1e9, (long long)(rep.end_ns - *ack_ns) / 1000000);
	t_write_full(done[1], &rep, sizeof(rep));
	_exit(0);
}

static void start_punch(void)
{
	say("app", "stream running: %u RDMA WRITEs landed, each checked at its file offset", landed);
	punching = true;
	deferred_from = landed;
	t_write_full(brk_go, "g", 1);
}

/* Quiesced and acked: the punch returns, the MR comes back, the messages of the meantime are checked. */
static void finish_punch(void)
{
	struct breaker_report rep;
	int64_t t0 = t_now_ns();

	if (!t_read_full(brk_done, &rep, sizeof(rep), 10000))
		t_fail("the punch is still blocked 10 s after the ack");
	if (rep.err)
		t_fail("the punch failed: %s", t_errname(rep.err));
	CHECK(*ack_ns && rep.end_ns >= *ack_ns);
	while (!ready) {
		process_once();
		if (t_ms_since(t0) > 5000)
			t_fail("the MR is not usable 5 s after the punch");
		if (!ready)
			t_msleep(10);
	}
	say("app", "lease restored on the new blocks, MR re-registered: rkey %#x -> %#x", old_rkey, rkey);
	punching = false;
	for (size_t pg = HOLE; pg < HOLE + HOLE_PAGES; pg++) {
		page_msg[pg] = -1;
		page_zero[pg] = true;
	}
	/* The messages that landed while the punch ran, in front of the hole. */
	for (uint32_t seq = deferred_from; seq < landed; seq++) {
		CHECK_EQ(page_msg[seq], seq);
		check_page(seq);
		verified++;
	}
	for (size_t pg = 0; pg < NPAGES; pg++)
		check_page(pg);
	say("app", "stream continues with the new rkey (the %u messages that landed during the punch are in "
	    "place, the hole reads zeros)", landed - deferred_from);
}

int main(void)
{
	static const struct mrlease_verbs_ops ops = { .quiesce = quiesce, .rekey = rekey };
	const int plain = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	struct mrlease_info info;
	struct utsname u;
	char why[128];
	int ret;

	t_watchdog(90);
	ack_ns = CHECK_SYS(mmap(NULL, sizeof(*ack_ns), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0));
	dax_create(&f, NPAGES * t_pg);
	for (size_t pg = 0; pg < NPAGES; pg++)
		page_msg[pg] = -1;
	breaker_spawn();

	rxe_open(&r, 4 * WINDOW);
	ret = mrlease_verbs_open(&mv, &ops, 0);
	if (ret)
		t_fail("mrlease_verbs_open: %s", mrlease_strerror(ret));
	lctx = mrlease_verbs_ctx(mv);
	uname(&u);
	if (!rxe_odp_rc_write(&r, why, sizeof(why))) {
		ret = mrlease_verbs_reg_mr(mv, r.pd, f.map, f.size, plain, MRLEASE_PIN, &f, &mr);
		say("app", "skipped: RDMA into a DAX file needs on-demand paging, and %s's " RXE_NAME
		    " has none (%s); a plain MR over fsdax fails: %s", u.release, why,
		    ret ? mrlease_strerror(ret) : "registered?!");
		close(brk_go);
		exit(T_SKIP);
	}

	CHECK_LE(MSG, rxe_mtu_bytes(&r));
	sbuf = t_anon((size_t)NMSG * MSG / t_pg + 1);
	smr = ibv_reg_mr(r.pd, sbuf, (size_t)NMSG * MSG, IBV_ACCESS_LOCAL_WRITE);
	CHECK(smr);
	for (uint32_t seq = 0; seq < NMSG; seq++)
		for (size_t i = 0; i < MSG / 8; i++)
			((uint64_t *)(sbuf + (size_t)seq * MSG))[i] = word(seq, i);
	for (int i = 0; i < 2 * WINDOW; i++)
		rxe_post_recv(&r, 0);

	ret = mrlease_verbs_reg_mr(mv, r.pd, f.map, f.size, plain | IBV_ACCESS_ON_DEMAND, MRLEASE_PIN,
				   &f, &mr);
	if (ret)
		t_fail("ODP mrlease_verbs_reg_mr over the DAX mapping: %s", mrlease_strerror(ret));
	rkey = old_rkey = mrlease_verbs_mr_ibv(mr)->rkey;
	ready = true;
	CHECK_OK(mrlease_query(lctx, mrlease_verbs_mr_lease(mr), &info));
	say("app", "%s on %s: a %zu KiB -o dax file, mapped shared; ODP MR over it with lease %llu "
	    "(%llu pages pinned), rkey %#x", T_FS, u.release, f.size >> 10, (unsigned long long)info.id,
	    (unsigned long long)info.pinned_pages, rkey);

	t_start = t_now_ns();
	while (landed < NMSG) {
		if (punching && quiesced)
			finish_punch();
		if (ready && mrlease_pending(lctx))
			process_once();
		while (ready && !(punching && quiesced) && posted < NMSG && posted - landed < WINDOW &&
		       !(punching && posted >= HOLE)) {
			/* The fast path: one load. */
			if (mrlease_pending(lctx)) {
				process_once();
				continue;
			}
			if (posted == PUNCH_AT && !punching && !quiesced)
				start_punch();
			ret = rxe_post_write(&r, posted, sbuf + (size_t)posted * MSG, MSG, smr->lkey,
					     (uintptr_t)f.map + posted * t_pg, rkey, posted);
			if (ret)
				t_fail("ibv_post_send %u: %s", posted, t_errname(ret));
			posted++;
		}
		progress();
		if (t_ms_since(t_start) > 45000)
			t_fail("stalled: %u posted, %u sent, %u landed", posted, sent, landed);
	}
	while (sent != posted)
		progress();
	for (size_t pg = 0; pg < NPAGES; pg++)
		check_page(pg);
	CHECK(quiesced && !punching);
	CHECK_EQ(verified, NMSG);
	say("app", "%u messages verified at their file offsets, in order, none lost; the file matches "
	    "(the hole refilled by the stream) after %.1f s", verified, (double)t_ms_since(t_start) / 1000);

	close(brk_go);
	CHECK_CHILD_OK(brk_pid, 5000);
	CHECK_OK(mrlease_verbs_dereg_mr(mr));
	ibv_dereg_mr(smr);
	mrlease_verbs_close(mv);
	rxe_close(&r);
	t_pass();
}
