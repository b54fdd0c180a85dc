// SPDX-License-Identifier: GPL-2.0
/*
 * Lease objects and their state machine:
 *
 *   ARMING --arm--> ARMED --break--> BROKEN --ack--> ACKED --restore--.
 *     ^                                `--timeout--> REVOKED --restore-+
 *     `----------------------------------------------------------------'
 *   any state --unregister/close/exit--> DYING --> freed
 *
 * Who moves a lease, under which lock:
 *  - ARMING -> ARMED: the arm (register, restore), under ctx->mutex and
 *    ctx->lock, only if no invalidation touched the range meanwhile.
 *  - ARMED -> BROKEN: the mm notifier, lm_break, a page-table check or an
 *    administrator's revoke, under ctx->lock; only from ARMED.
 *  - BROKEN -> ACKED (ack), BROKEN -> REVOKED (timeout work, revoke),
 *    BROKEN/ACKED/REVOKED -> ARMING (restore): under ctx->lock.
 *  - any -> DYING: destroy, under ctx->mutex and ctx->lock, after the lease
 *    left the registry.  Every path that breaks a lease or queues its work
 *    acts only on an ARMED or BROKEN lease, so once DYING nothing can queue
 *    work again, and the work items are cancelled after that, never before.
 *
 * The life of a break: the mm notifier (notifier.c, mrl_lease_invalidate())
 * or a file-layout lease's lm_break (filelease.c) finds an ARMED lease and
 * breaks it (mrl_lease_break()): its validity word is cleared, its record
 * queued and the fd woken; pins that must not wait go at once.  The holder
 * reads the record, quiesces its DMA and acks (mrl_lease_ack()): the pins
 * and, once no lease of the file waits for its ack, the file-layout lease
 * are given back, and the breaker goes on.  No ack within the timeout:
 * the lease is REVOKED the same way.  A restore (mrl_lease_restore())
 * arms the lease again on the new pages (arm.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "compat.h"
#include "mrlease.h"
#include "trace.h"

static void mrl_lease_record_work(struct work_struct *work);

/* A lease's statistics count up to U32_MAX and stay there. */
static void mrl_count(u32 *count)
{
	if (*count != U32_MAX)
		(*count)++;
}

struct mrl_lease *mrl_lease_lookup(struct mrl_ctx *ctx, u64 id)
{
	lockdep_assert_held(&ctx->mutex);
	return mrl_registry_find_own(ctx, id);
}

/*
 * Detach the pins so that whoever holds them can drop them unlocked.  Their
 * DAX pages go now: from here on the notifier cannot find them, and the
 * holder's munmap in another thread could return and the file be truncated
 * before the caller gets to drop them (see mrl_pins_unpin_dax()).
 */
struct mrl_pins *mrl_lease_take_pins(struct mrl_lease *lease)
{
	struct mrl_pins *pins = lease->pins;

	lockdep_assert_held(&lease->ctx->lock);
	lease->pins = NULL;
	if (pins) {
		mrl_pins_unpin_dax(pins);
		if (pins->fsdax)
			lease->ctx->fsdax_pins--;
	}
	return pins;
}

/*
 * Break timeouts: one work per context, and its BROKEN leases in a tree
 * ordered by deadline, so that a lease carries 32 bytes for its timeout
 * rather than a delayed work item of 88, and however many leases a
 * context breaks at once, with whatever timeouts, each costs O(log n).
 * The work runs at the earliest deadline.  It is (re)scheduled under
 * ctx->lock only, so that it never ends up later than the earliest.
 */
static void mrl_lease_timeout_start(struct mrl_lease *lease)
{
	struct mrl_ctx *ctx = lease->ctx;
	struct mrl_lease_break *brk = lease->brk;
	struct rb_node **link = &ctx->deadlines.rb_root.rb_node, *parent = NULL;
	unsigned long now = jiffies;
	bool leftmost = true;

	lockdep_assert_held(&ctx->lock);
	brk->deadline = now + msecs_to_jiffies(mrl_lease_timeout_ms(lease));
	while (*link) {
		struct mrl_lease_break *other =
			rb_entry(*link, struct mrl_lease_break, deadline_node);

		parent = *link;
		if (time_before(brk->deadline, other->deadline)) {
			link = &parent->rb_left;
		} else {
			link = &parent->rb_right;
			leftmost = false;
		}
	}
	rb_link_node(&brk->deadline_node, parent, link);
	rb_insert_color_cached(&brk->deadline_node, &ctx->deadlines, leftmost);
	if (leftmost)
		mod_delayed_work(mrl_wq, &ctx->timeout_work,
				 brk->deadline - now);
}

/* The ack, a revoke, a restore or the end came first.  Under ctx->lock. */
static void mrl_lease_timeout_stop(struct mrl_lease *lease)
{
	struct mrl_lease_break *brk = lease->brk;

	lockdep_assert_held(&lease->ctx->lock);
	if (!brk || RB_EMPTY_NODE(&brk->deadline_node))
		return;
	rb_erase_cached(&brk->deadline_node, &lease->ctx->deadlines);
	RB_CLEAR_NODE(&brk->deadline_node);
}

/* The parts leases get at their first break (struct mrl_lease_break). */
static struct kmem_cache *mrl_lease_break_cache;

static struct mrl_lease_break *mrl_lease_break_alloc(struct mrl_lease *lease,
						     gfp_t gfp)
{
	struct mrl_lease_break *brk;

	brk = kmem_cache_zalloc(mrl_lease_break_cache, gfp);
	if (!brk)
		return NULL;
	brk->lease = lease;
	INIT_LIST_HEAD(&brk->event_node);
	INIT_LIST_HEAD(&brk->ntf_node);
	RB_CLEAR_NODE(&brk->deadline_node);
	return brk;
}

static void mrl_lease_break_free(struct mrl_lease_break *brk)
{
	if (brk)
		kmem_cache_free(mrl_lease_break_cache, brk);
}

/*
 * A break that found no memory for its record (mrl_lease_break()) stops
 * waiting for it: recorded, or the lease left BROKEN.  Under ctx->lock.
 */
