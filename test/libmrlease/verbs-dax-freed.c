// SPDX-License-Identifier: GPL-2.0
/*
 * No RDMA data in blocks the filesystem freed (issue 13).  An ODP MR over
 * a file on an -o dax filesystem, registered through libmrlease-verbs with
 * a pinned lease, receives RDMA WRITEs into every page.  Another user
 * punches pages HOLE..HOLE+NHOLE-1; the library quiesces and acks (and the
 * NIC writes into every page of the MR once more between the event and
 * the ack, so the doomed blocks hold fresh RDMA data when they are freed),
 * restores and re-registers.  Then a second file allocates blocks until it
 * owns the punched blocks (FIEMAP tells the physical addresses), filling
 * the filesystem as far as it takes, and writes its own contents there;
 * the stream goes on writing every page of the MR for ROUNDS more rounds.
 *
 * Asserted: the punch returned after the ack; the punched pages of the
 * leased file read zeros until the stream writes them again; the new file
 * owns some of the punched blocks (ext4, with its reserve of free blocks
 * lifted; xfs keeps small freed extents for itself and the new file gets
 * none, which is reported), reads zeros there before it writes them
 * (freed blocks are handed out clean) and its own contents afterwards;
 * while the MR takes ROUNDS more writes into every page, each landing in
 * the leased file at its offset, the punched blocks do not change on the
 * block device (read with O_DIRECT at the physical addresses FIEMAP gave
 * before the punch): no RDMA data lands in a freed block, whoever owns it.
 * Skips where rxe has no ODP for RC WRITEs.
 */
#include "rxe.h"
#include "fsdax.h"

#include <grp.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <mrlease_verbs.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#define NPAGES		32
#define HOLE		8
#define NHOLE		8
#define MSG		512u
#define ROUNDS		4
#define CHUNK		(4u << 20)	/* the second file grows by this much at a time */
#define OTHER_UID	1000
#define MARK(pg, n)	((uint64_t)0x5244u << 48 | (uint64_t)(n) << 24 | (pg))	/* RDMA data */
#define VICTIM		0x76u		/* the second file's bytes */

static struct rxe r;
static struct dax_file f;
static struct mrlease_verbs *mv;
static struct mrlease_verbs_mr *mr;
static struct ibv_mr *smr;
static char *sbuf;
static uint32_t rkey;
static bool ready;
static int64_t ack_ns;
static unsigned int quiesces, rekeys, nwrites;

/* One RDMA WRITE of mark (@pg, @n) to the start of page @pg of the file, waited for. */
static void write_page(size_t pg, unsigned int n)
{
	uint64_t *w = (uint64_t *)sbuf;

	for (size_t i = 0; i < MSG / 8; i++)
		w[i] = MARK(pg, n);
	rxe_write_sync(&r, sbuf, MSG, smr->lkey, f.map + pg * t_pg, rkey);
	nwrites++;
}

/* Page @pg of the leased file starts with mark (@pg, @n) (@n < 0: it is all zeros). */
static void check_page(size_t pg, int n)
{
	uint64_t w[MSG / 8];

	if (pread(f.fd, w, sizeof(w), (off_t)(pg * t_pg)) != (ssize_t)sizeof(w))
		t_fail("pread: %s", t_errname(errno));
	for (size_t i = 0; i < MSG / 8; i++)
		if (w[i] != (n < 0 ? 0 : MARK(pg, n)))
			t_fail("leased file page %zu word %zu is %#llx, expected %#llx", pg, i,
			       (unsigned long long)w[i], n < 0 ? 0ull : (unsigned long long)MARK(pg, n));
}

static int quiesce(struct mrlease_verbs_mr *m, const struct mrlease_event *ev, void *arg)
{
	(void)arg;
	CHECK(m == mr);
	CHECK(ready);
	CHECK_EQ(ev->reason, MRLEASE_REASON_CLEAR);
	CHECK(!(ev->flags & MRLEASE_EVENT_F_SELF));
	ready = false;
	quiesces++;
	/* What a NIC has in flight: a write into every page, the doomed ones too. */
	for (size_t pg = 0; pg < NPAGES; pg++)
		write_page(pg, 1);
	t_msleep(200);
	ack_ns = t_now_ns();
	return 0;
}

