// SPDX-License-Identifier: GPL-2.0
/*
 * File-layout leases: an FL_LAYOUT lease (the kind the pNFS server takes)
 * on each file a context's leases map, shared by those leases.
 *
 * XFS breaks layout leases before it changes a file's block map (truncate,
 * fallocate, reflink, dedupe, writes) and then waits, with no filesystem
 * lock held, until the lease is gone.  lm_break runs under the file's
 * flc_lock, so it only marks our leases broken and queues their events; the
 * file lease is given back (F_UNLCK) from a work item once every lease on it
 * has been acked, revoked or unregistered.  That is exactly when the
 * breaker may go on.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/slab.h>

#include "compat.h"
#include "mrlease.h"

/* How long after giving a broken file lease back we leave the breaker be. */
#define MRL_LAYOUT_GRACE_MS	200
#define MRL_LAYOUT_GRACE_BITS	6

/*
 * When a broken file lease was last given back, per file: the breaker we
 * let go wakes up and looks again for conflicting leases, and a lease taken
 * at once by any context, not only the one that gave it back, would break
 * it again and again; holders that restore right after each ack could
 * starve it.  A small table hashed by inode: a collision only forgets an
 * older entry (that file loses its grace), and an entry left for a freed
 * and reused inode only delays one take by MRL_LAYOUT_GRACE_MS.  The inode
 * pointers are compared, never followed.
 */
static struct {
	const struct inode *inode;
	unsigned long released;		/* jiffies */
} mrl_layout_grace[1 << MRL_LAYOUT_GRACE_BITS];
static DEFINE_SPINLOCK(mrl_layout_grace_lock);

void mrl_layout_grace_start(const struct inode *inode)
{
	u32 slot = hash_ptr(inode, MRL_LAYOUT_GRACE_BITS);

	spin_lock(&mrl_layout_grace_lock);
	mrl_layout_grace[slot].inode = inode;
	mrl_layout_grace[slot].released = jiffies;
	spin_unlock(&mrl_layout_grace_lock);
}

static bool mrl_layout_in_grace(const struct inode *inode)
{
	u32 slot = hash_ptr(inode, MRL_LAYOUT_GRACE_BITS);
	bool grace;

	spin_lock(&mrl_layout_grace_lock);
	grace = mrl_layout_grace[slot].inode == inode &&
		time_before(jiffies, mrl_layout_grace[slot].released +
				     msecs_to_jiffies(MRL_LAYOUT_GRACE_MS));
	spin_unlock(&mrl_layout_grace_lock);
	return grace;
}

/*
 * Must an arm keep off @inode's pages?  While a layout lease on it is being
 * broken (ours or the pNFS server's), a breaker waits, and on xfs it waits
 * with the file's i_rwsem dropped: pins taken now would make it wait once more when
 * it goes on to look for busy DAX pages, and so on for as long as the
 * holders like.  After one of ours was given back, the grace below keeps
 * off arms until the breaker has locked the file again.
 */
bool mrl_layout_breaking(struct inode *inode)
{
	/* Pairs with the cmpxchg that installs it (locks_get_lock_context()). */
	struct file_lock_context *flctx = smp_load_acquire(&inode->i_flctx);
	struct mrl_file_lease *fl;
	bool breaking = false;

	if (mrl_layout_in_grace(inode))
		return true;
	if (!flctx || list_empty_careful(&flctx->flc_lease))
		return false;
	spin_lock(&flctx->flc_lock);
	mrl_compat_for_each_lease(fl, flctx)
		if (mrl_compat_fl_breaking(fl)) {
			breaking = true;
			break;
		}
	spin_unlock(&flctx->flc_lock);
	return breaking;
}

/*
 * Is any lease on @layout still waiting for its ack?  Not once the holder's
 * address space is gone: the DMA it set up is gone with it, and a context
 * kept open elsewhere must not hold a breaker until the timeout.  Under
 * ctx->lock.
 */
