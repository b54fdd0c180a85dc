// SPDX-License-Identifier: GPL-2.0
/*
 * RDMA into a file on persistent memory, hitless across a foreign hole punch
 * and truncate (issue 13): the receiver's buffer is a MAP_SHARED mapping of
 * a file on an -o dax filesystem, registered through libmrlease-verbs as an
 * on-demand-paging MR (stock kernels refuse long-term pins on fsdax, so a
 * plain MR cannot be had) with a pinned lease.  A sender QP on the same rxe
 * device streams RDMA WRITEs with immediate into it, one packet per message,
 * each at the start of a page (rxe's ODP in 7.2.13 copies a packet that
 * lands inside a page to the page's start; 69-verbs-odp-offset-bug watches
 * for that).  A breaker, a forked child running as another user, punches
 * holes into the file and truncates it under the MR while the stream runs.
 *
 * Asserted, for every change:
 *  - the holder gets one DECOHERENCE record (reason CLEAR, not SELF, the
 *    breaker's pid) and the library quiesces: the test's quiesce() drains
 *    every message posted so far, then holds the ack back for HOLD_MS, and
 *    the breaker must still be inside its system call then;
 *  - the breaker returns after the ack, within ACK_PROMPT_MS of it, and it
 *    never waited as long as the lease's break timeout (the ceiling);
 *  - in the refault rounds quiesce() first makes the NIC touch the leased
 *    range: an RDMA WRITE into every page of the MR (the hole included),
 *    posted between the event and the ack, each completing.  The break's
 *    unmap invalidated the ODP MR, so rxe faults the pages in again, among
 *    them the page the breaker sleeps on (ext4 and xfs break the layout of
 *    the whole file and wait for its first busy page).  Since 6.15 that new
 *    mapping kept the page busy after the unpin and the punch or truncate
 *    blocked until the range was unmapped; module/daxwait.c restarts the
 *    call, and here it must return within ACK_PROMPT_MS of the ack.  (Run
 *    against a module built with MRL_COMPAT_DAX_WAIT_RESTARTS 0, the test
 *    fails in the first such round; a write into the hole alone does not
 *    catch it, as the breaker waits for page 0);
 *  - the library acks, restores the lease on the new blocks and re-registers
 *    the MR (one quiesce and one rekey per change); a truncated MR waits,
 *    not usable, until the file is extended again;
 *  - the whole file is then checked against a model, through pread() and
 *    through the mapping: every page holds the last message written to it
 *    and the rest of its old contents, punched or truncated pages hold zeros
 *    (the writes into the hole included: their blocks were freed with the
 *    punch), and nothing is anywhere else.  Outside the changes each message
 *    is also checked at its file offset as it lands.  Immediates count the
 *    messages: none lost, none duplicated, in order.
 *
 * Skips where the device has no ODP for RC WRITEs (rxe on 6.1, 6.12, 5.10),
 * after asserting that the verbs layer's plain registration of a DAX range
 * fails with -EOPNOTSUPP, the answer the stock kernel gives for fsdax.
 *
 * Built once per filesystem (T_FS), as the cases/3x-fsdax tests are.
 */
#include "rxe.h"
#include "fsdax.h"

#include <grp.h>
#include <mrlease_verbs.h>

#define NPAGES		32
#define MSG		512u		/* bytes per message: one packet */
#define WINDOW		8
#define NMSG		420
#define HOLD_MS		300		/* quiesce() holds the ack back this long */
#define ACK_PROMPT_MS	2000		/* the breaker returns this soon after the ack */
#define BREAKER_UID	1000
#define REFAULT_IMM	0xfffffff0u
#define SHORT_MS	500		/* the truncated file stays short this long */

enum op { OP_PUNCH = 1, OP_TRUNCATE, OP_EXTEND, OP_QUIT };

struct cmd {
	int op;
	size_t off, len;
};

