// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: dax_break_layout() (6.15), which came with the DAX page reference
 * counts that include mappings: a layout break waits for a count of zero.
 */
#include <linux/dax.h>

int (*mrl_probe)(struct inode *inode, loff_t start, loff_t end,
		 void (*cb)(struct inode *)) = dax_break_layout;
