/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, in one place.  Every MRL_COMPAT_HAVE_* comes
 * from a compile probe in compat/, through the generated compat-have.h
 * (see compat/Kbuild.include).
 */
#ifndef MRLEASE_COMPAT_H
#define MRLEASE_COMPAT_H

#include "compat-have.h"

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched.h>

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

/*
 * Only CAP_SYS_ADMIN may join a multicast group: a GENL_MCAST_CAP_* flag
 * since 6.7 (and 6.1.y), a cap_sys_admin bit in 5.10.y's backport.
 */
#if defined(MRL_COMPAT_HAVE_GENL_MCAST_CAP)
#define MRL_COMPAT_GENL_MCGRP_CAP_SYS_ADMIN \
	.flags = GENL_MCAST_CAP_SYS_ADMIN,
#elif defined(MRL_COMPAT_HAVE_GENL_MCAST_CAP_SYS_ADMIN)
#define MRL_COMPAT_GENL_MCGRP_CAP_SYS_ADMIN \
	.cap_sys_admin = 1,
#else
#error "this kernel cannot restrict generic netlink multicast groups"
#endif

/*
 * 6.0 added resv_start_op: ops from it on get strict validation only.
 * Before, every op without GENL_DONT_VALIDATE_* flags is validated strictly.
 */
#ifdef MRL_COMPAT_HAVE_GENL_RESV_START_OP
#define MRL_COMPAT_GENL_RESV_START_OP(op) \
	.resv_start_op = (op),
#else
#define MRL_COMPAT_GENL_RESV_START_OP(op)
#endif

/*
 * File leases: 6.9 split struct file_lease, with its common part in
 * struct file_lock_core, off struct file_lock and renamed the operations.
 */
#ifdef MRL_COMPAT_HAVE_FILE_LEASE
#include <linux/filelock.h>

/* Spelled struct mrl_file_lease and struct mrl_lease_ops in our code. */
#define mrl_file_lease		file_lease
#define mrl_lease_ops		lease_manager_operations

static inline void *mrl_compat_fl_owner(struct mrl_file_lease *fl)
{
	return fl->c.flc_owner;
}

static inline struct mrl_file_lease *mrl_compat_fl_alloc(void)
{
	return locks_alloc_lease();
}

static inline void mrl_compat_fl_free(struct mrl_file_lease *fl)
{
	locks_free_lease(fl);
}

/*
 * Under flc_lock: is @fl a layout lease being broken, its break time not
 * yet over (a breaker waits for it to go)?
 */
static inline bool mrl_compat_fl_breaking(const struct mrl_file_lease *fl)
{
	return (fl->c.flc_flags & FL_LAYOUT) &&
	       (fl->c.flc_flags & FL_UNLOCK_PENDING) &&
	       (!fl->fl_break_time || time_before(jiffies, fl->fl_break_time));
}

#define mrl_compat_for_each_lease(fl, flctx) \
	list_for_each_entry(fl, &(flctx)->flc_lease, c.flc_list)

static inline void mrl_compat_fl_init_layout(struct mrl_file_lease *fl,
					     struct file *file, void *owner)
{
	fl->c.flc_flags = FL_LAYOUT;
	fl->c.flc_type = F_RDLCK;
	fl->c.flc_owner = owner;
	fl->c.flc_pid = current->tgid;
	fl->c.flc_file = file;
}
#else
#define mrl_file_lease		file_lock
#define mrl_lease_ops		lock_manager_operations

static inline void *mrl_compat_fl_owner(struct mrl_file_lease *fl)
{
	return fl->fl_owner;
}

static inline struct mrl_file_lease *mrl_compat_fl_alloc(void)
{
	return locks_alloc_lock();
}

static inline void mrl_compat_fl_free(struct mrl_file_lease *fl)
{
	locks_free_lock(fl);
}

static inline bool mrl_compat_fl_breaking(const struct mrl_file_lease *fl)
{
	return (fl->fl_flags & FL_LAYOUT) &&
	       (fl->fl_flags & FL_UNLOCK_PENDING) &&
	       (!fl->fl_break_time || time_before(jiffies, fl->fl_break_time));
}

#define mrl_compat_for_each_lease(fl, flctx) \
	list_for_each_entry(fl, &(flctx)->flc_lease, fl_list)

static inline void mrl_compat_fl_init_layout(struct mrl_file_lease *fl,
					     struct file *file, void *owner)
{
	fl->fl_flags = FL_LAYOUT;
	fl->fl_type = F_RDLCK;
	fl->fl_owner = owner;
	fl->fl_pid = current->tgid;
	fl->fl_file = file;
	fl->fl_end = OFFSET_MAX;
}
#endif

