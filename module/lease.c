// SPDX-License-Identifier: GPL-2.0
/*
 * Lease objects and their state machine:
 *
 *   ARMED --break--> BROKEN --ack--> ACKED --restore--> ARMED
 *                      `--timeout--> REVOKED --restore--'
 *
 * A lease in state 0 is being armed (register or restore): the notifier
 * ignores it, and the arm retries if the range changed meanwhile.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/magic.h>
#include <linux/slab.h>

#include "compat.h"
#include "mrlease.h"

/* An arm that keeps racing with changes of its own range gives up. */
#define MRL_ARM_ATTEMPTS	8

static struct mrl_lease *mrl_lease_lookup(struct mrl_ctx *ctx, u64 id)
{
	lockdep_assert_held(&ctx->mutex);

	if (!id || id > U32_MAX)
		return NULL;
	return xa_load(&ctx->leases, id);
}

/* Detach the pins so that whoever holds them can drop them unlocked. */
static struct mrl_pins mrl_lease_take_pins(struct mrl_lease *lease)
{
	struct mrl_pins pins = lease->pins;

	lockdep_assert_held(&lease->ctx->lock);
	memset(&lease->pins, 0, sizeof(lease->pins));
	return pins;
}

/*
 * Leave the BROKEN state: the pins go to the caller, the unread record is
 * moot.  Under ctx->lock.
 */
static struct mrl_pins mrl_lease_leave_broken(struct mrl_lease *lease,
					      u32 state)
{
	struct mrl_ctx *ctx = lease->ctx;

	lockdep_assert_held(&ctx->lock);
	if (lease->state == MRLEASE_STATE_BROKEN)
		WRITE_ONCE(ctx->status->broken, ctx->status->broken - 1);
	lease->state = state;
	mrl_event_dequeue(ctx, lease);
	return mrl_lease_take_pins(lease);
}

static void mrl_lease_unpin_work(struct work_struct *work)
{
	struct mrl_lease *lease = container_of(work, struct mrl_lease,
					       unpin_work);
	struct mrl_pins pins;

	spin_lock(&lease->ctx->lock);
	pins = mrl_lease_take_pins(lease);
	spin_unlock(&lease->ctx->lock);
	mrl_pins_put(lease->ctx->mm, &pins);
}

/* No ack within the break timeout: revoke, so the breaker can go on. */
static void mrl_lease_timeout_work(struct work_struct *work)
{
	struct mrl_lease *lease = container_of(to_delayed_work(work),
					       struct mrl_lease, timeout_work);
	struct mrl_ctx *ctx = lease->ctx;
	struct mrl_pins pins = {};

	spin_lock(&ctx->lock);
	if (lease->state == MRLEASE_STATE_BROKEN) {
		pins = mrl_lease_leave_broken(lease, MRLEASE_STATE_REVOKED);
		lease->event.type = MRLEASE_EVENT_REVOKED;
		lease->event.reason = MRLEASE_REASON_TIMEOUT;
		lease->event.flags |= MRLEASE_EVENT_F_UNPINNED;
		mrl_event_queue(ctx, lease);
	}
	spin_unlock(&ctx->lock);
	mrl_pins_put(ctx->mm, &pins);
}

static void mrl_event_fill_breaker(struct mrl_ctx *ctx,
				   struct mrlease_event *ev)
{
	if (current->flags & PF_KTHREAD) {
		ev->flags |= MRLEASE_EVENT_F_KTHREAD;
		ev->breaker_pid = 0;
	} else {
		ev->breaker_pid = task_tgid_nr_ns(current, ctx->pid_ns);
	}
	get_task_comm(ev->breaker_comm, current);
}

/*
 * Called from the notifier, under ctx->lock, for a change of the
 * translation of [start, end).  Never sleeps.
 */
