// SPDX-License-Identifier: GPL-2.0
/*
 * UCX's registration cache with its own memory hooks and with mrlease as
 * the source of its unmap events (LD_PRELOAD=libmrlease-ucm.so), on
 * Debian's UCX over rxe.  UCP does not connect over rxe under emulation
 * (its UD wire-up times out), so this works where the cache lives: the IB
 * memory domain of rxe0, uct_md_mem_reg() with the rcache on
 * (UCX_IB_RCACHE=yes), which UCX's transports call for every buffer.
 *
 * A 1 MiB buffer is registered twice (the second is a cache hit: the same
 * registration), then new pages are put under its address -- raw munmap +
 * raw mmap, raw mremap, raw MADV_DONTNEED, another process truncating the
 * memfd mapped there -- and it is registered again until the cache hands
 * out a new registration, for at most a second.  The same registration
 * after a change is stale: its MR maps the pages the address no longer
 * does.  With mrlease each change must give a new registration, and the
 * time it took (the window in which a cache hit was still stale: the
 * reader's wake-up) is printed.  With UCX's own hooks the raw munmap +
 * mmap must stay stale: the failure mrlease fixes, and the proof that this
 * test can see it.
 *
 * And fork() with the preload ("fork" half): a child forgets its parent's
 * context and leases (libmrlease-ucm(7)).  The parent registers a buffer
 * (leased) and forks.  The child must find no context of its parent's,
 * then open its own memory domain, and a raw munmap + mmap under a buffer
 * it registered must reach its own registration cache: its own context,
 * lease and reader.  It writes its copy of the parent's buffer and unmaps
 * it with a raw munmap.  After it exited the parent must have seen no
 * break, get the same registration (a hit) for its unchanged buffer, and
 * a raw munmap + mmap under it must still give a new registration.
 */
#define LEN		(1u << 20)

#include "remap.h"


#include <dlfcn.h>

#include <infiniband/verbs.h>
#include <ucs/type/status.h>
#include <uct/api/uct.h>

#define MD_NAME		"rxe0"
#define WINDOW_MS	1000


static uct_md_h md;
static size_t rkey_size;
static char preload[4200];

static void md_open(void)
{
	uct_component_h *comps;
	unsigned int n;
	ucs_status_t st;

	if (uct_query_components(&comps, &n) != UCS_OK)
		t_fail("uct_query_components");
	for (unsigned int i = 0; i < n; i++) {
		uct_component_attr_t attr = { .field_mask = UCT_COMPONENT_ATTR_FIELD_NAME };
		uct_md_config_t *cfg;
		uct_md_attr_t md_attr;

		if (uct_component_query(comps[i], &attr) != UCS_OK || strcmp(attr.name, "ib"))
			continue;
		if (uct_md_config_read(comps[i], NULL, NULL, &cfg) != UCS_OK)
			t_fail("uct_md_config_read(ib)");
		st = uct_md_open(comps[i], MD_NAME, cfg, &md);
		uct_config_release(cfg);
		if (st != UCS_OK)
			t_skip("uct_md_open(ib, %s): %s", MD_NAME, ucs_status_string(st));
		if (uct_md_query(md, &md_attr) != UCS_OK)
			t_fail("uct_md_query");
		rkey_size = md_attr.rkey_packed_size;
		CHECK(rkey_size > 0 && rkey_size <= 256);
		uct_release_component_list(comps);
		return;
	}
	t_skip("UCX has no \"ib\" component (libuct_ib.so.0 not found)");
}

/* Register @buf; its packed rkey into @rkey: a new registration has a new one. */
static uct_mem_h reg(char *buf, uint8_t rkey[256])
{
	uct_mem_h memh;
	ucs_status_t st = uct_md_mem_reg(md, buf, LEN, UCT_MD_MEM_ACCESS_ALL, &memh);

	if (st != UCS_OK)
		t_fail("uct_md_mem_reg: %s", ucs_status_string(st));
	st = uct_md_mkey_pack(md, memh, rkey);
	if (st != UCS_OK)
		t_fail("uct_md_mkey_pack: %s", ucs_status_string(st));
	return memh;
}

/* One half: "RESULT <change> <ms until a new registration, or -1>" per change. */
/*
 * With the preload: one ibv_reg_mr() of the program's own is one lease
 * (libibverbs' ibv_reg_mr calls ibv_reg_mr_iova2, which is wrapped too).
 */
