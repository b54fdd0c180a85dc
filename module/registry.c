// SPDX-License-Identifier: GPL-2.0
/*
 * The global lease registry: ids unique across all contexts, so that one id
 * names one lease for the ioctls and for netlink.
 *
 * Insertions and removals take mrl_registry_mutex, so a netlink dump or
 * revoke that holds it sees leases (and their contexts) stay alive.  Lookups
 * from the ioctls only need RCU: leases are freed after a grace period, and a
 * lease found to belong to the caller's context is then kept alive by that
 * context's mutex.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rcupdate.h>
#include <linux/xarray.h>

#include "mrlease.h"

static DEFINE_XARRAY_ALLOC1(mrl_registry);
static DEFINE_MUTEX(mrl_registry_mutex);
static u32 mrl_registry_next_id;
static unsigned int mrl_registry_generation;	/* for consistent dumps */

/* Reserve an id; the lease stays invisible until mrl_registry_publish(). */
int mrl_registry_reserve(u32 *id)
{
	int ret;

	mutex_lock(&mrl_registry_mutex);
	ret = xa_alloc_cyclic(&mrl_registry, id, NULL, xa_limit_32b,
			      &mrl_registry_next_id, GFP_KERNEL_ACCOUNT);
	mutex_unlock(&mrl_registry_mutex);
	return ret < 0 ? ret : 0;
}

void mrl_registry_publish(struct mrl_lease *lease)
{
	mutex_lock(&mrl_registry_mutex);
	/* Storing into a reserved slot never allocates. */
	xa_store(&mrl_registry, lease->id, lease, GFP_KERNEL);
	mrl_registry_generation++;
	mutex_unlock(&mrl_registry_mutex);
	atomic64_inc(&mrl_stats.leases);
}

void mrl_registry_remove(u32 id)
{
	mutex_lock(&mrl_registry_mutex);
	if (xa_erase(&mrl_registry, id))
		atomic64_dec(&mrl_stats.leases);
	mrl_registry_generation++;
	mutex_unlock(&mrl_registry_mutex);
}

/* The lease @id if it belongs to @ctx.  Caller holds ctx->mutex. */
struct mrl_lease *mrl_registry_find_own(struct mrl_ctx *ctx, u64 id)
{
	struct mrl_lease *lease;

	if (!id || id > U32_MAX)
		return NULL;
	rcu_read_lock();
	lease = xa_load(&mrl_registry, id);
	if (lease && lease->ctx != ctx)
		lease = NULL;
	rcu_read_unlock();
	return lease;
}

/* Any visible-or-not lease @id, under the registry lock. */
struct mrl_lease *mrl_registry_find(u64 id)
{
	lockdep_assert_held(&mrl_registry_mutex);
	if (!id || id > U32_MAX)
		return NULL;
	return xa_load(&mrl_registry, id);
}

void mrl_registry_lock(void)
{
	mutex_lock(&mrl_registry_mutex);
}

void mrl_registry_unlock(void)
{
	mutex_unlock(&mrl_registry_mutex);
}

unsigned int mrl_registry_seq(void)
{
	lockdep_assert_held(&mrl_registry_mutex);
	return mrl_registry_generation;
}

/* The first lease with an id >= *@id, under the registry lock. */
struct mrl_lease *mrl_registry_next(unsigned long *id)
{
	lockdep_assert_held(&mrl_registry_mutex);
	return xa_find(&mrl_registry, id, U32_MAX, XA_PRESENT);
}
