// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user lease accounting.  A user may open many contexts; the limit
 * max_leases_per_user bounds the kernel memory one uid can make us hold.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>

#include "mrlease.h"

struct mrl_user {
	struct hlist_node node;
	kuid_t uid;
	refcount_t refs;
	atomic_t leases;
	atomic_t word_pages;
};

static DEFINE_HASHTABLE(mrl_users, 6);
static DEFINE_SPINLOCK(mrl_users_lock);

struct mrl_user *mrl_user_get(kuid_t uid)
{
	struct mrl_user *user, *fresh;
	u32 key = __kuid_val(uid);

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return NULL;

	spin_lock(&mrl_users_lock);
	hash_for_each_possible(mrl_users, user, node, key) {
		if (uid_eq(user->uid, uid)) {
			refcount_inc(&user->refs);
			spin_unlock(&mrl_users_lock);
			kfree(fresh);
			return user;
		}
	}
	fresh->uid = uid;
	refcount_set(&fresh->refs, 1);
	hash_add(mrl_users, &fresh->node, key);
	spin_unlock(&mrl_users_lock);
	return fresh;
}

void mrl_user_put(struct mrl_user *user)
{
	bool last;

	spin_lock(&mrl_users_lock);
	last = refcount_dec_and_test(&user->refs);
	if (last)
		hash_del(&user->node);
	spin_unlock(&mrl_users_lock);
	if (last)
		kfree(user);
}

bool mrl_user_charge_lease(struct mrl_user *user)
{
	unsigned int limit = READ_ONCE(mrl_max_leases_per_user);

	if (atomic_inc_return(&user->leases) > limit) {
		atomic_dec(&user->leases);
		return false;
	}
	return true;
}

void mrl_user_uncharge_lease(struct mrl_user *user)
{
	atomic_dec(&user->leases);
}

/*
 * Validity word pages stay until their context closes, so a user who
 * registers and unregisters in one context after another would keep them
 * all: twice what max_leases_per_user needs, then leases get no word.
 */
bool mrl_user_charge_word_page(struct mrl_user *user)
{
	unsigned int limit = 2 * DIV_ROUND_UP(READ_ONCE(mrl_max_leases_per_user),
					      PAGE_SIZE / sizeof(u64));

	if (atomic_inc_return(&user->word_pages) > limit) {
		atomic_dec(&user->word_pages);
		return false;
	}
	return true;
}

void mrl_user_uncharge_word_pages(struct mrl_user *user, unsigned int nr)
{
	atomic_sub(nr, &user->word_pages);
}

/* Every context holds a reference, and unload waits for all to close. */
void mrl_user_uninit(void)
{
	WARN_ON(!hash_empty(mrl_users));
}
