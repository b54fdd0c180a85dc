// SPDX-License-Identifier: GPL-2.0
/* Probe: 6.9+ split struct file_lease (with file_lock_core) off file_lock. */
#include <linux/fs.h>
#include <linux/filelock.h>

void *mrl_probe(struct file_lease *fl);
void *mrl_probe(struct file_lease *fl)
{
	return fl->c.flc_owner;
}