static bool mrl_layout_awaits_ack(struct mrl_layout *layout)
{
	struct mrl_lease_file *lf;

	if (layout->ctx->mm_exited)
		return false;
	list_for_each_entry(lf, &layout->leases, layout_node)
		if (lf->lease->state == MRLEASE_STATE_BROKEN)
			return true;
	return false;
}

static bool mrl_layout_lm_break(struct mrl_file_lease *fl)
{
	struct mrl_layout *layout = mrl_compat_fl_owner(fl);
	struct mrl_ctx *ctx = layout->ctx;
	struct mrl_breaker breaker;
	struct mrl_lease_file *lf;
	bool wait;

	mrl_breaker_current(ctx, &breaker);
	spin_lock(&ctx->lock);
	list_for_each_entry(lf, &layout->leases, layout_node)
		if (lf->lease->state == MRLEASE_STATE_ARMED)
			mrl_lease_break(lf->lease, MRLEASE_REASON_LAYOUT,
					lf->lease->it.start, mrl_lease_end(lf->lease),
					&breaker, NULL);
	wait = mrl_layout_awaits_ack(layout);
	/* Nothing to wait for: the locks code deletes the lease at once. */
	layout->state = wait ? MRLEASE_LAYOUT_BROKEN : MRLEASE_LAYOUT_RELEASED;
	spin_unlock(&ctx->lock);

	/*
	 * We give the lease back once the acks are in, but the breaker's
	 * fl_break_time (fs.lease-break-time, set before lm_break) stays: as
	 * for any file lease, the administrator's bound holds even if the
	 * acks never come.  XFS's writer retries its wait without looking at
	 * signals, so a killed writer would otherwise spin until then.
	 */
	return !wait;
}

/* The holder's own writes and truncates must never wait on its lease. */
static bool mrl_layout_lm_breaker_owns_lease(struct mrl_file_lease *fl)
{
	struct mrl_layout *layout = mrl_compat_fl_owner(fl);

	return current->mm == layout->ctx->mm;
}

static const struct mrl_lease_ops mrl_layout_lm_ops = {
	.lm_break = mrl_layout_lm_break,
	.lm_change = lease_modify,
	.lm_breaker_owns_lease = mrl_layout_lm_breaker_owns_lease,
	MRL_COMPAT_LM_OPEN_CONFLICT
};

static int mrl_layout_unlock(struct mrl_layout *layout)
{
	void *owner = layout;

	return vfs_setlease(layout->file, F_UNLCK, NULL, &owner);
}

/*
 * Is it time to give the file lease back: once no lease waits for its ack,
 * for good when the last lease left (@layout->unused), or again after an
 * acker's own attempt failed?  If so it is RELEASED from now on, and
 * @broken says whether a breaker waits for it.
 */
static bool mrl_layout_should_release(struct mrl_layout *layout, bool *broken)
{
	struct mrl_ctx *ctx = layout->ctx;
	bool release;

	spin_lock(&ctx->lock);
	*broken = layout->state == MRLEASE_LAYOUT_BROKEN;
	if (layout->unlock_failed) {
		release = true;
		layout->unlock_failed = false;
	} else if (layout->unused) {
		release = *broken || layout->state == MRLEASE_LAYOUT_HELD;
	} else {
		release = *broken && !mrl_layout_awaits_ack(layout);
	}
	if (release)
		layout->state = MRLEASE_LAYOUT_RELEASED;
	spin_unlock(&ctx->lock);
	return release;
}

/*
 * Give the file lease back from a work item: F_UNLCK checks the caller's
 * right to the file (owner or CAP_LEASE), which the holder may have
 * dropped since, and a lease left behind would point at freed memory.  A
 * kernel worker always has it.
 */
static void mrl_layout_release_work(struct work_struct *work)
{
	struct mrl_layout *layout = container_of(work, struct mrl_layout,
						 release_work);
	bool broken;

	if (!mrl_layout_should_release(layout, &broken))
		return;
	/* Before the breaker can run: it must find the grace started. */
	if (broken)
		mrl_layout_grace_start(file_inode(layout->file));
	mrl_race_window("layout: released, file lease not given back", false);
	mrl_layout_unlock(layout);
}

