// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libmrlease-verbs: keep ibv_mr registrations coherent with the mapping of
 * their virtual range, driven by mrlease events.
 *
 * Each MR owns one lease whose cookie is the MR itself, and the handle owns
 * its mrlease context, so every event read here belongs to one of our MRs.
 * An MR that is not usable sits on the handle's stale list until it is
 * re-registered; mrlease_verbs_process() walks only that list.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mrlease_verbs.h"

#define MRLEASE_EXPORT __attribute__((visibility("default")))

struct mrl_list {
	struct mrl_list *next, *prev;
};

static void mrl_list_init(struct mrl_list *head)
{
	head->next = head;
	head->prev = head;
}

static void mrl_list_add(struct mrl_list *node, struct mrl_list *head)
{
	node->next = head;
	node->prev = head->prev;
	head->prev->next = node;
	head->prev = node;
}

static void mrl_list_del(struct mrl_list *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	mrl_list_init(node);
}

static bool mrl_list_empty(const struct mrl_list *head)
{
	return head->next == head;
}

#define mrl_entry(ptr, member) \
	((struct mrlease_verbs_mr *)((char *)(ptr) - \
	 offsetof(struct mrlease_verbs_mr, member)))

struct mrlease_verbs {
	struct mrlease_ctx *ctx;
	struct mrlease_verbs_ops ops;
	struct mrl_list mrs;	/* every MR, for close() */
	struct mrl_list stale;	/* MRs not in MR_VALID */
};

/* Where an MR is on its way back to MR_VALID; each step is retried alone. */
enum mr_state {
	MR_VALID,	/* ibmr maps the pages the lease covers */
	MR_QUIESCE,	/* event read; quiesce() and the ack are due */
	MR_RESTORE,	/* quiesced and acked; the lease must be restored */
	MR_REREG,	/* lease armed again; ibmr must follow it */
};

struct mrlease_verbs_mr {
	struct mrlease_verbs *mv;
	struct mrl_list node;		/* on mv->mrs */
	struct mrl_list stale_node;	/* on mv->stale unless MR_VALID */
	enum mr_state state;
	bool quiesced;			/* quiesce() said yes, no rekey() since */
	struct ibv_mr *ibmr;		/* NULL only if a re-registration failed */
	struct ibv_pd *pd;
	void *addr;
	size_t length;
	int access;
	void *arg;
	uint64_t lease;
	uint64_t generation;		/* of the lease, known since the last restore */
	struct mrlease_event ev;	/* the event being handled */
};

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

MRLEASE_EXPORT int mrlease_verbs_open(struct mrlease_verbs **mvp,
				      const struct mrlease_verbs_ops *ops,
				      unsigned int flags)
{
	struct mrlease_verbs *mv;
	int ret;

	if (!mvp || flags)
		return -EINVAL;
	mv = calloc(1, sizeof(*mv));
	if (!mv)
		return -ENOMEM;
	ret = mrlease_open(&mv->ctx, 0);
	if (ret) {
		free(mv);
		return ret;
	}
	if (ops)
		mv->ops = *ops;
	mrl_list_init(&mv->mrs);
	mrl_list_init(&mv->stale);
	*mvp = mv;
	return 0;
}

MRLEASE_EXPORT void mrlease_verbs_close(struct mrlease_verbs *mv)
{
	if (!mv)
		return;
	while (!mrl_list_empty(&mv->mrs))
		mrlease_verbs_dereg_mr(mrl_entry(mv->mrs.next, node));
	mrlease_close(mv->ctx);
	free(mv);
}

MRLEASE_EXPORT struct mrlease_ctx *
mrlease_verbs_ctx(const struct mrlease_verbs *mv)
{
	return mv ? mv->ctx : NULL;
}

MRLEASE_EXPORT struct ibv_mr *
mrlease_verbs_mr_ibv(const struct mrlease_verbs_mr *mr)
{
	return mr && mr->state == MR_VALID ? mr->ibmr : NULL;
}

MRLEASE_EXPORT uint64_t mrlease_verbs_mr_lease(const struct mrlease_verbs_mr *mr)
{
	return mr ? mr->lease : 0;
}

MRLEASE_EXPORT int mrlease_verbs_reg_mr(struct mrlease_verbs *mv,
					struct ibv_pd *pd, void *addr,
					size_t length, int access,
					unsigned int lease_flags, void *arg,
					struct mrlease_verbs_mr **mrp)
{
	struct mrlease_verbs_mr *mr;
	int ret;

	if (!mv || !pd || !mrp)
		return -EINVAL;
	mr = calloc(1, sizeof(*mr));
	if (!mr)
		return -ENOMEM;
	mr->mv = mv;
	mr->pd = pd;
	mr->addr = addr;
	mr->length = length;
	mr->access = access;
	mr->arg = arg;
	mrl_list_init(&mr->stale_node);

	/*
	 * Lease first: a change of the mapping between the two calls then
	 * breaks the lease and the MR is redone, instead of going unnoticed.
	 */
	ret = mrlease_register(mv->ctx, addr, length, (uintptr_t)mr,
			       lease_flags, &mr->lease);
	if (ret)
		goto free_mr;
	mr->ibmr = ibv_reg_mr(pd, addr, length, access);
	if (!mr->ibmr) {
		ret = neg_errno();
		goto unregister;
	}
	mrl_list_add(&mr->node, &mv->mrs);
	*mrp = mr;
	return 0;

unregister:
	mrlease_unregister(mv->ctx, mr->lease);
free_mr:
	free(mr);
	return ret;
}

