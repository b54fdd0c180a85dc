// SPDX-License-Identifier: GPL-2.0
/*
 * A lease as others see it: the owner's MRLEASE_IOC_QUERY, and the
 * snapshots netlink dumps and notifies (taken under ctx->lock, sent
 * without it), and who may see which lease.  Nothing here changes a lease.
 */
#include <linux/cred.h>
#include <linux/path.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/wait.h>

#include "mrlease.h"

/* How often @lease broke: one break not recorded yet counts.  ctx->lock. */
static u32 mrl_lease_breaks(const struct mrl_lease *lease)
{
	return lease->brk ? lease->brk->breaks : !!lease->unrecorded_reason;
}

/* MRLEASE_HOLD_* of @lease.  Under ctx->lock. */
static u32 mrl_lease_hold(const struct mrl_lease *lease)
{
	if (!(lease->flags & MRLEASE_REG_PIN))
		return MRLEASE_HOLD_NONE;
	return lease->may_hold ? MRLEASE_HOLD_WAIT : MRLEASE_HOLD_NOT_OWNER;
}

static bool mrl_lease_verify_over(struct mrl_lease *lease)
{
	bool over;

	spin_lock(&lease->ctx->lock);
	over = !lease->verify || !lease->verify->pending;
	spin_unlock(&lease->ctx->lock);
	return over;
}

/*
 * How long a query waits for a check of the page tables to decide between
 * ARMED and BROKEN (mrl_lease_verify_first()); the check itself may try for
 * the mm's lock for ~100 ms.  Clears a user keeps making can only make the
 * user's own query give the state as it is after this.
 */
#define MRL_QUERY_VERIFY_WAIT	(HZ / 2)

int mrl_lease_query(struct mrl_ctx *ctx, struct mrlease_query *q)
{
	struct mrl_lease *lease;
	u64 id = q->id;

	if (q->flags || q->reserved)
		return -EINVAL;
	mutex_lock(&ctx->mutex);
	lease = mrl_lease_lookup(ctx, id);
	if (!lease) {
		mutex_unlock(&ctx->mutex);
		return -ENOENT;
	}
	/*
	 * While a check runs the lease is neither surely ARMED nor BROKEN:
	 * the holder's madvise() that returned before this query must show.
	 * The lease cannot go while we hold ctx->mutex; the check never
	 * takes it.
	 */
	if (wait_event_killable_timeout(ctx->wait, mrl_lease_verify_over(lease),
					MRL_QUERY_VERIFY_WAIT) < 0) {
		mutex_unlock(&ctx->mutex);
		return -EINTR;
	}
	/* Every other field is out: nothing of the caller's stays. */
	memset(q, 0, sizeof(*q));
	q->id = id;
	q->addr = lease->it.start;
	q->len = mrl_lease_end(lease) - lease->it.start;
	q->cookie = lease->cookie;
	q->lease_flags = lease->flags;
	spin_lock(&ctx->lock);
	q->backing = lease->backing;
	if (lease->file) {
		q->dev = lease->file->dev;
		q->ino = lease->file->ino;
		q->offset = lease->file->offset;
	}
	q->timeout_ms = mrl_lease_timeout_ms(lease);
	q->state = lease->state;
	q->generation = lease->generation;
	q->pinned_pages = lease->pins ? lease->pins->nr : 0;
	q->breaks = mrl_lease_breaks(lease);
	if (mrl_lease_layout(lease)) {
		q->layout = mrl_lease_layout(lease)->state;
		q->layout_error = mrl_lease_layout(lease)->error;
	}
	q->hold = mrl_lease_hold(lease);
	spin_unlock(&ctx->lock);
	mutex_unlock(&ctx->mutex);
	return 0;
}

/*
 * May a netlink request see @lease?  Admins may; others only a lease of a
 * context opened with their effective uid, not set-id (mrl_open()).  Both
 * the socket's opener (@opener) and the current task must qualify: a dump
 * goes on in whichever task reads the socket next, which may be a set-user-ID
 * program handed the socket (netlink_capable() asks both too).
 */
bool mrl_lease_visible(struct mrl_lease *lease, const struct cred *opener,
		       bool admin)
{
	const struct mrl_ctx *ctx = lease->ctx;

	if (admin)
		return true;
	return !ctx->setid && uid_eq(ctx->uid, opener->euid) &&
	       uid_eq(ctx->uid, current_euid());
}

/* As mrl_lease_snapshot(), with ctx->lock held. */
void mrl_lease_snapshot_locked(struct mrl_lease *lease,
			       struct mrl_lease_snapshot *snap,
			       struct pid_namespace *pid_ns)
{
	struct mrl_ctx *ctx = lease->ctx;

	lockdep_assert_held(&ctx->lock);
	memset(snap, 0, sizeof(*snap));
	snap->id = lease->id;
	snap->addr = lease->it.start;
	snap->len = mrl_lease_end(lease) - lease->it.start;
	snap->cookie = lease->cookie;
	snap->flags = lease->flags;
	snap->owner_pid = pid_nr_ns(ctx->owner, pid_ns);
	memcpy(snap->owner_comm, ctx->owner_comm, sizeof(snap->owner_comm));
	snap->uid = ctx->uid;
	snap->state = lease->state;
	snap->timeout_ms = mrl_lease_timeout_ms(lease);
	snap->hold = mrl_lease_hold(lease);
	snap->generation = lease->generation;
	snap->pinned_pages = lease->pins ? lease->pins->nr : 0;
	snap->backing = lease->backing;
	if (lease->file) {
		snap->dev = lease->file->dev;
		snap->ino = lease->file->ino;
		snap->offset = lease->file->offset;
		snap->path = lease->file->path;
		path_get(&snap->path);
	}
	snap->breaks = mrl_lease_breaks(lease);
	if (mrl_lease_layout(lease)) {
		snap->layout = mrl_lease_layout(lease)->state;
		snap->layout_error = mrl_lease_layout(lease)->error;
	}
	snap->reason = lease->unrecorded_reason;
	if (lease->brk) {
		const struct mrl_lease_break *brk = lease->brk;

		snap->acks = brk->acks;
		snap->restores = brk->restores;
		snap->revokes = brk->revokes;
		snap->last_break_ns = brk->last_break_ns;
		snap->last_ack_ns = brk->last_ack_ns;
		snap->reason = brk->record.reason;
		snap->breaker_pid = brk->record.breaker_pid;
		memcpy(snap->breaker_comm, brk->record.breaker_comm,
		       sizeof(snap->breaker_comm));
	}
}

/*
 * What netlink tells of @lease, the owner's pid as seen in @pid_ns: the
 * requester's for a reply, the initial one for the monitor group (its
 * members are admins of the initial namespaces; the task that happens to
 * cause a notification may live in any).
 */
void mrl_lease_snapshot(struct mrl_lease *lease, struct mrl_lease_snapshot *snap,
			struct pid_namespace *pid_ns)
{
	spin_lock(&lease->ctx->lock);
	mrl_lease_snapshot_locked(lease, snap, pid_ns);
	spin_unlock(&lease->ctx->lock);
}

void mrl_lease_snapshot_put(struct mrl_lease_snapshot *snap)
{
	path_put(&snap->path);
}