static void mrl_lease_unrecorded_end(struct mrl_lease *lease)
{
	struct mrl_ctx *ctx = lease->ctx;

	if (!lease->unrecorded_reason)
		return;
	lease->unrecorded_reason = 0;
	ctx->unrecorded--;
	mrl_event_expect_end(ctx);
}

/*
 * Leave the BROKEN state: the pins go to the caller, the unread record is
 * moot.  Under ctx->lock.
 */
static struct mrl_pins *mrl_lease_leave_broken(struct mrl_lease *lease,
					       u32 state)
{
	struct mrl_ctx *ctx = lease->ctx;
	bool was_broken = lease->state == MRLEASE_STATE_BROKEN;

	lockdep_assert_held(&ctx->lock);
	lease->state = state;
	mrl_word_clear(lease);
	mrl_event_dequeue(ctx, lease);
	mrl_lease_unrecorded_end(lease);
	mrl_lease_timeout_stop(lease);
	if (was_broken) {
		WRITE_ONCE(ctx->status->broken, ctx->status->broken - 1);
		if (mrl_lease_layout(lease))
			mrl_layout_settle(mrl_lease_layout(lease));
	}
	return mrl_lease_take_pins(lease);
}

/*
 * The monitor group hears of breaks from a work item per context: a break
 * happens under ctx->lock, in the notifier, where no message can be built.
 * Broken leases wait on ctx->ntf_leases for it.  Take @lease off that list:
 * true if its break was not told yet, for a caller that is about to tell
 * what came after it (ack, restore, revoke) and tells the break first.
 * Under ctx->lock.
 */
static bool mrl_lease_ntf_unqueue(struct mrl_lease *lease)
{
	lockdep_assert_held(&lease->ctx->lock);
	if (!lease->brk || list_empty(&lease->brk->ntf_node))
		return false;
	list_del_init(&lease->brk->ntf_node);
	return true;
}

/*
 * Before @lease leaves BROKEN (ack, restore, revoke), under ctx->lock: if
 * the monitor group has not heard of its break yet, take it and keep a
 * snapshot of the lease as it broke for mrl_lease_ntf_tell().
 */
static bool mrl_lease_ntf_take(struct mrl_lease *lease,
			       struct mrl_lease_snapshot *snap)
{
	if (!mrl_lease_ntf_unqueue(lease))
		return false;
	mrl_lease_snapshot_locked(lease, snap, &init_pid_ns);
	return true;
}

/*
 * Once the lock is dropped, and before what came after the break is told:
 * the break, by us if we took it, else by the work, which may be telling
 * it right now: @wait for it, unless we are a work of mrl_wq ourselves
 * (waiting there for another could deadlock once the queue's max_active
 * works all wait).
 */
static void mrl_lease_ntf_tell(struct mrl_ctx *ctx, bool taken,
			       struct mrl_lease_snapshot *snap, bool wait)
{
	if (taken) {
		mrl_netlink_notify_snapshot(snap, MRLEASE_NTF_BREAK);
		mrl_lease_snapshot_put(snap);
	} else if (wait && mrl_netlink_has_listeners()) {
		flush_work(&ctx->ntf_work);
	}
}

static void mrl_lease_ntf_work(struct work_struct *work)
{
	struct mrl_ctx *ctx = container_of(work, struct mrl_ctx, ntf_work);
	struct mrl_lease_snapshot snap;
	struct mrl_lease_break *brk;

	for (;;) {
		spin_lock(&ctx->lock);
		brk = list_first_entry_or_null(&ctx->ntf_leases,
					       struct mrl_lease_break, ntf_node);
		if (brk) {
			list_del_init(&brk->ntf_node);
			mrl_lease_snapshot_locked(brk->lease, &snap,
						  &init_pid_ns);
		}
		spin_unlock(&ctx->lock);
		if (!brk)
			return;
		mrl_netlink_notify_snapshot(&snap, MRLEASE_NTF_BREAK);
		mrl_lease_snapshot_put(&snap);
		cond_resched();
	}
}

/*
 * BROKEN -> REVOKED, as after a break timeout: the pins go to the caller so
 * that the breaker can go on.  Only for a lease with its break part (a
 * lease in the deadline tree has it).  Under ctx->lock.
 */
static struct mrl_pins *mrl_lease_revoke_locked(struct mrl_lease *lease,
						u32 reason,
						struct mrl_lease_snapshot *brk_snap,
						bool *brk_taken)
{
	struct mrl_record *rec = &lease->brk->record;
	struct mrl_pins *pins;

	*brk_taken = mrl_lease_ntf_take(lease, brk_snap);
	pins = mrl_lease_leave_broken(lease, MRLEASE_STATE_REVOKED);
	mrl_count(&lease->brk->revokes);
	atomic64_inc(&mrl_stats.revokes);
	trace_mrlease_revoke(lease->id, reason);
	rec->type = MRLEASE_EVENT_REVOKED;
	rec->reason = reason;
	rec->flags |= MRLEASE_EVENT_F_UNPINNED;
	mrl_event_queue(lease->ctx, lease);
	return pins;
}

/*
 * No ack within the break timeout: revoke, so the breaker can go on.  One
 * lease at a time, the lock dropped in between.  A lease found in the tree
 * under ctx->lock is not DYING yet; the monitor group's snapshot of it is
 * taken before the lock goes, as an unregister may free it after.  The
 * context outlives the work (close cancels it once every lease is gone).
 */