MRLEASE_EXPORT int mrlease_verbs_dereg_mr(struct mrlease_verbs_mr *mr)
{
	int ret = 0;

	if (!mr)
		return -EINVAL;
	/* Unregistering also drops the lease's unread event, if any. */
	mrlease_unregister(mr->mv->ctx, mr->lease);
	if (mr->ibmr) {
		ret = ibv_dereg_mr(mr->ibmr);
		ret = ret > 0 ? -ret : ret;
	}
	mrl_list_del(&mr->stale_node);
	mrl_list_del(&mr->node);
	free(mr);
	return ret;
}

/*
 * Point the MR at the pages now mapped at its address.  A provider that
 * cannot change the translation in place (rxe does not) leaves the old MR
 * intact; ibv_rereg_mr(3) says it must still be deregistered.
 */
static int mr_rereg(struct mrlease_verbs_mr *mr)
{
	if (mr->ibmr) {
		if (!ibv_rereg_mr(mr->ibmr, IBV_REREG_MR_CHANGE_TRANSLATION,
				  NULL, mr->addr, mr->length, 0))
			return 0;
		if (ibv_dereg_mr(mr->ibmr))
			return -EIO;
		mr->ibmr = NULL;
	}
	mr->ibmr = ibv_reg_mr(mr->pd, mr->addr, mr->length, mr->access);
	return mr->ibmr ? 0 : neg_errno();
}

static void mr_set_state(struct mrlease_verbs_mr *mr, enum mr_state state)
{
	struct mrlease_verbs *mv = mr->mv;

	if (state == MR_VALID)
		mrl_list_del(&mr->stale_node);
	else if (mr->state == MR_VALID)
		mrl_list_add(&mr->stale_node, &mv->stale);
	mr->state = state;
}

/* Take @mr as far back towards MR_VALID as it goes now. */
static int mr_step(struct mrlease_verbs_mr *mr)
{
	struct mrlease_verbs *mv = mr->mv;
	uint64_t gen;
	int ret;

	switch (mr->state) {
	case MR_QUIESCE:
		if (!mr->quiesced && mv->ops.quiesce) {
			ret = mv->ops.quiesce(mr, &mr->ev, mr->arg);
			if (ret)
				return ret < 0 ? ret : -EAGAIN;
		}
		mr->quiesced = true;
		/*
		 * The ack lets a breaker that waits on our pins go on, even
		 * if the range cannot be restored yet.  -EINVAL / -ESTALE
		 * mean there is nothing left to acknowledge.
		 */
		ret = mrlease_ack_event(mv->ctx, &mr->ev);
		if (ret && ret != -EINVAL && ret != -ESTALE)
			return ret;
		mr_set_state(mr, MR_RESTORE);
		/* fall through */
	case MR_RESTORE:
		/*
		 * Restore before re-registering: a change after the restore
		 * breaks the lease again, so none can slip between the two.
		 */
		ret = mrlease_restore(mv->ctx, mr->lease, &gen);
		if (ret == -EBUSY)
			gen = mr->generation;	/* already armed */
		else if (ret)
			return ret;
		mr->generation = gen;
		mr_set_state(mr, MR_REREG);
		/* fall through */
	case MR_REREG:
		ret = mr_rereg(mr);
		if (ret)
			return ret;
		mr_set_state(mr, MR_VALID);
		mr->quiesced = false;
		if (mv->ops.rekey)
			mv->ops.rekey(mr, mr->ibmr, mr->arg);
		/* fall through */
	case MR_VALID:
		break;
	}
	return 0;
}

static void mr_event(struct mrlease_verbs *mv, const struct mrlease_event *ev)
{
	struct mrlease_verbs_mr *mr = (struct mrlease_verbs_mr *)(uintptr_t)ev->cookie;

	/* Unregistering drops a queued record, so the cookie is live. */
	if (!mr || mr->mv != mv || mr->lease != ev->id)
		return;
	/* A record from before our last restore is moot. */
	if (ev->generation < mr->generation)
		return;
	mr->ev = *ev;
	/*
	 * A lease armed again but not yet followed by the MR (MR_REREG) can
	 * break again: ack and restore once more.  quiesced stays set, as the
	 * application was told already.
	 */
	if (mr->state == MR_VALID || mr->state == MR_REREG)
		mr_set_state(mr, MR_QUIESCE);
}

MRLEASE_EXPORT int mrlease_verbs_process(struct mrlease_verbs *mv)
{
	struct mrlease_event ev;
	struct mrl_list *pos, *next;
	int ret, first = 0;

	if (!mv)
		return -EINVAL;
	for (;;) {
		ret = mrlease_get_event(mv->ctx, &ev);
		if (ret == -EAGAIN)
			break;
		if (ret == -EINTR)
			continue;
		if (ret)
			return ret;
		mr_event(mv, &ev);
	}
	for (pos = mv->stale.next; pos != &mv->stale; pos = next) {
		next = pos->next;
		ret = mr_step(mrl_entry(pos, stale_node));
		if (ret && !first)
			first = ret;
	}
	return first;
}