void mrl_lease_break(struct mrl_lease *lease, u32 reason, unsigned long start,
		     unsigned long end)
{
	struct mrl_ctx *ctx = lease->ctx;
	struct mrlease_event *ev = &lease->event;
	bool exiting = reason == MRLEASE_REASON_EXIT;
	bool self;

	lockdep_assert_held(&ctx->lock);
	start = max(start, lease->start);
	end = min(end, lease->end);
	if (start >= end)
		return;

	if (lease->state != MRLEASE_STATE_ARMED) {
		/* Widen a record the holder has not read yet. */
		if (lease->state == MRLEASE_STATE_BROKEN &&
		    !list_empty(&lease->event_node)) {
			u64 ev_end = max_t(u64, ev->start + ev->length, end);

			ev->start = min_t(u64, ev->start, start);
			ev->length = ev_end - ev->start;
			mrl_event_queue(ctx, lease);
		}
		/* A dying holder cannot ack: let the breaker go now. */
		if (exiting && lease->pins.pages)
			schedule_work(&lease->unpin_work);
		return;
	}

	lease->state = MRLEASE_STATE_BROKEN;
	lease->breaks++;
	WRITE_ONCE(ctx->status->broken, ctx->status->broken + 1);

	memset(ev, 0, sizeof(*ev));
	ev->type = MRLEASE_EVENT_DECOHERENCE;
	ev->reason = reason;
	ev->id = lease->id;
	ev->cookie = lease->cookie;
	ev->generation = lease->generation;
	ev->start = start;
	ev->length = end - start;
	mrl_event_fill_breaker(ctx, ev);

	/* exit_mmap() runs after current->mm was cleared. */
	self = exiting || current->mm == ctx->mm;
	if (self)
		ev->flags |= MRLEASE_EVENT_F_SELF;

	if (lease->pins.pages) {
		if (exiting ||
		    (self && !(lease->flags & MRLEASE_REG_WAIT_SELF))) {
			/* Never make the holder wait on itself. */
			ev->flags |= MRLEASE_EVENT_F_UNPINNED;
			schedule_work(&lease->unpin_work);
		} else {
			mod_delayed_work(system_wq, &lease->timeout_work,
					 msecs_to_jiffies(lease->timeout_ms));
		}
	}
	mrl_event_queue(ctx, lease);
}

/* vma_is_shmem() is not exported; tmpfs and shared anonymous memory are. */
static bool mrl_vma_is_shmem(struct vm_area_struct *vma)
{
	return vma->vm_file &&
	       file_inode(vma->vm_file)->i_sb->s_magic == TMPFS_MAGIC;
}

static void mrl_lease_note_backing(struct mrl_lease *lease,
				   struct vm_area_struct *vma)
{
	struct inode *inode;

	lease->dev = 0;
	lease->ino = 0;
	lease->offset = 0;
	if (vma_is_anonymous(vma)) {
		lease->backing = MRLEASE_BACKING_ANON;
		return;
	}
	if (mrl_vma_is_shmem(vma))
		lease->backing = MRLEASE_BACKING_SHMEM;
	else if (vma_is_fsdax(vma))
		lease->backing = MRLEASE_BACKING_FSDAX;
	else
		lease->backing = MRLEASE_BACKING_FILE;
	if (!vma->vm_file)
		return;
	inode = file_inode(vma->vm_file);
	lease->dev = new_encode_dev(inode->i_sb->s_dev);
	lease->ino = inode->i_ino;
	lease->offset = ((u64)vma->vm_pgoff << PAGE_SHIFT) +
			(lease->start - vma->vm_start);
}

/*
 * Check that the lease's range is fully mapped by ordinary memory and
 * choose how to pin it: FOLL_LONGTERM only for anonymous and shmem memory
 * (fsdax refuses long-term pins, and newer kernels refuse them for shared
 * page-cache mappings), FOLL_WRITE only if every part is writable.
 */
static int mrl_lease_check_range(struct mrl_lease *lease,
				 unsigned int *gup_flags)
{
	struct mm_struct *mm = lease->ctx->mm;
	struct vm_area_struct *vma;
	unsigned long addr = lease->start;
	unsigned int flags = FOLL_WRITE | FOLL_LONGTERM;
	int ret = 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = find_vma(mm, addr);
	while (addr < lease->end) {
		if (!vma || vma->vm_start > addr) {
			ret = -EFAULT;
			break;
		}
		if (vma->vm_flags & (VM_IO | VM_PFNMAP)) {
			ret = -EACCES;
			break;
		}
		if (addr == lease->start)
			mrl_lease_note_backing(lease, vma);
		if (!(vma->vm_flags & VM_WRITE))
			flags &= ~FOLL_WRITE;
		if (vma->vm_file && !mrl_vma_is_shmem(vma))
			flags &= ~FOLL_LONGTERM;
		addr = vma->vm_end;
		vma = find_vma(mm, addr);
	}
	mmap_read_unlock(mm);
	*gup_flags = flags;
	return ret;
}

/*
 * Validate, pin and arm.  The interval notifier's sequence tells whether the
 * range changed between the check and the moment the lease is armed; then
 * the pins may be of stale pages and the arm starts over.
 */
static int mrl_lease_arm(struct mrl_ctx *ctx, struct mrl_lease *lease)
{
	struct mrl_pins pins = {};
	unsigned int gup_flags;
	unsigned long seq;
	int attempt, ret;

	for (attempt = 0; attempt < MRL_ARM_ATTEMPTS; attempt++) {
		seq = mmu_interval_read_begin(&lease->notifier);
		ret = mrl_lease_check_range(lease, &gup_flags);
		if (ret)
			return ret;
		if (lease->flags & MRLEASE_REG_PIN) {
			ret = mrl_pins_get(ctx->mm, lease->start, lease->end,
					   gup_flags, &pins);
			if (ret)
				return ret;
		}

		spin_lock(&ctx->lock);
		if (!mmu_interval_read_retry(&lease->notifier, seq)) {
			lease->pins = pins;
			lease->state = MRLEASE_STATE_ARMED;
			lease->generation++;
			spin_unlock(&ctx->lock);
			return 0;
		}
		spin_unlock(&ctx->lock);
		mrl_pins_put(ctx->mm, &pins);
	}
	return -EAGAIN;
}

