// SPDX-License-Identifier: GPL-2.0
/*
 * libfabric's MR cache with its stock monitor and with mrlease's
 * (libmrlease-fi.so, loaded the way libfabric loads providers), on
 * Debian's own libfabric over rxe: verbs;ofi_rxm, two RDM endpoints of one
 * process on rxe0.  A 960 KiB tagged send goes by rendezvous: the receiver
 * reads it from the sender's buffer with the MR the cache holds for it.
 *
 * For each way of putting new pages under the same address -- raw
 * munmap + raw mmap, raw mremap of other pages onto it, raw
 * madvise(MADV_DONTNEED), and another process truncating the memfd mapped
 * there -- the buffer is sent once (the cache registers it), sent again (a
 * hit), changed and filled with a new pattern, and sent a third time.  The
 * receiver says which pattern came: the new one (fresh) or the old one
 * (stale: the cache hit an MR of pages the address no longer maps).
 *
 * With mrlease every change must give fresh data, the second send must be
 * a cache hit without a new lease and the third a miss.  With the stock
 * monitor (memhooks in Debian's 1.17) the raw munmap + mmap must come out
 * stale: that is the failure mrlease fixes, and the proof that this test
 * can see it.  The other stock results are printed.  With the plugin
 * loaded but FI_MR_CACHE_MONITOR=memhooks, the user's choice stands: no
 * import, and the raw munmap + mmap stale again.
 *
 * libmrlease-fi.so is in lib/ beside the test; each half runs in a process
 * of its own, as libfabric reads FI_PROVIDER_PATH once.
 */
/*
 * Rendezvous-sized, but short of 1 MiB: 6.1's rxe reads past its page map
 * (KASAN: slab-out-of-bounds in rxe_mr_copy) when an RDMA READ ends exactly
 * at the end of an MR of 256 pages, the size of one map.
 */
#define LEN		(960u << 10)

#include "remap.h"

#include <dlfcn.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

/* The plugin: in lib/ beside the test, where the rig copies the suite's libraries. */
static char plugin_dir[4096], plugin[4200];

static void plugin_find(void)
{
	ssize_t n = readlink("/proc/self/exe", plugin_dir, sizeof(plugin_dir) - 5);
	char *slash;

	if (n < 0)
		t_fail("readlink(/proc/self/exe): %s", strerror(errno));
	plugin_dir[n] = 0;
	slash = strrchr(plugin_dir, '/');
	strcpy(slash ? slash + 1 : plugin_dir, "lib");
	snprintf(plugin, sizeof(plugin), "%s/libmrlease-fi.so", plugin_dir);
	if (access(plugin, R_OK))
		t_fail("%s: %s", plugin, strerror(errno));
}

#define NODE		"10.11.0.1"	/* rxe0's veth0 (test/guest/rdma-setup.sh) */

enum result { R_FRESH, R_STALE, R_GARBAGE };
static const char *const result_name[] = { "fresh", "stale", "garbage" };

static struct fid_fabric *fabric;
static struct fid_domain *domain;
static struct fid_av *av;
static struct fid_ep *ep[2];
static struct fid_cq *cq[2];
static fi_addr_t addr[2];
static char *rbuf;

#define FI_CHECK(call) do {							\
	int r_ = (int)(call);							\
	if (r_)									\
		t_fail("%s: %s", #call, fi_strerror(-r_));			\
} while (0)

