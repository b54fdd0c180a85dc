// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, writes into leased memory from outside its page tables
 * (issue 10 surfaces: process_vm_writev, /proc/PID/mem, io_uring): writing
 * the pages a lease pins is not a change of translation, so it breaks
 * nothing; a write that does replace a page must break the lease.
 *
 * uid 1000 (the holder) pins RW, 16 pages of private anonymous memory, and
 * RO, 4 pages written and then made PROT_READ.  Another process of uid 1000
 * (the holder allows it with PR_SET_PTRACER):
 *  - process_vm_writev() fills RW pages 0-7, pwrite() on /proc/PID/mem
 *    fills pages 8-15: every byte lands (the holder reads it through its
 *    mapping), the page frames (root reads /proc/PID/pagemap) are the same,
 *    no record comes within 1 s, RW stays ARMED with the same generation
 *    and 16 pinned pages;
 *  - pwrite() on /proc/PID/mem into RO (a FOLL_FORCE write of a read-only
 *    private mapping): RO breaks exactly when the kernel replaced a page
 *    frame (compared before and after); the bytes land either way (5.10
 *    copies the pages, 6.1 and 6.12 write them in place; a kernel that
 *    refuses such writes, as Debian's 7.x does with EIO, leaves RO as it
 *    was, and then it must not break).
 * io_uring (skipped if io_uring_setup() is missing or refused): the holder
 * registers RW as a fixed buffer: VmPin grows by its 16 pages; a pinned
 * lease registered over half of it meanwhile adds 8 and its unregister
 * takes them back; an IORING_OP_READ_FIXED from a memfd fills RW pages
 * 4-7 (the bytes land, no record, RW still ARMED with the same generation);
 * unregistering the buffers and closing the ring bring VmPin back to the
 * leases' 20 pages, unregistering the leases to 0.
 * No splat in the kernel log; no context, lease or pin left.
 */
#include "hostile.h"

#include <linux/io_uring.h>

#define RW_PAGES	16
#define RO_PAGES	4

static uint8_t rw_byte(size_t page)
{
	return (uint8_t)(0xa0 + page);
}

static uint8_t ro_byte(size_t page)
{
	return (uint8_t)(0xc0 + page);
}

/* What t_anon() wrote. */
static uint8_t orig_byte(size_t page)
{
	return (uint8_t)((page & 0x7f) + 1);
}

static uint8_t uring_byte(size_t page)
{
	return (uint8_t)(0xd0 + page);
}

