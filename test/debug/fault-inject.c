// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: every allocation (and user copy) that open, the
 * handshake, register, restore, ack, query, unregister, event read, status
 * mmap, close, munmap and the netlink commands reach, failed one at a time.
 *
 * For each operation, for N = 1, 2, ...: set up (no fault), write N to
 * /proc/thread-self/fail-nth so that the Nth fault point this thread reaches
 * fails (failslab, fail_page_alloc, fail_usercopy), run the operation, and
 * read fail-nth back: 0 means the fault was injected.  Then check that the
 * operation succeeded or failed with a clean errno, that nothing was left
 * behind (global lease and pinned-page counters from netlink, this mm's
 * VmPin, the lease's state), that the lease still works (a failed restore
 * can be retried, an unread event can be read), and that the kernel logged
 * no splat.  The walk of an operation ends at the first N it completes
 * without reaching.
 *
 * Prints "N fault points injected, N survived".  Skips (exit 4) on a kernel
 * without CONFIG_FAULT_INJECTION / FAILSLAB / FAULT_INJECTION_DEBUG_FS, such
 * as Debian's.  $MRLEASE_FAULT_OPS (comma-separated names) limits the walk.
 */
#include "harness.h"
#include "nl.h"
#include "kmsg.h"

#include <sys/stat.h>

#define MAX_POINTS	4000	/* per operation: more means the walk does not converge */
#define LEASE_PAGES	16	/* small: the page array stays a kmalloc (no vmalloc warning) */
#define DUMP_LEASES	150	/* enough for a dump of several rounds */
#define DEBUGFS		"/sys/kernel/debug"

/* ---- fault-injection control ----------------------------------------- */

static int nth_fd = -1;

struct knob { char path[128]; char old[64]; };
static struct knob knobs[32];
static int nknobs;

static void knob_set(const char *dir, const char *name, const char *value, bool required)
{
	struct knob *k = &knobs[nknobs];
	int r;

	snprintf(k->path, sizeof(k->path), DEBUGFS "/%s/%s", dir, name);
	if (t_read_text(k->path, k->old, sizeof(k->old))) {
		if (required)
			t_fail("cannot read %s: %s", k->path, t_errname(errno));
		return;
	}
	r = t_write_text(k->path, value);
	if (r)
		t_fail("write %s to %s: %s", value, k->path, t_errname(-r));
	nknobs++;
}

static void knobs_restore(void *arg)
{
	(void)arg;
	while (nknobs > 0) {
		nknobs--;
		t_write_text(knobs[nknobs].path, knobs[nknobs].old);
	}
}

/*
 * Only fail-nth makes anything fail: probability 0 (so no other task is
 * touched), but do not ignore sleeping allocations or order-0 pages, which
 * is what our code does.  verbose=1 logs each injection without a stack
 * trace (the rig treats traces as splats).
 */
static void fault_setup(void)
{
	struct stat st;
	const char *verbose = getenv("MRLEASE_FAULT_VERBOSE");

	if (!verbose)
		verbose = "1";
	if (stat("/proc/thread-self/fail-nth", &st))
		t_skip("no /proc/thread-self/fail-nth: kernel without CONFIG_FAULT_INJECTION");
	if (stat(DEBUGFS "/failslab", &st) || stat(DEBUGFS "/fail_page_alloc", &st))
		t_skip("no " DEBUGFS "/failslab or fail_page_alloc: kernel without CONFIG_FAILSLAB, "
		       "CONFIG_FAIL_PAGE_ALLOC or CONFIG_FAULT_INJECTION_DEBUG_FS");
	t_defer(knobs_restore, NULL);
	for (int i = 0; i < 3; i++) {
		static const char *const dirs[] = { "failslab", "fail_page_alloc", "fail_usercopy" };
		bool req = i < 2;

		if (i == 2 && stat(DEBUGFS "/fail_usercopy", &st))
			continue;
		knob_set(dirs[i], "probability", "0", req);
		knob_set(dirs[i], "interval", "1", req);
		knob_set(dirs[i], "times", "-1", req);
		knob_set(dirs[i], "space", "0", req);
		knob_set(dirs[i], "task-filter", "Y", req);
		knob_set(dirs[i], "verbose", verbose, req);
	}
	knob_set("failslab", "ignore-gfp-wait", "N", true);
	knob_set("failslab", "cache-filter", "N", false);
	knob_set("fail_page_alloc", "ignore-gfp-wait", "N", true);
	knob_set("fail_page_alloc", "ignore-gfp-highmem", "N", true);
	knob_set("fail_page_alloc", "min-order", "0", true);
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (nth_fd < 0)
		t_fail("open /proc/thread-self/fail-nth: %s", t_errname(errno));
}

static void fault_arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth_fd, buf, (size_t)len, 0) != len)
		t_fail("arm fail-nth %u: %s", n, t_errname(errno));
}

/*
 * Disarm; true if the fault was injected.  Reading fail-nth copies to user
 * space, which is itself a fault point: if that is the one that fails
 * (EFAULT), the operation did not reach the fault.
 */
static bool fault_disarm(void)
{
	char buf[16] = "";
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);
	bool injected = n > 0 && strtoul(buf, NULL, 10) == 0;

	if (n < 0 && errno != EFAULT)
		t_fail("read fail-nth: %s", t_errname(errno));
	/* The write's own copy may be the armed point; then it fails once. */
	for (int i = 0; i < 3; i++)
		if (pwrite(nth_fd, "0", 1, 0) == 1)
			return injected;
	t_fail("cannot disarm fail-nth: %s", t_errname(errno));
}

