// SPDX-License-Identifier: GPL-2.0
/*
 * RDMA into a file on an -o dax filesystem (issue 13), on rxe with ODP:
 * what the lease costs, side by side in one run.
 *
 *   1. RDMA WRITE message rate, one packet per message at a page start
 *      (rxe's ODP sub-page bug, see 69-verbs-odp-offset-bug), cycling over
 *      the pages of the MR:
 *        anon-plain      a plain MR over anonymous memory (reference)
 *        dax-odp         an ODP MR over a DAX file, no lease
 *        dax-odp+lease   an ODP MR over another DAX file through
 *                        mrlease_verbs_reg_mr() with MRLEASE_PIN, and the
 *                        mrlease_pending() check before every post
 *   2. how long another process's hole punch of one page takes while the
 *      leased stream runs and the application quiesces at its natural pace
 *      (drain what is in flight, ack, restore, re-register, go on), and the
 *      same punch of the unleased file, which nothing holds back.
 *
 * Not a test: vm.sh --kernel 7.x --rdma --no-suite --run build/bench/bench-dax
 * (MRLEASE_EXT4, or MRLEASE_XFS with -x).  Exits 0 without ODP.
 *
 *   bench-dax [-q] [-x]     -q: fewer rounds; -x: the xfs mount
 */
#include "rxe.h"

#include <sys/stat.h>

#include <mrlease_verbs.h>

#define NPAGES	64
#define WINDOW	16
#define MAXR	21
#define PUNCHES	10
#define PUNCH_GAP_MS	400

static struct rxe r;
static struct mrlease_verbs *mv;
static struct mrlease_ctx *lctx;
static bool quick;
static const char *dir;

struct target {
	char *buf;		/* NPAGES pages */
	int fd;			/* the DAX file, or -1 */
	struct ibv_mr *mr;	/* unleased variants */
	struct mrlease_verbs_mr *lmr;
	uint32_t rkey;
	bool ready;
};

