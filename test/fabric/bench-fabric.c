// SPDX-License-Identifier: GPL-2.0
/*
 * What libmrlease-fi costs libfabric's MR cache: a benchmark, not a test.
 * The verbs provider's domain on rxe0, fi_mr_reg() + fi_close() through
 * its cache:
 *   hit   the same 64 KiB buffer again and again (the cache's valid check:
 *         memhooks answers without a look, mrlease with a lookup and a load)
 *   miss  a buffer mapped, registered, closed and unmapped each time (the
 *         cache registers anew; mrlease leases it, and its reader drops the
 *         lease the munmap broke)
 * and the message rate of verbs;ofi_rxm between two endpoints on rxe0:
 *   rndv  960 KiB tagged sends from one buffer (rendezvous: each one looks
 *         its buffer up in the MR cache and hits)
 *   eager 4 KiB sends (copied through bounce buffers: no cache lookup)
 * with libfabric's stock monitor and with mrlease's, each in a process of
 * its own (libfabric reads FI_PROVIDER_PATH once), alternating, five
 * rounds; the table gives the medians and their ratio.
 */
#include "rxm.h"

#define ROUNDS		5
#define HITS		20000
#define MISSES		400
#define BUF_LEN		(64 * 1024)
#define RNDV_LEN	(960 * 1024)	/* short of 1 MiB: see fabric-monitor.c */
#define RNDV_MSGS	100
#define EAGER_LEN	4096
#define EAGER_MSGS	1000
#define NFIG		4

static struct fid_domain *open_domain(void)
{
	struct fi_info *hints = fi_allocinfo(), *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	int ret;

	hints->ep_attr->type = FI_EP_MSG;
	hints->caps = FI_MSG | FI_RMA;
	hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED |
				      FI_MR_PROV_KEY;
	hints->fabric_attr->prov_name = strdup("verbs");
	ret = fi_getinfo(FI_VERSION(1, 13), "10.11.0.1", NULL, FI_SOURCE, hints, &info);
	if (ret)
		t_skip("fi_getinfo(verbs): %s", fi_strerror(-ret));
	if (fi_fabric(info->fabric_attr, &fabric, NULL) ||
	    fi_domain(fabric, info, &domain, NULL))
		t_fail("fi_fabric/fi_domain");
	fi_freeinfo(hints);
	fi_freeinfo(info);
	return domain;
}

static void reg_close(struct fid_domain *domain, void *buf)
{
	struct fid_mr *mr;
	int ret = fi_mr_reg(domain, buf, BUF_LEN, FI_SEND | FI_RECV | FI_READ | FI_WRITE |
			    FI_REMOTE_READ | FI_REMOTE_WRITE, 0, 0, 0, &mr, NULL);

	if (ret)
		t_fail("fi_mr_reg: %s", fi_strerror(-ret));
	fi_close(&mr->fid);
}

/* Messages per second of @n sends of @len bytes from one buffer. */
static int64_t rate(size_t len, int n)
{
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *rbuf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int64_t t0;

	memset(buf, 3, len);
	rxm_send(buf, rbuf, len);		/* connects, and registers once */
	t0 = t_now_ns();
	for (int i = 0; i < n; i++)
		rxm_send(buf, rbuf, len);
	return (int64_t)n * 1000000000ll / (t_now_ns() - t0);
}

/* One process: "<hit ns> <miss ns> <rndv msg/s> <eager msg/s>" on stdout. */
static void measure(void)
{
	struct fid_domain *domain = open_domain();
	char *buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int64_t t0, hit, miss, rndv, eager;

	memset(buf, 1, BUF_LEN);
	reg_close(domain, buf);
	t0 = t_now_ns();
	for (int i = 0; i < HITS; i++)
		reg_close(domain, buf);
	hit = (t_now_ns() - t0) / HITS;
	t0 = t_now_ns();
	for (int i = 0; i < MISSES; i++) {
		char *b = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		memset(b, 2, BUF_LEN);
		reg_close(domain, b);
		munmap(b, BUF_LEN);
	}
	miss = (t_now_ns() - t0) / MISSES;
	fabric_open();
	rndv = rate(RNDV_LEN, RNDV_MSGS);
	eager = rate(EAGER_LEN, EAGER_MSGS);
	printf("%lld %lld %lld %lld\n", (long long)hit, (long long)miss, (long long)rndv,
	       (long long)eager);
	exit(0);
}

static void run(bool with_mrlease, int64_t fig[NFIG])
{
	int p[2], st;
	pid_t pid;
	FILE *f;
	long long v[NFIG];

	t_pipe(p);
	pid = t_fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		setenv("FI_PROVIDER_PATH", with_mrlease ? plugin_dir : "/nonexistent", 1);
		execl("/proc/self/exe", "bench-fabric", "measure", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	char line[512];
	bool got = false;

	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3]) == NFIG)
			got = true;
		else
			fputs(line, stdout);
	if (!got)
		t_fail("no figures from the %s run", with_mrlease ? "mrlease" : "stock");
	fclose(f);
	if (!t_wait(pid, 300000, &st) || !WIFEXITED(st) || WEXITSTATUS(st))
		t_fail("the %s run failed", with_mrlease ? "mrlease" : "stock");
	for (int i = 0; i < NFIG; i++)
		fig[i] = v[i];
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t median(int64_t *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp64);
	return v[ROUNDS / 2];
}

int main(int argc, char **argv __attribute__((unused)))
{
	static const char *const what[NFIG] = {
		"fi_mr_reg+fi_close, cache hit (ns)", "mmap+fi_mr_reg+close+munmap (ns)",
		"rxm 960 KiB rendezvous (msg/s)", "rxm 4 KiB eager (msg/s)",
	};
	int64_t fig[2][NFIG][ROUNDS], one[NFIG], med[2][NFIG];

	setenv("FI_LOG_LEVEL", "warn", 0);
	setenv("FI_UNIVERSE_SIZE", "64", 1);
	if (argc > 1)
		measure();
	plugin_find();
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < 2; k++) {
			run(k, one);
			for (int i = 0; i < NFIG; i++)
				fig[k][i][r] = one[i];
		}
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < NFIG; i++)
			med[k][i] = median(fig[k][i]);
	printf("libfabric with its stock monitor and with mrlease's (rxe0, medians of %d alternating runs)\n",
	       ROUNDS);
	printf("%-36s %10s %10s %8s\n", "", "stock", "mrlease", "ratio");
	for (int i = 0; i < NFIG; i++)
		printf("%-36s %10lld %10lld %7.2fx\n", what[i], (long long)med[0][i],
		       (long long)med[1][i], (double)med[1][i] / (double)med[0][i]);
	return 0;
}