/* ---- kernel log ------------------------------------------------------- */

static int kmsg_fd = -1;

/* Kernel splats since the last look, printed with the operation and fault point; true if any. */
static bool splat_at(const char *what, unsigned int n)
{
	int found = kmsg_splats(kmsg_fd, 20);

	if (found)
		t_info("%s, fault point %u: %d kernel splat line(s) above", what, n, found);
	return found;
}

/* ---- the world the operations act on ---------------------------------- */

static struct nl nl;		/* stats, resolved family */
static struct nl mon;		/* joined to the monitor group: notifications allocate */
static struct nl_stats base;
static long base_vmpin;

struct fx {
	int ctx;			/* a context with every feature */
	char *anon;			/* LEASE_PAGES of anonymous memory */
	char *shm;			/* LEASE_PAGES of shared memory (memfd) */
	char *dax[2];			/* LEASE_PAGES of a DAX file on ext4, xfs (or NULL) */
	int dax_fd[2];
	struct mrlease_register l;	/* the lease an operation works on */
	uint64_t dump_ids[DUMP_LEASES];
	struct nl sock;			/* a fresh socket for a netlink operation */
	struct mrlease_event ev;
	void *map;
	int fd;
	pid_t child;
	long expect_pages;		/* pages that must stay pinned after the undo */
	long expect_leases;		/* leases that must exist after the undo */
};

static struct fx fx;

static void touch(char *p, size_t pages)
{
	for (size_t i = 0; i < pages; i++)
		p[i * t_pg] = (char)(i + 1);
}

