// SPDX-License-Identifier: GPL-2.0
/*
 * The event queue of a context.  A lease has one record, in the part it
 * gets at its first break (struct mrl_lease_break), so queueing never
 * allocates (it happens inside the mm notifier) and the queue can never
 * hold more records than the context has leases.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "mrlease.h"

static void mrl_status_bump(struct mrl_ctx *ctx)
{
	WRITE_ONCE(ctx->status->event_seq, ctx->status->event_seq + 1);
}

/*
 * Queue (or refresh) @lease's record.  Called under ctx->lock after the
 * caller filled lease->record.  A record that is already queued is updated in
 * place: the reader sees one record with the latest type and range.
 */
void mrl_event_queue(struct mrl_ctx *ctx, struct mrl_lease *lease)
{
	struct mrl_lease_break *brk = lease->brk;

	lockdep_assert_held(&ctx->lock);

	if (list_empty(&brk->event_node)) {
		list_add_tail(&brk->event_node, &ctx->events);
		WRITE_ONCE(ctx->status->pending, ctx->status->pending + 1);
	}
	mrl_status_bump(ctx);
	wake_up_interruptible_poll(&ctx->wait, EPOLLIN | EPOLLRDNORM);
	kill_fasync(&ctx->fasync, SIGIO, POLL_IN);
}

/* Drop @lease's unread record, if any.  Under ctx->lock. */
void mrl_event_dequeue(struct mrl_ctx *ctx, struct mrl_lease *lease)
{
	lockdep_assert_held(&ctx->lock);

	if (!lease->brk || list_empty(&lease->brk->event_node))
		return;
	list_del_init(&lease->brk->event_node);
	WRITE_ONCE(ctx->status->pending, ctx->status->pending - 1);
}

/*
 * A record that may come counts as pending in the status page and makes
 * poll() report EPOLLIN, so that the holder does not trust a range that is
 * about to break: a check of the page tables that may turn into one, or a
 * break that found no memory for its record yet (lease.c).  Under
 * ctx->lock.
 */
void mrl_event_expect(struct mrl_ctx *ctx)
{
	lockdep_assert_held(&ctx->lock);
	ctx->expecting++;
	WRITE_ONCE(ctx->status->pending, ctx->status->pending + 1);
	mrl_status_bump(ctx);
	wake_up_interruptible_poll(&ctx->wait, EPOLLIN | EPOLLRDNORM);
}

void mrl_event_expect_end(struct mrl_ctx *ctx)
{
	lockdep_assert_held(&ctx->lock);
	ctx->expecting--;
	WRITE_ONCE(ctx->status->pending, ctx->status->pending - 1);
	wake_up_all(&ctx->wait);
}

/* The uapi record of @lease's.  Under ctx->lock. */
static void mrl_event_fill(const struct mrl_lease *lease,
			   struct mrlease_event *ev)
{
	const struct mrl_record *rec = &lease->brk->record;

	memset(ev, 0, sizeof(*ev));
	ev->type = rec->type;
	ev->reason = rec->reason;
	ev->id = lease->id;
	ev->cookie = lease->cookie;
	ev->generation = lease->generation;
	ev->start = rec->start;
	ev->length = rec->length;
	ev->flags = rec->flags;
	ev->breaker_pid = rec->breaker_pid;
	memcpy(ev->breaker_comm, rec->breaker_comm, sizeof(ev->breaker_comm));
}

/* Take the oldest record; false if there is none. */
static bool mrl_event_pop(struct mrl_ctx *ctx, struct mrlease_event *ev)
{
	struct mrl_lease_break *brk;
	bool found = false;

	spin_lock(&ctx->lock);
	brk = list_first_entry_or_null(&ctx->events, struct mrl_lease_break,
				       event_node);
	if (brk) {
		mrl_event_fill(brk->lease, ev);
		mrl_event_dequeue(ctx, brk->lease);
		found = true;
	}
	spin_unlock(&ctx->lock);
	return found;
}

static bool mrl_event_any(struct mrl_ctx *ctx)
{
	bool any;

	spin_lock(&ctx->lock);
	any = !list_empty(&ctx->events);
	spin_unlock(&ctx->lock);
	return any;
}

/* Records came, or none is expected any more. */
static bool mrl_event_settled(struct mrl_ctx *ctx)
{
	bool settled;

	spin_lock(&ctx->lock);
	settled = !list_empty(&ctx->events) || !ctx->expecting;
	spin_unlock(&ctx->lock);
	return settled;
}

/* Bound on how long even a non-blocking read() waits for those records. */
#define MRL_VERIFY_WAIT	(HZ / 10)

/* Is readiness (EPOLLIN) to be reported?  Records, or records to come. */
bool mrl_event_ready(struct mrl_ctx *ctx)
{
	bool ready;

	spin_lock(&ctx->lock);
	ready = !list_empty(&ctx->events) || ctx->expecting;
	spin_unlock(&ctx->lock);
	return ready;
}

/*
 * Give back a record that could not be copied out.  The lease may have been
 * destroyed meanwhile (then its record goes with it) or have queued a newer
 * record (which supersedes this one).
 */
static void mrl_event_unpop(struct mrl_ctx *ctx, const struct mrlease_event *ev)
{
	struct mrl_lease *lease;

	/*
	 * A lease found here under ctx->lock is not DYING (destroy takes it
	 * out of the registry first) and cannot be freed before we unlock.
	 */
	spin_lock(&ctx->lock);
	lease = mrl_registry_find_own(ctx, ev->id);
	if (lease && lease->brk && list_empty(&lease->brk->event_node) &&
	    lease->state != MRL_STATE_DYING &&
	    lease->generation == ev->generation) {
		list_add(&lease->brk->event_node, &ctx->events);
		WRITE_ONCE(ctx->status->pending, ctx->status->pending + 1);
	}
	spin_unlock(&ctx->lock);
}

ssize_t mrl_event_read(struct mrl_ctx *ctx, char __user *buf, size_t count,
		       bool nonblock)
{
	struct mrlease_event ev;
	ssize_t done = 0;
	int ret;

	if (count < sizeof(ev))
		return -EINVAL;

	while (count - done >= sizeof(ev)) {
		if (!done && !mrl_event_settled(ctx) &&
		    wait_event_killable_timeout(ctx->wait,
						mrl_event_settled(ctx),
						MRL_VERIFY_WAIT) < 0)
			return -EINTR;
		if (!mrl_event_pop(ctx, &ev)) {
			if (done)
				break;
			if (nonblock)
				return -EAGAIN;
			ret = wait_event_interruptible(ctx->wait,
						       mrl_event_any(ctx));
			if (ret)
				return ret;
			continue;
		}
		if (copy_to_user(buf + done, &ev, sizeof(ev))) {
			mrl_event_unpop(ctx, &ev);
			return done ? done : -EFAULT;
		}
		done += sizeof(ev);
	}
	return done;
}
