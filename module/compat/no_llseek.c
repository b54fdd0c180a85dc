// SPDX-License-Identifier: GPL-2.0
/* Probe: no_llseek() exists up to 6.11; 6.12 removed it. */
#include <linux/fs.h>

loff_t (*mrl_probe)(struct file *file, loff_t offset, int whence);
loff_t (*mrl_probe)(struct file *file, loff_t offset, int whence) = no_llseek;