/* Tear a lease down.  Its id must already be gone from ctx->leases. */
static void mrl_lease_destroy(struct mrl_ctx *ctx, struct mrl_lease *lease)
{
	struct mrl_pins pins;

	/* Waits for a running callback; none can start after it. */
	mmu_interval_notifier_remove(&lease->notifier);
	cancel_work_sync(&lease->unpin_work);
	cancel_delayed_work_sync(&lease->timeout_work);

	spin_lock(&ctx->lock);
	pins = mrl_lease_leave_broken(lease, 0);
	spin_unlock(&ctx->lock);
	mrl_pins_put(ctx->mm, &pins);

	ctx->nr_leases--;
	mrl_user_uncharge_lease(ctx->user);
	kfree(lease);
}

static int mrl_range_from_user(u64 addr, u64 len, unsigned long *start,
			       unsigned long *end)
{
	u64 last;

	if (!len || check_add_overflow(addr, len, &last) || last > TASK_SIZE)
		return -EINVAL;
	*start = round_down(addr, PAGE_SIZE);
	*end = round_up(last, PAGE_SIZE);
	return 0;
}

int mrl_lease_register(struct mrl_ctx *ctx, struct mrlease_register *reg)
{
	struct mrl_lease *lease;
	unsigned long start, end;
	u32 id;
	int ret;

	if (reg->flags & ~MRLEASE_REG_ALL)
		return -EINVAL;
	if (((reg->flags & MRLEASE_REG_PIN) &&
	     !(ctx->features & MRLEASE_FEATURE_PIN)) ||
	    ((reg->flags & MRLEASE_REG_WAIT_SELF) &&
	     !(ctx->features & MRLEASE_FEATURE_WAIT_SELF)))
		return -EOPNOTSUPP;
	if (reg->timeout_ms > MRL_MAX_TIMEOUT_MS)
		return -EINVAL;
	ret = mrl_range_from_user(reg->addr, reg->len, &start, &end);
	if (ret)
		return ret;
	if (current->mm != ctx->mm)
		return -EPERM;

	lease = kzalloc(sizeof(*lease), GFP_KERNEL_ACCOUNT);
	if (!lease)
		return -ENOMEM;
	lease->ctx = ctx;
	lease->flags = reg->flags;
	lease->timeout_ms = reg->timeout_ms ? :
		clamp(READ_ONCE(mrl_break_timeout_ms), 1U, MRL_MAX_TIMEOUT_MS);
	lease->start = start;
	lease->end = end;
	lease->cookie = reg->cookie;
	INIT_LIST_HEAD(&lease->event_node);
	INIT_WORK(&lease->unpin_work, mrl_lease_unpin_work);
	INIT_DELAYED_WORK(&lease->timeout_work, mrl_lease_timeout_work);

	mutex_lock(&ctx->mutex);
	if (ctx->nr_leases >= READ_ONCE(mrl_max_leases_per_ctx)) {
		ret = -EMFILE;
		goto free_lease;
	}
	if (!mrl_user_charge_lease(ctx->user)) {
		ret = -EUSERS;
		goto free_lease;
	}
	/* Reserve the id; the lease is published once it is armed. */
	ret = xa_alloc_cyclic(&ctx->leases, &id, NULL, xa_limit_32b,
			      &ctx->next_id, GFP_KERNEL_ACCOUNT);
	if (ret < 0)
		goto uncharge_user;
	lease->id = id;
	ret = mmu_interval_notifier_insert(&lease->notifier, ctx->mm, start,
					   end - start, &mrl_notifier_ops);
	if (ret)
		goto release_id;
	ctx->nr_leases++;

	ret = mrl_lease_arm(ctx, lease);
	if (ret) {
		xa_erase(&ctx->leases, id);
		mrl_lease_destroy(ctx, lease);
		goto unlock;
	}
	xa_store(&ctx->leases, id, lease, GFP_KERNEL_ACCOUNT);
	reg->id = id;
	reg->generation = lease->generation;
	goto unlock;

release_id:
	xa_erase(&ctx->leases, id);
uncharge_user:
	mrl_user_uncharge_lease(ctx->user);
free_lease:
	kfree(lease);
unlock:
	mutex_unlock(&ctx->mutex);
	return ret;
}