static void mrl_lease_timeout_work(struct work_struct *work)
{
	struct mrl_ctx *ctx = container_of(to_delayed_work(work),
					   struct mrl_ctx, timeout_work);

	for (;;) {
		struct mrl_lease_snapshot snap, brk_snap;
		struct mrl_lease *lease = NULL;
		struct mrl_pins *pins;
		struct rb_node *node;
		unsigned long now;
		bool notify, taken;

		mrl_race_window("timeout: fired, not revoked", false);
		spin_lock(&ctx->lock);
		node = rb_first_cached(&ctx->deadlines);
		now = jiffies;
		if (node) {
			struct mrl_lease_break *first =
				rb_entry(node, struct mrl_lease_break,
					 deadline_node);

			if (time_before(now, first->deadline))
				mod_delayed_work(mrl_wq, &ctx->timeout_work,
						 first->deadline - now);
			else
				lease = first->lease;
		}
		if (!lease) {
			spin_unlock(&ctx->lock);
			return;
		}
		pins = mrl_lease_revoke_locked(lease, MRLEASE_REASON_TIMEOUT,
					       &brk_snap, &taken);
		/* Only under the lock: an unregister may free it after. */
		notify = mrl_netlink_has_listeners();
		if (notify)
			mrl_lease_snapshot_locked(lease, &snap, &init_pid_ns);
		spin_unlock(&ctx->lock);
		/* A kworker must not wait on a page lock user space may hold. */
		mrl_pins_put_deferred(pins);
		mrl_lease_ntf_tell(ctx, taken, &brk_snap, false);
		if (notify) {
			mrl_netlink_notify_snapshot(&snap, MRLEASE_NTF_REVOKE);
			mrl_lease_snapshot_put(&snap);
		}
		cond_resched();
	}
}

void mrl_lease_ctx_init(struct mrl_ctx *ctx)
{
	ctx->deadlines = RB_ROOT_CACHED;
	INIT_DELAYED_WORK(&ctx->timeout_work, mrl_lease_timeout_work);
	INIT_LIST_HEAD(&ctx->ntf_leases);
	INIT_WORK(&ctx->ntf_work, mrl_lease_ntf_work);
	INIT_DELAYED_WORK(&ctx->record_work, mrl_lease_record_work);
}

/*
 * How long a break of @lease waits for its ack: what the lease asked, capped
 * by the administrator's ceiling unless CAP_SYS_ADMIN registered it.  Read
 * at each break, so a lowered ceiling holds for leases already registered.
 */
u32 mrl_lease_timeout_ms(const struct mrl_lease *lease)
{
	u32 ceiling = clamp(READ_ONCE(mrl_max_break_timeout_ms), 1U,
			    MRL_MAX_TIMEOUT_MS);

	return lease->admin ? lease->timeout_ms :
	       min(lease->timeout_ms, ceiling);
}

/* Does the range span pages of an fsdax file?  Under ctx->lock. */
bool mrl_lease_spans_fsdax(const struct mrl_lease *lease)
{
	return lease->backings & BIT(MRLEASE_BACKING_FSDAX);
}

/* Record who is changing a lease's range: the current task. */
void mrl_breaker_current(struct mrl_ctx *ctx, struct mrl_breaker *breaker)
{
	breaker->kthread = current->flags & PF_KTHREAD;
	breaker->pid = breaker->kthread ? 0 :
		       task_tgid_nr_ns(current, ctx->pid_ns);
	/* A task the holder cannot see stays anonymous. */
	if (breaker->pid || breaker->kthread)
		get_task_comm(breaker->comm, current);
	else
		memset(breaker->comm, 0, sizeof(breaker->comm));
	breaker->self = current->mm == ctx->mm;
	breaker->unrestartable = current->flags & (PF_KTHREAD | PF_IO_WORKER);
}

/*
 * Must a break keep the pins until the ack, making the breaker wait?
 * Never for a dying holder, which cannot ack.  For the holder's own changes
 * only with MRLEASE_REG_WAIT_SELF, and not when its mapping of an fsdax
 * file goes away: filesystems wait for busy DAX pages only while the file
 * is mapped, so a pin kept after the unmap would let a truncate free the
 * blocks under it.  For anyone else's only if the holder could take a
 * kernel lease on every file of the range (owner or CAP_LEASE).  Since
 * 6.15 never a kernel thread's or an io_uring worker's change of an fsdax
 * range: its wait could not be restarted should the holder's faults keep
 * the pages busy (daxwait.c), and would never end.
 */
static bool mrl_lease_keeps_pins(const struct mrl_lease *lease, u32 reason,
				 const struct mrl_breaker *breaker, bool self)
{
	if (reason == MRLEASE_REASON_EXIT)
		return false;
	if (MRL_COMPAT_DAX_WAIT_RESTARTS && breaker->unrestartable &&
	    mrl_lease_spans_fsdax(lease))
		return false;
	if (self)
		return (lease->flags & MRLEASE_REG_WAIT_SELF) &&
		       !(reason == MRLEASE_REASON_UNMAP &&
			 mrl_lease_spans_fsdax(lease));
	return lease->may_hold;
}

/*
 * Let go of the pins of a break that does not keep them.  Onto the chain
 * *@sync, for a caller that unpins them all once it dropped ctx->lock
 * (mrl_pins_put_chain()): the holder's own munmap, mremap, mmap(MAP_FIXED)
 * or exit, which holds no page lock, and whose pins must be gone (and
 * uncharged from RLIMIT_MEMLOCK) when it returns.  Otherwise the DAX pages
 * before we return, the rest from a work item (mrl_pins_put_deferred()).
 * Under ctx->lock.
 */
static void mrl_lease_drop_pins(struct mrl_lease *lease,
				struct mrl_pins **sync)
{
	struct mrl_pins *pins = mrl_lease_take_pins(lease);

	if (pins && sync) {
		pins->sync_next = *sync;
		*sync = pins;
	} else {
		mrl_pins_put_deferred(pins);
	}
}

/*
 * Record a break in the lease's break part: fill and queue its record, drop
 * the pins the break does not keep, start the ack timeout, tell the monitor
 * group.  Under ctx->lock; never sleeps.
 */
static void mrl_lease_break_record(struct mrl_lease *lease, u32 reason,
				   unsigned long start, unsigned long end,
				   const struct mrl_breaker *breaker, bool self,
				   struct mrl_pins **sync)
{
	struct mrl_ctx *ctx = lease->ctx;
	struct mrl_lease_break *brk = lease->brk;
	struct mrl_record *rec = &brk->record;