static void fabric_open(void)
{
	struct fi_info *hints = fi_allocinfo(), *info;
	struct fi_cq_attr cq_attr = { .format = FI_CQ_FORMAT_TAGGED };
	struct fi_av_attr av_attr = { .type = FI_AV_TABLE };
	char name[2][64];
	size_t n;
	int ret;

	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_TAGGED;
	hints->mode = FI_CONTEXT;
	hints->domain_attr->mr_mode = FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
	hints->fabric_attr->prov_name = strdup("verbs;ofi_rxm");
	ret = fi_getinfo(FI_VERSION(1, 13), NODE, NULL, FI_SOURCE, hints, &info);
	if (ret)
		t_skip("fi_getinfo(verbs;ofi_rxm on %s): %s", NODE, fi_strerror(-ret));
	t_info("provider %s, domain %s", info->fabric_attr->prov_name, info->domain_attr->name);
	FI_CHECK(fi_fabric(info->fabric_attr, &fabric, NULL));
	FI_CHECK(fi_domain(fabric, info, &domain, NULL));
	FI_CHECK(fi_av_open(domain, &av_attr, &av, NULL));
	for (int i = 0; i < 2; i++) {
		FI_CHECK(fi_cq_open(domain, &cq_attr, &cq[i], NULL));
		FI_CHECK(fi_endpoint(domain, info, &ep[i], NULL));
		FI_CHECK(fi_ep_bind(ep[i], &cq[i]->fid, FI_SEND | FI_RECV));
		FI_CHECK(fi_ep_bind(ep[i], &av->fid, 0));
		FI_CHECK(fi_enable(ep[i]));
		n = sizeof(name[i]);
		FI_CHECK(fi_getname(&ep[i]->fid, name[i], &n));
		if (fi_av_insert(av, name[i], 1, &addr[i], 0, NULL) != 1)
			t_fail("fi_av_insert of endpoint %d", i);
	}
	fi_freeinfo(hints);
	fi_freeinfo(info);
}

/* Progress both endpoints until each has one completion (rxm progresses its connections there too). */
static void wait_both(void)
{
	struct fi_cq_tagged_entry e;
	int64_t t0 = t_now_ns();
	bool done[2] = { false, false };
	ssize_t r;

	while (!done[0] || !done[1]) {
		for (int i = 0; i < 2; i++) {
			if (done[i])
				continue;
			r = fi_cq_read(cq[i], &e, 1);
			if (r == 1) {
				done[i] = true;
			} else if (r == -FI_EAVAIL) {
				struct fi_cq_err_entry err = { 0 };

				fi_cq_readerr(cq[i], &err, 0);
				t_fail("endpoint %d: completion error %s", i, fi_strerror(err.err));
			} else if (r != -FI_EAGAIN) {
				t_fail("fi_cq_read: %s", fi_strerror((int)-r));
			}
		}
		if (t_ms_since(t0) > 20000)
			t_fail("no completion in 20 s (send %s, receive %s)", done[0] ? "done" : "pending",
			       done[1] ? "done" : "pending");
	}
}

/* Send @buf from endpoint 0 to endpoint 1; what did it receive? */
static enum result transfer(const char *buf, uint8_t want, uint8_t old)
{
	struct fi_context ctx[2];
	ssize_t r;

	memset(rbuf, 0, LEN);
	FI_CHECK(fi_trecv(ep[1], rbuf, LEN, NULL, addr[0], 7, 0, &ctx[1]));
	do {
		r = fi_tsend(ep[0], buf, LEN, NULL, addr[1], 7, &ctx[0]);
		if (r == -FI_EAGAIN) {
			fi_cq_read(cq[0], NULL, 0);
			fi_cq_read(cq[1], NULL, 0);
		}
	} while (r == -FI_EAGAIN);
	FI_CHECK(r);
	wait_both();
	size_t fresh = 0, stale = 0;

	for (size_t i = 0; i < LEN; i++) {
		fresh += (uint8_t)rbuf[i] == want;
		stale += (uint8_t)rbuf[i] == old;
	}
	return fresh == LEN ? R_FRESH : stale == LEN ? R_STALE : R_GARBAGE;
}

/* The plugin's counters, if libfabric loaded it. */
static bool counters(unsigned long c[6])
{
	void *h = dlopen(plugin, RTLD_NOW | RTLD_NOLOAD);
	int (*get)(unsigned long *);

	if (!h) {
		t_info("dlopen(RTLD_NOLOAD): %s", dlerror());
		return false;
	}
	get = (int (*)(unsigned long *))dlsym(h, "mrlease_fi_counters");
	return get && get(c) == 0;
}