/* 7.x calls lm_open_conflict without a NULL check; 0 = layout semantics. */
#ifdef MRL_COMPAT_HAVE_LM_OPEN_CONFLICT
static inline int mrl_compat_lm_open_conflict(struct file *file, int arg)
{
	return 0;
}

#define MRL_COMPAT_LM_OPEN_CONFLICT \
	.lm_open_conflict = mrl_compat_lm_open_conflict,
#else
#define MRL_COMPAT_LM_OPEN_CONFLICT
#endif

/*
 * Before 5.18 the write-back of a DAX page written through a mapping
 * cleared its PTEs with MMU_NOTIFY_CLEAR (dax_entry_mkclean()); since
 * pfn_mkclean_range() it write-protects them (MMU_NOTIFY_PROTECTION_PAGE),
 * and a CLEAR of fsdax pages is a real change.
 */
/*
 * Since 6.15 a mapping of a DAX page holds a reference to it, and a layout
 * break waits for the count to reach zero: a fault during the wait keeps it
 * above (daxwait.c).
 */
#ifdef MRL_COMPAT_HAVE_DAX_BREAK_LAYOUT
#define MRL_COMPAT_DAX_MAPPING_REFS	1
#else
#define MRL_COMPAT_DAX_MAPPING_REFS	0
#endif

/* Where daxwait.c makes a truncate stuck that way restart its call. */
#if MRL_COMPAT_DAX_MAPPING_REFS && !defined(CONFIG_PREEMPT_RT)
#define MRL_COMPAT_DAX_WAIT_RESTARTS	1
#else
#define MRL_COMPAT_DAX_WAIT_RESTARTS	0
#endif

#ifdef MRL_COMPAT_HAVE_PFN_MKCLEAN_RANGE
#define MRL_COMPAT_DAX_WRITEBACK_CLEARS	false
#else
#define MRL_COMPAT_DAX_WRITEBACK_CLEARS	true
#endif

/* 6.12 removed no_llseek(); there a NULL .llseek means "not seekable". */
#ifdef MRL_COMPAT_HAVE_NO_LLSEEK
#define mrl_compat_no_llseek	no_llseek
#else
#define mrl_compat_no_llseek	NULL
#endif

/* pin_user_pages(), the caller holding the mmap_lock: it never drops it. */
static inline long mrl_compat_pin_locked(unsigned long start,
					 unsigned long nr,
					 unsigned int gup_flags,
					 struct page **pages)
{
#ifdef MRL_COMPAT_HAVE_PIN_USER_PAGES_NO_VMAS
	return pin_user_pages(start, nr, gup_flags, pages);
#else
	return pin_user_pages(start, nr, gup_flags, pages, NULL);
#endif
}

/*
 * Pin what is mapped and never fault: 0 or -EFAULT where a fault would be
 * needed.  FOLL_NOFAULT (5.16) keeps the slow path (FOLL_LONGTERM
 * migration, the zero page); before it, the lockless walk alone, which
 * refuses special mappings such as the zero page: there the last try
 * (@last) pins as GUP always did, faulting.
 */
static inline long mrl_compat_pin_nofault(unsigned long start,
					  unsigned long nr,
					  unsigned int gup_flags,
					  struct page **pages, bool last)
{
#if defined(MRL_COMPAT_HAVE_FOLL_NOFAULT)
	return pin_user_pages_fast(start, nr, gup_flags | FOLL_NOFAULT, pages);
#elif defined(MRL_COMPAT_HAVE_PIN_USER_PAGES_FAST_ONLY)
	if (last)
		return pin_user_pages_fast(start, nr, gup_flags, pages);
	return pin_user_pages_fast_only(start, nr, gup_flags, pages);
#else
#error "neither FOLL_NOFAULT nor pin_user_pages_fast_only()"
#endif
}

/*
 * The same with the mmap_lock held for read, and never a fault whatever
 * the round: a fault may wait on a page lock, uninterruptibly, with the
 * lock held.  Before FOLL_NOFAULT the lockless walk alone, so a range with
 * a never-written read-only page (the zero page) cannot be pinned so.
 */
static inline long mrl_compat_pin_nofault_locked(unsigned long start,
						 unsigned long nr,
						 unsigned int gup_flags,
						 struct page **pages)
{
#if defined(MRL_COMPAT_HAVE_FOLL_NOFAULT)
	return mrl_compat_pin_locked(start, nr, gup_flags | FOLL_NOFAULT,
				     pages);
#else
	return pin_user_pages_fast_only(start, nr, gup_flags, pages);
#endif
}

#endif /* MRLEASE_COMPAT_H */