	mrl_count(&brk->breaks);
	brk->last_break_ns = ktime_get_real_ns();
	memset(rec, 0, sizeof(*rec));
	rec->type = MRLEASE_EVENT_DECOHERENCE;
	rec->reason = reason;
	rec->start = start;
	rec->length = end - start;
	rec->breaker_pid = breaker->pid;
	memcpy(rec->breaker_comm, breaker->comm, sizeof(rec->breaker_comm));
	if (breaker->kthread)
		rec->flags |= MRLEASE_EVENT_F_KTHREAD;
	if (self)
		rec->flags |= MRLEASE_EVENT_F_SELF;

	if (lease->pins && !mrl_lease_keeps_pins(lease, reason, breaker, self)) {
		rec->flags |= MRLEASE_EVENT_F_UNPINNED;
		mrl_lease_drop_pins(lease, sync);
	}
	/* Every broken lease is revoked if its ack does not come in time. */
	mrl_lease_timeout_start(lease);
	mrl_event_queue(ctx, lease);
	if (mrl_netlink_has_listeners() && list_empty(&brk->ntf_node)) {
		list_add_tail(&brk->ntf_node, &ctx->ntf_leases);
		queue_work(mrl_wq, &ctx->ntf_work);
	}
}

/*
 * Where a lease breaks: ARMED -> BROKEN, its validity word cleared, then
 * the break recorded (mrl_lease_break_record()).  The first break of a
 * lease allocates its break part here, without sleeping.  Should that
 * fail, the break still counts: the lease is BROKEN, its word cleared, and
 * a record is expected (the status page shows it pending, poll() reports
 * it, read() waits a little for it) until the context's record work finds
 * memory and records it, with the lease's whole range and no breaker.  Only
 * an unpinned lease with no file-layout lease can get here without its
 * part: no breaker waits for its ack.  Under ctx->lock; never sleeps.
 */
void mrl_lease_break(struct mrl_lease *lease, u32 reason,
		     unsigned long start, unsigned long end,
		     const struct mrl_breaker *breaker,
		     struct mrl_pins **sync)
{
	struct mrl_ctx *ctx = lease->ctx;
	bool exiting = reason == MRLEASE_REASON_EXIT;
	/* exit_mmap() runs after the holder's current->mm was cleared. */
	bool self = exiting || breaker->self;

	lockdep_assert_held(&ctx->lock);
	if (WARN_ON_ONCE(lease->state != MRLEASE_STATE_ARMED))
		return;

	lease->state = MRLEASE_STATE_BROKEN;
	/* Before anyone can learn of the break: the record, the breaker. */
	mrl_word_clear(lease);
	trace_mrlease_break(lease->id, reason, breaker->pid, breaker->comm, self);
	mrl_race_window("break: BROKEN, work not queued", true);
	atomic64_inc(&mrl_stats.breaks);
	WRITE_ONCE(ctx->status->broken, ctx->status->broken + 1);

	/* Not from the reserves, though reclaim (PF_MEMALLOC) may break. */
	if (!lease->brk && !mrl_race_nomem())
		WRITE_ONCE(lease->brk,
			   mrl_lease_break_alloc(lease, GFP_NOWAIT | __GFP_NOWARN |
						 __GFP_NOMEMALLOC));
	if (lease->brk) {
		mrl_lease_break_record(lease, reason, start, end, breaker,
				       self, sync);
		return;
	}
	lease->unrecorded_reason = reason;
	ctx->unrecorded++;
	mrl_event_expect(ctx);
	/* Pins come with a break part (mrl_lease_arm()); if not, let go. */
	mrl_lease_drop_pins(lease, sync);
	mod_delayed_work(mrl_wq, &ctx->record_work, 0);
}

/*
 * Give @lease the break part *@part (taken: *@part becomes NULL) unless it
 * has one.  A break that found no memory for its record is recorded now.
 * Under ctx->lock.
 */
static void mrl_lease_break_attach(struct mrl_lease *lease,
				   struct mrl_lease_break **part)
{
	static const struct mrl_breaker unknown;
	u32 reason = lease->unrecorded_reason;

	lockdep_assert_held(&lease->ctx->lock);
	if (lease->brk || lease->state == MRL_STATE_DYING)
		return;
	WRITE_ONCE(lease->brk, *part);
	*part = NULL;
	if (!reason)
		return;
	/* The record first, then it stops being expected. */
	mrl_lease_break_record(lease, reason, lease->it.start,
			       mrl_lease_end(lease), &unknown, false, NULL);
	mrl_lease_unrecorded_end(lease);
}

/*
 * Make sure @lease has its break part, in process context: at an arm that
 * pins or takes a file-layout lease (their breakers wait for the ack, so
 * their break must not need memory), and before an ack, restore or revoke
 * (which count in it).  Caller keeps the lease alive (ctx->mutex or the
 * registry lock).
 */
int mrl_lease_break_prepare(struct mrl_lease *lease)
{
	struct mrl_ctx *ctx = lease->ctx;
	struct mrl_lease_break *part;

	/* Set once, never cleared before the lease goes. */
	if (READ_ONCE(lease->brk))
		return 0;
	part = mrl_lease_break_alloc(lease, GFP_KERNEL_ACCOUNT);
	if (!part)
		return -ENOMEM;
	spin_lock(&ctx->lock);
	mrl_lease_break_attach(lease, &part);
	spin_unlock(&ctx->lock);
	mrl_lease_break_free(part);
	return 0;
}

/* How soon the record work tries again: no memory, or the mutex was held. */
#define MRL_RECORD_RETRY	msecs_to_jiffies(10)

/*
 * Record the breaks that found no memory (mrl_lease_break()): one walk of
 * the context's leases, which only register and destroy change, under
 * ctx->mutex.  Rare: GFP_NOWAIT fails only when memory is short.  A break
 * behind the walk queues the work again.  The mutex is only tried: its
 * holder may wait on user space (a fault in the arm's pinning), and a work
 * of mrl_wq must never wait for that, or a user could tie up the queue
 * every context's timeouts and file lease releases need.
 */
