// SPDX-License-Identifier: GPL-2.0
/*
 * fork() under libmrlease-fi, libfabric's MR caches with mrlease as their
 * monitor, over Debian's libfabric (verbs;ofi_rxm on rxe0, as in
 * 94-fabric-monitor).
 *
 * A forked child has copies of its parent's MR caches and of the plugin's
 * table, and shares the parent's lease context: the validity words say
 * whether the parent's pages are still under a range, not the child's.  The
 * kernel copies pinned pages to the child at fork(), so a parent's cached
 * MR never maps the child's copy of the buffer.  The contract
 * (libmrlease-fi(7)): in the child every lookup misses and nothing new is
 * cached; the parent goes on as if there were no child.
 *
 * The parent sends a buffer (the rendezvous registers it, and it is
 * leased), registers it once more (a cache hit) and forks.  The child
 * registers the same range twice on the domain it inherited: each must be
 * an MR of its own, neither the parent's (a hit on a word that speaks of the
 * parent's pages: stale) nor its first (the child cached it).  The parent
 * writes the buffer in place and sends it while the child lives; then the
 * child writes its copy and unmaps it with a raw munmap, and exits.  The
 * parent's next send must carry the parent's data as a cache hit, with no
 * break and no new lease all along: nothing the child did reached the
 * parent's pages or lease.  Last, new pages under the parent's buffer must
 * still be seen: a break, a new lease, fresh data.
 *
 * The child only registers on the inherited domain: verbs objects belong to
 * the parent (its endpoints' receive buffers are the parent's pages), and
 * an MR the child makes there lives in the device context both share, so
 * it closes its MRs before it exits.  The parent holds its own registration
 * across the fork: the child's miss then takes the entry out of the child's
 * copy of the cache only, whereas an idle entry would be freed by the
 * child's next lookup -- its MR deregistered from under the parent
 * (libmrlease-fi(7), NOTES).
 */
/* Rendezvous-sized, but short of 1 MiB: see fabric-monitor.c. */
#define LEN		(960u << 10)

#include "remap.h"
#include "rxm.h"

#define ACCESS		(FI_SEND | FI_RECV | FI_READ | FI_WRITE | FI_REMOTE_READ | \
			 FI_REMOTE_WRITE)

enum { C_LEASES = 1, C_HITS = 2, C_BREAKS = 4 };	/* in mrlease_fi_counters() */

static char *rbuf;

/* Send @buf from endpoint 0 to endpoint 1: all of it must arrive as @want. */
static void send_expect(const char *buf, uint8_t want, const char *what)
{
	memset(rbuf, 0, LEN);
	rxm_send(buf, rbuf, LEN);
	for (size_t i = 0; i < LEN; i++)
		if ((uint8_t)rbuf[i] != want)
			t_fail("%s: byte %zu came as %#x, not %#x", what, i, (uint8_t)rbuf[i],
			       want);
}

static void counters(unsigned long c[6])
{
	if (!plugin_counters(c))
		t_fail("libfabric did not load %s, or it imported no monitor", plugin);
}

/* Register @buf (LEN bytes) through the MR cache: its key. */
static uint64_t reg(char *buf, struct fid_mr **mr)
{
	int ret = fi_mr_reg(domain, buf, LEN, ACCESS, 0, 0, 0, mr, NULL);

	if (ret)
		t_fail("fi_mr_reg: %s", fi_strerror(-ret));
	return fi_mr_key(*mr);
}

/*
 * The child: @buf is its copy of the parent's buffer, @key the parent's
 * MR of it, @c0 the counters at the fork.  libfabric warns of each
 * subscribe the plugin refuses here ("Failed (ret = -38) to monitor").
 */
static void __attribute__((noreturn))
child(char *buf, uint64_t key, const unsigned long c0[6], int registered, int go)
{
	int fds = t_mrlease_fds(), maps = t_mrlease_maps();
	struct fid_mr *mr[2];
	unsigned long c[6];
	uint64_t k[2];
	char byte;

	/*
	 * The plugin closes the parent's context in the child: else the child
	 * could unregister the parent's leases through it, and would keep them
	 * after the parent exits.
	 */
	if (fds || maps)
		t_fail("the child kept its parent's context open: %d descriptor(s), %d mapping(s) "
		       "of /dev/mrlease", fds, maps);
	for (int i = 0; i < 2; i++) {
		k[i] = reg(buf, &mr[i]);
		if (k[i] == key)
			t_fail("the child's registration %d of the parent's cached range is the "
			       "parent's MR (key %#llx): a stale hit", i + 1, (unsigned long long)key);
	}
	if (k[1] == k[0])
		t_fail("the child's second registration is its first (key %#llx): it was cached",
		       (unsigned long long)k[0]);
	counters(c);
	if (c[C_HITS] != c0[C_HITS])
		t_fail("the child's lookups hit (%lu -> %lu)", c0[C_HITS], c[C_HITS]);
	for (int i = 0; i < 2; i++)
		FI_CHECK(fi_close(&mr[i]->fid));
	t_write_full(registered, "r", 1);
	if (!t_read_full(go, &byte, 1, 20000))
		t_fail("the parent did not say go");
	memset(buf, 0xc3, LEN);
	CHECK_SYS(syscall(SYS_munmap, buf, LEN));
	_exit(0);
}