/*
 * An ack let the breaker go, or the last lease of the file left: give the
 * file lease back here, without the work item's latency, when the caller
 * may (it owns the file).  Should F_UNLCK fail all the same, the work item
 * does it.  False if the caller may not: then it is the work's to do.
 * Under ctx->mutex, so that @layout stays.
 */
bool mrl_layout_release_now(struct mrl_layout *layout)
{
	struct mrl_ctx *ctx = layout->ctx;
	bool broken;

	lockdep_assert_held(&ctx->mutex);
	if (!uid_eq(current_fsuid(), file_inode(layout->file)->i_uid))
		return false;
	if (!mrl_layout_should_release(layout, &broken))
		return true;
	if (broken)
		mrl_layout_grace_start(file_inode(layout->file));
	if (!mrl_layout_unlock(layout))
		return true;
	spin_lock(&ctx->lock);
	layout->unlock_failed = true;
	spin_unlock(&ctx->lock);
	queue_work(mrl_wq, &layout->release_work);
	return true;
}

/*
 * Is the lease still guarded as its arm left it?  An lm_break that came
 * while it was being armed found no ARMED lease, and the kernel dropped
 * the file lease at once: the arm must start over.  Under ctx->lock.
 */
bool mrl_layout_guards(const struct mrl_lease *lease)
{
	const struct mrl_layout *layout = mrl_lease_layout(lease);

	lockdep_assert_held(&lease->ctx->lock);
	return !layout || layout->state == MRLEASE_LAYOUT_HELD ||
	       layout->state == MRLEASE_LAYOUT_REFUSED;
}

/*
 * A lease of @layout left the BROKEN state.  Once none waits for its ack,
 * give the file lease back so the breaker can go on.  Under ctx->lock.
 */
void mrl_layout_settle(struct mrl_layout *layout)
{
	lockdep_assert_held(&layout->ctx->lock);
	if (layout->state == MRLEASE_LAYOUT_BROKEN &&
	    !mrl_layout_awaits_ack(layout))
		queue_work(mrl_wq, &layout->release_work);
}

/*
 * Take the FL_LAYOUT lease if we do not hold it.  While it is being broken,
 * or while any other lease on the file still owes its ack, -EAGAIN: no
 * lease is armed without the guard, and no arm waits (in mrl_lease_arm())
 * for a breaker that waits for an ack it is keeping from the holder.  Any
 * other refusal only leaves the lease without a layout lease.  Under
 * ctx->mutex.
 */
static int mrl_layout_take(struct mrl_layout *layout)
{
	struct mrl_ctx *ctx = layout->ctx;
	struct mrl_file_lease *fl;
	bool busy;
	u32 state;
	int ret;

	/* A release still pending must go first. */
	flush_work(&layout->release_work);
	spin_lock(&ctx->lock);
	state = layout->state;
	/* A breaker may wait for that lease's pins with the file locked. */
	busy = mrl_layout_awaits_ack(layout);
	spin_unlock(&ctx->lock);
	if (state == MRLEASE_LAYOUT_BROKEN || busy)
		return -EAGAIN;
	if (state == MRLEASE_LAYOUT_HELD)
		return 0;
	/* A breaker we (any context) let go gets its turn first. */
	if (mrl_layout_in_grace(file_inode(layout->file)))
		return -EAGAIN;

	fl = mrl_compat_fl_alloc();
	if (!fl) {
		ret = -ENOMEM;
		goto refused;
	}
	fl->fl_lmops = &mrl_layout_lm_ops;
	mrl_compat_fl_init_layout(fl, layout->file, layout);
	/*
	 * HELD before the lease is visible: lm_break may run as soon as it
	 * is, and the BROKEN or RELEASED it records must stand.
	 */
	spin_lock(&ctx->lock);
	layout->state = MRLEASE_LAYOUT_HELD;
	layout->error = 0;
	spin_unlock(&ctx->lock);
	ret = vfs_setlease(layout->file, F_RDLCK, &fl, NULL);
	/* Still ours if the call failed or modified a lease we had. */
	if (fl)
		mrl_compat_fl_free(fl);
	/*
	 * A breaker we let go may have started its grace between the check
	 * above and now: a lease it meets on its next look is one it waits
	 * for without breaking it (__break_lease() breaks only in its first
	 * pass), so give this one back.
	 */
	if (!ret && mrl_layout_in_grace(file_inode(layout->file))) {
		spin_lock(&ctx->lock);
		layout->state = MRLEASE_LAYOUT_RELEASED;
		spin_unlock(&ctx->lock);
		mrl_layout_unlock(layout);
		return -EAGAIN;
	}
	if (!ret)
		return 0;
refused:
	spin_lock(&ctx->lock);
	layout->state = MRLEASE_LAYOUT_REFUSED;
	layout->error = ret;
	spin_unlock(&ctx->lock);
	return 0;
}

