// SPDX-License-Identifier: GPL-2.0
/*
 * Pinning a lease's pages, charged to RLIMIT_MEMLOCK the way ib_umem_get()
 * charges an RDMA memory registration: against mm->pinned_vm, refused over
 * the limit unless the caller has CAP_IPC_LOCK.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "mrlease.h"

/* pin_user_pages_fast() takes an int count: pin in bounded batches. */
#define MRL_PIN_BATCH	BIT(16)

static int mrl_memlock_charge(struct mm_struct *mm, unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	u64 total = atomic64_add_return(nr, &mm->pinned_vm);

	if (total > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(nr, &mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

static void mrl_pins_release(struct mrl_pins *pins, unsigned long nr)
{
	if (pins->dirty)
		unpin_user_pages_dirty_lock(pins->pages, nr, true);
	else
		unpin_user_pages(pins->pages, nr);
}

/*
 * Pin [start, end) of the current mm, which must be @mm.  @gup_flags carries
 * FOLL_WRITE and FOLL_LONGTERM as the caller decided from the VMAs.  On
 * success @pins owns the pages and the memlock charge.
 */
int mrl_pins_get(struct mm_struct *mm, unsigned long start, unsigned long end,
		 unsigned int gup_flags, struct mrl_pins *pins)
{
	unsigned long nr = (end - start) >> PAGE_SHIFT;
	unsigned long done = 0;
	int ret;

	pins->pages = kvmalloc_array(nr, sizeof(*pins->pages),
				     GFP_KERNEL_ACCOUNT);
	if (!pins->pages)
		return -ENOMEM;
	pins->dirty = gup_flags & FOLL_WRITE;

	ret = mrl_memlock_charge(mm, nr);
	if (ret)
		goto free_pages;

	while (done < nr) {
		unsigned long batch = min(nr - done, MRL_PIN_BATCH);

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto unpin;
		}
		ret = pin_user_pages_fast(start + (done << PAGE_SHIFT), batch,
					  gup_flags, pins->pages + done);
		if (ret <= 0) {
			if (!ret)
				ret = -EFAULT;
			goto unpin;
		}
		done += ret;
		cond_resched();
	}
	pins->nr = nr;
	atomic64_add(nr, &mrl_stats.pinned_pages);
	return 0;

unpin:
	if (done)
		unpin_user_pages(pins->pages, done);
	atomic64_sub(nr, &mm->pinned_vm);
free_pages:
	kvfree(pins->pages);
	pins->pages = NULL;
	return ret;
}

/* Drop the pins and the memlock charge; may sleep (page lock for dirtying). */
void mrl_pins_put(struct mm_struct *mm, struct mrl_pins *pins)
{
	if (!pins->pages)
		return;
	mrl_pins_release(pins, pins->nr);
	atomic64_sub(pins->nr, &mm->pinned_vm);
	atomic64_sub(pins->nr, &mrl_stats.pinned_pages);
	kvfree(pins->pages);
	pins->pages = NULL;
	pins->nr = 0;
}