static void mrl_lease_record_work(struct work_struct *work)
{
	struct mrl_ctx *ctx = container_of(to_delayed_work(work),
					   struct mrl_ctx, record_work);
	struct mrl_lease_break *spare = NULL;
	struct rb_node *node;

	if (!mutex_trylock(&ctx->mutex)) {
		mod_delayed_work(mrl_wq, &ctx->record_work, MRL_RECORD_RETRY);
		return;
	}
	for (node = rb_first_cached(&ctx->itree); node; node = rb_next(node)) {
		struct mrl_lease *lease = rb_entry(node, struct mrl_lease,
						   it.rb);
		bool unrecorded, more;

		cond_resched();
		spin_lock(&ctx->lock);
		more = ctx->unrecorded;
		unrecorded = lease->unrecorded_reason;
		spin_unlock(&ctx->lock);
		if (!more)
			break;
		if (!unrecorded)
			continue;
		if (!spare)
			spare = mrl_lease_break_alloc(lease, GFP_KERNEL);
		if (!spare) {
			mod_delayed_work(mrl_wq, &ctx->record_work,
					 MRL_RECORD_RETRY);
			break;
		}
		spare->lease = lease;
		spin_lock(&ctx->lock);
		mrl_lease_break_attach(lease, &spare);
		spin_unlock(&ctx->lock);
	}
	mutex_unlock(&ctx->mutex);
	mrl_lease_break_free(spare);
}

/* A check of the page tables is over or moot.  Under ctx->lock. */
static void mrl_lease_verify_end(struct mrl_lease *lease)
{
	if (!lease->verify || !lease->verify->pending)
		return;
	lease->verify->pending = false;
	/* Nothing changed after all: valid again, with the same token. */
	if (lease->state == MRLEASE_STATE_ARMED)
		mrl_word_set(lease);
	mrl_event_expect_end(lease->ctx);
}

/*
 * Splitting a transparent huge page (an mprotect or munmap of part of it)
 * and failed attempts to migrate or merge pinned pages clear pinned
 * anonymous memory but map the very same pages again.  Before 5.18, the
 * write-back of a DAX page written through a mapping (fsync, msync, the
 * flusher, and every truncate and punch before it unmaps) write-protects
 * it with a notifier event of type CLEAR, too.  For such a clear, look at
 * the page tables once it is over and break only if the pinned pages are
 * no longer mapped.  The delay costs only the event's latency (a breaker
 * of an fsdax lease waits for the pins anyway), and the check counts as
 * pending in the status page until it is over: a holder that looks right
 * after its own madvise() returns sees it and reads (read() waits for the
 * check), so no DMA goes to a page that is gone.  Under ctx->lock.
 */
static bool mrl_lease_verify_first(struct mrl_lease *lease, u32 reason,
				   unsigned long start, unsigned long end,
				   const struct mrl_breaker *breaker)
{
	const u8 kinds = BIT(MRLEASE_BACKING_ANON) | BIT(MRLEASE_BACKING_FSDAX);
	/*
	 * Since 5.18 only anonymous memory needs the check: a clear of DAX
	 * pages is then a truncate, punch or unmap, and breaking at once
	 * spares the foreign breaker a work item's latency.
	 */
	const u8 needs = BIT(MRLEASE_BACKING_ANON) |
		(MRL_COMPAT_DAX_WRITEBACK_CLEARS ? BIT(MRLEASE_BACKING_FSDAX) : 0);

	struct mrl_verify *verify = lease->verify;

	if (reason != MRLEASE_REASON_CLEAR || !lease->pins || !verify ||
	    (lease->backings & ~kinds) || !(lease->backings & needs))
		return false;
	if (verify->pending) {
		verify->start = min(verify->start, start);
		verify->end = max(verify->end, end);
		return true;
	}
	verify->pending = true;
	/* Not valid while we do not know: a cache hit would send DMA there. */
	mrl_word_clear(lease);
	mrl_event_expect(lease->ctx);
	verify->reason = reason;
	verify->start = start;
	verify->end = end;
	verify->breaker = *breaker;
	/*
	 * On this CPU's system queue, not mrl_wq: the check then runs once
	 * the clearing task lets the CPU go, after the clears of one change
	 * (before 5.18 a punch's write-back clears and restores PTEs one by
	 * one), rather than between them.
	 */
	schedule_work(&verify->work);
	return true;
}

static void mrl_lease_verify_work(struct work_struct *work)
{
	struct mrl_verify *verify = container_of(work, struct mrl_verify,
						 work);
	struct mrl_lease *lease = verify->lease;
	struct mrl_ctx *ctx = lease->ctx;
	struct mrl_pins *pins = NULL;
	bool same = false;
	u32 changes = 0;

	spin_lock(&ctx->lock);
	if (lease->state == MRLEASE_STATE_ARMED && lease->pins)
		pins = mrl_pins_ref(lease->pins);
	spin_unlock(&ctx->lock);

	if (pins && mmget_not_zero(ctx->mm)) {
		kthread_use_mm(ctx->mm);
		/* Waits until the clear in progress is over. */
		changes = mrl_notifier_read_begin(ctx, lease);
		same = mrl_pins_mapped(pins, lease->it.start);
		kthread_unuse_mm(ctx->mm);
		mmput(ctx->mm);
	}
	mrl_pins_unref(pins);
	mrl_race_window("verify: looked, not decided", false);

	spin_lock(&ctx->lock);
	/*
	 * A truncate or hole punch of a DAX file unmaps it, then waits for
	 * our pins with its page lock dropped: a fault meanwhile maps the
	 * doomed page again and the page tables look the same.  It holds the
	 * file's i_rwsem throughout; write-back never takes it.  Which part
	 * such a change takes is not known yet (before 5.18 its own
	 * write-back clears come first, page by page): the record covers the
	 * whole lease, since the holder may read it before the unmap.
	 */
	if (same && lease->pins && mrl_files_changing(&lease->pins->files)) {
		same = false;
		verify->start = lease->it.start;
		verify->end = mrl_lease_end(lease);
	}
	if (verify->pending && lease->state == MRLEASE_STATE_ARMED) {
		if (!same) {
			/* Queue the record before the check stops counting. */
			mrl_lease_break(lease, verify->reason, verify->start,
					verify->end, &verify->breaker, NULL);
		} else if (mrl_notifier_changed(lease, changes)) {
			/* Cleared again while we looked: look again. */
			schedule_work(&verify->work);
			spin_unlock(&ctx->lock);
			return;
		}
	}
	mrl_lease_verify_end(lease);
	spin_unlock(&ctx->lock);
}

