// SPDX-License-Identifier: GPL-2.0
/*
 * mrlease-bench: what leases cost, measured side by side in one run.
 *
 *   mrlease-bench [--no-module] [--baseline-ns NS] [--quick]
 *
 * Each comparison alternates A and B rounds and reports the median ns/op of
 * each side and their ratio, with the iteration counts used:
 *   1. "anything new?" and "is this lease still valid?": a load from the
 *      status page and a check of a lease's validity word, each against a
 *      plain load of ordinary memory, and poll(fd, 0);
 *   2. register + unregister of 4 KiB, 2 MiB and 1 GiB, unpinned vs pinned
 *      (1 GiB pinned only if MemAvailable allows; else 256 MiB, said so),
 *      and of a page of an ext4 -o dax file ($MRLEASE_EXT4), alone and with
 *      another pinned lease of the file held (before 6.15 the first maps an
 *      anchor of the file each time, the second keeps it);
 *   3. an unrelated mmap + touch + munmap in an address space with 0, 1000
 *      and 100000 leases (B) vs a forked process with none (A), interleaved;
 *      the leases' cost is B/A with them over B/A without;
 *   4. latency from munmap() to the event_seq change seen by a thread
 *      spinning on the status page (median, p99);
 *   5. kernel memory per lease at 100000 leases (Slab in /proc/meminfo, and
 *      the caches that grew most in /proc/slabinfo);
 *   6. the foreign break: what a pinned lease whose holder acks at once adds
 *      to another process's hole punch on ext4 and xfs -o dax ($MRLEASE_EXT4,
 *      $MRLEASE_XFS), against what a fanotify permission listener that
 *      allows at once adds to open() (the kernel's own "wait for user
 *      space" round trip).
 * --no-module measures only the mmap + touch + munmap baseline without
 * opening /dev/mrlease (run it before insmod) and prints it in ns;
 * --baseline-ns prints such a number in table 3 as "module not loaded".
 * --quick divides the iteration counts by 10 (a smoke run).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/fanotify.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/mrlease.h>

#define PARAMS	"/sys/module/mrlease/parameters/"
#define KiB	(1ull << 10)
#define MiB	(1ull << 20)
#define GiB	(1ull << 30)
#define MAX_ROUNDS 21
#define MANY	100000
#define HUGE	1000000	/* when the VM has the memory */