static struct mrl_layout *mrl_layout_find(struct mrl_ctx *ctx,
					  struct file *file)
{
	struct mrl_layout *layout;

	list_for_each_entry(layout, &ctx->layouts, ctx_node)
		if (file_inode(layout->file) == file_inode(file))
			return layout;
	return NULL;
}

static void mrl_layout_put(struct mrl_layout *layout)
{
	struct mrl_ctx *ctx = layout->ctx;

	if (--layout->users)
		return;
	list_del(&layout->ctx_node);
	/*
	 * fput() would remove the file lease too, but only once the file is
	 * freed, maybe later: lm_break must never see @layout after kfree().
	 */
	spin_lock(&ctx->lock);
	layout->unused = true;
	spin_unlock(&ctx->lock);
	/* A register + unregister need not wait for a kernel worker. */
	if (!mrl_layout_release_now(layout))
		queue_work(mrl_wq, &layout->release_work);
	/* Nor may one queued before outlive @layout. */
	flush_work(&layout->release_work);
	fput(layout->file);
	kfree(layout);
}

/* Unhook @lease from its layout, if any.  Under ctx->mutex. */
void mrl_layout_detach(struct mrl_lease *lease)
{
	struct mrl_layout *layout = mrl_lease_layout(lease);
	struct mrl_ctx *ctx = lease->ctx;

	if (!layout)
		return;
	spin_lock(&ctx->lock);
	list_del_init(&lease->file->layout_node);
	lease->file->layout = NULL;
	mrl_layout_settle(layout);
	spin_unlock(&ctx->lock);
	mrl_layout_put(layout);
}

/*
 * Guard @lease with a layout lease on @file (a reference we consume; NULL
 * for memory that is not a file).  Under ctx->mutex, at every arm.
 */
int mrl_layout_attach(struct mrl_lease *lease, struct file *file)
{
	struct mrl_layout *layout = mrl_lease_layout(lease);
	struct mrl_ctx *ctx = lease->ctx;

	if (layout && file && file_inode(layout->file) == file_inode(file)) {
		fput(file);
		return mrl_layout_take(layout);
	}
	mrl_layout_detach(lease);
	if (!file)
		return 0;

	layout = mrl_layout_find(ctx, file);
	if (layout) {
		fput(file);
	} else {
		layout = kzalloc(sizeof(*layout), GFP_KERNEL_ACCOUNT);
		if (!layout) {
			fput(file);
			return -ENOMEM;
		}
		layout->ctx = ctx;
		layout->file = file;
		INIT_LIST_HEAD(&layout->leases);
		INIT_WORK(&layout->release_work, mrl_layout_release_work);
		list_add(&layout->ctx_node, &ctx->layouts);
	}
	layout->users++;
	/* The arm that found @file gave the lease its file part. */
	spin_lock(&ctx->lock);
	lease->file->layout = layout;
	list_add(&lease->file->layout_node, &layout->leases);
	spin_unlock(&ctx->lock);
	return mrl_layout_take(layout);
}
