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
 * with libfabric's stock monitor and with mrlease's, each in a process of
 * its own (libfabric reads FI_PROVIDER_PATH once), alternating, five
 * rounds; the table gives the medians and their ratio.
 */
#include "harness.h"

#include <dlfcn.h>

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_errno.h>

#define ROUNDS		5
#define HITS		20000
#define MISSES		400
#define BUF_LEN		(64 * 1024)

static char plugin_dir[4096];

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

/* One process: "<hit ns> <miss ns>" on stdout. */
static void measure(void)
{
	struct fid_domain *domain = open_domain();
	char *buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int64_t t0, hit, miss;

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
	printf("%lld %lld\n", (long long)hit, (long long)miss);
	exit(0);
}

static void run(bool with_mrlease, int64_t *hit, int64_t *miss)
{
	int p[2], st;
	pid_t pid;
	FILE *f;
	long long h = 0, m = 0;

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
	if (fscanf(f, "%lld %lld", &h, &m) != 2)
		t_fail("no figures from the %s run", with_mrlease ? "mrlease" : "stock");
	fclose(f);
	if (!t_wait(pid, 300000, &st) || !WIFEXITED(st) || WEXITSTATUS(st))
		t_fail("the %s run failed", with_mrlease ? "mrlease" : "stock");
	*hit = h;
	*miss = m;
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
	int64_t hit[2][ROUNDS], miss[2][ROUNDS], h[2], m[2];
	ssize_t n;
	char *slash;

	setenv("FI_LOG_LEVEL", "warn", 0);
	if (argc > 1)
		measure();
	n = readlink("/proc/self/exe", plugin_dir, sizeof(plugin_dir) - 5);
	if (n < 0)
		t_fail("readlink: %s", strerror(errno));
	plugin_dir[n] = 0;
	slash = strrchr(plugin_dir, '/');
	strcpy(slash ? slash + 1 : plugin_dir, "lib");
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < 2; k++)
			run(k, &hit[k][r], &miss[k][r]);
	for (int k = 0; k < 2; k++) {
		h[k] = median(hit[k]);
		m[k] = median(miss[k]);
	}
	printf("libfabric MR cache (verbs on rxe0, 64 KiB, medians of %d alternating runs)\n", ROUNDS);
	printf("%-34s %10s %10s %8s\n", "", "stock", "mrlease", "ratio");
	printf("%-34s %8lld ns %8lld ns %7.2fx\n", "fi_mr_reg+fi_close, cache hit",
	       (long long)h[0], (long long)h[1], (double)h[1] / (double)h[0]);
	printf("%-34s %8lld ns %8lld ns %7.2fx\n", "mmap+fi_mr_reg+close+munmap, miss",
	       (long long)m[0], (long long)m[1], (double)m[1] / (double)m[0]);
	return 0;
}