static char *map_anon(void)
{
	char *p = mmap(NULL, PG(LEASE_PAGES), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		t_fail("mmap: %s", t_errname(errno));
	madvise(p, PG(LEASE_PAGES), MADV_NOHUGEPAGE);
	touch(p, LEASE_PAGES);
	return p;
}

static char *map_shm(void)
{
	int fd = memfd_create("fault-shm", MFD_CLOEXEC);
	char *p;

	if (fd < 0 || ftruncate(fd, (off_t)PG(LEASE_PAGES)))
		t_fail("memfd: %s", t_errname(errno));
	p = mmap(NULL, PG(LEASE_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		t_fail("mmap memfd: %s", t_errname(errno));
	close(fd);
	touch(p, LEASE_PAGES);
	return p;
}

/* A LEASE_PAGES DAX file on $var, written and mapped; NULL if $var is unset. */
static char *map_dax(const char *var, int *fdp)
{
	const char *dir = getenv(var);
	char path[256], *p, *buf;
	int fd;

	*fdp = -1;
	if (!dir || !*dir)
		return NULL;
	snprintf(path, sizeof(path), "%s/fault-inject.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		t_fail("create %s: %s", path, t_errname(errno));
	unlink(path);
	buf = calloc(1, PG(LEASE_PAGES));
	CHECK(buf);
	memset(buf, 0x5a, PG(LEASE_PAGES));
	if (pwrite(fd, buf, PG(LEASE_PAGES), 0) != (ssize_t)PG(LEASE_PAGES) || fsync(fd))
		t_fail("write %s: %s", path, t_errname(errno));
	free(buf);
	p = mmap(NULL, PG(LEASE_PAGES), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		t_fail("mmap %s: %s", path, t_errname(errno));
	touch(p, LEASE_PAGES);
	*fdp = fd;
	return p;
}

/* Register (the harness retries -EAGAIN, as a caller should). */
static int reg(void *addr, uint32_t flags, struct mrlease_register *out)
{
	return t_register(fx.ctx, addr, PG(LEASE_PAGES), 0xfa17, flags, 0, out);
}

/* One register call, as run under a fault. */
static int reg_once(void *addr, uint32_t flags, struct mrlease_register *out)
{
	*out = (struct mrlease_register){
		.addr = (uintptr_t)addr, .len = PG(LEASE_PAGES), .cookie = 0xfa17, .flags = flags,
	};
	return t_ioctl(fx.ctx, MRLEASE_IOC_REGISTER, out);
}

/* Register fx.l on @addr (pinned) without faults; fails the test otherwise. */
static void reg_ok(void *addr)
{
	CHECK_OK(reg(addr, MRLEASE_REG_PIN, &fx.l));
}

static void unreg_ok(uint64_t id)
{
	CHECK_OK(t_unregister(fx.ctx, id));
}

/*
 * MADV_DONTNEED of the first page of @addr, which must break fx.l.  A clear
 * of a pinned anonymous range breaks the lease only after the module has
 * checked that the pages are gone, from a work item: wait for the record
 * (poll() reports it, or the check still running, at once).
 */
static void dontneed_break(char *addr, bool read_event)
{
	struct pollfd p = { .fd = fx.ctx, .events = POLLIN };

	CHECK_SYS(madvise(addr, t_pg, MADV_DONTNEED));
	CHECK_EQ(poll(&p, 1, 0), 1);
	if (read_event)
		GET_EVENT(fx.ctx, fx.ev, 5000);
	else
		for (int i = 0; i < 500 && t_state(fx.ctx, fx.l.id) != MRLEASE_STATE_BROKEN; i++)
			t_msleep(10);
	addr[0] = 1;
	CHECK_EQ(t_state(fx.ctx, fx.l.id), MRLEASE_STATE_BROKEN);
}

/* Break fx.l (armed, on fx.anon) with MADV_DONTNEED of one page; read its event. */
static void break_anon(bool read_event)
{
	dontneed_break(fx.anon, read_event);
}

/* Nothing readable on the context. */
static void drain_events(void)
{
	struct mrlease_event ev;

	while (t_event(fx.ctx, &ev, 0) == 1)
		;
}

static void drain_monitor(void)
{
	char buf[8192];

	while (recv(mon.fd, buf, sizeof(buf), MSG_DONTWAIT) > 0 || errno == ENOBUFS)
		;
}

/* ---- the operations --------------------------------------------------- */

struct op {
	const char *name;
	void (*setup)(void);		/* once, before the walk */
	void (*prepare)(void);		/* before each attempt */
	int (*run)(void);		/* under fault: 0 or -errno */
	void (*undo)(int ret);		/* after each attempt; check and clean up */
	void (*teardown)(void);		/* once, after the walk */
	bool (*allowed)(int err);	/* a clean errno for this operation */
	int soft_err;			/* an errno it may give without a fault too */
};

static bool err_mem(int e)
{
	return e == ENOMEM || e == EFAULT;
}

static bool err_mem_again(int e)
{
	return err_mem(e) || e == EAGAIN;
}

static bool err_net(int e)
{
	return err_mem(e) || e == ENOBUFS || e == EMSGSIZE;
}

/* open */
static int run_open(void)
{
	fx.fd = open(T_DEVICE, O_RDWR | O_CLOEXEC);
	return fx.fd < 0 ? -errno : 0;
}

static void undo_open(int ret)
{
	if (ret)
		return;
	/* The context must work. */
	CHECK_OK(t_api(fx.fd, MRLEASE_FEATURE_ALL, NULL));
	close(fx.fd);
}

static bool err_open(int e)
{
	return e == ENOMEM || e == ENFILE || e == EFAULT;
}

/* handshake */
static void prep_api(void)
{
	fx.fd = t_open_raw(0);
}

static int run_api(void)
{
	return t_api(fx.fd, MRLEASE_FEATURE_ALL, NULL);
}

/*
 * Calls that succeeded but whose results could not be copied back (EFAULT
 * from the final copy_to_user()): the caller cannot tell them from calls
 * that failed.  Counted and reported, not failed.
 */
static unsigned int lost_copyouts;
/* Restores that ended ARMED with the file lease given back (see undo_restore_layout). */
static unsigned int unguarded_restores;

static void undo_api(int ret)
{
	int again = t_api(fx.fd, MRLEASE_FEATURE_ALL, NULL);

	if (ret == -EFAULT && again == -EBUSY)
		lost_copyouts++;	/* the handshake was done */
	else if (ret)	/* a failed handshake must leave it to do again */
		CHECK_EQ(again, 0);
	else
		CHECK_EQ(again, -EBUSY);
	close(fx.fd);
}

struct find_arg { uint64_t cookie, addr, id; };

static void find_cb(void *arg, const struct nlmsghdr *h, const void *a, size_t len)
{
	struct find_arg *f = arg;

	(void)h;
	if (nl_u64(nl_attr(a, len, MRLEASE_A_OWNER_PID)) == (uint64_t)getpid() &&
	    nl_u64(nl_attr(a, len, MRLEASE_A_COOKIE)) == f->cookie &&
	    nl_u64(nl_attr(a, len, MRLEASE_A_ADDR)) == f->addr)
		f->id = nl_u64(nl_attr(a, len, MRLEASE_A_LEASE_ID));
}

/* The id of our lease with @cookie at @addr, from a netlink dump; 0 if none. */
static uint64_t find_lease(uint64_t cookie, const void *addr)
{
	struct find_arg f = { cookie, (uintptr_t)addr, 0 };

	CHECK_OK(nl_request(&nl, MRLEASE_CMD_LEASE_GET, NLM_F_DUMP, 0, find_cb, &f, NULL));
	return f.id;
}

/* register, on each kind of memory */
static char *reg_addr;
static uint32_t reg_flags;

static int run_register(void)
{
	return reg_once(reg_addr, reg_flags, &fx.l);
}

static void undo_register(int ret)
{
	struct mrlease_query q;

	if (ret == -EFAULT) {
		/* Registered, but the id could not be copied out. */
		uint64_t id = find_lease(0xfa17, reg_addr);

		if (!id)
			return;
		lost_copyouts++;
		fx.l.id = id;
		ret = 0;
	}
	if (ret)
		return;
	CHECK_OK(t_query(fx.ctx, fx.l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, reg_flags & MRLEASE_REG_PIN ? LEASE_PAGES : 0);
	if (q.layout == MRLEASE_LAYOUT_REFUSED && q.layout_error != -ENOMEM)
		t_fail("layout lease refused with %s", t_errname(-q.layout_error));
	unreg_ok(fx.l.id);
}

static void setup_reg_anon(void) { reg_addr = fx.anon; reg_flags = MRLEASE_REG_PIN; }
static void setup_reg_nopin(void) { reg_addr = fx.anon; reg_flags = 0; }
static void setup_reg_shm(void) { reg_addr = fx.shm; reg_flags = MRLEASE_REG_PIN; }
static void setup_reg_ext4(void) { reg_addr = fx.dax[0]; reg_flags = MRLEASE_REG_PIN; }
static void setup_reg_xfs(void) { reg_addr = fx.dax[1]; reg_flags = MRLEASE_REG_PIN; }

/* restore of a broken lease, on anonymous memory or an XFS DAX file (layout lease) */
static char *restore_addr;

static void prep_restore(void)
{
	reg_ok(restore_addr);
	dontneed_break(restore_addr, true);
}

static int run_restore(void)
{
	return t_restore_once(fx.ctx, &fx.l);
}

static void undo_restore(int ret)
{
	struct mrlease_query q;

	CHECK_OK(t_query(fx.ctx, fx.l.id, &q));
	if (ret == -EFAULT && q.state == MRLEASE_STATE_ARMED) {
		lost_copyouts++;	/* restored; the new generation was lost */
		ret = 0;
	}
	if (ret) {
		/*
		 * Restoring a broken lease acks it, even if the re-arm failed;
		 * a failed copy-in leaves it broken.
		 */
		if (q.state != MRLEASE_STATE_BROKEN) {
			CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
			CHECK_EQ(q.pinned_pages, 0);
		}
		CHECK_OK(t_restore(fx.ctx, &fx.l));
		CHECK_OK(t_query(fx.ctx, fx.l.id, &q));
	}
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, LEASE_PAGES);
	unreg_ok(fx.l.id);
}

static void setup_restore_anon(void) { restore_addr = fx.anon; }
static void setup_restore_xfs(void) { restore_addr = fx.dax[1]; }

/*
 * restore after XFS broke the file's layout lease for another process's
 * write(): the restore acks, the layout lease is given back (the writer goes
 * on) and taken again.
 */
/*
 * Lease the XFS file (pinned) and let a forked writer's write() break the
 * layout lease; the writer (fx.child) waits for the ack.  fx.ev: the break.
 */
static void layout_break_by_writer(void)
{
	reg_ok(fx.dax[1]);
	fx.child = t_fork();
	if (fx.child == 0) {
		if (pwrite(fx.dax_fd[1], "w", 1, 0) != 1)
			_exit(1);
		_exit(0);
	}
	GET_EVENT(fx.ctx, fx.ev, 10000);
	CHECK_EQ(fx.ev.reason, MRLEASE_REASON_LAYOUT);
}

static void prep_restore_layout(void)
{
	struct mrlease_query q;

	layout_break_by_writer();
	/* The release of the file lease must wait for us. */
	CHECK_OK(t_query(fx.ctx, fx.l.id, &q));
	CHECK_EQ(q.layout, MRLEASE_LAYOUT_BROKEN);
}

static void undo_restore_layout(int ret)
{
	struct mrlease_query q;

	CHECK_OK(t_query(fx.ctx, fx.l.id, &q));
	if (ret == -EFAULT && q.state == MRLEASE_STATE_ARMED) {
		lost_copyouts++;
		ret = 0;
	}
	if (ret) {
		/* Acked even if the re-arm failed; still broken if the copy-in failed. */
		if (q.state != MRLEASE_STATE_BROKEN) {
			CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
			CHECK_EQ(q.pinned_pages, 0);
		}
	} else if (q.state != MRLEASE_STATE_BROKEN) {
		/* (BROKEN: XFS, still looping in the writer, broke the new lease too.) */
		CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
		CHECK_EQ(q.pinned_pages, LEASE_PAGES);
		/*
		 * RELEASED: the writer broke the new file lease while the lease
		 * was still being armed (lm_break ignores leases in state 0 and
		 * lets the file lease go): armed, but no longer guarded by it.
		 */
		if (q.layout == MRLEASE_LAYOUT_RELEASED)
			unguarded_restores++;
		else if (q.layout != MRLEASE_LAYOUT_HELD &&
			 !(q.layout == MRLEASE_LAYOUT_REFUSED && q.layout_error == -ENOMEM))
			t_fail("layout lease state %u (error %s) after the restore", q.layout,
			       t_errname(-q.layout_error));
	}
	/*
	 * The writer must get through while we hold the lease (acked, or armed
	 * with the file lease taken again only after the writer went first); a
	 * lease broken again on the way is acked.
	 */
	for (int i = 0;; i++) {
		int st;

		if (waitpid(fx.child, &st, WNOHANG) == fx.child) {
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				t_fail("the writer failed (status %#x)", st);
			break;
		}
		if (i == 500) {
			t_info("the writer is still waiting 5 s after the restore (state %u, layout %u)",
			       t_state(fx.ctx, fx.l.id), q.layout);
			unreg_ok(fx.l.id);
			CHECK_CHILD_OK(fx.child, 10000);
			t_fail("restore-xfs-layout: the writer starved (went on once the lease was unregistered)");
		}
		if (t_state(fx.ctx, fx.l.id) == MRLEASE_STATE_BROKEN) {
			drain_events();
			t_ack(fx.ctx, fx.l.id, fx.l.generation);
		}
		t_msleep(10);
	}
	drain_events();
	unreg_ok(fx.l.id);
}

/*
 * restore after a layout break that is over (acked, the writer through, the
 * file lease given back more than 200 ms ago): the restore takes a new file
 * lease (an allocation and vfs_setlease()).
 */
static void prep_relayout(void)
{
	struct mrlease_query q;

	layout_break_by_writer();
	CHECK_OK(t_ack(fx.ctx, fx.l.id, fx.l.generation));
	CHECK_CHILD_OK(fx.child, 10000);
	t_msleep(300);
	CHECK_OK(t_query(fx.ctx, fx.l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
	CHECK_EQ(q.layout, MRLEASE_LAYOUT_RELEASED);
}

static void undo_relayout(int ret)
{
	struct mrlease_query q;

	CHECK_OK(t_query(fx.ctx, fx.l.id, &q));
	if (ret == -EFAULT && q.state == MRLEASE_STATE_ARMED) {
		lost_copyouts++;
		ret = 0;
	}
	if (ret) {
		CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
		CHECK_OK(t_restore(fx.ctx, &fx.l));
		CHECK_OK(t_query(fx.ctx, fx.l.id, &q));
	}
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.pinned_pages, LEASE_PAGES);
	if (q.layout != MRLEASE_LAYOUT_HELD && !(q.layout == MRLEASE_LAYOUT_REFUSED && q.layout_error == -ENOMEM))
		t_fail("layout lease state %u (error %s) after the restore", q.layout, t_errname(-q.layout_error));
	unreg_ok(fx.l.id);
}

/* ack */
static void prep_ack(void)
{
	reg_ok(fx.anon);
	break_anon(true);
}

static int run_ack(void)
{
	return t_ack(fx.ctx, fx.l.id, fx.l.generation);
}

static void undo_ack(int ret)
{
	struct mrlease_query q;

	CHECK_OK(t_query(fx.ctx, fx.l.id, &q));
	if (ret) {
		/* (Its pins went at the break: it was our own.) */
		CHECK_EQ(q.state, MRLEASE_STATE_BROKEN);
		CHECK_OK(t_ack(fx.ctx, fx.l.id, fx.l.generation));
		CHECK_OK(t_query(fx.ctx, fx.l.id, &q));
	}
	CHECK_EQ(q.state, MRLEASE_STATE_ACKED);
	CHECK_EQ(q.pinned_pages, 0);
	unreg_ok(fx.l.id);
}

/* query */
static struct mrlease_query qbuf;

static void prep_query(void)
{
	reg_ok(fx.anon);
}

static int run_query(void)
{
	return t_query(fx.ctx, fx.l.id, &qbuf);
}

static void undo_query(int ret)
{
	if (!ret)
		CHECK_EQ(qbuf.state, MRLEASE_STATE_ARMED);
	unreg_ok(fx.l.id);
}

/* unregister */
static void prep_unregister(void)
{
	reg_ok(fx.dax[1] ? fx.dax[1] : fx.anon);
}

static int run_unregister(void)
{
	return t_unregister(fx.ctx, fx.l.id);
}

static void undo_unregister(int ret)
{
	struct mrlease_query q;

	if (ret) {
		CHECK_OK(t_query(fx.ctx, fx.l.id, &q));
		CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
		unreg_ok(fx.l.id);
	}
	CHECK_ERR(t_query(fx.ctx, fx.l.id, &q), ENOENT);
}

/* read of a queued event: a failed copy must leave the record queued */
static void prep_read(void)
{
	reg_ok(fx.anon);
	break_anon(false);
}

static int run_read(void)
{
	ssize_t n = read(fx.ctx, &fx.ev, sizeof(fx.ev));

	if (n < 0)
		return -errno;
	return n == sizeof(fx.ev) ? 0 : -EIO;
}

static void undo_read(int ret)
{
	struct mrlease_event ev;

	if (ret) {
		int r = t_event(fx.ctx, &ev, 0);

		if (r != 1)
			t_fail("the event is gone after a failed read (%s)", r ? t_errname(-r) : "none queued");
		CHECK_EQ(ev.id, fx.l.id);
	} else {
		CHECK_EQ(fx.ev.id, fx.l.id);
		CHECK_EQ(fx.ev.type, MRLEASE_EVENT_DECOHERENCE);
	}
	CHECK_EQ(t_event(fx.ctx, &ev, 0), 0);
	unreg_ok(fx.l.id);
}

/* status page mmap */
static int run_mmap(void)
{
	fx.map = mmap(NULL, t_pg, PROT_READ, MAP_SHARED, fx.ctx, 0);
	return fx.map == MAP_FAILED ? -errno : 0;
}

static void undo_mmap(int ret)
{
	if (ret)
		return;
	CHECK_EQ(((const volatile struct mrlease_status *)fx.map)->reserved[0], 0);
	munmap(fx.map, t_pg);
}

/* close of a context holding leases, with a monitor listening */
static void prep_close(void)
{
	struct mrlease_register l;

	fx.fd = t_ctx();
	CHECK_OK(t_register(fx.fd, fx.anon, PG(LEASE_PAGES), 1, MRLEASE_REG_PIN, 0, &l));
	CHECK_OK(t_register(fx.fd, fx.shm, PG(LEASE_PAGES), 2, 0, 0, &l));
	if (fx.dax[1])
		CHECK_OK(t_register(fx.fd, fx.dax[1], PG(LEASE_PAGES), 3, MRLEASE_REG_PIN, 0, &l));
}

static int run_close(void)
{
	/* The release runs as task work before close() returns to user space. */
	return close(fx.fd) ? -errno : 0;
}

static void undo_close(int ret)
{
	CHECK_EQ(ret, 0);
}

/* munmap of part of a leased range: broken (with its event) or still armed */
static void prep_munmap(void)
{
	reg_ok(fx.anon);
}

static int run_munmap(void)
{
	return munmap(fx.anon + PG(4), PG(2)) ? -errno : 0;
}

/*
 * After run_munmap() (@ret): fx.l is BROKEN if the munmap succeeded, and it
 * has a record (read into *@ev, waiting up to @timeout_ms) exactly if BROKEN.
 */
static void munmap_outcome(int ret, int timeout_ms, struct mrlease_query *q, struct mrlease_event *ev)
{
	int r;

	CHECK_OK(t_query(fx.ctx, fx.l.id, q));
	r = t_event(fx.ctx, ev, timeout_ms);
	if (ret == 0)
		CHECK_EQ(q->state, MRLEASE_STATE_BROKEN);
	if (q->state == MRLEASE_STATE_BROKEN)
		CHECK_EQ(r, 1);
	else
		CHECK_EQ(r, 0);
}

/* Put the pages run_munmap() took back where they were. */
static void munmap_refill(void)
{
	CHECK(mmap(fx.anon + PG(4), PG(2), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED);
	touch(fx.anon, LEASE_PAGES);
}

static void undo_munmap(int ret)
{
	struct mrlease_query q;
	struct mrlease_event ev;

	munmap_outcome(ret, 0, &q, &ev);
	unreg_ok(fx.l.id);
	munmap_refill();
}

/*
 * munmap of part of an unpinned lease: its first break allocates the
 * lease's break part in the notifier, without sleeping.  When that fails,
 * the lease is BROKEN all the same and its record comes later, from a
 * work item, with the lease's whole range and no breaker.
 */
static void prep_munmap_nopin(void)
{
	CHECK_OK(reg(fx.anon, 0, &fx.l));
}

static void undo_munmap_nopin(int ret)
{
	struct mrlease_query q;
	struct mrlease_event ev;

	munmap_outcome(ret, 2000, &q, &ev);
	if (q.state == MRLEASE_STATE_BROKEN) {
		CHECK_EQ(ev.id, fx.l.id);
		CHECK_EQ(ev.type, MRLEASE_EVENT_DECOHERENCE);
		CHECK_EQ(ev.reason, MRLEASE_REASON_UNMAP);
		CHECK(ev.start <= (uintptr_t)fx.anon + PG(4) &&
		      ev.start + ev.length >= (uintptr_t)fx.anon + PG(6));
		CHECK_EQ(q.breaks, 1);
		CHECK_OK(t_ack(fx.ctx, fx.l.id, fx.l.generation));
	}
	unreg_ok(fx.l.id);
	munmap_refill();
}

/* netlink: a fresh socket per attempt, the request and all its replies under fault */
static void prep_nl(void)
{
	CHECK_OK(nl_socket(&fx.sock, 5000));
	fx.sock.family = nl.family;
}

static void undo_nl_close(void)
{
	nl_close(&fx.sock);
}

static int nl_run(uint8_t cmd, uint16_t flags, uint64_t id)
{
	unsigned long count = 0;

	return nl_request(&fx.sock, cmd, flags, id, nl_count_cb, &count, NULL);
}

static int run_nl_family(void)
{
	return nl_resolve(&fx.sock);
}

static int run_nl_stats(void) { return nl_run(MRLEASE_CMD_STATS_GET, 0, 0); }
static int run_nl_config(void) { return nl_run(MRLEASE_CMD_CONFIG_GET, 0, 0); }

static void undo_nl(int ret)
{
	if (ret == -EAGAIN)
		t_fail("no reply within 5 s");
	undo_nl_close();
}

static void setup_dump(void)
{
	for (int i = 0; i < DUMP_LEASES; i++) {
		struct mrlease_register l;

		CHECK_OK(t_register(fx.ctx, fx.anon + PG(i % LEASE_PAGES), t_pg, (uint64_t)i, 0, 0, &l));
		fx.dump_ids[i] = l.id;
	}
	fx.expect_leases = DUMP_LEASES;
}

static void teardown_dump(void)
{
	for (int i = 0; i < DUMP_LEASES; i++)
		unreg_ok(fx.dump_ids[i]);
	fx.expect_leases = 0;
}

static int run_nl_dump(void)
{
	unsigned long count = 0;
	int r = nl_request(&fx.sock, MRLEASE_CMD_LEASE_GET, NLM_F_DUMP, 0, nl_count_cb, &count, NULL);

	if (!r && count < DUMP_LEASES)
		t_fail("dump showed %lu leases, expected at least %d", count, DUMP_LEASES);
	return r;
}

static void undo_nl_dump(int ret)
{
	unsigned long count;

	undo_nl(ret);
	/* A dump that failed half-way must not wedge later ones. */
	CHECK_OK(nl_dump_count(&nl, &count, NULL));
	CHECK_GE(count, DUMP_LEASES);
}

static int run_nl_get(void)
{
	return nl_run(MRLEASE_CMD_LEASE_GET, 0, fx.dump_ids[0]);
}

static void prep_nl_revoke(void)
{
	prep_nl();
	reg_ok(fx.anon);
}

static int run_nl_revoke(void)
{
	return nl_run(MRLEASE_CMD_LEASE_REVOKE, 0, fx.l.id);
}

static void undo_nl_revoke(int ret)
{
	uint32_t st = t_state(fx.ctx, fx.l.id);

	undo_nl(ret);
	drain_events();
	if (ret)
		CHECK(st == MRLEASE_STATE_ARMED || st == MRLEASE_STATE_REVOKED ||
		      st == MRLEASE_STATE_BROKEN);
	else
		CHECK_EQ(st, MRLEASE_STATE_REVOKED);
	unreg_ok(fx.l.id);
}

static uint32_t cfg_timeout;

static void prep_nl_config_set(void)
{
	prep_nl();
	cfg_timeout = (uint32_t)t_param_get("break_timeout_ms");
}

static int run_nl_config_set(void)
{
	char buf[256];
	uint32_t v = cfg_timeout;
	size_t len = nl_start(&fx.sock, buf, fx.sock.family, NLM_F_REQUEST | NLM_F_ACK,
			      MRLEASE_CMD_CONFIG_SET, MRLEASE_GENL_VERSION);
	int r;

	nl_put(buf, &len, MRLEASE_A_CFG_BREAK_TIMEOUT_MS, &v, sizeof(v));
	r = nl_send(&fx.sock, buf, len);
	return r ? r : nl_recv(&fx.sock, fx.sock.seq, NULL, NULL, NULL);
}

static const struct op ops[] = {
	{ "open", NULL, NULL, run_open, undo_open, NULL, err_open, 0 },
	{ "handshake", NULL, prep_api, run_api, undo_api, NULL, err_mem, 0 },
	{ "register-anon", setup_reg_anon, NULL, run_register, undo_register, NULL, err_mem_again, 0 },
	{ "register-anon-nopin", setup_reg_nopin, NULL, run_register, undo_register, NULL, err_mem_again, 0 },
	{ "register-shmem", setup_reg_shm, NULL, run_register, undo_register, NULL, err_mem_again, 0 },
	{ "register-ext4", setup_reg_ext4, NULL, run_register, undo_register, NULL, err_mem_again, 0 },
	{ "register-xfs", setup_reg_xfs, NULL, run_register, undo_register, NULL, err_mem_again, 0 },
	{ "restore-anon", setup_restore_anon, prep_restore, run_restore, undo_restore, NULL, err_mem_again, 0 },
	{ "restore-xfs", setup_restore_xfs, prep_restore, run_restore, undo_restore, NULL, err_mem_again, 0 },
	/* Re-taking the file lease right after giving it back to the breaker: EAGAIN by contract. */
	{ "restore-xfs-layout", setup_restore_xfs, prep_restore_layout, run_restore, undo_restore_layout, NULL,
	  err_mem_again, EAGAIN },
	{ "restore-xfs-relayout", setup_restore_xfs, prep_relayout, run_restore, undo_relayout, NULL,
	  err_mem_again, 0 },
	{ "ack", NULL, prep_ack, run_ack, undo_ack, NULL, err_mem, 0 },
	{ "query", NULL, prep_query, run_query, undo_query, NULL, err_mem, 0 },
	{ "unregister", NULL, prep_unregister, run_unregister, undo_unregister, NULL, err_mem, 0 },
	{ "read-event", NULL, prep_read, run_read, undo_read, NULL, err_mem, 0 },
	{ "mmap-status", NULL, NULL, run_mmap, undo_mmap, NULL, err_mem, 0 },
	{ "close", NULL, prep_close, run_close, undo_close, NULL, err_mem, 0 },
	{ "munmap", NULL, prep_munmap, run_munmap, undo_munmap, NULL, err_mem, 0 },
	{ "munmap-nopin", NULL, prep_munmap_nopin, run_munmap, undo_munmap_nopin, NULL, err_mem, 0 },
	{ "nl-getfamily", NULL, prep_nl, run_nl_family, undo_nl, NULL, err_net, 0 },
	{ "nl-stats", NULL, prep_nl, run_nl_stats, undo_nl, NULL, err_net, 0 },
	{ "nl-config-get", NULL, prep_nl, run_nl_config, undo_nl, NULL, err_net, 0 },
	{ "nl-config-set", NULL, prep_nl_config_set, run_nl_config_set, undo_nl, NULL, err_net, 0 },
	{ "nl-lease-get", setup_dump, prep_nl, run_nl_get, undo_nl, teardown_dump, err_net, 0 },
	{ "nl-lease-dump", setup_dump, prep_nl, run_nl_dump, undo_nl_dump, teardown_dump, err_net, 0 },
	{ "nl-revoke", NULL, prep_nl_revoke, run_nl_revoke, undo_nl_revoke, NULL, err_net, 0 },
};

/* ---- the walk --------------------------------------------------------- */

/* Global and per-mm counters are where they were: nothing leaked, nothing stuck. */
static const char *leftovers(void)
{
	static char why[256];
	struct nl_stats s;
	long vmpin;
	int r;

	r = nl_stats(&nl, &s);
	if (r) {
		snprintf(why, sizeof(why), "stats: %s", t_errname(-r));
		return why;
	}
	vmpin = proc_vmpin_kb();
	if (s.leases != base.leases + (uint64_t)fx.expect_leases ||
	    s.pinned_pages != base.pinned_pages || s.contexts != base.contexts ||
	    vmpin != base_vmpin) {
		snprintf(why, sizeof(why),
			 "leases %llu (expected %llu), pinned pages %llu (expected %llu), contexts %llu (expected %llu), VmPin %ld kB (expected %ld)",
			 (unsigned long long)s.leases,
			 (unsigned long long)(base.leases + (uint64_t)fx.expect_leases),
			 (unsigned long long)s.pinned_pages, (unsigned long long)base.pinned_pages,
			 (unsigned long long)s.contexts, (unsigned long long)base.contexts,
			 vmpin, base_vmpin);
		return why;
	}
	return NULL;
}

static unsigned int total_injected, total_survived;
static const char *cur_op;
static unsigned int cur_n;

/* On a failed check, say where the walk was. */
static void report_position(void *arg)
{
	(void)arg;
	if (cur_op)
		printf("# (failed in operation %s at fault point %u; so far %u fault points injected, %u survived)\n",
		       cur_op, cur_n, total_injected, total_survived);
}

/*
 * A user-mode page fault that hits the armed fault point would call the OOM
 * killer: make every page this program touches while armed present now
 * (text, data, heap, TLS and a deep stack), and lock it.
 */
static void prefault(void)
{
	volatile char stack[256 << 10];

	for (size_t i = 0; i < sizeof(stack); i += 4096)
		stack[i] = 1;
	if (mlockall(MCL_CURRENT))
		t_fail("mlockall: %s", t_errname(errno));
}

static bool op_selected(const char *name)
{
	const char *sel = getenv("MRLEASE_FAULT_OPS");
	size_t n = strlen(name);

	if (!sel || !*sel)
		return true;
	for (const char *p = sel; (p = strstr(p, name)); p += n)
		if ((p == sel || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return true;
	return false;
}

static void walk(const struct op *op)
{
	unsigned int injected = 0, survived = 0, failed_clean = 0, n;
	int64_t t0 = t_now_ns();

	cur_op = op->name;
	if (op->setup)
		op->setup();
	for (n = 1; n <= MAX_POINTS; n++) {
		const char *left;
		bool hit, ok = true;
		int ret;

		cur_n = n;

		if (op->prepare)
			op->prepare();
		drain_monitor();
		fault_arm(n);
		ret = op->run();
		hit = fault_disarm();
		if (!hit && ret && -ret != op->soft_err)
			t_fail("%s failed without an injected fault: %s", op->name, t_errname(-ret));
		if (hit && ret && !op->allowed(-ret)) {
			t_info("%s, fault point %u: unexpected error %s", op->name, n, t_errname(-ret));
			ok = false;
		}
		op->undo(ret);
		left = leftovers();
		/*
		 * Pins let go of by a break (not the holder's own unmap) go
		 * from a work item: give it a moment before calling it a leak.
		 */
		for (int i = 0; left && i < 100; i++) {
			t_msleep(10);
			left = leftovers();
		}
		if (left) {
			t_info("%s, fault point %u (%s): left behind: %s", op->name, n,
			       ret ? t_errname(-ret) : "succeeded", left);
			ok = false;
		}
		if (splat_at(op->name, n))
			ok = false;
		if (!hit)
			break;
		injected++;
		if (ret)
			failed_clean++;
		if (ok)
			survived++;
		/* A context wedged by a failure would fail every later point: stop here. */
		if (!ok)
			break;
	}
	if (n > MAX_POINTS)
		t_info("%s: still injecting after %u fault points: giving up", op->name, MAX_POINTS);
	if (op->teardown)
		op->teardown();
	t_info("%-20s %4u fault points injected, %4u survived (%u failed cleanly, %u succeeded anyway), %lld ms",
	       op->name, injected, survived, failed_clean, injected - failed_clean,
	       (long long)t_ms_since(t0));
	total_injected += injected;
	total_survived += survived;
	if (n > MAX_POINTS)
		total_injected++;	/* not converging counts as a point that did not survive */
	cur_op = NULL;
}

int main(void)
{
	int64_t t0;
	int r;

	fault_setup();
	t_watchdog(1800);
	t_defer(report_position, NULL);
	prefault();
	r = nl_open(&nl, 5000);
	if (r)
		t_fail("resolving the %s genl family: %s", MRLEASE_GENL_NAME, t_errname(-r));
	CHECK_OK(nl_open(&mon, 5000));
	if (mon.monitor_grp &&
	    setsockopt(mon.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &mon.monitor_grp, sizeof(mon.monitor_grp)))
		t_info("cannot join the monitor group: %s", t_errname(errno));

	fx.ctx = t_ctx();
	fx.anon = map_anon();
	fx.shm = map_shm();
	fx.dax[0] = map_dax("MRLEASE_EXT4", &fx.dax_fd[0]);
	fx.dax[1] = map_dax("MRLEASE_XFS", &fx.dax_fd[1]);
	CHECK_OK(nl_stats(&nl, &base));
	base_vmpin = proc_vmpin_kb();
	kmsg_fd = kmsg_open();

	t0 = t_now_ns();
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const struct op *op = &ops[i];

		if (!op_selected(op->name))
			continue;
		if ((op->setup == setup_reg_ext4 && !fx.dax[0]) ||
		    ((op->setup == setup_reg_xfs || op->setup == setup_restore_xfs) && !fx.dax[1])) {
			t_info("%-20s skipped: no DAX mount ($MRLEASE_EXT4 / $MRLEASE_XFS)", op->name);
			continue;
		}
		walk(op);
	}
	t_info("fault injection took %lld s", (long long)t_ms_since(t0) / 1000);
	if (lost_copyouts)
		t_info("%u calls took effect but returned EFAULT because their result could not be copied out "
		       "(a handshake, or a restore whose new generation the caller must query; a register "
		       "is undone)", lost_copyouts);
	if (unguarded_restores)
		t_info("%u restores ended armed without their file lease (MRLEASE_LAYOUT_RELEASED): the writer broke "
		       "it while they were arming", unguarded_restores);
	printf("%u fault points injected, %u survived\n", total_injected, total_survived);
	CHECK_EQ(total_survived, total_injected);
	CHECK(total_injected > 0);
	t_pass();
}
