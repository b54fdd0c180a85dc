// SPDX-License-Identifier: GPL-2.0
/*
 * The registration-cache scenario, as an MPI library meets it: a sender
 * streams RDMA WRITEs with immediate from a buffer registered through
 * libmrlease-verbs (leased and pinned) into a ring of slots at a receiver
 * QP on the same rxe device.  Every so often the application changes the
 * mapping under the buffer and writes new contents there; its fast path
 * checks only mrlease_pending() before each post (and, as a registration
 * cache would, calls mrlease_verbs_process() when it finds its MR not
 * usable).  The library quiesces, acks, restores and re-registers.
 *
 * The receiver checks every message byte for byte: each must carry the
 * contents the buffer had when it was posted, so every message posted after
 * a change comes from the new pages and none from the old ones.  Immediates
 * count the messages: none lost, none duplicated, in order.  Each change
 * must cost exactly one quiesce and one rekey, and the lease must be armed
 * with a new generation after it.
 *
 * Built three times (T_SCENARIO):
 *   munmap   munmap + mmap at the same address; munmap, process (range not
 *            mapped: the MR waits), then mmap; mmap(MAP_FIXED) over it
 *   mremap   mremap away, rewrite, mremap back; mremap another buffer onto it
 *   dontneed madvise(MADV_DONTNEED) of the whole buffer; of one page of it
 */
#include "rxe.h"

#include <mrlease_verbs.h>

#define SC_MUNMAP	1
#define SC_MREMAP	2
#define SC_DONTNEED	3

#ifndef T_SCENARIO
#error "build with -DT_SCENARIO=SC_..."
#endif

#define MSG_PAGES	2
#define NSLOT		16
#define WINDOW		8
#define NMSG		2400
#define CHANGE_EVERY	77	/* messages between two changes; not a multiple of WINDOW */

static struct rxe r;
static struct mrlease_verbs *mv;
static struct mrlease_ctx *lctx;
static struct mrlease_verbs_mr *mr;
static char *buf;		/* the sender's leased buffer: fixed virtual address */
static size_t len;
static char *ring;		/* the receiver's slots */
static struct ibv_mr *ring_mr;

static uint32_t lkey;		/* what the application posts with */
static bool ready;		/* between quiesce and rekey: false */
static uint32_t last_lkey;

static uint32_t epoch;		/* contents generation of buf */
static uint32_t *epoch_of;	/* per message: epoch when posted */
static uint32_t posted, sent, checked;
static unsigned int changes, quiesces, rekeys, newkeys, inflight;
static uint64_t lease_gen;	/* of the lease, at the last check */

/* Word i of contents generation e: the top 16 bits say e, so a wrong message tells which it has. */
static uint64_t word(uint32_t e, size_t i)
{
	return ((uint64_t)e << 48) ^ (i * 0x9e3779b97f4a7c15ull >> 16);
}

static void fill(char *p, uint32_t e)
{
	uint64_t *w = (uint64_t *)p;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = word(e, i);
}

static void check_slot(uint32_t seq)
{
	const uint64_t *w = (const uint64_t *)(ring + (seq % NSLOT) * len);
	uint32_t want = epoch_of[seq];

	for (size_t i = 0; i < len / 8; i++) {
		if (w[i] == word(want, i))
			continue;
		t_fail("message %u, posted with contents %u, has word %zu = %#llx: contents %llu (%s)",
		       seq, want, i, (unsigned long long)w[i],
		       (unsigned long long)(w[i] >> 48),
		       (w[i] >> 48) < want ? "OLD pages" : "garbage");
	}
}

/* Reap completions on both sides; check each message as it lands. */
static void progress(void)
{
	struct ibv_wc wc;

	while (rxe_poll1(r.scq, &wc)) {
		CHECK_EQ(wc.opcode, IBV_WC_RDMA_WRITE);
		sent++;
	}
	while (rxe_poll1(r.rcq, &wc)) {
		uint32_t seq = ntohl(wc.imm_data);

		CHECK_EQ(wc.opcode, IBV_WC_RECV_RDMA_WITH_IMM);
		CHECK(wc.wc_flags & IBV_WC_WITH_IMM);
		CHECK_EQ(wc.byte_len, len);
		if (seq != checked)
			t_fail("message %u arrived when %u was due (lost or reordered)", seq, checked);
		check_slot(seq);
		checked++;
		rxe_post_recv(&r, seq);
	}
}

