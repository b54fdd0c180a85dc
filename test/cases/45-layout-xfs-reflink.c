// SPDX-License-Identifier: GPL-2.0
/*
 * xfs -o dax: another process reflinks or dedupes into or out of a file
 * under a pinned lease held by this process: FICLONE and FICLONERANGE from
 * another file into it, FICLONE and FICLONERANGE with it as the source,
 * FIDEDUPERANGE into it and with it as the source.
 *
 * XFS breaks the layout leases of both files before it locks them
 * (xfs_iolock_two_inodes_and_break_layout), and only then waits for busy DAX
 * pages, so here the record's reason is LAYOUT, it covers the whole lease,
 * and the layout is BROKEN while the breaker waits.  After the ack (pins
 * dropped, file lease given back: RELEASED) the breaker's DAX unmap finds
 * the lease ACKED and queues nothing more.  The data is as the operation
 * says, the rest intact; restore takes the layout lease again (HELD).
 *
 * Each kind of ioctl is first tried on two scratch files: if the filesystem
 * cannot reflink (EOPNOTSUPP, EINVAL: e.g. 5.10 made without reflink to get
 * DAX), the cases that need it are skipped, and the test only if all are.
 */
#define T_FS "xfs"
#include "45-layout.h"

#define OTHER_XOR	0x5a

static const char *unavailable[LAY_DEDUPE + 1];

/* Can this filesystem do @kind at all?  Sets unavailable[kind] if not. */
static void probe(enum lay_kind kind)
{
	static char why[LAY_DEDUPE + 1][128];
	int a = lay_other_create(64 * 1024, 0, "probe-a");
	int b = lay_other_create(64 * 1024, 0, "probe-b");
	struct lay_op op = { .kind = kind, .fd = a, .fd2 = b, .len = 64 * 1024 };
	int err = lay_do(&op);

	close(a);
	close(b);
	if (!err)
		return;
	if (err != EOPNOTSUPP && err != EINVAL && err != EXDEV && err != ENOTTY)
		t_fail("%s between two scratch files: %s", lay_kind_name(kind), t_errname(err));
	snprintf(why[kind], sizeof(why[kind]), "%s on xfs -o dax fails with %s",
		 lay_kind_name(kind), t_errname(err));
	unavailable[kind] = why[kind];
}

/* Which file a case changes. */
enum target { INTO_LEASED, FROM_LEASED };

static int cases_run;

