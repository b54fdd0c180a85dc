// SPDX-License-Identifier: GPL-2.0
/*
 * Reproducer (found by 98-fuzz, seed 0x96f96c74eb3b4dc7 iteration 477): a
 * lease pins fsdax pages of a file it holds no reference to, and the file is
 * freed under the pins.
 *
 * The module takes a reference (lease->path, and the FL_LAYOUT lease's
 * file) only on the file behind the lease's first page.  A lease whose range
 * goes on into the mapping of another (unlinked) DAX file pins that file's
 * pages too.  When the holder unmaps that mapping and closes the file, the
 * last reference goes and the inode is evicted: ext4/xfs truncate its pages
 * and free its blocks while our pins are still held (kept for the ack with
 * MRLEASE_REG_WAIT_SELF, or until the unpin work item runs after a
 * self-inflicted break): "WARNING: ... at fs/dax.c:398
 * dax_disassociate_entry", and a device could go on writing into blocks the
 * filesystem has given to another file.
 *
 * Here: one anonymous page, right after it the mapping of an unlinked
 * 4-page DAX file; a pinned WAIT_SELF lease over all five pages; munmap of
 * the file's mapping (a self-inflicted break: pins kept for the ack), then
 * close(fd).  Fails if the kernel logs a splat.  Build with
 * `make -C test debug-repro`, run in the VM with
 * `test/rig/vm.sh --no-suite --run test/build/debug/repro-pin-outlives-file`
 * (uses $MRLEASE_EXT4 and $MRLEASE_XFS; the WARNING is WARN_ON_ONCE: one per
 * boot).
 */
#include "harness.h"
#include "kmsg.h"

static int one_fs(const char *var, int kmsg)
{
	const char *dir = getenv(var);
	char path[256], buf[4 << 12];
	struct mrlease_register l;
	struct mrlease_event ev;
	char *anon, *file;
	int fd, ctx, splats;

	if (!dir || !*dir) {
		t_info("%s not set: skipped", var);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/repro-pin.%d", dir, getpid());
	fd = CHECK_SYS(open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
	CHECK_SYS(unlink(path));
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	CHECK_SYS(fsync(fd));

	/* [anon page][4 pages of the DAX file], adjacent. */
	anon = mmap(NULL, PG(5), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(anon != MAP_FAILED);
	file = mmap(anon + PG(1), PG(4), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	CHECK(file == anon + PG(1));
	memset(anon, 1, PG(5));

	ctx = t_ctx();
	CHECK_OK(t_register(ctx, anon, PG(5), 7, MRLEASE_REG_PIN | MRLEASE_REG_WAIT_SELF, 30000, &l));
	t_info("%s: lease %llu over [anon page][4 DAX pages of an unlinked file], 5 pages pinned", var,
	       (unsigned long long)l.id);

	CHECK_SYS(munmap(file, PG(4)));
	GET_EVENT(ctx, ev, 2000);
	CHECK_EQ(t_state(ctx, l.id), MRLEASE_STATE_BROKEN);
	close(fd);	/* the last reference to the file: evicted now, pins or not */
	t_msleep(500);
	splats = kmsg_splats(kmsg, 10);
	if (splats)
		t_info("%s: the file was evicted while the lease still pinned its pages", var);
	CHECK_OK(t_ack(ctx, l.id, l.generation));
	close(ctx);
	munmap(anon, PG(1));
	return splats ? 1 : 0;
}

int main(void)
{
	int kmsg = kmsg_open(), bad;

	if (kmsg < 0)
		t_skip("cannot read /dev/kmsg");
	bad = one_fs("MRLEASE_EXT4", kmsg);
	bad += one_fs("MRLEASE_XFS", kmsg);
	if (bad)
		t_fail("fsdax pages pinned by a lease were freed with their file (%d filesystem(s))", bad);
	t_pass();
}
