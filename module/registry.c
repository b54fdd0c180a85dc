// SPDX-License-Identifier: GPL-2.0
/*
 * The global lease registry: ids unique across all contexts, so that one id
 * names one lease for the ioctls and for netlink.
 *
 * An id is a slot of the registry's xarray in its low 24 bits (16M leases)
 * and a tag in the 29 bits above.  Slots are the lowest free, so that the
 * array stays dense and a register or unregister rarely allocates or frees
 * a node (cyclic slots made each one build and tear down the whole path to
 * a new index); the tag counts registrations, so that a stale id names the
 * lease that took its slot only after 2^29 more registrations (hours of
 * nothing else).  Ids stay below 2^53, exact in a JSON number.
 *
 * Insertions and removals take mrl_registry_mutex, so a netlink dump or
 * revoke that holds it sees leases (and their contexts) stay alive.  Lookups
 * from the ioctls only need RCU: lease memory stays a lease for a grace
 * period (SLAB_TYPESAFE_BY_RCU), and a lease found with the caller's
 * context and the id asked for is kept alive by that context's mutex (or
 * ctx->lock), which its destroy needs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rcupdate.h>
#include <linux/xarray.h>

#include "mrlease.h"

static DEFINE_XARRAY_ALLOC1(mrl_registry);
static DEFINE_MUTEX(mrl_registry_mutex);
#define MRL_ID_SLOT_BITS	24
#define MRL_ID_TAG_BITS		29
/*
 * A slot reserved for as long as the module is loaded, at the end of the
 * first node: the array never shrinks below that node, so the register and
 * unregister of a context with few leases (the lowest slots) neither
 * allocate nor free one.  Freeing the last entry otherwise freed the node,
 * and the next register allocated it again: a quarter of their cost.
 */
#define MRL_REGISTRY_KEEP_SLOT	(XA_CHUNK_SIZE - 1)
static u32 mrl_registry_tag;
static unsigned int mrl_registry_generation;	/* for consistent dumps */

static u32 mrl_id_slot(u64 id)
{
	return id & (BIT(MRL_ID_SLOT_BITS) - 1);
}

/*
 * Give a new lease its id, before its arm: from then on its breaks can be
 * told.  A lookup under RCU may find it in its slot before its id is set:
 * it then matches no id.  Netlink sees it once an arm succeeded.
 */
int mrl_registry_add(struct mrl_lease *lease)
{
	u32 slot;
	int ret;

	mutex_lock(&mrl_registry_mutex);
	ret = xa_alloc(&mrl_registry, &slot, lease,
		       XA_LIMIT(1, BIT(MRL_ID_SLOT_BITS) - 1),
		       GFP_KERNEL_ACCOUNT);
	if (!ret) {
		mrl_registry_tag = (mrl_registry_tag + 1) &
				   (BIT(MRL_ID_TAG_BITS) - 1);
		WRITE_ONCE(lease->id,
			   (u64)mrl_registry_tag << MRL_ID_SLOT_BITS | slot);
		mrl_registry_generation++;
	}
	mutex_unlock(&mrl_registry_mutex);
	if (ret)
		return ret == -EBUSY ? -ENOSPC : ret;
	atomic64_inc(&mrl_stats.leases);
	return 0;
}

int mrl_registry_init(void)
{
	return xa_reserve(&mrl_registry, MRL_REGISTRY_KEEP_SLOT, GFP_KERNEL);
}

/* Every context is closed: the reserved slot is all that is left. */
void mrl_registry_uninit(void)
{
	xa_release(&mrl_registry, MRL_REGISTRY_KEEP_SLOT);
	xa_destroy(&mrl_registry);
}

/* Before the lease goes; nothing to do for one that never got its id. */
void mrl_registry_remove(struct mrl_lease *lease)
{
	if (!lease->id)
		return;
	mutex_lock(&mrl_registry_mutex);
	if (xa_cmpxchg(&mrl_registry, mrl_id_slot(lease->id), lease, NULL,
		       GFP_KERNEL) == lease)
		atomic64_dec(&mrl_stats.leases);
	mrl_registry_generation++;
	mutex_unlock(&mrl_registry_mutex);
}

/* The lease in @id's slot if it has that id: the slot may have a new one. */
static struct mrl_lease *mrl_registry_load(u64 id)
{
	struct mrl_lease *lease = xa_load(&mrl_registry, mrl_id_slot(id));

	return lease && READ_ONCE(lease->id) == id ? lease : NULL;
}

/* The lease @id if it belongs to @ctx.  Caller holds ctx->mutex or lock. */
struct mrl_lease *mrl_registry_find_own(struct mrl_ctx *ctx, u64 id)
{
	struct mrl_lease *lease;

	rcu_read_lock();
	lease = mrl_registry_load(id);
	if (lease && lease->ctx != ctx)
		lease = NULL;
	rcu_read_unlock();
	return lease;
}

/* For netlink: a lease whose register has not armed it yet is not there. */
static bool mrl_registry_shown(struct mrl_lease *lease)
{
	return READ_ONCE(lease->generation);
}

/* Lease @id, under the registry lock. */
struct mrl_lease *mrl_registry_find(u64 id)
{
	struct mrl_lease *lease;

	lockdep_assert_held(&mrl_registry_mutex);
	lease = mrl_registry_load(id);
	return lease && mrl_registry_shown(lease) ? lease : NULL;
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

/* The next lease from slot *@slot on, under the registry lock. */
struct mrl_lease *mrl_registry_next(unsigned long *slot)
{
	struct mrl_lease *lease;

	lockdep_assert_held(&mrl_registry_mutex);
	for (lease = xa_find(&mrl_registry, slot, U32_MAX, XA_PRESENT);
	     lease && !mrl_registry_shown(lease);
	     lease = xa_find_after(&mrl_registry, slot, U32_MAX, XA_PRESENT))
		;
	return lease;
}