static int quiesce(struct mrlease_verbs_mr *m, const struct mrlease_event *ev, void *arg)
{
	int64_t t0 = t_now_ns();

	CHECK(m == mr);
	CHECK(arg == &r);
	CHECK(ready);
	CHECK_EQ(ev->type, MRLEASE_EVENT_DECOHERENCE);
	CHECK_EQ(ev->id, mrlease_verbs_mr_lease(mr));
	CHECK(ev->flags & MRLEASE_EVENT_F_SELF);
	CHECK(ev->start >= (uintptr_t)buf && ev->start + ev->length <= (uintptr_t)buf + len);
#if T_SCENARIO == SC_DONTNEED
	CHECK_EQ(ev->reason, MRLEASE_REASON_CLEAR);
#else
	CHECK_EQ(ev->reason, MRLEASE_REASON_UNMAP);
#endif
	ready = false;
	quiesces++;
	inflight += posted - sent;
	/* Wait until no WRITE from the MR is outstanding. */
	while (sent != posted) {
		progress();
		if (t_ms_since(t0) > 10000)
			t_fail("quiesce: %u of %u writes completed after 10 s", sent, posted);
	}
	return 0;
}

static void rekey(struct mrlease_verbs_mr *m, struct ibv_mr *ibmr, void *arg)
{
	CHECK(m == mr);
	CHECK(arg == &r);
	CHECK(!ready);
	CHECK(ibmr == mrlease_verbs_mr_ibv(mr));
	CHECK(ibmr->addr == buf);
	CHECK_EQ(ibmr->length, len);
	if (ibmr->lkey != last_lkey)
		newkeys++;
	last_lkey = ibmr->lkey;
	lkey = ibmr->lkey;
	ready = true;
	rekeys++;
}

static char *map_at(void *addr, int extra)
{
	char *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);

	if (p == MAP_FAILED)
		t_fail("mmap: %s", t_errname(errno));
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

/*
 * Before writing new contents into pages that an MR may still be sending
 * from, wait for those sends, as any MPI program must before it reuses a
 * send buffer.  Where the change gave buf new pages, the application does
 * not wait: in-flight writes keep reading the old pages, which the MR keeps
 * alive and which still hold the contents they were posted with, and
 * quiescing them is the library's job.  (Older rxe executed most writes
 * before ibv_post_send() returned; since 6.12 they run from a work queue,
 * and a missing wait here shows as messages with the newer contents.)
 */
static void drain_sends(void)
{
	int64_t t0 = t_now_ns();

	while (sent != posted) {
		progress();
		if (t_ms_since(t0) > 10000)
			t_fail("drain: %u of %u writes completed after 10 s", sent, posted);
	}
}

/* The application changes the mapping at buf and writes contents epoch + 1 there. */
static void change(void)
{
	unsigned int variant = changes % 3;

	epoch++;
	switch (T_SCENARIO) {
	case SC_MUNMAP:
		if (variant != 2)
			CHECK_SYS(munmap(buf, len));
		if (variant == 1) {
			/* The progress engine runs while nothing is mapped. */
			CHECK(mrlease_pending(lctx));
			CHECK_ERR(mrlease_verbs_process(mv), EFAULT);
			CHECK(!ready);
			CHECK(!mrlease_verbs_mr_ibv(mr));
			CHECK_ERR(mrlease_verbs_process(mv), EFAULT);
		}
		CHECK(map_at(buf, variant == 2 ? MAP_FIXED : MAP_FIXED_NOREPLACE) == buf);
		fill(buf, epoch);
		break;
	case SC_MREMAP:
		if (variant == 1) {
			/* Another buffer, filled elsewhere, moved onto buf: new pages. */
			char *b = map_at(NULL, 0);

			fill(b, epoch);
			CHECK(mremap(b, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, buf) == buf);
		} else {
			/* Away, rewritten there, and back: the same pages, new contents. */
			char *tmp = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			CHECK(tmp != MAP_FAILED);
			CHECK(mremap(buf, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, tmp) == tmp);
			drain_sends();
			fill(tmp, epoch);
			CHECK(mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, buf) == buf);
		}
		break;
	case SC_DONTNEED:
		/* All of it, or only its second page (the rest keeps its pages). */
		if (variant == 1) {
			CHECK_SYS(madvise(buf + t_pg, t_pg, MADV_DONTNEED));
			drain_sends();	/* the first page is still the MR's */
		} else {
			CHECK_SYS(madvise(buf, len, MADV_DONTNEED));
		}
		fill(buf, epoch);
		break;
	}
	changes++;
	/*
	 * The change was made by this thread and is over: the lease must be
	 * broken and its event visible now, or the next post would send
	 * the old pages.
	 */
	if (ready && !mrlease_pending(lctx)) {
		struct mrlease_info info;

		CHECK_OK(mrlease_query(lctx, mrlease_verbs_mr_lease(mr), &info));
		t_fail("change %u (variant %u) returned, but mrlease_pending() is false and the lease is %s: "
		       "the next post would send the old pages", changes, variant,
		       mrlease_state_str(info.state));
	}
}

