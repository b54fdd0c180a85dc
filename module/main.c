// SPDX-License-Identifier: GPL-2.0
/*
 * mrlease: leases on the virtual ranges behind RDMA memory registrations,
 * broken (and reported on a pollable fd) when the translation changes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "mrlease.h"

unsigned int mrl_break_timeout_ms = 45000;
module_param_named(break_timeout_ms, mrl_break_timeout_ms, uint, 0644);
MODULE_PARM_DESC(break_timeout_ms,
		 "Default time a broken pinned lease waits for its ack before it is revoked (ms, like fs.lease-break-time)");

unsigned int mrl_max_leases_per_ctx = 131072;
module_param_named(max_leases_per_ctx, mrl_max_leases_per_ctx, uint, 0644);
MODULE_PARM_DESC(max_leases_per_ctx, "Leases one open file may hold");

unsigned int mrl_max_leases_per_user = 262144;
module_param_named(max_leases_per_user, mrl_max_leases_per_user, uint, 0644);
MODULE_PARM_DESC(max_leases_per_user, "Leases one user may hold in all files");

static int __init mrl_init(void)
{
	int ret;

	ret = mrl_lease_init();
	if (ret)
		return ret;
	/* Leases notify the family: it must exist before the device. */
	ret = mrl_netlink_init();
	if (ret)
		goto uninit_lease;
	ret = mrl_cdev_init();
	if (ret)
		goto uninit_netlink;
	pr_debug("loaded, API %d\n", MRLEASE_API);
	return 0;

uninit_netlink:
	mrl_netlink_uninit();
uninit_lease:
	mrl_lease_uninit();
	return ret;
}

static void __exit mrl_exit(void)
{
	mrl_cdev_uninit();
	mrl_netlink_uninit();
	mrl_user_uninit();
	mrl_lease_uninit();
}

module_init(mrl_init);
module_exit(mrl_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Leases that detect RDMA memory-region decoherence");
MODULE_AUTHOR("mrlease developers");