int mrl_lease_unregister(struct mrl_ctx *ctx, const struct mrlease_lease_ref *ref)
{
	struct mrl_lease *lease;

	if (ref->generation || ref->flags || ref->reserved)
		return -EINVAL;
	mutex_lock(&ctx->mutex);
	lease = mrl_lease_lookup(ctx, ref->id);
	if (lease) {
		xa_erase(&ctx->leases, lease->id);
		mrl_lease_destroy(ctx, lease);
	}
	mutex_unlock(&ctx->mutex);
	return lease ? 0 : -ENOENT;
}

int mrl_lease_ack(struct mrl_ctx *ctx, const struct mrlease_lease_ref *ref)
{
	struct mrl_pins pins = {};
	struct mrl_lease *lease;
	int ret;

	if (ref->flags || ref->reserved)
		return -EINVAL;
	mutex_lock(&ctx->mutex);
	lease = mrl_lease_lookup(ctx, ref->id);
	if (!lease) {
		ret = -ENOENT;
		goto unlock;
	}
	spin_lock(&ctx->lock);
	if (ref->generation != lease->generation)
		ret = -ESTALE;
	else if (lease->state == MRLEASE_STATE_REVOKED)
		ret = -ETIMEDOUT;
	else if (lease->state != MRLEASE_STATE_BROKEN)
		ret = -EINVAL;
	else
		ret = 0;
	if (!ret)
		pins = mrl_lease_leave_broken(lease, MRLEASE_STATE_ACKED);
	spin_unlock(&ctx->lock);
	if (!ret) {
		/* The timeout work rechecks the state: no need to wait. */
		cancel_delayed_work(&lease->timeout_work);
		mrl_pins_put(ctx->mm, &pins);
	}
unlock:
	mutex_unlock(&ctx->mutex);
	return ret;
}

int mrl_lease_restore(struct mrl_ctx *ctx, struct mrlease_restore *res)
{
	struct mrl_pins pins = {};
	struct mrl_lease *lease;
	u32 prev_state;
	int ret;

	if (res->flags || res->reserved)
		return -EINVAL;
	if (current->mm != ctx->mm)
		return -EPERM;
	mutex_lock(&ctx->mutex);
	lease = mrl_lease_lookup(ctx, res->id);
	if (!lease) {
		ret = -ENOENT;
		goto unlock;
	}
	spin_lock(&ctx->lock);
	prev_state = lease->state;
	if (prev_state == MRLEASE_STATE_ARMED) {
		spin_unlock(&ctx->lock);
		ret = -EBUSY;
		goto unlock;
	}
	/* Restoring a BROKEN lease acks it. */
	if (prev_state == MRLEASE_STATE_BROKEN)
		prev_state = MRLEASE_STATE_ACKED;
	pins = mrl_lease_leave_broken(lease, 0);
	spin_unlock(&ctx->lock);
	/* Old pins go first: a waiting breaker must finish before we re-pin. */
	mrl_pins_put(ctx->mm, &pins);
	/* Neither may act on the pins and state the arm is about to set. */
	cancel_work_sync(&lease->unpin_work);
	cancel_delayed_work_sync(&lease->timeout_work);

	ret = mrl_lease_arm(ctx, lease);
	if (ret) {
		spin_lock(&ctx->lock);
		lease->state = prev_state;
		spin_unlock(&ctx->lock);
		goto unlock;
	}
	res->generation = lease->generation;
unlock:
	mutex_unlock(&ctx->mutex);
	return ret;
}

int mrl_lease_query(struct mrl_ctx *ctx, struct mrlease_query *q)
{
	struct mrl_lease *lease;

	if (q->flags)
		return -EINVAL;
	mutex_lock(&ctx->mutex);
	lease = mrl_lease_lookup(ctx, q->id);
	if (!lease) {
		mutex_unlock(&ctx->mutex);
		return -ENOENT;
	}
	q->addr = lease->start;
	q->len = lease->end - lease->start;
	q->cookie = lease->cookie;
	q->lease_flags = lease->flags;
	q->backing = lease->backing;
	q->dev = lease->dev;
	q->ino = lease->ino;
	q->offset = lease->offset;
	q->timeout_ms = lease->timeout_ms;
	spin_lock(&ctx->lock);
	q->state = lease->state;
	q->generation = lease->generation;
	q->pinned_pages = lease->pins.nr;
	q->breaks = lease->breaks;
	spin_unlock(&ctx->lock);
	mutex_unlock(&ctx->mutex);
	return 0;
}

void mrl_lease_destroy_all(struct mrl_ctx *ctx)
{
	struct mrl_lease *lease;
	unsigned long id;

	mutex_lock(&ctx->mutex);
	xa_for_each(&ctx->leases, id, lease) {
		xa_erase(&ctx->leases, id);
		mrl_lease_destroy(ctx, lease);
		cond_resched();
	}
	mutex_unlock(&ctx->mutex);
}