/*
 * The translation of [start, end) changed (the mm notifier, under
 * ctx->lock): decide what that means for the lease in its state.  An ARMED
 * one breaks, unless a page-table check may show the change left it alone
 * (mrl_lease_verify_first()); pins an arm has not armed yet go; a BROKEN
 * one's unread record widens.  Never sleeps.  @sync: see
 * mrl_lease_drop_pins().
 */
void mrl_lease_invalidate(struct mrl_lease *lease, u32 reason,
			  unsigned long start, unsigned long end,
			  struct mrl_pins **sync)
{
	struct mrl_ctx *ctx = lease->ctx;

	lockdep_assert_held(&ctx->lock);
	start = max(start, lease->it.start);
	end = min(end, mrl_lease_end(lease));
	if (start >= end)
		return;
	if (reason == MRLEASE_REASON_EXIT) {
		ctx->mm_exited = true;
		/* A breaker of the file must not wait for a dead holder. */
		if (mrl_lease_layout(lease))
			mrl_layout_settle(mrl_lease_layout(lease));
	}

	if (lease->state == MRLEASE_STATE_ARMED) {
		struct mrl_breaker breaker;

		mrl_breaker_current(ctx, &breaker);
		if (mrl_lease_verify_first(lease, reason, start, end, &breaker))
			return;
		mrl_lease_break(lease, reason, start, end, &breaker,
				sync);
		return;
	}
	/*
	 * Pins an arm took and has not armed yet may be of pages this change
	 * takes away: they go now, and the arm starts over.
	 */
	if (lease->state == MRL_STATE_ARMING) {
		mrl_lease_drop_pins(lease, sync);
		return;
	}
	/* Widen a record the holder has not read yet. */
	if (lease->state == MRLEASE_STATE_BROKEN && lease->brk &&
	    !list_empty(&lease->brk->event_node)) {
		struct mrl_record *rec = &lease->brk->record;
		u64 rec_end = max_t(u64, rec->start + rec->length, end);

		rec->start = min_t(u64, rec->start, start);
		rec->length = rec_end - rec->start;
		mrl_event_queue(ctx, lease);
	}
	/*
	 * A dying holder cannot ack, and the pins of an fsdax range must not
	 * outlive its mapping: let them go now.
	 */
	if (lease->state == MRLEASE_STATE_BROKEN &&
	    (reason == MRLEASE_REASON_EXIT ||
	     (reason == MRLEASE_REASON_UNMAP && mrl_lease_spans_fsdax(lease) &&
	      current->mm == ctx->mm))) {
		mrl_lease_drop_pins(lease, sync);
		return;
	}
	/*
	 * Nor may they keep a kernel thread's truncate waiting since 6.15
	 * (see mrl_lease_keeps_pins()): the DAX pins go, the rest stay for
	 * the ack.
	 */
	if (MRL_COMPAT_DAX_WAIT_RESTARTS && lease->state == MRLEASE_STATE_BROKEN &&
	    lease->pins && reason == MRLEASE_REASON_CLEAR &&
	    (current->flags & (PF_KTHREAD | PF_IO_WORKER)))
		mrl_pins_unpin_dax(lease->pins);
}

/*
 * Administrative revoke (netlink): break the lease if it is armed, then
 * revoke it as a timeout would.  Caller holds the registry lock, which keeps
 * the lease and its context alive.
 */
int mrl_lease_revoke(struct mrl_lease *lease)
{
	struct mrl_ctx *ctx = lease->ctx;
	struct mrl_lease_snapshot brk_snap;
	struct mrl_pins *pins = NULL;
	struct mrl_breaker breaker;
	bool taken = false;
	int ret;

	/* The revoke is recorded there; no break is left unrecorded. */
	ret = mrl_lease_break_prepare(lease);
	if (ret)
		return ret;
	mrl_breaker_current(ctx, &breaker);
	spin_lock(&ctx->lock);
	if (lease->state == MRLEASE_STATE_ARMED)
		mrl_lease_break(lease, MRLEASE_REASON_ADMIN,
				lease->it.start, mrl_lease_end(lease), &breaker, NULL);
	if (lease->state == MRLEASE_STATE_BROKEN)
		pins = mrl_lease_revoke_locked(lease, MRLEASE_REASON_ADMIN,
					       &brk_snap, &taken);
	else
		ret = -EINVAL;
	spin_unlock(&ctx->lock);
	/* Never wait on a page lock with the registry mutex held. */
	mrl_pins_put_deferred(pins);
	if (!ret) {
		mrl_lease_ntf_tell(ctx, taken, &brk_snap, true);
		mrl_netlink_notify(lease, MRLEASE_NTF_REVOKE);
	}
	return ret;
}

/*
 * SLAB_TYPESAFE_BY_RCU: a lease is freed at once, but its memory stays a
 * lease until a grace period has passed.  The one lookup under RCU alone
 * (mrl_registry_find_own()) checks the lease's context and id, which no
 * other lease of that context can have meanwhile; every other reader holds
 * ctx->lock, ctx->mutex or the registry mutex, which a destroy takes
 * before it frees.  No rcu_head in each lease, no callback per unregister.
 */
static struct kmem_cache *mrl_lease_cache;

/*
 * Tear a lease down.  Caller holds ctx->mutex.  The order matters: out of
 * the registry (netlink, read()'s give-back), then DYING under ctx->lock so
 * that no notifier, lm_break, check or revoke breaks it or queues its work
 * any more, then the notifier removed, and only then the work cancelled:
 * a cancel protects only from work that nothing can queue again.
 */
