// SPDX-License-Identifier: GPL-2.0
/*
 * Probe: pfn_mkclean_range() (5.18), with which DAX write-back write-protects
 * with MMU_NOTIFY_PROTECTION_PAGE; before, dax_entry_mkclean() cleared.
 */
#include <linux/rmap.h>

int (*mrl_probe)(unsigned long pfn, unsigned long nr_pages, pgoff_t pgoff,
		 struct vm_area_struct *vma) = pfn_mkclean_range;
