// SPDX-License-Identifier: GPL-2.0
/*
 * What the lease costs an RDMA library, on rxe, side by side in one run:
 *
 *   1. the fast-path check: mrlease_pending() (through the shared library,
 *      as an application calls it) vs a plain load vs poll(fd, 0);
 *   2. registration: ibv_reg_mr + ibv_dereg_mr vs mrlease_verbs_reg_mr +
 *      mrlease_verbs_dereg_mr (lease without and with MRLEASE_PIN) for
 *      4 KiB, 2 MiB and 64 MiB, and what one hitless restore costs
 *      (madvise(DONTNEED) of a page, then mrlease_verbs_process());
 *   3. RDMA WRITE message rate with and without the pending check before
 *      every post.
 *
 * The variants of each row run in alternating rounds (the order rotates),
 * so that drift of the machine hits them alike; the table shows the median
 * and the best of the rounds (the best is what a busy host disturbs least)
 * and their ratios to the first variant.
 *
 *   bench-verbs [-q]     -q: fewer rounds (a quick look)
 */
#include "rxe.h"

#include <sched.h>

#include <mrlease_verbs.h>

#define MAXV	4	/* variants per row */
#define MAXR	21	/* rounds */

static struct rxe r;
static struct mrlease_verbs *mv;
static struct mrlease_ctx *lctx;
static bool quick;
static volatile uint64_t sink;