struct change {
	uint32_t at;		/* before posting this message */
	int op;			/* OP_PUNCH or OP_TRUNCATE */
	size_t first, npages;	/* pages: punched, or cut off the end */
	bool refault;		/* the NIC writes into the MR before the ack */
};

static const struct change plan[] = {
	{  50, OP_PUNCH,     4,  4, false },
	{ 120, OP_PUNCH,    12,  4, true  },
	{ 190, OP_TRUNCATE, 24,  8, true  },
	{ 260, OP_PUNCH,    20,  8, true  },
	{ 330, OP_PUNCH,     0,  2, false },
};
#define NCHANGE	(sizeof(plan) / sizeof(plan[0]))

static struct rxe r;
static struct dax_file f;
static struct mrlease_verbs *mv;
static struct mrlease_ctx *lctx;
static struct mrlease_verbs_mr *mr;
static char *sbuf;			/* the sender's messages, one slot each */
static struct ibv_mr *smr;
static uint32_t rkey;			/* the receiver MR's, as the sender knows it */
static bool ready;			/* between quiesce() and rekey(): false */

static uint32_t posted, sent, checked;
static unsigned int quiesces, rekeys, refaults, refaults_sent, inflight, eagains;
static int64_t ack_ns;			/* quiesce() said yes: the ack follows */

/* The model of the file: per page, its old contents and the last message written there. */
static bool page_zero[NPAGES];
static int64_t page_msg[NPAGES];

/* The breaker: a child as another user, changing the file on command. */
static pid_t brk_pid;
static int brk_cmd, brk_rep, brk_started;
static const struct change *cur;	/* the change under way */
static unsigned int nchange;		/* changes started */

static uint64_t word(uint32_t seq, size_t i)
{
	return ((uint64_t)(seq + 1) << 40) ^ (i * 0x9e3779b97f4a7c15ull >> 28);
}

static size_t page_of(uint32_t seq)
{
	return seq % NPAGES;
}

static void fill_msg(char *p, uint32_t seq)
{
	uint64_t *w = (uint64_t *)p;

	for (size_t i = 0; i < MSG / 8; i++)
		w[i] = word(seq, i);
}

/* @p is page @pg of the file, as the mapping or pread() shows it: compare with the model. */
static void check_page(const char *how, const uint8_t *p, size_t pg)
{
	size_t from = 0;

	if (page_msg[pg] >= 0) {
		const uint64_t *w = (const uint64_t *)p;
		uint32_t seq = (uint32_t)page_msg[pg];

		for (size_t i = 0; i < MSG / 8; i++)
			if (w[i] != word(seq, i))
				t_fail("%s: page %zu should start with message %u, word %zu is %#llx "
				       "(message %lld?)", how, pg, seq, i, (unsigned long long)w[i],
				       (long long)(w[i] >> 40) - 1);
		from = MSG;
	}
	for (size_t o = from; o < t_pg; o++) {
		uint8_t want = page_zero[pg] ? 0 : dax_pattern(pg * t_pg + o);

		if (p[o] != want)
			t_fail("%s: page %zu byte %zu is %#x, expected %#x (%s)%s", how, pg, o, p[o],
			       want, page_zero[pg] ? "punched: zeros" : "the file's old contents",
			       o < MSG ? "" : ": a message landed out of place");
	}
}

/* Page @pg through pread() (not the mapping) and through the mapping. */
static void verify_page(size_t pg)
{
	static uint8_t buf[65536];

	CHECK(t_pg <= sizeof(buf));
	if (pread(f.fd, buf, t_pg, (off_t)(pg * t_pg)) != (ssize_t)t_pg)
		t_fail("pread page %zu: %s", pg, t_errname(errno));
	check_page("pread", buf, pg);
	check_page("mapping", (const uint8_t *)f.map + pg * t_pg, pg);
}

