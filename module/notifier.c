// SPDX-License-Identifier: GPL-2.0
/*
 * Decoherence detection: one mmu_interval_notifier per context, spanning the
 * whole address space, and the context's leases in an interval tree of its
 * own (as kdreg2 keeps its regions).  A notifier per lease cost 88 bytes, a
 * reference on the mm and a trip through the mm's notifier lock at every
 * register and unregister; ours costs an rb-tree node under ctx->lock.
 *
 * The callback runs with mmap_lock, i_mmap_rwsem or filesystem locks held by
 * whoever changes the mapping, and sometimes from the OOM reaper, where it
 * must not block at all.  So it never waits for user space: it records the
 * break under a spinlock, queues the event and returns.  A foreign truncate
 * of a pinned fsdax range waits later, in the filesystem's own busy-page
 * wait, with its locks dropped, until the pins go.
 *
 * An arm (arm.c) and a page-table check (lease.c) need to know whether
 * their lease's range changed while they looked: each overlapping
 * invalidation counts in lease->changes, and mrl_notifier_read_begin() waits
 * out the invalidations already in progress when they start.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/interval_tree.h>
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

/*
 * An anchor of the context goes (anchor.c): a truncate may skip its wait
 * for our pins from now on, so the pins of every fsdax lease go, as for an
 * unmap of its range.  Rare, and the holder's own doing: a walk of all its
 * leases.  Under ctx->lock.
 */
static void mrl_invalidate_fsdax_pins(struct mrl_ctx *ctx,
				      struct mrl_pins **sync)
{
	struct rb_node *node;

	for (node = rb_first_cached(&ctx->itree); node; node = rb_next(node)) {
		struct mrl_lease *lease = rb_entry(node, struct mrl_lease,
						   it.rb);

		if (lease->pins && lease->pins->fsdax)
			mrl_lease_invalidate(lease, MRLEASE_REASON_UNMAP,
					     lease->it.start, mrl_lease_end(lease), sync);
	}
}

static bool mrl_invalidate(struct mmu_interval_notifier *mni,
			   const struct mmu_notifier_range *range,
			   unsigned long cur_seq)
{
	struct mrl_ctx *ctx = container_of(mni, struct mrl_ctx, notifier);
	u32 reason = mrl_event_reason(range->event);
	struct interval_tree_node *node;
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
	/* mrl_notifier_read_begin() waits until this invalidation is over. */
	mmu_interval_set_seq(mni, cur_seq);
	for (node = interval_tree_iter_first(&ctx->itree, range->start,
					     range->end - 1);
	     node; node = interval_tree_iter_next(node, range->start,
						  range->end - 1)) {
		struct mrl_lease *lease = container_of(node, struct mrl_lease,
						       it);

		/* Makes a concurrent arm or check look again. */
		lease->changes++;
		if (reason && !mrl_invalidate_is_harmless(lease, reason))
			mrl_lease_invalidate(lease, reason, range->start,
					     range->end,
					     may_sync ? &sync : NULL);
	}
	if (reason == MRLEASE_REASON_UNMAP &&
	    mrl_anchors_unmapped(ctx, range->start, range->end))
		mrl_invalidate_fsdax_pins(ctx, may_sync ? &sync : NULL);
	spin_unlock(&ctx->lock);
	mrl_pins_put_chain(sync);
	return true;
}

static const struct mmu_interval_notifier_ops mrl_notifier_ops = {
	.invalidate = mrl_invalidate,
};

/*
 * Watch the context's mm, once, at its first lease.  Under ctx->mutex; the
 * caller runs in that mm (register).
 */
int mrl_notifier_attach(struct mrl_ctx *ctx)
{
	int ret;

	lockdep_assert_held(&ctx->mutex);
	if (ctx->notifier_attached)
		return 0;
	ret = mmu_interval_notifier_insert(&ctx->notifier, ctx->mm, 0,
					   ULONG_MAX, &mrl_notifier_ops);
	if (!ret)
		ctx->notifier_attached = true;
	return ret;
}

/* At close, after the last lease: waits for a callback still running. */
void mrl_notifier_detach(struct mrl_ctx *ctx)
{
	if (ctx->notifier_attached)
		mmu_interval_notifier_remove(&ctx->notifier);
	ctx->notifier_attached = false;
}

/* Under ctx->lock, from register (before the arm) and destroy. */
void mrl_notifier_add(struct mrl_ctx *ctx, struct mrl_lease *lease)
{
	lockdep_assert_held(&ctx->lock);
	interval_tree_insert(&lease->it, &ctx->itree);
}

void mrl_notifier_del(struct mrl_ctx *ctx, struct mrl_lease *lease)
{
	lockdep_assert_held(&ctx->lock);
	interval_tree_remove(&lease->it, &ctx->itree);
}

/*
 * Start looking at @lease's range: wait until no invalidation of the mm is
 * in progress, and return the lease's change count, to compare with
 * mrl_notifier_changed() once done.  An invalidation that starts after
 * this and overlaps the lease counts; one that was running has finished,
 * so what we then see of the page tables is after it.  Sleeps.
 */
u32 mrl_notifier_read_begin(struct mrl_ctx *ctx, struct mrl_lease *lease)
{
	u32 changes;

	/*
	 * Under ctx->lock, not a bare load: mmu_interval_read_begin() waits
	 * only once our callback has set the sequence (mmu_interval_set_seq(),
	 * before the count, in the same section), and it counts on the
	 * caller's lock for that ordering.  A lockless load could see the new
	 * count and the old sequence on a weakly ordered CPU, and miss it.
	 */
	spin_lock(&ctx->lock);
	changes = lease->changes;
	spin_unlock(&ctx->lock);
	mmu_interval_read_begin(&ctx->notifier);
	return changes;
}

/* Did the range change since mrl_notifier_read_begin()?  Under ctx->lock. */
bool mrl_notifier_changed(struct mrl_lease *lease, u32 changes)
{
	lockdep_assert_held(&lease->ctx->lock);
	return lease->changes != changes;
}
