/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, in one place.  Every MRL_COMPAT_HAVE_* comes
 * from a compile probe in compat/ (see compat/Kbuild.include).
 */
#ifndef MRLEASE_COMPAT_H
#define MRLEASE_COMPAT_H

#include <linux/mm.h>

/* 6.3 made vm_flags const; before, the field is written directly. */
#ifdef MRL_COMPAT_HAVE_VM_FLAGS_SET
static inline void mrl_compat_vm_flags_mod(struct vm_area_struct *vma,
					   unsigned long set,
					   unsigned long clear)
{
	vm_flags_mod(vma, set, clear);
}
#else
static inline void mrl_compat_vm_flags_mod(struct vm_area_struct *vma,
					   unsigned long set,
					   unsigned long clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#endif

/* The attributes of a netlink dump request. */
#ifdef MRL_COMPAT_HAVE_GENL_INFO_DUMP
#define mrl_compat_dump_attrs(cb)	(genl_info_dump(cb)->attrs)
#else
#define mrl_compat_dump_attrs(cb)	(genl_dumpit_info(cb)->attrs)
#endif

#endif /* MRLEASE_COMPAT_H */