static struct target anon, dax, leased;
static char *src;
static struct ibv_mr *smr;
static uint32_t msg_size;
static unsigned int quiesces;
static int64_t quiesce_ns;		/* time spent in quiesce() */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[MAXR];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double maximum(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

/* A DAX file of NPAGES pages, written (blocks allocated), unlinked, mapped shared. */
static void dax_file(struct target *t, const char *name)
{
	char path[300];
	struct statx stx;

	snprintf(path, sizeof(path), "%s/%s.%d", dir, name, getpid());
	t->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (t->fd < 0)
		t_fail("create %s: %s", path, t_errname(errno));
	unlink(path);
	for (size_t pg = 0; pg < NPAGES; pg++) {
		memset(src, (int)pg + 1, t_pg);
		if (pwrite(t->fd, src, t_pg, (off_t)(pg * t_pg)) != (ssize_t)t_pg)
			t_fail("write %s: %s", path, t_errname(errno));
	}
	CHECK_SYS(fsync(t->fd));
	if (statx(t->fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) ||
	    !(stx.stx_attributes & STATX_ATTR_DAX))
		t_fail("%s is not a DAX file", path);
	t->buf = mmap(NULL, NPAGES * t_pg, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	CHECK(t->buf != MAP_FAILED);
}

/* Drain what is in flight: the application's natural quiesce. */
static int64_t posted, done;

static void reap(void)
{
	struct ibv_wc wc[WINDOW];
	int n = ibv_poll_cq(r.scq, WINDOW, wc);

	CHECK_GE(n, 0);
	for (int i = 0; i < n; i++)
		if (wc[i].status != IBV_WC_SUCCESS)
			t_fail("write: %s", ibv_wc_status_str(wc[i].status));
	done += n;
}

static int quiesce(struct mrlease_verbs_mr *m, const struct mrlease_event *ev, void *arg)
{
	int64_t t0 = t_now_ns();

	(void)m;
	(void)ev;
	(void)arg;
	leased.ready = false;
	while (done != posted)
		reap();
	quiesces++;
	quiesce_ns += t_now_ns() - t0;
	return 0;
}

static void rekey(struct mrlease_verbs_mr *m, struct ibv_mr *ibmr, void *arg)
{
	(void)m;
	(void)arg;
	leased.rkey = ibmr->rkey;
	leased.ready = true;
}

static int post(struct target *t, uint64_t n)
{
	struct ibv_sge sge = { .addr = (uintptr_t)src, .length = msg_size, .lkey = smr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = n,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = (uintptr_t)t->buf + (n % NPAGES) * t_pg, .rkey = t->rkey },
	}, *bad;

	return ibv_post_send(r.qs, &wr, &bad);
}

/* Post @msgs writes into @t, WINDOW at most in flight; the rate. */
static double stream(struct target *t, int64_t msgs)
{
	int64_t t0 = t_now_ns(), first = posted;

	while (posted - first < msgs) {
		while (posted - first < msgs && posted - done < WINDOW) {
			if (t == &leased) {
				int ret;

				if (mrlease_pending(lctx) || !leased.ready) {
					ret = mrlease_verbs_process(mv);
					if (ret && ret != -EAGAIN)
						t_fail("mrlease_verbs_process: %s", mrlease_strerror(ret));
				}
				if (!leased.ready)
					break;
			}
			if (post(t, (uint64_t)posted))
				t_fail("ibv_post_send: %s", t_errname(errno));
			posted++;
		}
		reap();
	}
	while (done != posted)
		reap();
	return (double)(posted - first) / ((double)(t_now_ns() - t0) / 1e9);
}

static void bench_rate(void)
{
	static const char *const names[] = { "anon-plain", "dax-odp", "dax-odp+lease" };
	struct target *ts[] = { &anon, &dax, &leased };
	static const uint32_t sizes[] = { 64, 1024 };
	int rounds = quick ? 3 : 11;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		double res[3][MAXR];

		msg_size = sizes[s];
		if (msg_size > rxe_mtu_bytes(&r))
			continue;
		for (int i = 0; i < rounds; i++)
			for (int k = 0; k < 3; k++) {
				int v = (i + k) % 3;

				res[v][i] = stream(ts[v], quick ? 1000 : 3000);
			}
		printf("RDMA WRITE rate, %u B, %d pages (msg/s; median, best of %d rounds; ratio to %s)\n",
		       msg_size, NPAGES, rounds, names[1]);
		for (int v = 0; v < 3; v++) {
			double med = median(res[v], rounds), best = maximum(res[v], rounds);

			printf("    %-16s %12.0f %12.0f", names[v], med, best);
			if (v == 2)
				printf("   x%.3f x%.3f", med / median(res[1], rounds),
				       best / maximum(res[1], rounds));
			putchar('\n');
		}
	}
}

/*
 * A child punches page 1 + (i % (NPAGES - 1)) of @t's file @n times,
 * PUNCH_GAP_MS apart; each duration (ms) into @ms.  The parent streams meanwhile.
 */
static void bench_punch(struct target *t, const char *name, double *ms, int n)
{
	int rep[2];
	pid_t pid;
	int64_t got = 0, msgs0 = posted;
	unsigned int q0 = quiesces;
	int64_t qns0 = quiesce_ns;

	t_pipe(rep);
	pid = t_fork();
	if (!pid) {
		close(rep[0]);
		munmap(t->buf, NPAGES * t_pg);
		for (int i = 0; i < n; i++) {
			double d;
			int64_t t0;

			/* Past the module's layout grace (200 ms), so that the lease is armed again. */
			t_msleep(PUNCH_GAP_MS);
			t0 = t_now_ns();
			if (fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      (off_t)((1 + i % (NPAGES - 1)) * t_pg), (off_t)t_pg))
				_exit(1);
			d = (double)(t_now_ns() - t0) / 1e6;
			t_write_full(rep[1], &d, sizeof(d));
		}
		_exit(0);
	}
	close(rep[1]);
	msg_size = 64;
	while (got < n) {
		struct pollfd p = { .fd = rep[0], .events = POLLIN };

		/* Stream in slices, looking for the child's reports in between. */
		stream(t, 200);
		while (got < n && poll(&p, 1, 0) == 1) {
			if (!t_read_full(rep[0], &ms[got], sizeof(ms[got]), 1000))
				t_fail("the puncher died");
			got++;
		}
	}
	CHECK_CHILD_OK(pid, 5000);
	close(rep[0]);
	printf("    %-16s %9.1f %9.1f   (%lld messages meanwhile", name, median(ms, n), maximum(ms, n),
	       (long long)(posted - msgs0));
	if (t == &leased)
		printf(", %u quiesces of %.2f ms on average", quiesces - q0,
		       quiesces > q0 ? (double)(quiesce_ns - qns0) / 1e6 / (quiesces - q0) : 0.0);
	printf(")\n");
}

