// SPDX-License-Identifier: GPL-2.0
/*
 * mrlease: leases on the virtual ranges behind RDMA memory registrations,
 * broken (and reported on a pollable fd) when the translation changes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "mrlease.h"

/* Timeouts written through sysfs get the range netlink enforces. */
static int mrl_param_set_timeout(const char *val, const struct kernel_param *kp)
{
	unsigned int ms;
	int ret;

	ret = kstrtouint(val, 0, &ms);
	if (ret)
		return ret;
	if (ms < 1 || ms > MRL_MAX_TIMEOUT_MS)
		return -ERANGE;
	WRITE_ONCE(*(unsigned int *)kp->arg, ms);
	return 0;
}

static const struct kernel_param_ops mrl_timeout_param_ops = {
	.set = mrl_param_set_timeout,
	.get = param_get_uint,
};

unsigned int mrl_break_timeout_ms = 45000;
module_param_cb(break_timeout_ms, &mrl_timeout_param_ops,
		&mrl_break_timeout_ms, 0644);
MODULE_PARM_DESC(break_timeout_ms,
		 "Default time a broken pinned lease waits for its ack before it is revoked (ms, 1..3600000, like fs.lease-break-time)");

unsigned int mrl_max_break_timeout_ms = 45000;
module_param_cb(max_break_timeout_ms, &mrl_timeout_param_ops,
		&mrl_max_break_timeout_ms, 0644);
MODULE_PARM_DESC(max_break_timeout_ms,
		 "Longest a break waits for the ack of a lease registered without CAP_SYS_ADMIN, whatever the lease asked (ms, 1..3600000)");

unsigned int mrl_max_leases_per_ctx = 131072;
module_param_named(max_leases_per_ctx, mrl_max_leases_per_ctx, uint, 0644);
MODULE_PARM_DESC(max_leases_per_ctx, "Leases one open file may hold");

unsigned int mrl_max_leases_per_user = 262144;
module_param_named(max_leases_per_user, mrl_max_leases_per_user, uint, 0644);
MODULE_PARM_DESC(max_leases_per_user, "Leases one user may hold in all files");

static int __init mrl_init(void)
{
	int ret;

	ret = mrl_registry_init();
	if (ret)
		return ret;
	ret = mrl_pins_init();
	if (ret)
		goto uninit_registry;
	ret = mrl_lease_init();
	if (ret)
		goto uninit_pins;
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
uninit_pins:
	mrl_pins_uninit();
uninit_registry:
	mrl_registry_uninit();
	return ret;
}

static void __exit mrl_exit(void)
{
	mrl_cdev_uninit();
	mrl_netlink_uninit();
	mrl_user_uninit();
	mrl_dax_wait_uninit();
	mrl_lease_uninit();
	mrl_pins_uninit();
	mrl_registry_uninit();
}

module_init(mrl_init);
module_exit(mrl_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Leases that detect RDMA memory-region decoherence");
MODULE_AUTHOR("mrlease developers");
MODULE_VERSION(MRLEASE_VERSION);