static size_t pg;
static int scale = 1;		/* --quick: 10 */
static int ctx = -1;
static char *mem_report;	/* section 5, printed last */
static size_t mem_report_len;

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fputs("mrlease-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)\n", strerror(e));
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The @p quantile (0..1) of @n values; sorts them. */
static double quantile(double *v, int n, double p)
{
	int i;

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

static int iters(int n)
{
	n /= scale;
	return n < 1 ? 1 : n;
}

/* ---- the device ---------------------------------------------------------- */

static struct mrlease_api api;
static double poll_ns;		/* section 1's median, the yardstick of section 2 */

/*
 * The goals of issue 11, each beside its figure of this run, printed last
 * as one table: the figure, what it is measured against, and the limit.
 */
struct goal {
	char what[48], figure[24], against[32];
	double value, limit;	/* value <= limit meets the goal */
	const char *unit;	/* of value and limit: "x" or " B" */
};
static struct goal goals[12];
static int nr_goals;

static void __attribute__((format(printf, 6, 7)))
goal(const char *what, double value, double limit, const char *unit, const char *against, const char *fig, ...)
{
	struct goal *g = &goals[nr_goals];
	va_list ap;

	if (nr_goals == (int)(sizeof(goals) / sizeof(goals[0])))
		return;
	nr_goals++;
	snprintf(g->what, sizeof(g->what), "%s", what);
	snprintf(g->against, sizeof(g->against), "%s", against);
	va_start(ap, fig);
	vsnprintf(g->figure, sizeof(g->figure), fig, ap);
	va_end(ap);
	g->value = value;
	g->limit = limit;
	g->unit = unit;
}

static void print_goals(void)
{
	printf("\nSummary: each goal beside its figure from this run\n");
	printf("   %-44s %-14s %-24s %9s %9s  %s\n", "", "figure", "against", "ratio", "goal", "met");
	for (int i = 0; i < nr_goals; i++) {
		const struct goal *g = &goals[i];

		printf("   %-44s %-14s %-24s %8.2f%s %6s%.*f%s  %s\n", g->what, g->figure, g->against,
		       g->value, g->unit, "<= ", g->limit < 10 ? 2 : 0, g->limit, g->unit,
		       g->value <= g->limit ? "yes" : "no");
	}
}

static int open_ctx(void)
{
	int fd = open("/dev/" MRLEASE_DEVICE_NAME, O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		die("open /dev/" MRLEASE_DEVICE_NAME);
	api = (struct mrlease_api){ .api = MRLEASE_API, .features = MRLEASE_FEATURE_ALL };
	if (ioctl(fd, MRLEASE_IOC_API, &api))
		die("MRLEASE_IOC_API");
	return fd;
}

static uint64_t reg(const void *addr, size_t len, uint32_t flags)
{
	struct mrlease_register r = { .addr = (uintptr_t)addr, .len = len, .flags = flags };

	if (ioctl(ctx, MRLEASE_IOC_REGISTER, &r))
		die("register %zu bytes at %p", len, addr);
	return r.id;
}

static void unreg(uint64_t id)
{
	struct mrlease_lease_ref ref = { .id = id };

	if (ioctl(ctx, MRLEASE_IOC_UNREGISTER, &ref))
		die("unregister %llu", (unsigned long long)id);
}

static void drain(void)
{
	struct mrlease_event ev[64];

	while (read(ctx, ev, sizeof(ev)) > 0)
		;
}

static long long param_get(const char *name)
{
	char path[128], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		die("read %s", path);
	fclose(f);
	return strtoll(buf, NULL, 0);
}

static void param_set(const char *name, long long v)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%lld\n", v) < 0 || fclose(f))
		die("write %lld to %s", v, path);
}

static long long meminfo_kb(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	size_t n = strlen(key);
	long long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtoll(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* ---- 1. status page vs poll ---------------------------------------------- */

static volatile uint64_t sink;
static volatile uint64_t plain[8];

static double plain_round(int n)
{
	double t0 = now_ns();
	uint64_t s = 0;

	for (int i = 0; i < n; i++)
		s += __atomic_load_n(&plain[1], __ATOMIC_RELAXED) != 0;
	sink = s;
	return (now_ns() - t0) / n;
}

/* As mrlease_status_pending() of <mrlease.h>. */
static double load_round(const volatile struct mrlease_status *st, int n)
{
	double t0 = now_ns();
	uint64_t s = 0;

	for (int i = 0; i < n; i++)
		s += __atomic_load_n(&st->pending, __ATOMIC_RELAXED) != 0;
	sink = s;
	return (now_ns() - t0) / n;
}

/* As mrlease_valid() of <mrlease.h>: one load and a compare. */
static double word_round(const volatile uint64_t *word, uint64_t token, int n)
{
	double t0 = now_ns();
	uint64_t s = 0;

	for (int i = 0; i < n; i++)
		s += __atomic_load_n(word, __ATOMIC_ACQUIRE) == token;
	sink = s;
	return (now_ns() - t0) / n;
}

static double poll_round(int n)
{
	struct pollfd p = { .fd = ctx, .events = POLLIN };
	double t0 = now_ns();

	for (int i = 0; i < n; i++)
		if (poll(&p, 1, 0) < 0)
			die("poll");
	return (now_ns() - t0) / n;
}

static void bench_status(void)
{
	const volatile struct mrlease_status *st;
	const volatile uint64_t *words = NULL;
	double pl[MAX_ROUNDS], a[MAX_ROUNDS], w[MAX_ROUNDS], b[MAX_ROUNDS];
	int rounds = 9, na = iters(1000000), nb = iters(20000);
	struct mrlease_register r = { .len = pg };
	char *page = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	st = mmap(NULL, pg, PROT_READ, MAP_SHARED, ctx, 0);
	if (st == MAP_FAILED || page == MAP_FAILED)
		die("mmap status page");
	page[0] = 1;
	r.addr = (uintptr_t)page;
	if (ioctl(ctx, MRLEASE_IOC_REGISTER, &r))
		die("register");
	if (api.words_size && r.word != MRLEASE_NO_WORD) {
		words = mmap(NULL, api.words_size, PROT_READ, MAP_SHARED, ctx,
			     (off_t)(pg * MRLEASE_MMAP_WORDS_PGOFF));
		if (words == MAP_FAILED)
			die("mmap validity words");
	}
	/* Alternate A/B: plain, status, word, poll, round after round. */
	for (int i = 0; i < rounds; i++) {
		pl[i] = plain_round(na);
		a[i] = load_round(st, na);
		w[i] = words ? word_round(&words[r.word], r.token, na) : 0;
		b[i] = poll_round(nb);
	}
	double mp = quantile(pl, rounds, 0.5), ma = quantile(a, rounds, 0.5);
	double mw = quantile(w, rounds, 0.5), mb = quantile(b, rounds, 0.5);

	poll_ns = mb;
	goal("\"anything new?\" (status page load)", ma / mp, 1.05, "x", "a plain load", "%.2f ns", ma);
	if (words)
		goal("\"still valid?\" (validity word)", mw / mp, 1.05, "x", "a plain load", "%.2f ns", mw);
	printf("\n1. one-load checks (%d rounds, alternating; %d loads, %d polls per round)\n",
	       rounds, na, nb);
	printf("   %-46s %10s %10s %8s\n", "", "ns/op", "plain ns", "ratio");
	printf("   %-46s %10.2f %10.2f %7.2fx   goal <= 1.05x\n",
	       "\"anything new?\" (status page load)", ma, mp, ma / mp);
	if (words)
		printf("   %-46s %10.2f %10.2f %7.2fx   goal <= 1.05x\n",
		       "\"still valid?\" (validity word == token)", mw, mp, mw / mp);
	else
		printf("   %-46s %10s (module without validity words)\n", "\"still valid?\"", "-");
	printf("   %-46s %10.1f %10.2f %7.0fx\n", "poll(fd, 0), the system call it saves", mb, mp, mb / mp);
	if (words)
		munmap((void *)words, api.words_size);
	unreg(r.id);
	munmap(page, pg);
	munmap((void *)st, pg);
}

/*
 * @pages written pages of a new file in $@var (an -o dax mount), mapped
 * shared; its path in @path.  NULL without $@var.
 */
static char *map_dax_file(const char *var, const char *name, size_t pages, char *path, size_t size, int *fdp)
{
	const char *dir = getenv(var);
	char buf[64], *map;
	int fd;

	if (!dir || !*dir)
		return NULL;
	snprintf(path, size, "%s/%s.%d", dir, name, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("create %s", path);
	memset(buf, 0x5b, sizeof(buf));
	for (size_t o = 0; o < pages * pg; o += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), (off_t)o) != (ssize_t)sizeof(buf))
			die("write %s", path);
	fsync(fd);
	map = mmap(NULL, pages * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap %s", path);
	*fdp = fd;
	return map;
}

/* ---- 2. register + unregister -------------------------------------------- */

static double quantile_last;	/* reg_row()'s unpinned median, us */

static double reg_round(char *p, size_t len, uint32_t flags, int n)
{
	double t0 = now_ns();

	for (int i = 0; i < n; i++)
		unreg(reg(p, len, flags));
	return (now_ns() - t0) / n;
}

static void reg_row(const char *label, char *p, size_t len, int rounds, int na, int nb)
{
	double a[MAX_ROUNDS], b[MAX_ROUNDS];

	for (int r = 0; r < rounds; r++) {
		a[r] = reg_round(p, len, 0, na);
		if (nb)
			b[r] = reg_round(p, len, MRLEASE_REG_PIN, nb);
	}
	double ma = quantile(a, rounds, 0.5);

	quantile_last = ma / 1e3;	/* us */
	if (nb) {
		double mb = quantile(b, rounds, 0.5);

		printf("   %-26s %12.1f %14.1f %9.1fx   (%d rounds; %d / %d ops)\n",
		       label, ma / 1e3, mb / 1e3, mb / ma, rounds, na, nb);
	} else {
		printf("   %-26s %12.1f %14s %10s   (%d rounds; %d ops)\n", label, ma / 1e3, "-", "-", rounds, na);
	}
}

static char *map_anon(size_t len, bool touch)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu bytes", len);
	if (touch)
		for (size_t o = 0; o < len; o += pg)
			p[o] = 1;
	return p;
}

static void bench_register(void)
{
	long long avail = meminfo_kb("MemAvailable");
	size_t big = avail > (long long)(1400 * KiB) ? GiB : 256 * MiB;
	char *p;

	printf("\n2. register + unregister (us/op; A unpinned, B pinned, pages touched)\n");
	printf("   %-26s %12s %14s %10s\n", "", "A unpinned", "B pinned", "B/A");
	p = map_anon(4 * KiB, true);
	reg_row("4 KiB", p, 4 * KiB, 7, iters(2000), iters(2000));
	printf("   %-26s %12.1f x poll(fd, 0) (%.2f us; goal <= 4x, kdreg2's level)\n", "4 KiB unpinned",
	       quantile_last / poll_ns * 1e3, poll_ns / 1e3);
	goal("register + unregister, 4 KiB unpinned", quantile_last / poll_ns * 1e3, 4, "x", "poll(fd, 0)",
	     "%.1f us", quantile_last);
	munmap(p, 4 * KiB);
	p = map_anon(2 * MiB, true);
	reg_row("2 MiB", p, 2 * MiB, 7, iters(200), iters(100));
	printf("   %-26s %12.1f x poll(fd, 0)\n", "2 MiB unpinned", quantile_last / poll_ns * 1e3);
	goal("register + unregister, 2 MiB unpinned", quantile_last / poll_ns * 1e3, 4, "x", "poll(fd, 0)",
	     "%.1f us", quantile_last);
	munmap(p, 2 * MiB);

	if (big < GiB) {
		p = map_anon(GiB, false);
		reg_row("1 GiB (not touched)", p, GiB, 5, iters(200), 0);
		munmap(p, GiB);
		printf("   (pinned 1 GiB skipped: MemAvailable %lld MiB; 256 MiB instead)\n", avail / 1024);
	}
	p = map_anon(big, true);
	reg_row(big == GiB ? "1 GiB" : "256 MiB", p, big, 3, iters(big == GiB ? 50 : 100), scale > 1 ? 1 : 2);
	munmap(p, big);

	/*
	 * A page of an ext4 -o dax file: before 6.15 the first pinned lease of
	 * a context on a file maps an anchor of it, and the unregister of the
	 * last unmaps it (module/anchor.c); with another pinned lease held on
	 * the file the anchor stays.
	 */
	char path[256];
	int fd;

	p = map_dax_file("MRLEASE_EXT4", "bench-reg", 2, path, sizeof(path), &fd);
	if (!p) {
		printf("   (fsdax rows skipped: no $MRLEASE_EXT4)\n");
		return;
	}
	reg_row("4 KiB ext4 -o dax", p, pg, 7, iters(1000), iters(1000));
	uint64_t keep = reg(p + pg, pg, MRLEASE_REG_PIN);

	reg_row("  with a pinned lease kept", p, pg, 7, iters(1000), iters(1000));
	unreg(keep);
	munmap(p, 2 * pg);
	close(fd);
	unlink(path);
}

/* ---- 3. unrelated mmap + munmap ----------------------------------------- */

static double mmap_round(int n)
{
	double t0 = now_ns();

	for (int i = 0; i < n; i++) {
		volatile char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			die("mmap");
		p[0] = 1;
		munmap((void *)p, pg);
	}
	return (now_ns() - t0) / n;
}

/* A forked process without leases that runs mmap rounds on request. */
struct worker {
	pid_t pid;
	int cmd, res;
};

static void worker_start(struct worker *w)
{
	int c[2], r[2];

	if (pipe(c) || pipe(r))
		die("pipe");
	w->pid = fork();
	if (w->pid < 0)
		die("fork");
	if (w->pid == 0) {
		int n;

		close(c[1]);
		close(r[0]);
		if (ctx >= 0)
			close(ctx);
		while (read(c[0], &n, sizeof(n)) == sizeof(n)) {
			double ns = mmap_round(n);

			if (write(r[1], &ns, sizeof(ns)) != sizeof(ns))
				_exit(1);
		}
		_exit(0);
	}
	close(c[0]);
	close(r[1]);
	w->cmd = c[1];
	w->res = r[0];
}

static double worker_round(struct worker *w, int n)
{
	double ns;

	if (write(w->cmd, &n, sizeof(n)) != sizeof(n) || read(w->res, &ns, sizeof(ns)) != sizeof(ns))
		die("worker");
	return ns;
}

static void worker_stop(struct worker *w)
{
	close(w->cmd);
	close(w->res);
	waitpid(w->pid, NULL, 0);
}

struct slab { char name[64]; long long bytes; };

static int read_slabinfo(struct slab *s, int max)
{
	FILE *f = fopen("/proc/slabinfo", "r");
	char line[512];
	int n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		long long active, num, size;

		if (sscanf(line, "%63s %lld %lld %lld", s[n].name, &active, &num, &size) == 4) {
			s[n].bytes = active * size;
			n++;
		}
	}
	fclose(f);
	return n;
}

static void bench_mmap(double baseline_ns)
{
	static struct slab before[1024], after[1024];
	const int counts[] = { 0, 1000, MANY };
	const int rounds = 21, n = iters(2000);
	long long old_ctx = param_get("max_leases_per_ctx"), old_user = -1;
	long long slab0, slab1 = 0, slab2;
	int nbefore, nafter = 0, have = 0;
	double t_reg = 0, t_huge = 0, row[3][3];
	long long slab3 = 0;
	struct worker w;
	char *region;

	if (old_ctx && old_ctx < HUGE)
		param_set("max_leases_per_ctx", HUGE);
	if (!access(PARAMS "max_leases_per_user", F_OK)) {
		old_user = param_get("max_leases_per_user");
		if (old_user && old_user < HUGE)
			param_set("max_leases_per_user", HUGE);
	}
	region = map_anon(HUGE * pg, false);
	worker_start(&w);
	worker_round(&w, n);	/* warm up both sides */
	mmap_round(n);
	slab0 = meminfo_kb("Slab");
	nbefore = read_slabinfo(before, 1024);

	for (int c = 0; c < 3; c++) {
		double a[MAX_ROUNDS], b[MAX_ROUNDS], t0 = now_ns();

		for (; have < counts[c]; have++)
			reg(region + (size_t)have * pg, pg, 0);
		if (counts[c])
			t_reg = (now_ns() - t0) / (counts[c] - (c ? counts[c - 1] : 0));
		if (counts[c] == MANY) {
			slab1 = meminfo_kb("Slab");
			nafter = read_slabinfo(after, 1024);
		}
		for (int r = 0; r < rounds; r++) {
			a[r] = worker_round(&w, n);
			b[r] = mmap_round(n);
		}
		row[c][0] = quantile(a, rounds, 0.5);
		row[c][1] = quantile(b, rounds, 0.5);
		row[c][2] = t_reg;
	}
	worker_stop(&w);

	/* On to 1,000,000 leases, for the register cost and the memory there. */
	if (meminfo_kb("MemAvailable") > 700 * 1024) {
		double t0 = now_ns();

		for (; have < HUGE; have++)
			reg(region + (size_t)have * pg, pg, 0);
		t_huge = (now_ns() - t0) / (HUGE - MANY);
		slab3 = meminfo_kb("Slab");
	}

	printf("\n3. unrelated mmap + touch + munmap of 4 KiB (%d rounds of %d; A: a forked process without leases)\n",
	       rounds, n);
	printf("   %-26s %12s %14s %10s\n", "leases in this mm", "A ns/op", "B ns/op", "B/A");
	if (baseline_ns > 0)
		printf("   %-26s %12s %14.0f %10s\n", "module not loaded", "-", baseline_ns, "-");
	for (int c = 0; c < 3; c++)
		printf("   %-26d %12.0f %14.0f %9.2fx%s\n", counts[c], row[c][0], row[c][1], row[c][1] / row[c][0],
		       c == 0 ? "   (context open)" : "");
	/*
	 * The two processes differ even without leases (B/A at 0 is not 1): the cost of the leases is B/A with
	 * them over B/A without, A taking out the drift between rounds.
	 */
	printf("   %d leases vs none: %.3fx (B/A over B/A at 0)   goal <= 1.05x\n", MANY,
	       (row[2][1] / row[2][0]) / (row[0][1] / row[0][0]));
	if (baseline_ns > 0)
		printf("   0 leases vs module not loaded: %.2fx\n", row[0][1] / baseline_ns);
	printf("   registering took %.1f us/lease up to %d leases, %.1f us/lease up to %d: %.2fx   goal <= 1.2x\n",
	       row[1][2] / 1e3, counts[1], row[2][2] / 1e3, MANY, row[2][2] / row[1][2]);
	goal("unrelated mmap + munmap, 100,000 leases", (row[2][1] / row[2][0]) / (row[0][1] / row[0][0]), 1.05, "x",
	     "none (B/A over B/A)", "%.0f ns", row[2][1]);
	goal("register, up to 100,000 leases held", row[2][2] / row[1][2], 1.2, "x", "up to 1,000 held",
	     "%.1f us", row[2][2] / 1e3);
	if (t_huge > 0) {
		printf("   registering took %.1f us/lease from %d to %d leases: %.2fx the first 1000   goal <= 1.2x\n",
		       t_huge / 1e3, MANY, HUGE, t_huge / row[1][2]);
		goal("register, up to 1,000,000 leases held", t_huge / row[1][2], 1.2, "x", "up to 1,000 held",
		     "%.1f us", t_huge / 1e3);
	} else {
		printf("   (not enough memory in the VM for %d leases)\n", HUGE);
	}

	/* 5. memory, from the same run; printed at the end. */
	close(ctx);
	ctx = -1;
	usleep(200 * 1000);
	slab2 = meminfo_kb("Slab");
	FILE *out = open_memstream(&mem_report, &mem_report_len);

	if (!out)
		die("open_memstream");
	fprintf(out, "\n5. kernel memory per lease (%d unpinned one-page leases)\n", MANY);
	fprintf(out, "   Slab %+lld KiB with them, %+lld KiB after close: %.0f bytes/lease   goal <= 96 B\n",
	       slab1 - slab0, slab2 - slab0, (double)(slab1 - slab0) * 1024 / MANY);
	goal("kernel memory per unpinned lease, 100,000", (double)(slab1 - slab0) * 1024 / MANY, 96, " B",
	     "Slab in /proc/meminfo", "%.0f B", (double)(slab1 - slab0) * 1024 / MANY);
	if (slab3) {
		fprintf(out, "   Slab %+lld KiB with %d: %.0f bytes/lease   goal <= 96 B\n", slab3 - slab0, HUGE,
			(double)(slab3 - slab0) * 1024 / HUGE);
		goal("kernel memory per unpinned lease, 1,000,000", (double)(slab3 - slab0) * 1024 / HUGE, 96,
		     " B", "Slab in /proc/meminfo", "%.0f B", (double)(slab3 - slab0) * 1024 / HUGE);
	}
	if (nbefore && nafter) {
		fprintf(out, "   caches that grew most (/proc/slabinfo, active objects x size):\n");
		static bool done[1024];

		for (int k = 0; k < 5; k++) {
			long long best = 0;
			int bi = -1;

			for (int i = 0; i < nafter; i++) {
				long long d = after[i].bytes;

				if (done[i])
					continue;

				for (int j = 0; j < nbefore; j++)
					if (!strcmp(before[j].name, after[i].name))
						d -= before[j].bytes;
				if (d > best) {
					best = d;
					bi = i;
				}
			}
			if (bi < 0)
				break;
			fprintf(out, "     %-28s %+10lld KiB  %6.1f bytes/lease\n", after[bi].name, best / 1024,
			       (double)best / MANY);
			done[bi] = true;
		}
	}
	fclose(out);
	munmap(region, HUGE * pg);
	ctx = open_ctx();
	if (old_ctx && old_ctx < HUGE)
		param_set("max_leases_per_ctx", old_ctx);
	if (old_user > 0 && old_user < HUGE)
		param_set("max_leases_per_user", old_user);
}

/* ---- 4. munmap -> event_seq latency -------------------------------------- */

static const volatile struct mrlease_status *spin_st;
static atomic_bool spin_stop;
static _Atomic double seen_ns;

static void *spinner(void *arg)
{
	uint64_t last = spin_st->event_seq;

	(void)arg;
	while (!atomic_load_explicit(&spin_stop, memory_order_relaxed)) {
		uint64_t s = spin_st->event_seq;

		if (s != last) {
			atomic_store(&seen_ns, now_ns());
			last = s;
		}
	}
	return NULL;
}

static void bench_latency(void)
{
	int n = iters(500);
	double *lat = calloc((size_t)n, sizeof(double)), *call = calloc((size_t)n, sizeof(double));
	pthread_t th;
	char *p = map_anon(pg, true);

	spin_st = mmap(NULL, pg, PROT_READ, MAP_SHARED, ctx, 0);
	if (spin_st == MAP_FAILED || !lat || !call)
		die("setup");
	if (pthread_create(&th, NULL, spinner, NULL))
		die("pthread_create");
	for (int i = 0; i < n; i++) {
		uint64_t id = reg(p, pg, MRLEASE_REG_PIN);
		double t0, t1;

		atomic_store(&seen_ns, 0);
		t0 = now_ns();
		munmap(p, pg);
		t1 = now_ns();
		while (atomic_load(&seen_ns) == 0)
			;
		lat[i] = atomic_load(&seen_ns) - t0;
		call[i] = t1 - t0;
		drain();
		unreg(id);
		if (mmap(p, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != p)
			die("mmap again");
		p[0] = 1;
	}
	atomic_store(&spin_stop, true);
	pthread_join(th, NULL);
	printf("\n4. munmap of a pinned one-page lease -> event_seq change seen by a spinning thread (%d samples)\n", n);
	printf("   %-26s %12s %14s\n", "", "median us", "p99 us");
	printf("   %-26s %12.1f %14.1f\n", "munmap start -> seen", quantile(lat, n, 0.5) / 1e3,
	       quantile(lat, n, 0.99) / 1e3);
	printf("   %-26s %12.1f %14.1f\n", "munmap call", quantile(call, n, 0.5) / 1e3,
	       quantile(call, n, 0.99) / 1e3);
	munmap((void *)spin_st, pg);
	munmap(p, pg);
	free(lat);
	free(call);
}

/* ---- 6. the foreign break vs a fanotify permission round trip --------------- */

static int hold_fd = -1;
static atomic_bool hold_stop;

/* The holder: acks every record as soon as it is read. */
static void *holder(void *arg)
{
	struct pollfd p = { .fd = hold_fd, .events = POLLIN };

	(void)arg;
	while (!atomic_load(&hold_stop)) {
		struct mrlease_event ev[8];
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(hold_fd, ev, sizeof(ev));
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(ev[0]); i++) {
			struct mrlease_lease_ref ref = { .id = ev[i].id, .generation = ev[i].generation };

			if (ev[i].type == MRLEASE_EVENT_DECOHERENCE)
				ioctl(hold_fd, MRLEASE_IOC_ACK, &ref);
		}
	}
	return NULL;
}

/* Punch page 0 of @fd from a forked process (foreign to our mm): ns. */
static double foreign_punch(int fd)
{
	int pp[2];
	double ns = -1;
	pid_t pid;

	if (pipe(pp))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		double t0 = now_ns(), d;

		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)pg))
			_exit(1);
		d = now_ns() - t0;
		_exit(write(pp[1], &d, sizeof(d)) == sizeof(d) ? 0 : 1);
	}
	close(pp[1]);
	if (read(pp[0], &ns, sizeof(ns)) != sizeof(ns))
		die("the punching child failed");
	close(pp[0]);
	waitpid(pid, NULL, 0);
	return ns;
}