static void mrl_lease_destroy(struct mrl_ctx *ctx, struct mrl_lease *lease,
			      bool published)
{
	struct path path = {};
	struct mrl_pins *pins;

	mrl_registry_remove(lease);
	spin_lock(&ctx->lock);
	/* DYING first: the end of a check must not make its word valid again. */
	pins = mrl_lease_leave_broken(lease, MRL_STATE_DYING);
	/* Its break need not be told: its end is. */
	mrl_lease_ntf_unqueue(lease);
	/* No notifier callback finds it from here on. */
	mrl_notifier_del(ctx, lease);
	mrl_lease_verify_end(lease);
	if (lease->file) {
		path = lease->file->path;
		lease->file->path = (struct path){};
	}
	spin_unlock(&ctx->lock);
	mrl_race_window("destroy: DYING, work not cancelled", false);
	/*
	 * The last fput() of a context may run in a kernel worker
	 * (delayed_fput), which must not wait on a page lock for us.
	 */
	if (current->flags & PF_KTHREAD)
		mrl_pins_put_deferred(pins);
	else
		mrl_pins_put(pins);

	if (lease->verify)
		cancel_work_sync(&lease->verify->work);
	kfree(lease->verify);
	path_put(&path);
	mrl_layout_detach(lease);
	mrl_words_put(ctx, lease);

	if (published) {
		atomic64_inc(&mrl_stats.unregisters);
		trace_mrlease_unregister(lease->id);
		mrl_netlink_notify(lease, MRLEASE_NTF_UNREGISTER);
	}
	ctx->nr_leases--;
	mrl_user_uncharge_lease(ctx->user);
	/* Nothing reaches its parts now: out of every list and tree. */
	kfree(lease->file);
	mrl_lease_break_free(lease->brk);
	kmem_cache_free(mrl_lease_cache, lease);
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
	int ret;

	if (reg->flags & ~MRLEASE_REG_ALL || reg->reserved)
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

	/* The limits before the allocation they bound. */
	mutex_lock(&ctx->mutex);
	if (ctx->nr_leases >= READ_ONCE(mrl_max_leases_per_ctx)) {
		ret = -EMFILE;
		goto unlock;
	}
	if (!mrl_user_charge_lease(ctx->user)) {
		ret = -EUSERS;
		goto unlock;
	}
	lease = kmem_cache_zalloc(mrl_lease_cache, GFP_KERNEL);
	if (!lease) {
		ret = -ENOMEM;
		goto uncharge_user;
	}
	lease->ctx = ctx;
	lease->flags = reg->flags;
	lease->timeout_ms = reg->timeout_ms ? :
		clamp(READ_ONCE(mrl_break_timeout_ms), 1U, MRL_MAX_TIMEOUT_MS);
	lease->it.start = start;
	lease->it.last = end - 1;
	lease->cookie = reg->cookie;

	if (reg->flags & MRLEASE_REG_PIN) {
		lease->verify = kzalloc(sizeof(*lease->verify),
					GFP_KERNEL_ACCOUNT);
		if (!lease->verify) {
			ret = -ENOMEM;
			goto free_lease;
		}
		lease->verify->lease = lease;
		INIT_WORK(&lease->verify->work, mrl_lease_verify_work);
	}

	/* Its id before the arm: a break from the arm on tells it. */
	ret = mrl_registry_add(lease);
	if (ret)
		goto free_lease;
	ret = mrl_words_get(ctx, lease);
	if (ret)
		goto remove_id;
	ret = mrl_notifier_attach(ctx);
	if (ret)
		goto put_word;
	spin_lock(&ctx->lock);
	mrl_notifier_add(ctx, lease);
	spin_unlock(&ctx->lock);
	ctx->nr_leases++;

	ret = mrl_lease_arm(ctx, lease);
	if (ret) {
		mrl_lease_destroy(ctx, lease, false);
		goto unlock;
	}
	atomic64_inc(&mrl_stats.registers);
	trace_mrlease_register(lease->id, lease->it.start,
			       mrl_lease_end(lease) - lease->it.start,
			       lease->flags, lease->backing);
	reg->id = lease->id;
	reg->generation = lease->generation;
	/* Only an arm, under ctx->mutex, sets the token. */
	reg->token = lease->word == MRLEASE_NO_WORD ? 0 : lease->token;
	reg->word = lease->word;
	mrl_netlink_notify(lease, MRLEASE_NTF_REGISTER);
	mutex_unlock(&ctx->mutex);
	return 0;

put_word:
	mrl_words_put(ctx, lease);
remove_id:
	mrl_registry_remove(lease);
free_lease:
	kfree(lease->verify);
	kmem_cache_free(mrl_lease_cache, lease);
uncharge_user:
	mrl_user_uncharge_lease(ctx->user);
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
		mrl_lease_destroy(ctx, lease, true);
		mrl_anchors_trim(ctx);
	}
	mutex_unlock(&ctx->mutex);
	return lease ? 0 : -ENOENT;
}

/*
 * The lease @id of @ctx for an ack or restore, with its break part: they
 * count there, and a break not recorded yet (mrl_lease_break()) is recorded
 * first.  -ENOENT, or -ENOMEM.  Under ctx->mutex.
 */
static int mrl_lease_lookup_settled(struct mrl_ctx *ctx, u64 id,
				    struct mrl_lease **lease)
{
	*lease = mrl_lease_lookup(ctx, id);
	if (!*lease)
		return -ENOENT;
	return mrl_lease_break_prepare(*lease);
}

