// SPDX-License-Identifier: GPL-2.0
/*
 * Decoherence detection: one mmu_interval_notifier per lease.
 *
 * The callback runs with mmap_lock, i_mmap_rwsem or filesystem locks held by
 * whoever changes the mapping, and sometimes from the OOM reaper, where it
 * must not block at all.  So it never waits for user space: it records the
 * break under a spinlock, queues the event and returns.  A foreign truncate
 * of a pinned fsdax range waits later, in the filesystem's own busy-page
 * wait, with its locks dropped, until the pins go.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mmu_notifier.h>
#include <linux/sched.h>

#include "mrlease.h"

/*
 * Which notifier events change the translation of the range.  Protection
 * changes (mprotect, fork write-protection, NUMA hinting, writeback's
 * page_mkclean, soft-dirty tracking) leave the same pages mapped, so the
 * device still reaches the right memory: they are not breaks.
 */
static u32 mrl_event_reason(enum mmu_notifier_event event)
{
	switch (event) {
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
	case MMU_NOTIFY_SOFT_DIRTY:
		return 0;
	case MMU_NOTIFY_UNMAP:
		return MRLEASE_REASON_UNMAP;
	case MMU_NOTIFY_CLEAR:
		return MRLEASE_REASON_CLEAR;
	case MMU_NOTIFY_RELEASE:
		return MRLEASE_REASON_EXIT;
	case MMU_NOTIFY_MIGRATE:
		return MRLEASE_REASON_MIGRATE;
	default:
		return MRLEASE_REASON_OTHER;
	}
}

/*
 * Clears that leave a pinned range mapping the very same pages:
 *  - reclaim (kswapd, direct reclaim, MADV_PAGEOUT: all run with
 *    PF_MEMALLOC) unmaps shmem and page-cache pages it then cannot free
 *    because they are pinned; the next fault maps the same page again;
 *  - kernel threads clear anonymous mappings to merge (ksmd), compact or
 *    collapse (khugepaged) pages, and all of them give up on pinned pages,
 *    restoring the same translation.
 * A pinned lease is therefore not broken by them.  File pages are different
 * for other kernel threads: nfsd may truncate the file.  Under ctx->lock.
 */
static bool mrl_invalidate_is_harmless(struct mrl_lease *lease, u32 reason)
{
	if (reason != MRLEASE_REASON_CLEAR || !lease->pins)
		return false;
	if (current->flags & PF_MEMALLOC)
		return true;
	return (current->flags & PF_KTHREAD) &&
	       lease->backings == BIT(MRLEASE_BACKING_ANON);
}

static bool mrl_invalidate(struct mmu_interval_notifier *mni,
			   const struct mmu_notifier_range *range,
			   unsigned long cur_seq)
{
	struct mrl_lease *lease = container_of(mni, struct mrl_lease, notifier);
	struct mrl_ctx *ctx = lease->ctx;
	u32 reason = mrl_event_reason(range->event);
	struct mrl_pins *sync = NULL;
	/*
	 * The holder's own munmap, mremap, MAP_FIXED and exit unpin before
	 * they return: they hold no page lock (a truncate of the page cache,
	 * a CLEAR, holds one, and another process's UNMAP of a hugetlbfs
	 * file holds i_mmap_rwsem), and nobody else waits on them.
	 */
	bool may_sync = mmu_notifier_range_blockable(range) &&
			(reason == MRLEASE_REASON_EXIT ||
			 (reason == MRLEASE_REASON_UNMAP &&
			  current->mm == ctx->mm));

	spin_lock(&ctx->lock);
	/* Makes a concurrent arm (register/restore) retry its pinning. */
	mmu_interval_set_seq(mni, cur_seq);
	if (reason && !mrl_invalidate_is_harmless(lease, reason))
		mrl_lease_invalidate(lease, reason, range->start, range->end,
				     may_sync ? &sync : NULL);
	spin_unlock(&ctx->lock);
	mrl_pins_put(sync);
	return true;
}

const struct mmu_interval_notifier_ops mrl_notifier_ops = {
	.invalidate = mrl_invalidate,
};