/* Median added ns of a punch against a pinned lease acked at once; *base_ns -1 if no mount. */
static double break_added(const char *var, const char *fs, int rounds, double *base_ns)
{
	double a[MAX_ROUNDS * 2], b[MAX_ROUNDS * 2];
	char path[256];
	pthread_t th;
	char *map;
	int fd;

	*base_ns = -1;
	map = map_dax_file(var, "bench-break", 4, path, sizeof(path), &fd);
	if (!map)
		return 0;
	hold_fd = open_ctx();
	atomic_store(&hold_stop, false);
	if (pthread_create(&th, NULL, holder, NULL))
		die("pthread_create");
	for (int r = 0; r < rounds; r++) {
		struct mrlease_register l = { .addr = (uintptr_t)map, .len = pg, .flags = MRLEASE_REG_PIN,
					      .timeout_ms = 10000 };
		struct mrlease_lease_ref ref = { 0 };

		/* A: no lease (the page is mapped, as in B). */
		map[0] = 1;
		a[r] = foreign_punch(fd);
		/* B: a pinned lease whose holder acks at once. */
		map[0] = 1;
		for (int t = 0; ioctl(hold_fd, MRLEASE_IOC_REGISTER, &l); t++) {
			if (errno != EAGAIN || t > 500)
				die("register on %s", path);
			usleep(2000);
		}
		b[r] = foreign_punch(fd);
		ref.id = l.id;
		ioctl(hold_fd, MRLEASE_IOC_UNREGISTER, &ref);
	}
	atomic_store(&hold_stop, true);
	pthread_join(th, NULL);
	close(hold_fd);
	munmap(map, 4 * pg);
	close(fd);
	unlink(path);
	*base_ns = quantile(a, rounds, 0.5);
	(void)fs;
	return quantile(b, rounds, 0.5) - *base_ns;
}