static void verify_all(void)
{
	struct stat st;

	CHECK_SYS(fstat(f.fd, &st));
	CHECK_EQ(st.st_size, (off_t)(NPAGES * t_pg));
	for (size_t pg = 0; pg < NPAGES; pg++)
		verify_page(pg);
}

/* Reap completions on both sides; check each message where it landed, unless a change runs. */
static void progress(void)
{
	struct ibv_wc wc;

	while (rxe_poll1(r.scq, &wc)) {
		CHECK_EQ(wc.opcode, IBV_WC_RDMA_WRITE);
		if (wc.wr_id == REFAULT_IMM)
			refaults_sent++;
		else
			sent++;
	}
	while (rxe_poll1(r.rcq, &wc)) {
		uint32_t seq = ntohl(wc.imm_data);

		CHECK_EQ(wc.opcode, IBV_WC_RECV_RDMA_WITH_IMM);
		CHECK_EQ(wc.byte_len, MSG);
		rxe_post_recv(&r, 0);
		if (seq == REFAULT_IMM) {
			refaults++;
			continue;
		}
		if (seq != checked)
			t_fail("message %u arrived when %u was due (lost or reordered)", seq, checked);
		page_msg[page_of(seq)] = seq;
		/*
		 * While the breaker may hold the file's locks, neither pread()
		 * nor a fault of ours may wait for them: the ack would never
		 * come.  verify_all() checks these messages after the change.
		 */
		if (!cur)
			verify_page(page_of(seq));
		checked++;
	}
}

/*
 * One call of the library's progress.  -EAGAIN is its "not yet": the
 * restore comes too early while the breaker finishes (the module lets the
 * breaker go first), and the next call goes on.  A truncated MR cannot be
 * restored until the file is extended: any error while that is so.
 */
static int process_once(void)
{
	int ret = mrlease_verbs_process(mv);

	if (ret == -EAGAIN)
		eagains++;
	else if (ret && !(cur && cur->op == OP_TRUNCATE))
		t_fail("mrlease_verbs_process: %s", mrlease_strerror(ret));
	return ret;
}

static void brk_send(int op, size_t off, size_t len)
{
	const struct cmd c = { .op = op, .off = off, .len = len };

	t_write_full(brk_cmd, &c, sizeof(c));
}

static void breaker_main(int cin, int rout, int started)
{
	struct cmd c;

	prctl(PR_SET_NAME, BREAKER_COMM);
	/* Its own changes only: it maps nothing of the file. */
	CHECK_SYS(munmap(f.map, f.size));
	if (geteuid() == 0) {
		CHECK_SYS(setgroups(0, NULL));
		CHECK_SYS(setresgid(BREAKER_UID, BREAKER_UID, BREAKER_UID));
		CHECK_SYS(setresuid(BREAKER_UID, BREAKER_UID, BREAKER_UID));
	}
	while (t_read_full(cin, &c, sizeof(c), 120000) && c.op != OP_QUIT) {
		struct breaker_report rep;
		int ret;

		if (c.op != OP_EXTEND)
			t_write_full(started, "s", 1);
		rep.start_ns = t_now_ns();

		if (c.op == OP_PUNCH)
			ret = fallocate(f.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)c.off, (off_t)c.len);
		else
			ret = ftruncate(f.fd, (off_t)c.off);
		rep.end_ns = t_now_ns();
		rep.err = ret ? errno : 0;
		t_write_full(rout, &rep, sizeof(rep));
	}
	_exit(0);
}

static void breaker_spawn(void)
{
	int cin[2], rout[2], started[2];

	t_pipe(cin);
	t_pipe(rout);
	t_pipe(started);
	brk_pid = t_fork();
	if (!brk_pid) {
		close(cin[1]);
		close(rout[0]);
		close(started[0]);
		breaker_main(cin[0], rout[1], started[1]);
	}
	close(cin[0]);
	close(rout[1]);
	close(started[1]);
	brk_cmd = cin[1];
	brk_rep = rout[0];
	brk_started = started[0];
}