int main(int argc, char **argv)
{
	static const struct mrlease_verbs_ops ops = { .quiesce = quiesce, .rekey = rekey };
	const int odp = IBV_ACCESS_ON_DEMAND | IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	bool xfs = false;
	double ms[PUNCHES];
	char why[128];
	int ret;

	for (int i = 1; i < argc; i++) {
		quick |= !strcmp(argv[i], "-q");
		xfs |= !strcmp(argv[i], "-x");
	}
	t_watchdog(600);
	dir = getenv(xfs ? "MRLEASE_XFS" : "MRLEASE_EXT4");
	if (!dir || !*dir) {
		printf("bench-dax: $%s is not set: no DAX mount\n", xfs ? "MRLEASE_XFS" : "MRLEASE_EXT4");
		return 0;
	}
	rxe_open(&r, 2 * WINDOW);
	if (!rxe_odp_rc_write(&r, why, sizeof(why))) {
		printf("bench-dax: " RXE_NAME " has no ODP for RC WRITEs (%s): nothing to measure\n", why);
		return 0;
	}
	CHECK_OK(mrlease_verbs_open(&mv, &ops, 0));
	lctx = mrlease_verbs_ctx(mv);
	src = t_anon(1);
	smr = ibv_reg_mr(r.pd, src, t_pg, IBV_ACCESS_LOCAL_WRITE);
	CHECK(smr);

	anon.buf = t_anon(NPAGES);
	anon.fd = -1;
	anon.mr = ibv_reg_mr(r.pd, anon.buf, NPAGES * t_pg, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	CHECK(anon.mr);
	anon.rkey = anon.mr->rkey;
	dax_file(&dax, "bench-dax");
	dax.mr = ibv_reg_mr(r.pd, dax.buf, NPAGES * t_pg, odp);
	if (!dax.mr)
		t_fail("ODP ibv_reg_mr over DAX: %s", t_errname(errno));
	dax.rkey = dax.mr->rkey;
	dax_file(&leased, "bench-dax-leased");
	ret = mrlease_verbs_reg_mr(mv, r.pd, leased.buf, NPAGES * t_pg, odp, MRLEASE_PIN, NULL, &leased.lmr);
	if (ret)
		t_fail("ODP mrlease_verbs_reg_mr over DAX: %s", strerror(-ret));
	leased.rkey = mrlease_verbs_mr_ibv(leased.lmr)->rkey;
	leased.ready = true;

	printf("bench-dax on %s, %s -o dax, %ld cpus, path MTU %u B\n", RXE_NAME, xfs ? "xfs" : "ext4",
	       sysconf(_SC_NPROCESSORS_ONLN), rxe_mtu_bytes(&r));
	/* Fault every page into the ODP MRs once. */
	msg_size = 64;
	for (int k = 0; k < 3; k++)
		stream(k == 0 ? &anon : k == 1 ? &dax : &leased, NPAGES);
	bench_rate();

	printf("a foreign hole punch of one page while 64 B writes stream (ms; median, max of %d)\n",
	       quick ? 5 : PUNCHES);
	bench_punch(&dax, "dax-odp", ms, quick ? 5 : PUNCHES);
	bench_punch(&leased, "dax-odp+lease", ms, quick ? 5 : PUNCHES);

	CHECK_OK(mrlease_verbs_dereg_mr(leased.lmr));
	ibv_dereg_mr(dax.mr);
	ibv_dereg_mr(anon.mr);
	ibv_dereg_mr(smr);
	mrlease_verbs_close(mv);
	rxe_close(&r);
	return 0;
}