/* One half: print "RESULT <change> <result>" per change; with mrlease, check the cache's counters. */
static void run(bool with_mrlease)
{
	unsigned long c0[6], c1[6];
	bool have = false;

	fabric_open();
	rbuf = map_at(NULL, -1);
	if (with_mrlease && !counters(c0))
		t_fail("libfabric did not load %s, or it imported no monitor", plugin);
	for (int ch = 0; ch < CH_NR; ch++) {
		int fd;
		char *buf = change_buffer(ch, &fd);
		enum result r;

		memset(buf, 0xa1, LEN);
		if (transfer(buf, 0xa1, 0) != R_FRESH)
			t_fail("%s: the first send did not carry the buffer", change_name[ch]);
		have = with_mrlease && counters(c0);
		if (transfer(buf, 0xa1, 0) != R_FRESH)
			t_fail("%s: the second send did not carry the buffer", change_name[ch]);
		if (have && counters(c1) && (c1[1] != c0[1] || c1[2] <= c0[2]))
			t_fail("%s: the second send of an unchanged buffer was not a cache hit "
			       "(leases %lu -> %lu, hits %lu -> %lu)", change_name[ch],
			       c0[1], c1[1], c0[2], c1[2]);
		if (have)
			counters(c0);
		change(ch, buf, fd, 0xb2);
		r = transfer(buf, 0xb2, 0xa1);
		printf("RESULT %d %d\n", ch, r);
		t_info("%s monitor, %s: %s", with_mrlease ? "mrlease" : "stock",
		       change_name[ch], result_name[r]);
		if (have && counters(c1))
			t_info("  cache: %lu more lease(s), %lu hit(s), %lu miss(es), %lu break(s)",
			       c1[1] - c0[1], c1[2] - c0[2], c1[3] - c0[3], c1[4] - c0[4]);
		if (have && counters(c1) && (c1[4] == c0[4] || c1[1] == c0[1]))
			t_fail("%s: the monitor saw no break, or the MR was not leased again",
			       change_name[ch]);
		fflush(stdout);
		munmap(buf, LEN);
		if (fd >= 0)
			close(fd);
	}
}

int main(int argc, char **argv)
{
	long long stock[CH_NR], lease[CH_NR], optout[CH_NR];
	char path[4200];
	const char *const env_stock[] = { "FI_PROVIDER_PATH=/nonexistent", NULL };
	const char *const env_lease[] = { path, NULL };
	const char *const env_optout[] = { path, "FI_MR_CACHE_MONITOR=memhooks", NULL };

	/* ofi_rxm asks for a CQ of FI_UNIVERSE_SIZE * ... entries; rxe allows fewer. */
	setenv("FI_UNIVERSE_SIZE", "64", 1);
	setenv("FI_LOG_LEVEL", "warn", 0);
	plugin_find();
	if (argc > 1) {
		unsigned long c[6];

		run(!strcmp(argv[1], "mrlease"));
		if (!strcmp(argv[1], "optout") && counters(c))
			t_fail("FI_MR_CACHE_MONITOR=memhooks, yet the plugin imported its monitor");
		t_pass();
	}
	if (access(T_DEVICE, F_OK))
		t_skip("no %s", T_DEVICE);
	/* optout: the plugin where libfabric loads it, but the user chose memhooks. */
	snprintf(path, sizeof(path), "FI_PROVIDER_PATH=%s", plugin_dir);
	run_half("stock", env_stock, stock);
	run_half("mrlease", env_lease, lease);
	run_half("optout", env_optout, optout);
	if (optout[CH_MUNMAP] != R_STALE)
		t_fail("with FI_MR_CACHE_MONITOR=memhooks the plugin should stay out, but a raw "
		       "munmap + mmap gave %s data", result_name[optout[CH_MUNMAP]]);
	for (int ch = 0; ch < CH_NR; ch++) {
		t_info("%-20s stock: %-7s mrlease: %s", change_name[ch],
		       result_name[stock[ch]], result_name[lease[ch]]);
		if (lease[ch] != R_FRESH)
			t_fail("with mrlease, %s gave %s data", change_name[ch],
			       result_name[lease[ch]]);
	}
	if (stock[CH_MUNMAP] != R_STALE)
		t_fail("the stock monitor gave %s data after a raw munmap + mmap: this test "
		       "cannot see the failure mrlease fixes", result_name[stock[CH_MUNMAP]]);
	t_pass();
}