static void direct_reg_is_one_lease(void)
{
	int (*counters)(unsigned long *) =
		(int (*)(unsigned long *))dlsym(RTLD_DEFAULT, "mrlease_ucm_counters");
	struct ibv_device **devs = ibv_get_device_list(NULL);
	unsigned long c0[2], c1[2];
	struct ibv_context *dev;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	char *buf = map_at(NULL, -1);

	if (!counters || counters(c0))
		t_fail("libmrlease-ucm is not preloaded, or has no mrlease context");
	CHECK(devs && devs[0]);
	dev = ibv_open_device(devs[0]);
	CHECK(dev);
	pd = ibv_alloc_pd(dev);
	CHECK(pd);
	memset(buf, 1, LEN);
	mr = ibv_reg_mr(pd, buf, LEN, IBV_ACCESS_LOCAL_WRITE);
	CHECK(mr);
	CHECK_OK(counters(c1));
	if (c1[0] - c0[0] != 1)
		t_fail("one ibv_reg_mr() made %lu leases", c1[0] - c0[0]);
	CHECK_EQ(ibv_dereg_mr(mr), 0);
	ibv_dealloc_pd(pd);
	ibv_close_device(dev);
	ibv_free_device_list(devs);
	munmap(buf, LEN);
}

/*
 * Register @buf (filled with 0xa1) and register it again: the second must
 * be a cache hit.  Both are released; the registration stays cached, its
 * packed rkey in @k1.
 */
static void reg_cached(char *buf, uint8_t k1[256], const char *what)
{
	uint8_t k2[256];
	uct_mem_h m1, m2;

	memset(buf, 0xa1, LEN);
	m1 = reg(buf, k1);
	m2 = reg(buf, k2);
	if (m2 != m1 || memcmp(k1, k2, rkey_size))
		t_fail("%s: registering an unchanged buffer again was no cache hit", what);
	uct_md_mem_dereg(md, m2);
	uct_md_mem_dereg(md, m1);
}

/* Change @ch under @buf, cached as @k1: ms until the cache hands out a new registration, or -1. */
static int64_t until_new_reg(enum change ch, char *buf, int fd, const uint8_t *k1)
{
	uint8_t k3[256];
	int64_t t0;
	uct_mem_h m3;

	change(ch, buf, fd, 0xb2);
	t0 = t_now_ns();
	do {
		m3 = reg(buf, k3);
		uct_md_mem_dereg(md, m3);
		if (memcmp(k3, k1, rkey_size))
			return t_ms_since(t0);
		usleep(200);
	} while (t_ms_since(t0) < WINDOW_MS);
	return -1;
}

static void run(void)
{
	md_open();
	for (int ch = 0; ch < CH_NR; ch++) {
		int fd;
		char *buf = change_buffer(ch, &fd);
		uint8_t k1[256];
		int64_t ms;

		reg_cached(buf, k1, change_name[ch]);
		ms = until_new_reg(ch, buf, fd, k1);
		printf("RESULT %d %lld\n", ch, (long long)ms);
		fflush(stdout);
		munmap(buf, LEN);
		if (fd >= 0)
			close(fd);
	}
	uct_md_close(md);
}

/* The child of fork_run(): @pbuf is its copy of the parent's registered buffer. */
static void __attribute__((noreturn)) fork_child(int (*counters)(unsigned long *), char *pbuf,
						 const unsigned long p0[2])
{
	/*
	 * Before any registration of its own: the parent's context must be
	 * closed, descriptor and mappings (either keeps it alive).
	 */
	int inherited = counters((unsigned long[2]){ 0 });
	int fds = t_mrlease_fds(), maps = t_mrlease_maps();
	unsigned long c[2];
	char *buf = map_at(NULL, -1);
	uint8_t k1[256];
	int64_t ms;

	/* UCX's objects are the parent's: a memory domain of its own, as a child must. */
	md_open();
	reg_cached(buf, k1, "the child");
	ms = until_new_reg(CH_MUNMAP, buf, -1, k1);
	if (ms < 0)
		t_fail("in the child, %s left its registration cache stale for %d ms",
		       change_name[CH_MUNMAP], WINDOW_MS);
	t_info("child: %s gave a new registration after %lld ms", change_name[CH_MUNMAP],
	       (long long)ms);
	if (inherited != -ENODEV)
		t_fail("the child had a context before its first registration: its parent's (%d)",
		       inherited);
	if (fds || maps)
		t_fail("the child kept its parent's context open: %d descriptor(s), %d mapping(s)",
		       fds, maps);
	CHECK_OK(counters(c));
	if (c[0] <= p0[0] || c[1] <= p0[1])
		t_fail("the child's own context made no lease or saw no break (%lu -> %lu, %lu -> %lu)",
		       p0[0], c[0], p0[1], c[1]);
	/*
	 * The parent's pages stay the parent's: write and unmap the child's
	 * copy, if it has one.  Here it has none: the registered range is not
	 * mapped in the child at all (not copied at fork, as libibverbs' fork
	 * protection, which UCX asks for with ibv_fork_init(), leaves a
	 * registered range), so the address is unmapped or a new mapping of
	 * the child's own.  The session-13 version of this test wrote there
	 * unchecked and passed only while the child's own buffer happened to
	 * land at that address.
	 */
	if (!msync(pbuf, LEN, MS_ASYNC) && pbuf != buf) {
		memset(pbuf, 0xc3, LEN);
		CHECK_SYS(syscall(SYS_munmap, pbuf, LEN));
	} else {
		t_info("child: the parent's registered buffer is not mapped here (not copied at fork)");
	}
	_exit(0);
}