static int fan_fd = -1;
static atomic_bool fan_stop;

/* The listener: allows every permission event at once. */
static void *fan_listener(void *arg)
{
	struct pollfd p = { .fd = fan_fd, .events = POLLIN };
	char buf[4096];

	(void)arg;
	/* (A close() of the fd would not wake a read() blocked on it.) */
	while (!atomic_load(&fan_stop)) {
		struct fanotify_event_metadata *m = (void *)buf;
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fan_fd, buf, sizeof(buf));
		if (n <= 0)
			return NULL;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			struct fanotify_response res = { .fd = m->fd, .response = FAN_ALLOW };

			if (m->mask & FAN_OPEN_PERM && write(fan_fd, &res, sizeof(res)) != sizeof(res))
				return NULL;
			if (m->fd >= 0)
				close(m->fd);
		}
	}
	return NULL;
}

static double open_round(const char *path, int n)
{
	double t0 = now_ns();

	for (int i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			die("open %s", path);
		close(fd);
	}
	return (now_ns() - t0) / n;
}

/* Median ns a FAN_OPEN_PERM listener adds to open() + close(); -1 if unavailable. */
static double fanotify_added(int rounds, int n, double *base_ns)
{
	double a[MAX_ROUNDS * 2], b[MAX_ROUNDS * 2];
	const char *path = "/tmp/mrlease-bench-fan";
	pthread_t th;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		die("create %s", path);
	close(fd);
	fan_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
	if (fan_fd < 0) {
		unlink(path);
		return -1;
	}
	atomic_store(&fan_stop, false);
	if (pthread_create(&th, NULL, fan_listener, NULL))
		die("pthread_create");
	for (int r = 0; r < rounds; r++) {
		a[r] = open_round(path, n);
		if (fanotify_mark(fan_fd, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, path))
			die("fanotify_mark");
		b[r] = open_round(path, n);
		if (fanotify_mark(fan_fd, FAN_MARK_REMOVE, FAN_OPEN_PERM, AT_FDCWD, path))
			die("fanotify_mark remove");
	}
	atomic_store(&fan_stop, true);
	pthread_join(th, NULL);
	close(fan_fd);
	unlink(path);
	*base_ns = quantile(a, rounds, 0.5);
	return quantile(b, rounds, 0.5) - *base_ns;
}