static void rekey(struct mrlease_verbs_mr *m, struct ibv_mr *ibmr, void *arg)
{
	(void)arg;
	CHECK(m == mr);
	rkey = ibmr->rkey;
	ready = true;
	rekeys++;
}

/*
 * The physical byte address of the block at @off of @fd, 0 for a hole; for
 * each of the @n blocks from @off, into @phys.
 */
static void phys_blocks(int fd, off_t off, size_t n, uint64_t *phys)
{
	static union {
		struct fiemap fm;
		char buf[sizeof(struct fiemap) + 256 * sizeof(struct fiemap_extent)];
	} u;

	memset(phys, 0, n * sizeof(*phys));
	memset(&u, 0, sizeof(u));
	u.fm.fm_start = (uint64_t)off;
	u.fm.fm_length = n * t_pg;
	u.fm.fm_flags = FIEMAP_FLAG_SYNC;
	u.fm.fm_extent_count = 256;
	if (ioctl(fd, FS_IOC_FIEMAP, &u.fm))
		t_fail("FIEMAP: %s", t_errname(errno));
	for (unsigned int e = 0; e < u.fm.fm_mapped_extents; e++) {
		const struct fiemap_extent *x = &u.fm.fm_extents[e];

		for (uint64_t l = x->fe_logical; l < x->fe_logical + x->fe_length; l += t_pg)
			if (l >= (uint64_t)off && l < (uint64_t)off + n * t_pg)
				phys[(l - (uint64_t)off) / t_pg] = x->fe_physical + (l - x->fe_logical);
	}
}

/*
 * Allocate all the space the filesystem gives @fd: chunks of CHUNK bytes,
 * halved at each ENOSPC down to one block.  Its size.
 */
static size_t fill_fs(int fd)
{
	size_t size = 0;

	for (size_t chunk = CHUNK; chunk >= t_pg; chunk /= 2) {
		while (!fallocate(fd, 0, (off_t)size, (off_t)chunk))
			size += chunk;
		if (errno != ENOSPC)
			t_fail("fallocate the second file: %s", t_errname(errno));
		/* A failed call may have allocated part of the chunk. */
		size = (size_t)lseek(fd, 0, SEEK_END);
		size = (size + t_pg - 1) / t_pg * t_pg;
	}
	return size;
}

/* Which of the @freed physical blocks does @fd own now, and where: into @at; how many. */
static size_t find_blocks(int fd, const uint64_t *freed, off_t *at)
{
	static union {
		struct fiemap fm;
		char buf[sizeof(struct fiemap) + 512 * sizeof(struct fiemap_extent)];
	} u;
	uint64_t start = 0;
	size_t found = 0;

	for (;;) {
		const struct fiemap_extent *x = NULL;

		memset(&u, 0, sizeof(u));
		u.fm.fm_start = start;
		u.fm.fm_length = FIEMAP_MAX_OFFSET - start;
		u.fm.fm_flags = FIEMAP_FLAG_SYNC;
		u.fm.fm_extent_count = 512;
		if (ioctl(fd, FS_IOC_FIEMAP, &u.fm))
			t_fail("FIEMAP: %s", t_errname(errno));
		for (unsigned int e = 0; e < u.fm.fm_mapped_extents; e++) {
			x = &u.fm.fm_extents[e];
			for (size_t h = 0; h < NHOLE; h++)
				if (freed[h] >= x->fe_physical && freed[h] < x->fe_physical + x->fe_length &&
				    found < NHOLE)
					at[found++] = (off_t)(x->fe_logical + freed[h] - x->fe_physical);
		}
		if (!x || (x->fe_flags & FIEMAP_EXTENT_LAST))
			return found;
		start = x->fe_logical + x->fe_length;
	}
}