/* The "fork" half (preloaded): a child's leases are its own, the parent's stay. */
static void fork_run(void)
{
	int (*counters)(unsigned long *) =
		(int (*)(unsigned long *))dlsym(RTLD_DEFAULT, "mrlease_ucm_counters");
	unsigned long p0[2], p1[2];
	char *buf = map_at(NULL, -1);
	uint8_t k1[256], k2[256];
	uct_mem_h m;
	int64_t ms;
	pid_t pid;

	if (!counters || counters(p0))
		t_fail("libmrlease-ucm is not preloaded, or has no mrlease context");
	md_open();
	reg_cached(buf, k1, "the parent");
	CHECK_OK(counters(p0));
	/* Else the child's check of its descriptors and mappings would prove nothing. */
	if (t_mrlease_fds() < 1 || t_mrlease_maps() < 1)
		t_fail("the parent has no descriptor or no mapping of /dev/mrlease before the fork");
	pid = t_fork();
	if (pid == 0)
		fork_child(counters, buf, p0);
	CHECK_CHILD_OK(pid, 30000);
	CHECK_OK(counters(p1));
	if (p1[1] != p0[1])
		t_fail("the parent saw %lu break(s) while the child ran: its lease broke",
		       p1[1] - p0[1]);
	m = reg(buf, k2);
	uct_md_mem_dereg(md, m);
	if (memcmp(k1, k2, rkey_size))
		t_fail("after the child, the parent's unchanged buffer was registered anew");
	ms = until_new_reg(CH_MUNMAP, buf, -1, k1);
	if (ms < 0)
		t_fail("in the parent after the child, %s left its registration cache stale for %d ms",
		       change_name[CH_MUNMAP], WINDOW_MS);
	t_info("parent after the child: still a hit, and %s gave a new registration after %lld ms",
	       change_name[CH_MUNMAP], (long long)ms);
	uct_md_close(md);
}

int main(int argc, char **argv)
{
	long long stock[CH_NR], lease[CH_NR];
	const char *const env_lease[] = { preload, NULL };
	/*
	 * The parent's registration stays cached across fork() (UCX purges its
	 * caches there by default), so that whatever the child does could
	 * break its lease or make a hit on it stale.
	 */
	const char *const env_fork[] = { preload, "UCX_IB_RCACHE_PURGE_ON_FORK=n", NULL };
	long long none[CH_NR];

	/* The rcache on, or uct_md_open() fails: nothing to test without it. */
	setenv("UCX_IB_RCACHE", "yes", 1);
	if (argc > 1) {
		if (!strcmp(argv[1], "fork")) {
			fork_run();
			t_pass();
		}
		if (!strcmp(argv[1], "mrlease"))
			direct_reg_is_one_lease();
		run();
		t_pass();
	}
	if (access(T_DEVICE, F_OK))
		t_skip("no %s", T_DEVICE);
	preload_env(preload, sizeof(preload));
	run_half("stock", NULL, stock, CH_NR);
	run_half("mrlease", env_lease, lease, CH_NR);
	run_half("fork", env_fork, none, 0);
	for (int ch = 0; ch < CH_NR; ch++) {
		t_info("%-20s UCX's hooks: %-14s mrlease: %s", change_name[ch],
		       stock[ch] < 0 ? "stale for 1 s," : "new registration,",
		       lease[ch] < 0 ? "STALE for 1 s" : "new registration");
		t_info("%-20s   (after %lld / %lld ms)", "", (long long)stock[ch], (long long)lease[ch]);
		if (lease[ch] < 0)
			t_fail("with mrlease, %s left the cache stale for %d ms", change_name[ch],
			       WINDOW_MS);
	}
	if (stock[CH_MUNMAP] >= 0)
		t_fail("UCX's own hooks saw a raw munmap + mmap: this test cannot see the failure "
		       "mrlease fixes");
	t_pass();
}
