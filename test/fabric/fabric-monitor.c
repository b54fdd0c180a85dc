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
 * can see it.  The other stock results are printed.  Preloaded
 * (LD_PRELOAD, not found by libfabric) the plugin must give the same fresh
 * data.  Where it must stay out -- FI_MR_CACHE_MONITOR=memhooks (the
 * user's choice stands), and no mrlease module (/dev/null bound over
 * /dev/mrlease in a mount namespace of its own) -- libfabric must run as
 * before: the raw munmap + mmap stale again.  And a monitor imported
 * first (as Open MPI does; here one that never lets a lookup hit) stays
 * the monitor: the plugin does not import, the data stays fresh.
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
#include "rxm.h"

#include <sched.h>
#include <sys/mount.h>

enum result { R_FRESH, R_STALE, R_GARBAGE };
static const char *const result_name[] = { "fresh", "stale", "garbage" };

static char *rbuf;

/* Send @buf from endpoint 0 to endpoint 1; what did it receive? */
static enum result transfer(const char *buf, uint8_t want, uint8_t old)
{
	size_t fresh = 0, stale = 0;

	memset(rbuf, 0, LEN);
	rxm_send(buf, rbuf, LEN);
	for (size_t i = 0; i < LEN; i++) {
		fresh += (uint8_t)rbuf[i] == want;
		stale += (uint8_t)rbuf[i] == old;
	}
	return fresh == LEN ? R_FRESH : stale == LEN ? R_STALE : R_GARBAGE;
}

/* One half: print "RESULT <change> <result>" per change; with mrlease, check the cache's counters. */
static void run(bool with_mrlease, int nch)
{
	unsigned long c0[6], c1[6];
	bool have = false;

	fabric_open();
	rbuf = map_at(NULL, -1);
	if (with_mrlease && !plugin_counters(c0))
		t_fail("libfabric did not load %s, or it imported no monitor", plugin);
	for (int ch = 0; ch < nch; ch++) {
		int fd;
		char *buf = change_buffer(ch, &fd);
		enum result r;

		memset(buf, 0xa1, LEN);
		if (transfer(buf, 0xa1, 0) != R_FRESH)
			t_fail("%s: the first send did not carry the buffer", change_name[ch]);
		have = with_mrlease && plugin_counters(c0);
		if (transfer(buf, 0xa1, 0) != R_FRESH)
			t_fail("%s: the second send did not carry the buffer", change_name[ch]);
		if (have && plugin_counters(c1) && (c1[1] != c0[1] || c1[2] <= c0[2]))
			t_fail("%s: the second send of an unchanged buffer was not a cache hit "
			       "(leases %lu -> %lu, hits %lu -> %lu)", change_name[ch],
			       c0[1], c1[1], c0[2], c1[2]);
		if (have)
			plugin_counters(c0);
		change(ch, buf, fd, 0xb2);
		r = transfer(buf, 0xb2, 0xa1);
		printf("RESULT %d %d\n", ch, r);
		t_info("%s monitor, %s: %s", with_mrlease ? "mrlease" : "stock",
		       change_name[ch], result_name[r]);
		if (have && plugin_counters(c1))
			t_info("  cache: %lu more lease(s), %lu hit(s), %lu miss(es), %lu break(s)",
			       c1[1] - c0[1], c1[2] - c0[2], c1[3] - c0[3], c1[4] - c0[4]);
		if (have && plugin_counters(c1) && (c1[4] == c0[4] || c1[1] == c0[1]))
			t_fail("%s: the monitor saw no break, or the MR was not leased again",
			       change_name[ch]);
		fflush(stdout);
		munmap(buf, LEN);
		if (fd >= 0)
			close(fd);
	}
}

/* This process (and its children) sees /dev/null at /dev/mrlease: no module to talk to. */
static void hide_device(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("/dev/null", T_DEVICE, NULL, MS_BIND, NULL))
		t_fail("hiding %s: %s", T_DEVICE, strerror(errno));
}

/*
 * A monitor imported before libfabric starts, as Open MPI imports its own:
 * it never lets a lookup hit, so every registration is made anew (fresh).
 */
static int first_start(struct fid_mem_monitor *m) { (void)m; return 0; }
static void first_stop(struct fid_mem_monitor *m) { (void)m; }
static int first_subscribe(struct fid_mem_monitor *m, const void *a, size_t l)
{
	(void)m, (void)a, (void)l;
	return 0;
}