static void check_gen(uint64_t gen)
{
	if (gen <= lease_gen)
		t_fail("lease generation %llu after a restore, was %llu",
		       (unsigned long long)gen, (unsigned long long)lease_gen);
	lease_gen = gen;
}

int main(void)
{
	static const struct mrlease_verbs_ops ops = { .quiesce = quiesce, .rekey = rekey };
	int64_t t0;
	uint32_t checked_changes = 0;
	int ret;

	t_watchdog(100);
	len = MSG_PAGES * t_pg;
	epoch_of = calloc(NMSG, sizeof(*epoch_of));
	rxe_open(&r, 2 * NSLOT);

	ret = mrlease_verbs_open(&mv, &ops, 0);
	if (ret)
		t_fail("mrlease_verbs_open: %s", mrlease_strerror(ret));
	lctx = mrlease_verbs_ctx(mv);

	ring = mmap(NULL, NSLOT * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(ring != MAP_FAILED);
	memset(ring, 0, NSLOT * len);
	ring_mr = ibv_reg_mr(r.pd, ring, NSLOT * len, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	CHECK(ring_mr);
	for (int i = 0; i < NSLOT; i++)
		rxe_post_recv(&r, i);

	/* Written before registering: the pins then need no copy-on-write of the zero page. */
	buf = map_at(NULL, 0);
	fill(buf, epoch);
	CHECK_OK(mrlease_verbs_reg_mr(mv, r.pd, buf, len, IBV_ACCESS_LOCAL_WRITE,
				      MRLEASE_PIN, &r, &mr));
	CHECK(mrlease_verbs_mr_ibv(mr));
	lkey = last_lkey = mrlease_verbs_mr_ibv(mr)->lkey;
	ready = true;
	{
		struct mrlease_info info;

		CHECK_OK(mrlease_query(lctx, mrlease_verbs_mr_lease(mr), &info));
		lease_gen = info.generation;
	}

	t0 = t_now_ns();
	while (checked < NMSG) {
		/* A cache entry found unusable: let the library finish the job. */
		if (!ready)
			CHECK_OK(mrlease_verbs_process(mv));
		if (changes > checked_changes && ready) {
			struct mrlease_info info;

			CHECK_OK(mrlease_query(lctx, mrlease_verbs_mr_lease(mr), &info));
			CHECK_EQ(info.state, MRLEASE_STATE_ARMED);
			CHECK_EQ(info.addr, (uintptr_t)buf);
			CHECK_EQ(info.length, len);
			CHECK_EQ(info.pinned_pages, MSG_PAGES);
			check_gen(info.generation);
			checked_changes = changes;
		}
		/* A burst as far as the window goes, completions reaped after it. */
		while (ready && posted < NMSG && posted - checked < WINDOW) {
			/* The fast path: one load. */
			if (mrlease_pending(lctx)) {
				CHECK_OK(mrlease_verbs_process(mv));
				continue;
			}
			/* Mid-burst: the writes before it in this burst are not reaped yet. */
			if (posted % CHANGE_EVERY == 0 && changes < posted / CHANGE_EVERY) {
				change();
				continue;
			}
			epoch_of[posted] = epoch;
			ret = rxe_post_write(&r, posted, buf, (uint32_t)len, lkey,
					     (uintptr_t)ring + (posted % NSLOT) * len,
					     ring_mr->rkey, posted);
			if (ret)
				t_fail("ibv_post_send %u: %s", posted, t_errname(ret));
			posted++;
		}
		progress();
		if (t_ms_since(t0) > 90000)
			t_fail("stalled: %u posted, %u completed, %u checked", posted, sent, checked);
	}
	t_info("%u messages of %zu bytes in %lld ms, all checked; %u changes of the mapping, "
	       "%u quiesces (with %u writes in flight in all), %u rekeys (%u with a new lkey)",
	       checked, len, (long long)t_ms_since(t0), changes, quiesces, inflight, rekeys, newkeys);
	CHECK_EQ(changes, (NMSG - 1) / CHANGE_EVERY);
	CHECK_GT(inflight, 0);	/* quiesce had work to wait for */
	CHECK_EQ(quiesces, changes);
	CHECK_EQ(rekeys, changes);
	/* The last send completions may come after the last message landed. */
	drain_sends();
	CHECK_EQ(sent, NMSG);
	CHECK(!mrlease_pending(lctx));

	CHECK_OK(mrlease_verbs_dereg_mr(mr));
	ibv_dereg_mr(ring_mr);
	mrlease_verbs_close(mv);
	rxe_close(&r);
	t_pass();
}
