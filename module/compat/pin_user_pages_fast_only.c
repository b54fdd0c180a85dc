// SPDX-License-Identifier: GPL-2.0
/* Probe: pin_user_pages_fast_only() (5.9), for kernels without FOLL_NOFAULT. */
#include <linux/mm.h>

int (*mrl_probe)(unsigned long start, int nr_pages, unsigned int gup_flags,
		 struct page **pages) = pin_user_pages_fast_only;
