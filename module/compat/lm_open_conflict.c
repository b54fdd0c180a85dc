// SPDX-License-Identifier: GPL-2.0
/* Probe: 7.x lease managers must provide lm_open_conflict. */
#include <linux/fs.h>
#include <linux/filelock.h>

static int mrl_probe_conflict(struct file *file, int arg)
{
	return 0;
}

const struct lease_manager_operations mrl_probe_ops = {
	.lm_open_conflict = mrl_probe_conflict,
};