/* The block device under @fd's filesystem, opened for O_DIRECT reads (the media, no cache). */
static int open_dev(int fd)
{
	char path[96], line[128], dev[64] = "";
	struct stat st;
	FILE *u;
	int dfd;

	CHECK_SYS(fstat(fd, &st));
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major(st.st_dev), minor(st.st_dev));
	u = fopen(path, "r");
	if (!u)
		t_fail("%s: %s", path, t_errname(errno));
	while (fgets(line, sizeof(line), u))
		if (sscanf(line, "DEVNAME=%63s", dev) == 1)
			break;
	fclose(u);
	CHECK(dev[0]);
	snprintf(path, sizeof(path), "/dev/%s", dev);
	dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (dfd < 0)
		t_fail("open %s: %s", path, t_errname(errno));
	return dfd;
}

static void dev_read(int dfd, uint64_t phys, uint8_t *buf)
{
	static uint8_t b[4096] __attribute__((aligned(4096)));

	CHECK_EQ(t_pg, sizeof(b));
	if (pread(dfd, b, sizeof(b), (off_t)phys) != (ssize_t)sizeof(b))
		t_fail("read the device at %#llx: %s", (unsigned long long)phys, t_errname(errno));
	memcpy(buf, b, sizeof(b));
}

/* ext4 keeps a reserve of free blocks from fallocate(): lift it while the test runs. */
static char ext4_resv_path[128];
static char ext4_resv_old[32];

static void ext4_reserve_restore(void *arg)
{
	(void)arg;
	if (ext4_resv_path[0])
		t_write_text(ext4_resv_path, ext4_resv_old);
}

static void ext4_reserve_off(void)
{
	char dev[64] = "", path[96], line[128];
	struct stat st;
	FILE *u;

	if (strcmp(T_FS, "ext4"))
		return;
	CHECK_SYS(fstat(f.fd, &st));
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major(st.st_dev), minor(st.st_dev));
	u = fopen(path, "r");
	if (!u)
		return;
	while (fgets(line, sizeof(line), u))
		if (sscanf(line, "DEVNAME=%63s", dev) == 1)
			break;
	fclose(u);
	snprintf(ext4_resv_path, sizeof(ext4_resv_path), "/sys/fs/ext4/%s/reserved_clusters", dev);
	if (t_read_text(ext4_resv_path, ext4_resv_old, sizeof(ext4_resv_old)) ||
	    t_write_text(ext4_resv_path, "0")) {
		t_info("cannot lift ext4's reserve (%s)", ext4_resv_path);
		ext4_resv_path[0] = 0;
		return;
	}
	t_defer(ext4_reserve_restore, NULL);
}

/*
 * xfs keeps a pool of blocks for itself (xfs_io -x -c resblks): empty it
 * while the test runs.  From xfsprogs' xfs_fs.h.
 */
struct xfs_fsop_resblks {
	uint64_t resblks;
	uint64_t resblks_avail;
};
#define XFS_IOC_GET_RESBLKS	_IOR('X', 115, struct xfs_fsop_resblks)
#define XFS_IOC_SET_RESBLKS	_IOWR('X', 114, struct xfs_fsop_resblks)

static struct xfs_fsop_resblks xfs_resv_old;
static int xfs_resv_fd = -1;

static void xfs_reserve_restore(void *arg)
{
	struct xfs_fsop_resblks r = { .resblks = xfs_resv_old.resblks };

	(void)arg;
	if (xfs_resv_fd >= 0)
		ioctl(xfs_resv_fd, XFS_IOC_SET_RESBLKS, &r);
}

static void xfs_reserve_off(void)
{
	struct xfs_fsop_resblks r = { 0 };

	if (strcmp(T_FS, "xfs"))
		return;
	if (ioctl(f.fd, XFS_IOC_GET_RESBLKS, &xfs_resv_old) || ioctl(f.fd, XFS_IOC_SET_RESBLKS, &r)) {
		t_info("cannot empty xfs's reserve pool: %s", t_errname(errno));
		return;
	}
	xfs_resv_fd = f.fd;
	t_defer(xfs_reserve_restore, NULL);
}