int mrl_lease_ack(struct mrl_ctx *ctx, const struct mrlease_lease_ref *ref)
{
	struct mrl_lease_snapshot brk_snap;
	struct mrl_pins *pins = NULL;
	struct mrl_lease *lease;
	bool taken = false;
	int ret;

	if (ref->flags || ref->reserved)
		return -EINVAL;
	mutex_lock(&ctx->mutex);
	ret = mrl_lease_lookup_settled(ctx, ref->id, &lease);
	if (ret)
		goto unlock;
	spin_lock(&ctx->lock);
	if (ref->generation != lease->generation)
		ret = -ESTALE;
	else if (lease->state == MRLEASE_STATE_REVOKED)
		ret = -ETIMEDOUT;
	else if (lease->state != MRLEASE_STATE_BROKEN)
		ret = -EINVAL;
	else
		ret = 0;
	if (!ret) {
		struct mrl_lease_break *part = lease->brk;

		taken = mrl_lease_ntf_take(lease, &brk_snap);
		pins = mrl_lease_leave_broken(lease, MRLEASE_STATE_ACKED);
		mrl_count(&part->acks);
		part->last_ack_ns = ktime_get_real_ns() - part->last_break_ns;
		atomic64_inc(&mrl_stats.acks);
		mrl_stats_ack_latency(part->last_ack_ns);
		trace_mrlease_ack(lease->id, part->last_ack_ns);
	}
	spin_unlock(&ctx->lock);
	if (!ret) {
		mrl_pins_put(pins);
		/* A breaker may wait on the file lease too: the last ack frees it. */
		if (mrl_lease_layout(lease))
			mrl_layout_release_now(mrl_lease_layout(lease));
		/* The monitor must see the break before its ack. */
		mrl_lease_ntf_tell(ctx, taken, &brk_snap, true);
		mrl_netlink_notify(lease, MRLEASE_NTF_ACK);
	}
unlock:
	mutex_unlock(&ctx->mutex);
	return ret;
}

int mrl_lease_restore(struct mrl_ctx *ctx, struct mrlease_restore *res)
{
	struct mrl_lease_snapshot brk_snap;
	struct mrl_pins *pins = NULL;
	struct mrl_lease *lease;
	bool taken;
	u32 prev_state;
	int ret;

	if (res->flags || res->reserved)
		return -EINVAL;
	if (current->mm != ctx->mm)
		return -EPERM;
	mutex_lock(&ctx->mutex);
	ret = mrl_lease_lookup_settled(ctx, res->id, &lease);
	if (ret)
		goto unlock;
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
	taken = mrl_lease_ntf_take(lease, &brk_snap);
	pins = mrl_lease_leave_broken(lease, MRL_STATE_ARMING);
	spin_unlock(&ctx->lock);
	mrl_lease_ntf_tell(ctx, taken, &brk_snap, true);
	mrl_race_window("restore: ARMING, work not cancelled", false);
	/* Old pins go first: a waiting breaker must finish before we re-pin. */
	mrl_pins_put(pins);
	/*
	 * It may not act on the pins and state the arm is about to set.  (The
	 * timeout cannot: the lease left the deadline tree above.)
	 */
	if (lease->verify)
		cancel_work_sync(&lease->verify->work);
	spin_lock(&ctx->lock);
	mrl_lease_verify_end(lease);
	spin_unlock(&ctx->lock);

	ret = mrl_lease_arm(ctx, lease);
	if (ret) {
		spin_lock(&ctx->lock);
		lease->state = prev_state;
		spin_unlock(&ctx->lock);
		goto unlock;
	}
	spin_lock(&ctx->lock);
	mrl_count(&lease->brk->restores);
	spin_unlock(&ctx->lock);
	/* Only an arm, under ctx->mutex, sets the token. */
	res->token = lease->word == MRLEASE_NO_WORD ? 0 : lease->token;
	atomic64_inc(&mrl_stats.restores);
	trace_mrlease_restore(lease->id, lease->generation);
	res->generation = lease->generation;
	mrl_netlink_notify(lease, MRLEASE_NTF_RESTORE);
unlock:
	mutex_unlock(&ctx->mutex);
	return ret;
}

/*
 * At close: every lease of the context is in its interval tree, armed or
 * not (no register runs any more).  The tree changes only under ctx->mutex
 * as well as ctx->lock, so the mutex keeps the first node there.
 */
void mrl_lease_destroy_all(struct mrl_ctx *ctx)
{
	struct rb_node *node;

	mutex_lock(&ctx->mutex);
	while ((node = rb_first_cached(&ctx->itree))) {
		mrl_lease_destroy(ctx, rb_entry(node, struct mrl_lease, it.rb),
				  true);
		cond_resched();
	}
	mrl_notifier_detach(ctx);
	mutex_unlock(&ctx->mutex);
	/* No lease left to break: the works cannot come back. */
	cancel_delayed_work_sync(&ctx->timeout_work);
	cancel_work_sync(&ctx->ntf_work);
	cancel_delayed_work_sync(&ctx->record_work);
}

/*
 * The work items of leases and their file-layout leases: timeouts, netlink
 * notifications, file lease releases.  A queue of our own, not the system
 * one Linux 7 deprecates; unbound, as none needs a particular CPU.  The
 * page-table checks stay on the system queue (mrl_lease_verify_first()).
 */
struct workqueue_struct *mrl_wq;

int mrl_lease_init(void)
{
	mrl_wq = alloc_workqueue("mrlease", WQ_UNBOUND, 0);
	if (!mrl_wq)
		return -ENOMEM;
	mrl_lease_cache = KMEM_CACHE(mrl_lease,
				     SLAB_ACCOUNT | SLAB_TYPESAFE_BY_RCU);
	/*
	 * Not SLAB_ACCOUNT: a part allocated in the notifier would be charged
	 * to the breaker's cgroup.  Process context passes __GFP_ACCOUNT.
	 */
	mrl_lease_break_cache = KMEM_CACHE(mrl_lease_break, 0);
	if (!mrl_lease_cache || !mrl_lease_break_cache) {
		kmem_cache_destroy(mrl_lease_break_cache);
		kmem_cache_destroy(mrl_lease_cache);
		destroy_workqueue(mrl_wq);
		return -ENOMEM;
	}
	return 0;
}

void mrl_lease_uninit(void)
{
	/* Every context is closed; a last file lease release may be queued. */
	destroy_workqueue(mrl_wq);
	/* For SLAB_TYPESAFE_BY_RCU it waits out a grace period itself. */
	kmem_cache_destroy(mrl_lease_cache);
	kmem_cache_destroy(mrl_lease_break_cache);
}