static void one_case(enum lay_kind kind, enum target target, bool whole)
{
	struct lay_expect x = {
		.reason = MRLEASE_REASON_LAYOUT,
		.layout_waiting = MRLEASE_LAYOUT_BROKEN,
		.layout_after = MRLEASE_LAYOUT_RELEASED,
		.whole = true,
	};
	/* Dedupe needs equal contents; clones show what moved by a different pattern. */
	uint8_t xor = kind == LAY_DEDUPE ? 0 : OTHER_XOR;
	struct mrlease_register l;
	struct dax_file f;
	struct breaker b;
	struct lay_op op = { .kind = kind };
	uint8_t *want, *want_other;
	int fd, other;

	t_info("---- %s%s, %s the leased file", lay_kind_name(kind), whole ? " (whole file)" : "",
	       target == INTO_LEASED ? "into" : "out of");
	if (unavailable[kind]) {
		t_info("case skipped: %s", unavailable[kind]);
		return;
	}
	cases_run++;
	dax_create(&f, FILE_SIZE);
	other = lay_other_create(FILE_SIZE, xor, "other");
	want = lay_shadow(FILE_SIZE, FILE_SIZE, 0);
	want_other = lay_shadow(FILE_SIZE, FILE_SIZE, xor);

	/* op.fd is the file the ioctl is issued on. */
	switch (kind) {
	case LAY_CLONE:		/* all of fd2 into fd */
		op.fd = target == INTO_LEASED ? f.fd : other;
		op.fd2 = target == INTO_LEASED ? other : f.fd;
		break;
	case LAY_CLONE_RANGE:	/* fd2 [off2, +len) into fd at off */
		op.fd = target == INTO_LEASED ? f.fd : other;
		op.fd2 = target == INTO_LEASED ? other : f.fd;
		op.off = CHG_OFF;
		op.off2 = target == INTO_LEASED ? 0 : LEASE_OFF;
		op.len = CHG_LEN;
		break;
	case LAY_DEDUPE:	/* fd [off, +len) onto fd2 at off2 */
		op.fd = target == INTO_LEASED ? other : f.fd;
		op.fd2 = target == INTO_LEASED ? f.fd : other;
		op.off = CHG_OFF;
		op.off2 = CHG_OFF;
		op.len = CHG_LEN;
		break;
	default:
		abort();
	}
	lay_breaker_start(&b, &op, BREAKER_COMM);

	fd = t_ctx();
	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0x45f0 + kind, MRLEASE_REG_PIN, 30000, &l));
	CHECK_LEASE(fd, l.id, MRLEASE_STATE_ARMED, LEASE_LEN / t_pg, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(lay_proc_leases(f.fd), 1);

	LAY_BREAK_ACK(fd, l, &b, BREAKER_COMM, &x);
	CHECK_EQ(lay_proc_leases(f.fd), 0);

	if (kind == LAY_CLONE && target == INTO_LEASED)
		memcpy(want, want_other, FILE_SIZE);
	else if (kind == LAY_CLONE)
		memcpy(want_other, want, FILE_SIZE);
	else if (kind == LAY_CLONE_RANGE && target == INTO_LEASED)
		memcpy(want + CHG_OFF, want_other, CHG_LEN);
	else if (kind == LAY_CLONE_RANGE)
		memcpy(want_other + CHG_OFF, want + LEASE_OFF, CHG_LEN);
	/* Dedupe changes no byte. */

	/*
	 * The lease's range now shares blocks with the other file.  Restore
	 * would write-fault them (pin with FOLL_WRITE), and 6.1's fsdax then
	 * marks the new, private page as shared and never clears the mark:
	 * "WARNING at fs/dax.c:380 dax_associate_entry" once the block is
	 * reused (a bug of the kernel's fsdax, seen without mrlease too: any
	 * first write fault on a shared extent does it).  Unshare the range
	 * first: our own fallocate, which must not wait on our own lease.
	 */
	{
		int64_t t0 = t_now_ns();

		CHECK_SYS(fallocate(f.fd, FALLOC_FL_UNSHARE_RANGE, LEASE_OFF, LEASE_LEN));
		CHECK_LT(t_ms_since(t0), 1000);
		CHECK_NO_EVENT(fd, 100);
	}
	LAY_RESTORE_HELD(fd, l);
	CHECK_EQ(lay_proc_leases(f.fd), 1);
	LAY_CHECK_FILE(f.fd, f.map, FILE_SIZE, want, FILE_SIZE);
	LAY_CHECK_FILE(other, NULL, 0, want_other, FILE_SIZE);
	CHECK_NO_EVENT(fd, 100);

	CHECK_OK(t_unregister(fd, l.id));
	close(fd);
	munmap(f.map, FILE_SIZE);
	close(f.fd);
	close(other);
	free(want);
	free(want_other);
}

int main(void)
{
	const char *reflink = getenv("MRLEASE_XFS_REFLINK");

	t_watchdog(110);
	dax_dir();
	if (reflink && !strcmp(reflink, "0"))
		t_skip("the xfs under test was made without reflink (this kernel refuses DAX with reflink)");
	probe(LAY_CLONE);
	probe(LAY_CLONE_RANGE);
	probe(LAY_DEDUPE);

	one_case(LAY_CLONE, INTO_LEASED, true);
	one_case(LAY_CLONE_RANGE, INTO_LEASED, false);
	one_case(LAY_CLONE, FROM_LEASED, true);
	one_case(LAY_CLONE_RANGE, FROM_LEASED, false);
	one_case(LAY_DEDUPE, INTO_LEASED, false);
	one_case(LAY_DEDUPE, FROM_LEASED, false);
	if (!cases_run)
		t_skip("%s; %s; %s", unavailable[LAY_CLONE], unavailable[LAY_CLONE_RANGE],
		       unavailable[LAY_DEDUPE]);
	t_pass();
}