/* The page frame behind @addr in process @pid (root), 0 if not present. */
static uint64_t pfn_of(pid_t pid, uintptr_t addr)
{
	char p[64];
	uint64_t e = 0;
	int fd;

	snprintf(p, sizeof(p), "/proc/%d/pagemap", pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		t_fail("open %s: %s", p, t_errname(errno));
	if (pread(fd, &e, sizeof(e), (off_t)(addr / t_pg * sizeof(e))) != (ssize_t)sizeof(e))
		t_fail("read %s: %s", p, t_errname(errno));
	close(fd);
	return e >> 63 ? e & ((1ull << 55) - 1) : 0;
}

/* ---- a minimal io_uring ----------------------------------------------------------- */

struct ring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

/* 0, or -errno of io_uring_setup() (the caller skips); fails on anything else. */
static int ring_setup(struct ring *r)
{
	struct io_uring_params p = { 0 };
	size_t sq_size, cq_size;
	char *sq, *cq;

	r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -errno;
	sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		sq_size = cq_size = sq_size > cq_size ? sq_size : cq_size;
	sq = mmap(NULL, sq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	CHECK(sq != MAP_FAILED);
	cq = sq;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		cq = mmap(NULL, cq_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			  IORING_OFF_CQ_RING);
		CHECK(cq != MAP_FAILED);
	}
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	CHECK(r->sqes != MAP_FAILED);
	r->sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(sq + p.sq_off.array);
	r->cq_head = (unsigned int *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submit one READ_FIXED of @len bytes at @off of @fd into @buf (fixed buffer 0); its result. */
static int ring_read_fixed(struct ring *r, int fd, void *buf, size_t len, off_t off)
{
	unsigned int tail = *r->sq_tail, idx = tail & *r->sq_mask, head;
	struct io_uring_sqe *sqe = &r->sqes[idx];
	int res;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_READ_FIXED;
	sqe->fd = fd;
	sqe->addr = (uintptr_t)buf;
	sqe->len = (uint32_t)len;
	sqe->off = (uint64_t)off;
	sqe->buf_index = 0;
	sqe->user_data = 0x5eed;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) != 1)
		t_fail("io_uring_enter: %s", t_errname(errno));
	head = *r->cq_head;
	CHECK(head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE));
	CHECK_EQ(r->cqes[head & *r->cq_mask].user_data, 0x5eed);
	res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

/* ---- the holder ------------------------------------------------------------------- */

static void check_bytes(const char *what, const uint8_t *p, size_t pages, uint8_t (*want)(size_t),
			size_t first)
{
	for (size_t i = 0; i < pages * t_pg; i++)
		if (p[i] != want(first + i / t_pg))
			t_fail("%s: byte %zu of page %zu is %#x, expected %#x", what, i % t_pg,
			       first + i / t_pg, p[i], want(first + i / t_pg));
}

/* No record of lease @id within @ms (others are printed and fail too). */
static void no_record(int ctx, int ms, const char *after)
{
	struct mrlease_event ev;
	int r = t_event(ctx, &ev, ms);

	if (r == 1) {
		t_print_event(&ev);
		t_fail("a record after %s", after);
	}
	CHECK_EQ(r, 0);
}

/*
 * 'a': v0 = RW, v1 = RO, v2 = VmPin kB.  On 'c' (v0 = 1 if a frame of RO
 * was replaced, v1 = 1 if RO was written) checks the writes, 'k'.  On 'u' the io_uring part, 'U'
 * (err = io_uring_setup()'s, v = VmPin kB after each step).
 */
static void holder(int in, int out, void *arg)
{
	struct h_msg m = { .op = 'a' };
	struct mrlease_register rw_l, ro_l, half;
	struct mrlease_query q;
	struct mrlease_event ev;
	struct iovec iov;
	struct ring ring = { 0 };
	uint8_t *rw, *ro;
	int ctx, mfd, r;

	(void)arg;
	/* Yama: let another process of this user write here. */
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	rw = (uint8_t *)t_anon(RW_PAGES);
	ro = (uint8_t *)t_anon(RO_PAGES);
	CHECK_SYS(mprotect(ro, PG(RO_PAGES), PROT_READ));
	ctx = t_ctx();
	CHECK_OK(t_register(ctx, rw, PG(RW_PAGES), 1, MRLEASE_REG_PIN, 0, &rw_l));
	CHECK_OK(t_register(ctx, ro, PG(RO_PAGES), 2, MRLEASE_REG_PIN, 0, &ro_l));
	m.v[0] = (int64_t)(uintptr_t)rw;
	m.v[1] = (int64_t)(uintptr_t)ro;
	m.v[2] = proc_vmpin_kb();
	h_send(out, &m);

	H_EXPECT(in, m, 'c', 60000);
	check_bytes("RW after process_vm_writev and /proc/PID/mem", rw, RW_PAGES, rw_byte, 0);
	check_bytes("RO after /proc/PID/mem", ro, RO_PAGES, m.v[1] ? ro_byte : orig_byte, 0);
	if (m.v[0]) {
		/* A frame was replaced: RO must have broken, RW not. */
		GET_EVENT(ctx, ev, 2000);
		CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, ev.reason, ro_l, ev.flags);
		CHECK_EQ(ev.flags & MRLEASE_EVENT_F_SELF, 0);
		CHECK_OK(t_restore(ctx, &ro_l));
	}
	no_record(ctx, 1000, "writes that replaced no page");
	CHECK_OK(t_query(ctx, rw_l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.generation, rw_l.generation);
	CHECK_EQ(q.pinned_pages, RW_PAGES);
	CHECK_EQ(t_state(ctx, ro_l.id), MRLEASE_STATE_ARMED);
	m.op = 'k';
	h_send(out, &m);

	H_EXPECT(in, m, 'u', 60000);
	memset(&m, 0, sizeof(m));
	m.op = 'U';
	m.v[0] = proc_vmpin_kb();
	r = ring_setup(&ring);
	if (r) {
		m.err = r;
		close(ctx);
		h_send(out, &m);
		return;
	}
	iov = (struct iovec){ rw, PG(RW_PAGES) };
	CHECK_SYS(syscall(__NR_io_uring_register, ring.fd, IORING_REGISTER_BUFFERS, &iov, 1));
	m.v[1] = proc_vmpin_kb();
	CHECK_OK(t_register(ctx, rw, PG(RW_PAGES / 2), 3, MRLEASE_REG_PIN, 0, &half));
	m.v[2] = proc_vmpin_kb();
	CHECK_OK(t_unregister(ctx, half.id));
	m.v[3] = proc_vmpin_kb();

	mfd = memfd_create("mrl-uring", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	for (size_t i = 0; i < 4; i++) {
		static uint8_t page[65536];

		CHECK_LE(t_pg, sizeof(page));
		memset(page, uring_byte(4 + i), t_pg);
		CHECK_EQ(pwrite(mfd, page, t_pg, (off_t)PG(i)), (ssize_t)t_pg);
	}
	CHECK_EQ(ring_read_fixed(&ring, mfd, rw + PG(4), PG(4), 0), (int)PG(4));
	check_bytes("RW pages 4-7 after READ_FIXED", rw + PG(4), 4, uring_byte, 4);
	no_record(ctx, 1000, "io_uring's fixed buffers were registered and read into");
	CHECK_OK(t_query(ctx, rw_l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.generation, rw_l.generation);
	CHECK_EQ(q.pinned_pages, RW_PAGES);

	CHECK_SYS(syscall(__NR_io_uring_register, ring.fd, IORING_UNREGISTER_BUFFERS, NULL, 0));
	m.v[4] = proc_vmpin_kb();
	close(ring.fd);
	close(mfd);
	m.v[5] = proc_vmpin_kb();
	CHECK_OK(t_unregister(ctx, rw_l.id));
	CHECK_OK(t_unregister(ctx, ro_l.id));
	m.v[6] = proc_vmpin_kb();
	close(ctx);
	m.v[7] = proc_vmpin_kb();
	h_send(out, &m);
}

/*
 * Gets 'w' (v0 = the holder's pid, v1 = RW, v2 = RO) and writes; 'w':
 * v0/v1 = process_vm_writev's bytes/errno, v2/v3 = /proc/PID/mem into RW,
 * v4/v5 = into RO.
 */
static void writer(int in, int out, void *arg)
{
	static uint8_t buf[RW_PAGES * 65536];
	struct iovec local = { buf, 0 }, remote[RW_PAGES / 2];
	struct h_msg m;
	uintptr_t rw, ro;
	char path[64];
	pid_t pid;
	int fd;

	(void)arg;
	CHECK_LE(PG(RW_PAGES), sizeof(buf));
	H_EXPECT(in, m, 'w', 60000);
	pid = (pid_t)m.v[0];
	rw = (uintptr_t)m.v[1];
	ro = (uintptr_t)m.v[2];
	memset(&m, 0, sizeof(m));
	m.op = 'w';
	for (size_t i = 0; i < RW_PAGES; i++)
		memset(buf + PG(i), rw_byte(i), t_pg);
	local.iov_len = PG(RW_PAGES / 2);
	for (size_t i = 0; i < RW_PAGES / 2; i++)
		remote[i] = (struct iovec){ (void *)(rw + PG(i)), t_pg };
	m.v[0] = process_vm_writev(pid, &local, 1, remote, RW_PAGES / 2, 0);
	m.v[1] = m.v[0] < 0 ? errno : 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		t_fail("open %s: %s", path, t_errname(errno));
	m.v[2] = pwrite(fd, buf + PG(RW_PAGES / 2), PG(RW_PAGES / 2), (off_t)(rw + PG(RW_PAGES / 2)));
	m.v[3] = m.v[2] < 0 ? errno : 0;
	for (size_t i = 0; i < RO_PAGES; i++)
		memset(buf + PG(i), ro_byte(i), t_pg);
	m.v[4] = pwrite(fd, buf, PG(RO_PAGES), (off_t)ro);
	m.v[5] = m.v[4] < 0 ? errno : 0;
	close(fd);
	h_send(out, &m);
}

int main(void)
{
	uint64_t rw_pfn[RW_PAGES], ro_pfn[RO_PAGES];
	struct nl_stats base;
	struct h_agent h, w;
	struct h_msg m, a;
	uintptr_t rw, ro;
	int ro_changed = 0, ro_written = 1, kfd;
	long long lease_kb = (RW_PAGES + RO_PAGES) * (long long)t_pg / KiB;

	t_watchdog(110);
	h_need_root();
	h_stats(&base);
	kfd = kmsg_open();
	h_agent_start(&h, "mrl-holder", H_UID, 64 * MiB, holder, NULL);
	H_EXPECT(h.from, a, 'a', 30000);
	rw = (uintptr_t)a.v[0];
	ro = (uintptr_t)a.v[1];
	t_info("holder %d: RW at %#lx, RO at %#lx pinned, VmPin %lld kB", h.pid, (unsigned long)rw,
	       (unsigned long)ro, (long long)a.v[2]);
	CHECK_EQ(a.v[2], lease_kb);
	for (size_t i = 0; i < RW_PAGES; i++) {
		rw_pfn[i] = pfn_of(h.pid, rw + PG(i));
		CHECK(rw_pfn[i] != 0);
	}
	for (size_t i = 0; i < RO_PAGES; i++) {
		ro_pfn[i] = pfn_of(h.pid, ro + PG(i));
		CHECK(ro_pfn[i] != 0);
	}

	h_agent_start(&w, "mrl-hostile", H_UID, 64 * KiB, writer, NULL);
	a.op = 'w';
	a.v[0] = h.pid;
	a.v[1] = (int64_t)rw;
	a.v[2] = (int64_t)ro;
	h_send(w.to, &a);
	H_EXPECT(w.from, m, 'w', 30000);
	t_info("process_vm_writev: %lld (%s); /proc/PID/mem into RW: %lld (%s), into RO: %lld (%s)",
	       (long long)m.v[0], t_errname((int)m.v[1]), (long long)m.v[2], t_errname((int)m.v[3]),
	       (long long)m.v[4], t_errname((int)m.v[5]));
	CHECK_EQ(m.v[0], PG(RW_PAGES / 2));
	CHECK_EQ(m.v[2], PG(RW_PAGES / 2));
	/* Kernels built with PROC_MEM_FORCE_PTRACE or PROC_MEM_NO_FORCE (proc_mem.force_override) refuse it. */
	if (m.v[4] < 0 && m.v[5] == EIO) {
		t_info("this kernel refuses FOLL_FORCE writes through /proc/PID/mem (EIO): RO is not written");
		ro_written = 0;
	} else {
		CHECK_EQ(m.v[4], PG(RO_PAGES));
	}
	CHECK_CHILD_OK(w.pid, 10000);
	for (size_t i = 0; i < RW_PAGES; i++)
		if (pfn_of(h.pid, rw + PG(i)) != rw_pfn[i])
			t_fail("RW page %zu: frame %#llx replaced by %#llx under a pin", i,
			       (unsigned long long)rw_pfn[i], (unsigned long long)pfn_of(h.pid, rw + PG(i)));
	for (size_t i = 0; i < RO_PAGES; i++)
		if (pfn_of(h.pid, ro + PG(i)) != ro_pfn[i])
			ro_changed = 1;
	t_info("RW frames unchanged; RO frames %s by the FOLL_FORCE write: expect %s", ro_changed ?
	       "replaced" : "unchanged", ro_changed ? "RO broken" : "no record");
	memset(&m, 0, sizeof(m));
	m.op = 'c';
	m.v[0] = ro_changed;
	m.v[1] = ro_written;
	h_send(h.to, &m);
	H_EXPECT(h.from, m, 'k', 30000);
	H_CHECK_NO_SPLAT(kfd, "from process_vm_writev or /proc/PID/mem");

	h_say(h.to, 'u', 0);
	H_EXPECT(h.from, m, 'U', 30000);
	if (m.err) {
		t_info("io_uring_setup: %s: the io_uring part is left out", t_errname(-m.err));
	} else {
		long long buf_kb = RW_PAGES * (long long)t_pg / KiB;

		t_info("VmPin kB: %lld with the leases, %lld + fixed buffers, %lld + a lease on half, %lld "
		       "without it, %lld buffers unregistered, %lld ring closed, %lld leases unregistered, "
		       "%lld context closed", (long long)m.v[0], (long long)m.v[1], (long long)m.v[2],
		       (long long)m.v[3], (long long)m.v[4], (long long)m.v[5], (long long)m.v[6],
		       (long long)m.v[7]);
		CHECK_EQ(m.v[0], lease_kb);
		CHECK_EQ(m.v[1], lease_kb + buf_kb);
		CHECK_EQ(m.v[2], lease_kb + buf_kb + buf_kb / 2);
		CHECK_EQ(m.v[3], lease_kb + buf_kb);
		CHECK_EQ(m.v[4], lease_kb);
		CHECK_EQ(m.v[5], lease_kb);
		CHECK_EQ(m.v[6], 0);
		CHECK_EQ(m.v[7], 0);
	}
	CHECK_CHILD_OK(h.pid, 10000);
	H_CHECK_STATS(&base);
	H_CHECK_NO_SPLAT(kfd, "from io_uring's fixed buffers over a leased range");
	t_pass();
}