int main(void)
{
	static const struct mrlease_verbs_ops ops = { .quiesce = quiesce, .rekey = rekey };
	uint64_t freed[NHOLE];
	off_t vat[NHOLE];		/* where the second file holds each freed block */
	struct breaker b;
	struct breaker_report rep;
	char why[128], vpath[300];
	static uint8_t snap[NHOLE][4096] __attribute__((aligned(4096)));
	size_t found, grown;
	int vfd, devfd, ret;

	t_watchdog(60);
	dax_create(&f, NPAGES * t_pg);
	breaker_fork(&b, BREAKER_COMM, dax_punch_do,
		     &(struct dax_punch){ &f, OTHER_UID, HOLE * t_pg, NHOLE * t_pg });
	rxe_open(&r, 8);
	if (!rxe_odp_rc_write(&r, why, sizeof(why)))
		t_skip(RXE_NAME " has no ODP for RC WRITEs (%s): no MR over fsdax", why);
	CHECK_LE(MSG, rxe_mtu_bytes(&r));
	sbuf = t_anon(1);
	smr = ibv_reg_mr(r.pd, sbuf, t_pg, IBV_ACCESS_LOCAL_WRITE);
	CHECK(smr);
	CHECK_OK(mrlease_verbs_open(&mv, &ops, 0));
	ret = mrlease_verbs_reg_mr(mv, r.pd, f.map, f.size, IBV_ACCESS_ON_DEMAND |
				   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE, MRLEASE_PIN, &f, &mr);
	if (ret)
		t_fail("ODP mrlease_verbs_reg_mr over the DAX mapping: %s", strerror(-ret));
	rkey = mrlease_verbs_mr_ibv(mr)->rkey;
	ready = true;

	for (size_t pg = 0; pg < NPAGES; pg++)
		write_page(pg, 0);
	for (size_t pg = 0; pg < NPAGES; pg++)
		check_page(pg, 0);
	phys_blocks(f.fd, HOLE * t_pg, NHOLE, freed);
	for (size_t i = 0; i < NHOLE; i++)
		CHECK_NE(freed[i], 0);

	/* The punch, the quiesce (with writes into the doomed blocks) and the ack. */
	breaker_go(&b);
	for (int64_t t0 = t_now_ns(); quiesces == 0 || !ready;) {
		ret = mrlease_verbs_process(mv);
		if (ret && ret != -EAGAIN)
			t_fail("mrlease_verbs_process: %s", mrlease_strerror(ret));
		if (t_ms_since(t0) > 10000)
			t_fail("no break and restore within 10 s (%u quiesces)", quiesces);
		t_msleep(5);
	}
	BREAKER_DONE(&b, 5000, rep);
	t_info("the punch waited %lld ms and returned %lld ms after the ack",
	       (long long)(rep.end_ns - rep.start_ns) / 1000000, (long long)(rep.end_ns - ack_ns) / 1000000);
	CHECK_GT(rep.end_ns, ack_ns);
	for (size_t pg = 0; pg < NPAGES; pg++)
		check_page(pg, pg >= HOLE && pg < HOLE + NHOLE ? -1 : 1);

	/*
	 * The freed blocks become free for others once the filesystem
	 * commits; ext4 and xfs keep their last free blocks from fallocate()
	 * unless their reserves are lifted for the test.
	 */
	CHECK_SYS(syncfs(f.fd));
	ext4_reserve_off();
	xfs_reserve_off();
	snprintf(vpath, sizeof(vpath), "%s/victim.%d", dax_dir(), getpid());
	vfd = open(vpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (vfd < 0)
		t_fail("create %s: %s", vpath, t_errname(errno));
	unlink(vpath);
	grown = fill_fs(vfd);
	found = find_blocks(vfd, freed, vat);
	{
		struct statfs sf;

		CHECK_SYS(fstatfs(vfd, &sf));
		t_info("a second file of %zu MiB (the filesystem has %llu free blocks left) owns %zu of "
		       "the %d punched blocks", grown >> 20, (unsigned long long)sf.f_bfree, found, NHOLE);
	}

	/*
	 * ext4 hands them out once its reserve is lifted; xfs keeps small
	 * freed extents for itself (its btrees' free list, it seems) even
	 * with its reserve pool empty: there the device check below is all.
	 */
	if (!strcmp(T_FS, "ext4"))
		CHECK_GT(found, 0);

	/* Handed out clean, then written with the second file's own bytes. */
	for (size_t i = 0; i < found; i++) {
		static uint8_t blk[65536];

		CHECK(t_pg <= sizeof(blk));
		if (pread(vfd, blk, t_pg, vat[i]) != (ssize_t)t_pg)
			t_fail("pread the second file: %s", t_errname(errno));
		for (size_t o = 0; o < t_pg; o++)
			if (blk[o])
				t_fail("a reused block reads %#x at %zu: old data handed to another file",
				       blk[o], o);
		memset(blk, VICTIM, t_pg);
		if (pwrite(vfd, blk, t_pg, vat[i]) != (ssize_t)t_pg)
			t_fail("pwrite the second file: %s", t_errname(errno));
	}
	CHECK_SYS(fsync(vfd));

	/*
	 * Whoever owns the freed blocks now (the second file, the filesystem's
	 * metadata, nobody), what the device holds there must not change
	 * while the MR takes more writes.
	 */
	devfd = open_dev(f.fd);
	for (size_t h = 0; h < NHOLE; h++)
		dev_read(devfd, freed[h], snap[h]);
	{
		uint64_t w;

		memcpy(&w, snap[0], sizeof(w));
		t_info("on the device, the first freed block begins with %#llx%s", (unsigned long long)w,
		       w == MARK(HOLE, 1) ? " (what the NIC wrote there before the ack)" :
		       (uint8_t)w == VICTIM ? " (the second file's data)" : "");
	}

	/* The stream goes on through the restored MR. */
	for (unsigned int n = 2; n < 2 + ROUNDS; n++) {
		for (size_t pg = 0; pg < NPAGES; pg++)
			write_page(pg, n);
		for (size_t pg = 0; pg < NPAGES; pg++)
			check_page(pg, (int)n);
	}
	CHECK_EQ(quiesces, 1);
	CHECK_EQ(rekeys, 1);
	for (size_t h = 0; h < NHOLE; h++) {
		static uint8_t blk[65536];

		dev_read(devfd, freed[h], blk);
		if (memcmp(blk, snap[h], t_pg)) {
			uint64_t w;

			memcpy(&w, blk, sizeof(w));
			t_fail("freed block %#llx changed on the device while the MR took writes: now %#llx%s",
			       (unsigned long long)freed[h], (unsigned long long)w,
			       (w >> 48) == 0x5244 ? ": RDMA data in a freed block" : "");
		}
	}
	for (size_t i = 0; i < found; i++) {
		static uint8_t blk[65536];

		if (pread(vfd, blk, t_pg, vat[i]) != (ssize_t)t_pg)
			t_fail("pread the second file: %s", t_errname(errno));
		for (size_t o = 0; o < t_pg; o++)
			if (blk[o] != VICTIM)
				t_fail("the second file's block at %lld (once the leased file's) reads %#x at "
				       "byte %zu: RDMA data in a freed block", (long long)vat[i], blk[o], o);
	}
	t_info("%u RDMA WRITEs in all, %u after the punch: the freed blocks did not change on the device, "
	       "and the %zu the second file took hold only its data", nwrites, ROUNDS * NPAGES, found);

	close(devfd);
	close(vfd);
	CHECK_OK(mrlease_verbs_dereg_mr(mr));
	mrlease_verbs_close(mv);
	ibv_dereg_mr(smr);
	rxe_close(&r);
	t_pass();
}
