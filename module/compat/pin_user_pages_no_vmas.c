// SPDX-License-Identifier: GPL-2.0
/* Probe: pin_user_pages() without its vmas argument (6.5). */
#include <linux/mm.h>

long (*mrl_probe)(unsigned long start, unsigned long nr_pages,
		  unsigned int gup_flags, struct page **pages) = pin_user_pages;