static void first_unsubscribe(struct fid_mem_monitor *m, const void *a, size_t l)
{
	(void)m, (void)a, (void)l;
}

static bool first_valid(struct fid_mem_monitor *m, const void *a, size_t l)
{
	(void)m, (void)a, (void)l;
	return false;
}

static void import_first(void)
{
	static struct fi_ops_mem_monitor ops = {
		.size = sizeof(ops), .start = first_start, .stop = first_stop,
		.subscribe = first_subscribe, .unsubscribe = first_unsubscribe,
		.valid = first_valid,
	};
	static struct fid_mem_monitor first = {
		.fid.fclass = FI_CLASS_MEM_MONITOR, .export_ops = &ops,
	};
	struct fid *cache;

	FI_CHECK(fi_open(FI_VERSION(1, 13), "mr_cache", NULL, 0, 0, &cache, NULL));
	FI_CHECK(fi_import_fid(cache, &first.fid, 0));
	fi_close(cache);
}

int main(int argc, char **argv)
{
	long long stock[CH_NR], lease[CH_NR], preload[CH_NR], out[CH_NR], first[CH_NR];
	char path[4200], ld[4300];
	const char *const env_stock[] = { "FI_PROVIDER_PATH=/nonexistent", NULL };
	const char *const env_lease[] = { path, NULL };
	const char *const env_preload[] = { "FI_PROVIDER_PATH=/nonexistent", ld, NULL };
	const char *const env_optout[] = { path, "FI_MR_CACHE_MONITOR=memhooks", NULL };
	/* Where the plugin stays out, the stock monitor's failure is back. */
	static const struct {
		const char *mode, *why;
	} out_modes[] = {
		{ "optout", "FI_MR_CACHE_MONITOR=memhooks" },
		{ "nomodule", "no mrlease device (/dev/null over /dev/mrlease)" },
	};

	/* ofi_rxm asks for a CQ of FI_UNIVERSE_SIZE * ... entries; rxe allows fewer. */
	setenv("FI_UNIVERSE_SIZE", "64", 1);
	setenv("FI_LOG_LEVEL", "warn", 0);
	plugin_find();
	if (argc > 1) {
		bool in = !strcmp(argv[1], "mrlease") || !strcmp(argv[1], "preload");
		unsigned long c[6];

		if (!strcmp(argv[1], "nomodule"))
			hide_device();
		if (!strcmp(argv[1], "imported"))
			import_first();
		/* All four changes side by side; elsewhere one tells (a debug kernel is slow). */
		run(in, !strcmp(argv[1], "stock") || !strcmp(argv[1], "mrlease") ? CH_NR : 1);
		if (!in && plugin_counters(c))
			t_fail("%s: the plugin imported its monitor", argv[1]);
		t_pass();
	}
	if (access(T_DEVICE, F_OK))
		t_skip("no %s", T_DEVICE);
	snprintf(path, sizeof(path), "FI_PROVIDER_PATH=%s", plugin_dir);
	snprintf(ld, sizeof(ld), "LD_PRELOAD=%s", plugin);
	t_watchdog(110);
	run_half("stock", env_stock, stock, CH_NR);
	run_half("mrlease", env_lease, lease, CH_NR);
	run_half("preload", env_preload, preload, 1);
	if (preload[CH_MUNMAP] != R_FRESH)
		t_fail("with the plugin preloaded, %s gave %s data", change_name[CH_MUNMAP],
		       result_name[preload[CH_MUNMAP]]);
	for (size_t i = 0; i < sizeof(out_modes) / sizeof(out_modes[0]); i++) {
		run_half(out_modes[i].mode, i ? env_lease : env_optout, out, 1);
		if (out[CH_MUNMAP] != R_STALE)
			t_fail("%s: the plugin should stay out, but a raw munmap + mmap gave %s data",
			       out_modes[i].why, result_name[out[CH_MUNMAP]]);
		t_info("%s: the plugin stays out, libfabric's own monitor is back (stale)",
		       out_modes[i].why);
	}
	/* Another monitor first: libfabric refuses ours (FI_EBUSY), and keeps the first. */
	run_half("imported", env_lease, first, 1);
	if (first[CH_MUNMAP] != R_FRESH)
		t_fail("with a never-hit monitor imported first, %s gave %s data",
		       change_name[CH_MUNMAP], result_name[first[CH_MUNMAP]]);
	t_info("a monitor imported first stays, the plugin stays out");
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