static bool brk_returned(void)
{
	struct pollfd p = { .fd = brk_rep, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/*
 * Writes still in flight at the break, as a real NIC has them: one into
 * each of the first @npages pages of the MR (all of them, or those a
 * truncate leaves), posted after the event and before the ack, each waited
 * for.  The break's unmap invalidated the ODP MR, so rxe faults every page
 * in again to land them: the doomed pages in the hole, and the page the
 * breaker waits for (the first pinned one: ext4 and xfs break the layout
 * of the whole file), which keeps that page busy once the lease unpins it.
 * Each write is a message of its own (seq NMSG and up) in the model.
 */
static void nic_touch(size_t npages)
{
	char *src = sbuf + (size_t)NMSG * MSG;
	int64_t t0 = t_now_ns();

	for (size_t pg = 0; pg < npages; pg++) {
		uint32_t seq = NMSG + refaults;
		unsigned int want = refaults + 1;
		int ret;

		/* It consumes one of the receives, which progress() posts again. */
		fill_msg(src, seq);
		ret = rxe_post_write(&r, REFAULT_IMM, src, MSG, smr->lkey,
				     (uintptr_t)f.map + pg * t_pg, rkey, REFAULT_IMM);
		if (ret)
			t_fail("ibv_post_send between the event and the ack: %s", t_errname(ret));
		while (refaults < want || refaults_sent < want) {
			progress();
			if (t_ms_since(t0) > 10000)
				t_fail("a write between the event and the ack (page %zu) did not complete "
				       "in 10 s", pg);
		}
		page_msg[pg] = seq;
	}
}

static int quiesce(struct mrlease_verbs_mr *m, const struct mrlease_event *ev, void *arg)
{
	int64_t t0 = t_now_ns();

	CHECK(m == mr);
	CHECK(arg == &f);
	CHECK(ready);
	if (!cur)
		t_fail("a lease break with no change under way: reason %s, flags %#x, by %d (%s)",
		       mrlease_reason_str(ev->reason), ev->flags, ev->breaker_pid, ev->breaker_comm);
	CHECK_EQ(ev->type, MRLEASE_EVENT_DECOHERENCE);
	CHECK_EQ(ev->reason, MRLEASE_REASON_CLEAR);
	CHECK_EQ(ev->id, mrlease_verbs_mr_lease(mr));
	CHECK(!(ev->flags & MRLEASE_EVENT_F_SELF));
	CHECK_EQ(ev->breaker_pid, brk_pid);
	CHECK(ev->start >= (uintptr_t)f.map && ev->start + ev->length <= (uintptr_t)f.map + f.size);
	CHECK_LE(ev->start, (uintptr_t)f.map + cur->first * t_pg);
	CHECK_GE(ev->start + ev->length, (uintptr_t)f.map + (cur->first + cur->npages) * t_pg);
	ready = false;
	quiesces++;
	inflight += posted - checked;
	/* The peer stops and every message it posted lands. */
	while (sent != posted || checked != posted) {
		progress();
		if (t_ms_since(t0) > 10000)
			t_fail("quiesce: %u sent, %u landed of %u after 10 s", sent, checked, posted);
	}
	if (cur->refault)
		nic_touch(cur->op == OP_TRUNCATE ? cur->first : NPAGES);
	t_msleep(HOLD_MS);
	if (brk_returned())
		t_fail("the breaker's %s returned before the ack", cur->op == OP_PUNCH ? "punch" : "truncate");
	ack_ns = t_now_ns();
	return 0;
}

static void rekey(struct mrlease_verbs_mr *m, struct ibv_mr *ibmr, void *arg)
{
	CHECK(m == mr);
	CHECK(arg == &f);
	CHECK(!ready);
	CHECK(ibmr == mrlease_verbs_mr_ibv(mr));
	CHECK(ibmr->addr == f.map);
	CHECK_EQ(ibmr->length, f.size);
	rkey = ibmr->rkey;
	ready = true;
	rekeys++;
}

/*
 * The stream goes on while the change starts; waiting for the breaker to
 * be about to enter its system call keeps the time in which messages land
 * unchecked (until the change is over) short on a slow VM.
 */
static void start_change(void)
{
	char c;

	cur = &plan[nchange++];
	if (cur->op == OP_PUNCH)
		brk_send(OP_PUNCH, cur->first * t_pg, cur->npages * t_pg);
	else
		brk_send(OP_TRUNCATE, cur->first * t_pg, 0);
	if (!t_read_full(brk_started, &c, 1, 5000))
		t_fail("the breaker did not start change %u", nchange);
}

/*
 * The library has quiesced and acked (quiesce() ran for this change): the
 * breaker must return promptly; a truncated file is extended again (the MR
 * waits for that); then the stream may go on, and the file must match.
 */
static void finish_change(uint32_t timeout_ms)
{
	struct breaker_report rep;
	int64_t after_ack, waited;
	int ret = 0;

	if (!t_read_full(brk_rep, &rep, sizeof(rep), ACK_PROMPT_MS * 5))
		t_fail("the breaker's %s is still blocked %d ms after the ack%s",
		       cur->op == OP_PUNCH ? "punch" : "truncate", ACK_PROMPT_MS * 5,
		       cur->refault ? " (the NIC touched the range between the event and the ack)" : "");
	if (rep.err)
		t_fail("the breaker's change failed: %s", t_errname(rep.err));
	after_ack = (rep.end_ns - ack_ns) / 1000000;
	waited = (rep.end_ns - rep.start_ns) / 1000000;
	t_info("change %u: %s of pages %zu-%zu%s by uid %d waited %lld ms, returned %lld ms after the ack",
	       nchange, cur->op == OP_PUNCH ? "punch" : "truncate", cur->first,
	       cur->first + cur->npages - 1, cur->refault ? " (the NIC wrote into the MR before the ack)" : "",
	       BREAKER_UID, (long long)waited, (long long)after_ack);
	if (rep.end_ns < ack_ns)
		t_fail("the breaker returned %lld ms before the ack", (long long)-after_ack);
	CHECK_LT(after_ack, ACK_PROMPT_MS);
	CHECK_GE(waited, HOLD_MS);
	CHECK_LT(waited, (int64_t)timeout_ms);

	if (cur->op == OP_TRUNCATE) {
		/*
		 * Part of the MR is beyond the end of the file: it cannot be
		 * restored, however often the application asks.
		 */
		for (int64_t t0 = t_now_ns(); t_ms_since(t0) < SHORT_MS; t_msleep(20)) {
			ret = mrlease_verbs_process(mv);
			CHECK(!ready);
			CHECK(!mrlease_verbs_mr_ibv(mr));
			CHECK_LT(ret, 0);
		}
		t_info("%d ms with the file short: the MR is not usable, mrlease_verbs_process() says %s",
		       SHORT_MS, mrlease_strerror(ret));
		brk_send(OP_EXTEND, f.size, 0);
		if (!t_read_full(brk_rep, &rep, sizeof(rep), 5000) || rep.err)
			t_fail("extending the file failed");
	}
	for (int64_t t0 = t_now_ns(); !ready;) {
		ret = process_once();
		if (t_ms_since(t0) > 5000)
			t_fail("the MR is not usable 5 s after the change: %s", mrlease_strerror(ret));
		if (!ready)
			t_msleep(10);
	}
	for (size_t pg = cur->first; pg < cur->first + cur->npages; pg++) {
		page_zero[pg] = true;
		page_msg[pg] = -1;
	}
	cur = NULL;
	verify_all();
}

/* Without ODP, the verbs layer cannot register a DAX range: the stock kernel refuses long-term pins. */
static int plain_reg_fails(void)
{
	struct mrlease_verbs_mr *m = NULL;
	int ret = mrlease_verbs_reg_mr(mv, r.pd, f.map, f.size,
				       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
				       MRLEASE_PIN, &f, &m);

	t_info("mrlease_verbs_reg_mr() without ODP over the %s DAX mapping: %d (%s)", T_FS, ret,
	       ret ? strerror(-ret) : "registered");
	if (!ret)
		t_fail("a plain MR over a DAX mapping was registered: long-term pins on fsdax?");
	return ret;
}

/*
 * What an operator sees: mrlease-ctl (bin/ beside the test) shows the
 * lease with its backing and the file it maps, restored once per change.
 */
static void ctl_shows(uint64_t id)
{
	char exe[4096], cmd[4300], out[8192];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t len = 0;
	char *slash;
	FILE *p;

	CHECK(n > 0);
	exe[n] = 0;
	slash = strrchr(exe, '/');
	*slash = 0;
	snprintf(cmd, sizeof(cmd), "%s/bin/mrlease-ctl lease show %llu", exe, (unsigned long long)id);
	p = popen(cmd, "r");
	CHECK(p);
	while (len < sizeof(out) - 1 && (n = (ssize_t)fread(out + len, 1, sizeof(out) - 1 - len, p)) > 0)
		len += (size_t)n;
	out[len] = 0;
	CHECK_EQ(pclose(p), 0);
	t_info("mrlease-ctl lease show %llu: %s", (unsigned long long)id, out);
	CHECK(strstr(out, "backing fsdax"));
	CHECK(strstr(out, " path /"));
	snprintf(cmd, sizeof(cmd), " restores %zu ", NCHANGE);
	CHECK(strstr(out, cmd));
}

int main(void)
{
	static const struct mrlease_verbs_ops ops = { .quiesce = quiesce, .rekey = rekey };
	const int access = IBV_ACCESS_ON_DEMAND | IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	struct mrlease_info info;
	char why[128];
	int64_t t0;
	int ret;

	t_watchdog(60);
	dax_create(&f, NPAGES * t_pg);
	for (size_t pg = 0; pg < NPAGES; pg++)
		page_msg[pg] = -1;
	/* Before any verbs or lease state exists in this process. */
	breaker_spawn();

	rxe_open(&r, 4 * WINDOW);
	ret = mrlease_verbs_open(&mv, &ops, 0);
	if (ret)
		t_fail("mrlease_verbs_open: %s", mrlease_strerror(ret));
	lctx = mrlease_verbs_ctx(mv);

	ret = plain_reg_fails();
	/* The library's message says why, and what to do. */
	t_info("that is: %s", mrlease_strerror(ret));
	CHECK(strstr(mrlease_strerror(ret), "IBV_ACCESS_ON_DEMAND"));
	if (!rxe_odp_rc_write(&r, why, sizeof(why))) {
		int odp = mrlease_verbs_reg_mr(mv, r.pd, f.map, f.size, access, MRLEASE_PIN, &f, &mr);

		t_info("mrlease_verbs_reg_mr() with ODP: %d (%s)", odp, odp ? strerror(-odp) : "registered");
		CHECK_LT(odp, 0);
		CHECK_EQ(ret, -EOPNOTSUPP);
		brk_send(OP_QUIT, 0, 0);
		t_skip(RXE_NAME " has no ODP for RC WRITEs (%s), and a plain MR over fsdax is refused "
		       "(%s): RDMA into a DAX file needs ODP", why, strerror(-ret));
	}
	CHECK_EQ(ret, -EOPNOTSUPP);
	t_info(RXE_NAME ": %s", why);
	CHECK_LE(MSG, rxe_mtu_bytes(&r));

	sbuf = t_anon((NMSG * MSG + MSG) / t_pg + 1);
	smr = ibv_reg_mr(r.pd, sbuf, (size_t)NMSG * MSG + MSG, IBV_ACCESS_LOCAL_WRITE);
	CHECK(smr);
	for (uint32_t i = 0; i < NMSG; i++)
		fill_msg(sbuf + (size_t)i * MSG, i);
	for (int i = 0; i < 2 * WINDOW; i++)
		rxe_post_recv(&r, 0);

	ret = mrlease_verbs_reg_mr(mv, r.pd, f.map, f.size, access, MRLEASE_PIN, &f, &mr);
	if (ret)
		t_fail("ODP mrlease_verbs_reg_mr over the %s DAX mapping: %s", T_FS, mrlease_strerror(ret));
	CHECK(mrlease_verbs_mr_ibv(mr));
	rkey = mrlease_verbs_mr_ibv(mr)->rkey;
	ready = true;
	CHECK_OK(mrlease_query(lctx, mrlease_verbs_mr_lease(mr), &info));
	CHECK_EQ(info.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(info.backing, MRLEASE_BACKING_FSDAX);
	CHECK_EQ(info.pinned_pages, NPAGES);
	CHECK_EQ(info.hold, MRLEASE_HOLD_WAIT);
	t_info("lease %llu: fsdax, %llu pages pinned, break timeout %u ms",
	       (unsigned long long)info.id, (unsigned long long)info.pinned_pages, info.timeout_ms);

	t0 = t_now_ns();
	while (checked < NMSG) {
		if (!ready && !cur)
			process_once();
		if (cur && quiesces == nchange)
			finish_change(info.timeout_ms);
		/*
		 * Once the change is quiesced the test waits for its end
		 * (finish_change()) before it posts again, so that the model
		 * knows which messages landed before the punch and which after.
		 */
		while (ready && !(cur && quiesces == nchange) && posted < NMSG &&
		       posted - checked < WINDOW) {
			uint32_t seq = posted;

			/* The fast path: one load. */
			if (mrlease_pending(lctx)) {
				process_once();
				continue;
			}
			if (!cur && nchange < NCHANGE && seq >= plan[nchange].at)
				start_change();
			ret = rxe_post_write(&r, seq, sbuf + (size_t)seq * MSG, MSG, smr->lkey,
					     (uintptr_t)f.map + page_of(seq) * t_pg, rkey, seq);
			if (ret)
				t_fail("ibv_post_send %u: %s", seq, t_errname(ret));
			posted++;
		}
		progress();
		if (t_ms_since(t0) > 45000)
			t_fail("stalled: %u posted, %u sent, %u landed, %u changes", posted, sent, checked, nchange);
	}
	while (sent != posted) {
		progress();
		if (t_ms_since(t0) > 45000)
			t_fail("%u of %u sends completed", sent, posted);
	}
	verify_all();
	t_info("%u messages of %u bytes into the %s DAX file in %lld ms, each checked at its file offset; "
	       "%u changes, %u quiesces (%u messages in flight in all), %u rekeys, %u writes "
	       "between an event and its ack, %u process() calls said EAGAIN", checked, MSG, T_FS,
	       (long long)t_ms_since(t0), nchange, quiesces, inflight, rekeys, refaults, eagains);
	CHECK_EQ(nchange, NCHANGE);
	CHECK_EQ(quiesces, NCHANGE);
	CHECK_EQ(rekeys, NCHANGE);
	CHECK_EQ(refaults, NPAGES + 24 + NPAGES);
	CHECK_EQ(sent, NMSG);
	CHECK(!mrlease_pending(lctx));
	CHECK_OK(mrlease_query(lctx, mrlease_verbs_mr_lease(mr), &info));
	CHECK_EQ(info.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(info.pinned_pages, NPAGES);
	ctl_shows(info.id);

	brk_send(OP_QUIT, 0, 0);
	CHECK_CHILD_OK(brk_pid, 5000);
	CHECK_OK(mrlease_verbs_dereg_mr(mr));
	ibv_dereg_mr(smr);
	mrlease_verbs_close(mv);
	rxe_close(&r);
	t_pass();
}