static double now(void)
{
	return (double)t_now_ns();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	double s[MAXR];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* The best round: the lowest time, or the highest rate. */
static bool higher_is_better;

static double minimum(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		if (higher_is_better ? v[i] > m : v[i] < m)
			m = v[i];
	return m;
}

/*
 * One row: run(v, arg) measures variant v once and returns its figure;
 * rounds rotate the order in which the variants go.
 */
static void row(const char *what, const char *unit, int nv, const char *const *names, int rounds,
		double (*run)(int v, void *arg), void *arg)
{
	double res[MAXV][MAXR], med[MAXV], low[MAXV];

	if (rounds > MAXR)
		rounds = MAXR;

	for (int i = 0; i < rounds; i++)
		for (int k = 0; k < nv; k++) {
			int v = (i + k) % nv;

			res[v][i] = run(v, arg);
		}
	printf("%s (%s; median, best of %d rounds; ratios to %s)\n", what, unit, rounds, names[0]);
	for (int v = 0; v < nv; v++) {
		med[v] = median(res[v], rounds);
		low[v] = minimum(res[v], rounds);
		printf("    %-18s %14.3f %14.3f", names[v], med[v], low[v]);
		if (v)
			printf("   x%.3f x%.3f", med[v] / med[0], low[v] / low[0]);
		putchar('\n');
	}
}

/* ---- 1. the fast-path check -------------------------------------------- */

/* The same load behind an ordinary call: what the call itself costs. */
static __attribute__((noinline)) bool local_check(const volatile uint64_t *word)
{
	return __atomic_load_n(word, __ATOMIC_RELAXED) != 0;
}

static double run_check(int v, void *arg)
{
	const volatile uint64_t *word = arg;
	struct pollfd p = { .fd = mrlease_get_fd(lctx), .events = POLLIN };
	long n = v == 3 ? 20000 : 2000000;
	uint64_t s = 0;
	double t0 = now();

	switch (v) {
	case 0:
		for (long i = 0; i < n; i++)
			s += *word;
		break;
	case 1:
		for (long i = 0; i < n; i++)
			s += local_check(word);
		break;
	case 2:
		for (long i = 0; i < n; i++)
			s += mrlease_pending(lctx);
		break;
	case 3:
		for (long i = 0; i < n; i++)
			s += (uint64_t)poll(&p, 1, 0);
		break;
	}
	sink += s;
	return (now() - t0) / (double)n;
}

static void bench_check(void)
{
	static const char *const names[] = { "plain-load", "local-call", "mrlease_pending", "poll(fd,0)" };
	/* A word the compiler cannot keep in a register, like the status page's. */
	uint64_t *word = mmap(NULL, t_pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(word != MAP_FAILED);
	*word = 0;
	row("fast-path check", "ns", 4, names, quick ? 3 : 11, run_check, word);
	munmap(word, t_pg);
}

/* ---- 2. registration --------------------------------------------------- */

struct reg_arg {
	char *buf;
	size_t len;
	int iters;
};

static double run_reg(int v, void *arg)
{
	struct reg_arg *a = arg;
	double t0 = now();

	for (int i = 0; i < a->iters; i++) {
		if (v == 0) {
			struct ibv_mr *m = ibv_reg_mr(r.pd, a->buf, a->len, IBV_ACCESS_LOCAL_WRITE);

			CHECK(m);
			CHECK_OK(-ibv_dereg_mr(m));
		} else {
			struct mrlease_verbs_mr *m;

			CHECK_OK(mrlease_verbs_reg_mr(mv, r.pd, a->buf, a->len, IBV_ACCESS_LOCAL_WRITE,
						      v == 2 ? MRLEASE_PIN : 0, NULL, &m));
			/* Registering must not break its own lease. */
			CHECK(!mrlease_pending(lctx));
			CHECK_OK(mrlease_verbs_dereg_mr(m));
		}
	}
	return (now() - t0) / a->iters / 1000.0;
}

/* One restore: break a page, then the progress engine's whole job (quiesce is a no-op here). */
static double run_restore(int v, void *arg)
{
	struct reg_arg *a = arg;
	struct mrlease_verbs_mr *m;
	double t = 0;

	CHECK_OK(mrlease_verbs_reg_mr(mv, r.pd, a->buf, a->len, IBV_ACCESS_LOCAL_WRITE,
				      v ? MRLEASE_PIN : 0, NULL, &m));
	for (int i = 0; i < a->iters; i++) {
		double t0;

		CHECK_SYS(madvise(a->buf, t_pg, MADV_DONTNEED));
		a->buf[0] = (char)i;
		/* A pinned anonymous clear may be reported from a work item a little later. */
		while (!mrlease_pending(lctx))
			sched_yield();
		t0 = now();
		CHECK_OK(mrlease_verbs_process(mv));
		t += now() - t0;
		CHECK(mrlease_verbs_mr_ibv(m));
	}
	CHECK_OK(mrlease_verbs_dereg_mr(m));
	return t / a->iters / 1000.0;
}

static void bench_reg(void)
{
	static const char *const names[] = { "ibv_reg+dereg", "lease+reg+dereg", "lease(PIN)+reg" };
	static const char *const rnames[] = { "lease", "lease(PIN)" };
	static const struct { size_t len; int iters, rounds; const char *name; } sizes[] = {
		{ 4096, 200, 9, "4 KiB" },
		{ 2 << 20, 10, 9, "2 MiB" },
		{ 64 << 20, 1, 7, "64 MiB" },
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct reg_arg a = { .len = sizes[i].len, .iters = sizes[i].iters };
		int rounds = quick ? 3 : sizes[i].rounds;
		char what[64];

		a.buf = mmap(NULL, a.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(a.buf != MAP_FAILED);
		madvise(a.buf, a.len, MADV_NOHUGEPAGE);
		memset(a.buf, 1, a.len);
		snprintf(what, sizeof(what), "register + deregister %s", sizes[i].name);
		row(what, "us", 3, names, rounds, run_reg, &a);
		a.iters = sizes[i].iters < 20 ? sizes[i].iters * 2 : 50;
		snprintf(what, sizeof(what), "restore (break+process) %s", sizes[i].name);
		row(what, "us", 2, rnames, rounds, run_restore, &a);
		munmap(a.buf, a.len);
	}
}

/* ---- 3. message rate --------------------------------------------------- */

#define WINDOW	32

struct rate_arg {
	struct mrlease_verbs_mr *mr;
	char *dst;
	struct ibv_mr *dmr;
	uint32_t size;
	int msgs;
};

static int post_write(struct rate_arg *a, uint32_t lkey, uint64_t id)
{
	struct ibv_mr *src = mrlease_verbs_mr_ibv(a->mr);
	struct ibv_sge sge = { .addr = (uintptr_t)src->addr, .length = a->size, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = (uintptr_t)a->dst, .rkey = a->dmr->rkey },
	}, *bad;

	return ibv_post_send(r.qs, &wr, &bad);
}

static double run_rate(int v, void *arg)
{
	struct rate_arg *a = arg;
	uint32_t lkey = mrlease_verbs_mr_ibv(a->mr)->lkey;
	int posted = 0, done = 0;
	struct ibv_wc wc[WINDOW];
	double t0 = now();

	while (done < a->msgs) {
		while (posted < a->msgs && posted - done < WINDOW) {
			/* Variant 1: what an adopting library adds to its post path. */
			if (v == 1 && mrlease_pending(lctx)) {
				CHECK_OK(mrlease_verbs_process(mv));
				lkey = mrlease_verbs_mr_ibv(a->mr)->lkey;
			}
			if (post_write(a, lkey, posted))
				t_fail("ibv_post_send: %s", t_errname(errno));
			posted++;
		}
		int n = ibv_poll_cq(r.scq, WINDOW, wc);

		CHECK_GE(n, 0);
		for (int i = 0; i < n; i++)
			if (wc[i].status != IBV_WC_SUCCESS)
				t_fail("write: %s", ibv_wc_status_str(wc[i].status));
		done += n;
	}
	return a->msgs / ((now() - t0) / 1e9);
}

static void bench_rate(void)
{
	static const char *const names[] = { "no-check", "pending-check" };
	static const uint32_t sizes[] = { 64, 4096 };
	size_t len = 4096;
	char *src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct rate_arg a;

	CHECK(src != MAP_FAILED && dst != MAP_FAILED);
	memset(src, 1, len);
	memset(dst, 0, len);
	CHECK_OK(mrlease_verbs_reg_mr(mv, r.pd, src, len, IBV_ACCESS_LOCAL_WRITE, MRLEASE_PIN, NULL,
				      &a.mr));
	a.dst = dst;
	a.dmr = ibv_reg_mr(r.pd, dst, len, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	CHECK(a.dmr);
	higher_is_better = true;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char what[64];

		a.size = sizes[i];
		a.msgs = quick ? 1000 : 2000;
		snprintf(what, sizeof(what), "RDMA WRITE rate, %u B", sizes[i]);
		row(what, "msg/s", 2, names, quick ? 3 : 15, run_rate, &a);
	}
	CHECK_OK(mrlease_verbs_dereg_mr(a.mr));
	ibv_dereg_mr(a.dmr);
	munmap(src, len);
	munmap(dst, len);
}

int main(int argc, char **argv)
{
	quick = argc > 1 && !strcmp(argv[1], "-q");
	t_watchdog(600);
	rxe_open(&r, 2 * WINDOW);
	CHECK_OK(mrlease_verbs_open(&mv, NULL, 0));
	lctx = mrlease_verbs_ctx(mv);

	printf("bench-verbs on %s (%s), %ld cpus; medians of alternating rounds\n",
	       RXE_NAME, ibv_get_device_name(r.ctx->device), sysconf(_SC_NPROCESSORS_ONLN));
	bench_check();
	bench_reg();
	bench_rate();

	mrlease_verbs_close(mv);
	rxe_close(&r);
	(void)sink;
	return 0;
}