int main(void)
{
	unsigned long c0[6], c1[6];
	int registered[2], go[2];
	struct fid_mr *mr;
	uint64_t key;
	char *buf, byte;
	pid_t pid;

	if (access(T_DEVICE, F_OK))
		t_skip("no %s", T_DEVICE);
	/* ofi_rxm asks for a CQ of FI_UNIVERSE_SIZE * ... entries; rxe allows fewer. */
	setenv("FI_UNIVERSE_SIZE", "64", 1);
	setenv("FI_LOG_LEVEL", "warn", 0);
	plugin_find();
	/* libfabric reads it when it starts: at fabric_open()'s fi_getinfo(). */
	setenv("FI_PROVIDER_PATH", plugin_dir, 1);
	fabric_open();
	rbuf = map_at(NULL, -1);
	buf = map_at(NULL, -1);
	/*
	 * Small pages only: where the buffer lands in a transparent huge page
	 * (ASLR decides), fork() splits the pinned huge page in the parent, a
	 * CLEAR that breaks the plugin's unpinned lease although the pages
	 * stay.  That costs a re-registration, not coherence, but would make
	 * "the parent sees no break" fail at random (seen on 6.12: 2 breaks).
	 */
	CHECK_SYS(madvise(buf, LEN, MADV_NOHUGEPAGE));
	memset(buf, 0xa1, LEN);
	send_expect(buf, 0xa1, "the first send");
	counters(c0);
	key = reg(buf, &mr);
	counters(c1);
	/* Else the child would find no entry of the parent's to miss. */
	if (c1[C_HITS] != c0[C_HITS] + 1 || c1[C_LEASES] != c0[C_LEASES])
		t_fail("registering the buffer just sent was no cache hit (hits %lu -> %lu, "
		       "leases %lu -> %lu)", c0[C_HITS], c1[C_HITS], c0[C_LEASES], c1[C_LEASES]);
	memcpy(c0, c1, sizeof(c0));

	t_pipe(registered);
	t_pipe(go);
	/* Else the child's check of its descriptors would prove nothing. */
	if (t_mrlease_fds() < 1 || t_mrlease_maps() < 1)
		t_fail("the parent has no descriptor or no mapping of /dev/mrlease before the fork");
	pid = t_fork();
	if (pid == 0) {
		close(registered[0]);
		close(go[1]);
		child(buf, key, c0, registered[1], go[0]);
	}
	close(registered[1]);
	close(go[0]);
	if (!t_read_full(registered[0], &byte, 1, 20000)) {
		CHECK_CHILD_OK(pid, 5000);
		t_fail("the child did not register");
	}
	t_info("the child registered the parent's cached range anew, twice");
	/* The parent's pages stayed the parent's: its MR still maps them. */
	memset(buf, 0xb2, LEN);
	send_expect(buf, 0xb2, "a send of the buffer written in place while the child lives");
	t_write_full(go[1], "g", 1);
	CHECK_CHILD_OK(pid, 20000);
	send_expect(buf, 0xb2, "a send after the child wrote and unmapped its copy");
	counters(c1);
	t_info("parent while and after the child: %lu more lease(s), %lu hit(s), %lu break(s)",
	       c1[C_LEASES] - c0[C_LEASES], c1[C_HITS] - c0[C_HITS], c1[C_BREAKS] - c0[C_BREAKS]);
	if (c1[C_BREAKS] != c0[C_BREAKS] || c1[C_LEASES] != c0[C_LEASES] ||
	    c1[C_HITS] < c0[C_HITS] + 2)
		t_fail("the parent's sends of its unchanged mapping were not all cache hits of its "
		       "lease, or it broke");
	FI_CHECK(fi_close(&mr->fid));

	memcpy(c0, c1, sizeof(c0));
	change(CH_MUNMAP, buf, -1, 0xd4);
	send_expect(buf, 0xd4, "a send after a raw munmap + mmap in the parent");
	counters(c1);
	if (c1[C_BREAKS] == c0[C_BREAKS] || c1[C_LEASES] == c0[C_LEASES])
		t_fail("the parent's monitor saw no break after the fork, or did not lease again");
	t_info("parent, %s after the fork: fresh (a break, a new lease)", change_name[CH_MUNMAP]);
	t_pass();
}