/* The other end of pipe_round_trip(): echo each byte back. */
static void *pipe_echo(void *arg)
{
	int *fds = arg;
	char c;

	while (read(fds[0], &c, 1) == 1 && write(fds[1], &c, 1) == 1)
		;
	return NULL;
}

/*
 * Microseconds per pipe round trip with a thread of ours (@fork_it false)
 * or another process: the same two wake-ups and switches, but between two
 * address spaces.  Under TCG a switch of address space flushes the guest's
 * whole software TLB, which every break between two processes pays twice.
 */
static double pipe_round_trip(bool fork_it, int n)
{
	int to[2], back[2], echo_fds[2];
	pthread_t th;
	pid_t pid = 0;
	double t0 = 0;
	char c = 'x';

	if (pipe(to) || pipe(back))
		die("pipe");
	echo_fds[0] = to[0];
	echo_fds[1] = back[1];
	if (fork_it) {
		pid = fork();
		if (pid < 0)
			die("fork");
		if (!pid) {
			/* Its copy of our write end would keep it reading for ever. */
			close(to[1]);
			close(back[0]);
			pipe_echo(echo_fds);
			_exit(0);
		}
	} else if (pthread_create(&th, NULL, pipe_echo, echo_fds)) {
		die("pthread_create");
	}
	/* The first tenth warms up. */
	for (int i = -n / 10; i < n; i++) {
		if (!i)
			t0 = now_ns();
		if (write(to[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
			die("pipe round trip");
	}
	t0 = now_ns() - t0;
	close(to[1]);
	if (fork_it)
		waitpid(pid, NULL, 0);
	else
		pthread_join(th, NULL);
	close(to[0]);
	close(back[0]);
	close(back[1]);
	return t0 / n / 1e3;
}

/* One pass of section 6; @one_cpu: every process and thread of it on CPU 0. */
static void bench_break_pass(int rounds, bool one_cpu)
{
	static const char *const fss[][2] = { { "MRLEASE_EXT4", "ext4" }, { "MRLEASE_XFS", "xfs" } };
	double fan_base, fan = fanotify_added(rounds, iters(200), &fan_base);

	printf("   %s\n", one_cpu ? "all on one CPU (no cross-CPU wake-up on either side):" :
	       "spread over the CPUs, as the scheduler likes:");
	if (fan >= 0)
		printf("   %-46s %10.1f %10.1f %8s\n", "fanotify FAN_OPEN_PERM, allowed at once (open)",
		       fan / 1e3, fan_base / 1e3, "1.00x");
	else
		printf("   %-46s (fanotify_init: %s)\n", "fanotify permission round trip", strerror(errno));
	for (int i = 0; i < 2; i++) {
		double base, added = break_added(fss[i][0], fss[i][1], rounds, &base);
		char label[80];

		snprintf(label, sizeof(label), "hole punch of a leased page, %s -o dax", fss[i][1]);
		if (base < 0) {
			printf("   %-46s (no $%s)\n", label, fss[i][0]);
		} else if (fan > 0) {
			printf("   %-46s %10.1f %10.1f %7.2fx   goal <= 1.0x\n", label, added / 1e3, base / 1e3,
			       added / fan);
			snprintf(label, sizeof(label), "foreign break, punch on %s -o dax%s", fss[i][1],
				 one_cpu ? ", 1 CPU" : "");
			goal(label, added / fan, 1.0, "x", "fanotify permission", "+%.0f us", added / 1e3);
		} else {
			printf("   %-46s %10.1f %10.1f\n", label, added / 1e3, base / 1e3);
		}
	}
	if (one_cpu) {
		int n = iters(2000);

		printf("   %-46s %10.1f\n", "pipe round trip, two threads of one process",
		       pipe_round_trip(false, n));
		printf("   %-46s %10.1f\n", "pipe round trip, two processes",
		       pipe_round_trip(true, n));
	}
}

/*
 * Both round trips wake a task twice (the listener or holder, then the
 * opener or breaker).  Under TCG a wake-up on another vCPU costs an IPI of
 * 0.1-1 ms, which swamps the rest: the pass on one CPU compares the paths
 * themselves.  There each switch between the two processes still flushes
 * the guest's software TLB, and the task switched to pays for it across
 * all the code it goes on to run: the pipe rows show the size of that.
 */
static void bench_break(void)
{
	int rounds = scale > 1 ? 5 : 15;
	cpu_set_t all, one;

	printf("\n6. the foreign break: added latency, pinned lease acked at once (%d rounds, alternating)\n",
	       rounds);
	printf("   %-46s %10s %10s %8s\n", "", "added us", "base us", "/fanotify");
	bench_break_pass(rounds, false);
	if (sched_getaffinity(0, sizeof(all), &all) || CPU_COUNT(&all) < 2)
		return;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return;
	bench_break_pass(rounds, true);
	sched_setaffinity(0, sizeof(all), &all);
}

int main(int argc, char **argv)
{
	bool no_module = false;
	double baseline = 0;
	struct utsname u;
	double t0 = now_ns();

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-module"))
			no_module = true;
		else if (!strcmp(argv[i], "--quick"))
			scale = 10;
		else if (!strcmp(argv[i], "--baseline-ns") && i + 1 < argc)
			baseline = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: mrlease-bench [--no-module] [--baseline-ns NS] [--quick]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pg = (size_t)sysconf(_SC_PAGESIZE);

	if (no_module) {
		double v[MAX_ROUNDS];
		int n = iters(2000), rounds = 7;

		mmap_round(n);		/* warm up: the first calls after boot are slow */
		for (int r = 0; r < rounds; r++)
			v[r] = mmap_round(n);
		/* Just the number, for --baseline-ns of the next run. */
		printf("%.0f\n", quantile(v, rounds, 0.5));
		fprintf(stderr, "mrlease-bench: mmap + touch + munmap of 4 KiB without the module: "
			"%.0f ns/op (median of %d rounds of %d)\n", quantile(v, rounds, 0.5), rounds, n);
		return 0;
	}

	uname(&u);
	printf("mrlease-bench: kernel %s, %ld cpus, %zu-byte pages; medians of alternated A/B rounds%s\n",
	       u.release, sysconf(_SC_NPROCESSORS_ONLN), pg, scale > 1 ? " (--quick)" : "");
	ctx = open_ctx();
	bench_status();
	bench_register();
	bench_mmap(baseline);
	bench_latency();
	bench_break();
	fputs(mem_report, stdout);
	print_goals();
	printf("\n(total %.0f s)\n", (now_ns() - t0) / 1e9);
	return 0;
}
