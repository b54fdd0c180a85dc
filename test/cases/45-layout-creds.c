// SPDX-License-Identifier: GPL-2.0
/*
 * xfs -o dax: the file-layout lease goes away with the last lease on the
 * file whatever the holder's credentials are by then.
 *  1. A holder registers as root (HELD), then drops to uid 4321 without
 *     capabilities (as daemons do after their setup), then unregisters.
 *  2. The same, but it closes its context instead.
 *  3. An unprivileged holder leases its own file (HELD); root then gives the
 *     file to another user; the holder unregisters.
 * Each time no lease may be left on the file in /proc/locks: one left behind
 * still points at the module's freed bookkeeping, and the next write, open
 * or truncate of the file would call into it.  (The test stops before that.)
 * Then a foreign write goes through at once.
 */
#define T_FS "xfs"
#define FILE_SIZE	(1 * MiB)
#define LEASE_LEN	(256 * 1024)
#include "45-layout.h"

#define HOLDER_UID	4321
#define OTHER_UID	1234

static struct dax_file f;

static void one_case(const char *what, uid_t uid, enum lay_hcmd last)
{
	struct lay_holder_cfg cfg = {
		.addr = f.map, .len = LEASE_LEN, .cookie = 0x45cc, .flags = MRLEASE_REG_PIN,
		.timeout_ms = 30000, .uid = uid,
	};
	struct lay_holder h;
	struct lay_reply r;

	t_info("---- %s", what);
	CHECK_SYS(fchown(f.fd, uid, uid));
	lay_holder_start(&h, &cfg, &r);
	CHECK_EQ(r.q.layout, MRLEASE_LAYOUT_HELD);
	CHECK_EQ(lay_proc_leases(f.fd), 1);
	if (uid == 0) {
		lay_holder_call(&h, LAY_H_BECOME, HOLDER_UID, &r);
		t_info("the holder is uid %d now", HOLDER_UID);
	} else {
		CHECK_SYS(fchown(f.fd, OTHER_UID, OTHER_UID));
		t_info("the file belongs to uid %d now", OTHER_UID);
	}
	lay_holder_call(&h, LAY_H_QUERY, 0, &r);
	CHECK_EQ(r.q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(r.q.layout, MRLEASE_LAYOUT_HELD);
	lay_holder_call(&h, last, 0, &r);
	CHECK_OK(r.ret);
	if (lay_proc_leases(f.fd))
		t_fail("a file lease is left on the file after the holder %s its lease",
		       last == LAY_H_UNREGISTER ? "unregistered" : "closed the context of");
	close(h.cmd);
	CHECK_CHILD_OK(h.pid, 5000);
	close(h.rep);
}

int main(void)
{
	struct lay_op op;

	t_watchdog(110);
	lay_need_root();
	dax_create(&f, FILE_SIZE);
	one_case("root holder drops its privileges, then unregisters", 0, LAY_H_UNREGISTER);
	one_case("root holder drops its privileges, then closes its context", 0, LAY_H_CLOSE);
	one_case("the holder's file is given to another user, then it unregisters", HOLDER_UID,
		 LAY_H_UNREGISTER);

	op = (struct lay_op){ .kind = LAY_WRITE, .fd = f.fd, .off = 0, .len = 4096, .byte = 0x11 };
	LAY_NO_WAIT(&op, "mrl-writer", 1000);
	t_pass();
}
