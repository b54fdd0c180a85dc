// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "mrlease": lease get/dump, admin revoke, stats,
 * config and the "monitor" notification group.  Only policies, parsing and
 * message building live here; the lease logic stays in lease.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/pid_namespace.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "compat.h"
#include "mrlease.h"

static struct genl_family mrl_genl_family;

enum mrl_nl_mcgrp {
	MRL_NL_MCGRP_MONITOR,
};

static const struct genl_multicast_group mrl_nl_mcgrps[] = {
	[MRL_NL_MCGRP_MONITOR] = {
		.name = MRLEASE_GENL_MCGRP_MONITOR,
		/* Notifications name every user's leases. */
		MRL_COMPAT_GENL_MCGRP_CAP_SYS_ADMIN
	},
};

static const struct nla_policy mrl_nl_lease_get_policy[MRLEASE_A_MAX + 1] = {
	[MRLEASE_A_LEASE_ID] = { .type = NLA_U64 },
	[MRLEASE_A_OWNER_PID] = { .type = NLA_U32 },
};

static const struct nla_policy mrl_nl_lease_revoke_policy[MRLEASE_A_MAX + 1] = {
	[MRLEASE_A_LEASE_ID] = { .type = NLA_U64 },
};

/* Takes no attributes: strict validation rejects every one. */
static const struct nla_policy mrl_nl_no_attrs_policy[MRLEASE_A_MAX + 1];

static struct netlink_range_validation mrl_nl_timeout_range = {
	.min = 1,
	.max = MRL_MAX_TIMEOUT_MS,
};

static const struct nla_policy mrl_nl_config_set_policy[MRLEASE_A_MAX + 1] = {
	[MRLEASE_A_CFG_BREAK_TIMEOUT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &mrl_nl_timeout_range),
	[MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &mrl_nl_timeout_range),
	[MRLEASE_A_CFG_MAX_LEASES_PER_CTX] = NLA_POLICY_MIN(NLA_U32, 1),
	[MRLEASE_A_CFG_MAX_LEASES_PER_USER] = NLA_POLICY_MIN(NLA_U32, 1),
};

static bool mrl_nl_admin(const struct sk_buff *skb)
{
	return netlink_capable(skb, CAP_SYS_ADMIN);
}

/* The credentials the requesting socket was opened with. */
static const struct cred *mrl_nl_opener(const struct sk_buff *skb)
{
	return NETLINK_CB(skb).sk->sk_socket->file->f_cred;
}

static int mrl_nl_put_u64(struct sk_buff *skb, int type, u64 value)
{
	return nla_put_u64_64bit(skb, type, value, MRLEASE_A_PAD);
}

/* @ns: the user namespace the reader sees uids in. */
static int mrl_nl_put_lease_attrs(struct sk_buff *skb,
				  const struct mrl_lease_snapshot *s,
				  struct user_namespace *ns, char *pathbuf)
{
	if (mrl_nl_put_u64(skb, MRLEASE_A_LEASE_ID, s->id) ||
	    nla_put_u32(skb, MRLEASE_A_OWNER_PID, s->owner_pid) ||
	    nla_put_string(skb, MRLEASE_A_OWNER_COMM, s->owner_comm) ||
	    nla_put_u32(skb, MRLEASE_A_OWNER_UID,
			from_kuid_munged(ns, s->uid)) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_ADDR, s->addr) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_LEN, s->len) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_COOKIE, s->cookie) ||
	    nla_put_u32(skb, MRLEASE_A_FLAGS, s->flags) ||
	    nla_put_u32(skb, MRLEASE_A_STATE, s->state) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_GENERATION, s->generation) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_PINNED_PAGES, s->pinned_pages) ||
	    nla_put_u32(skb, MRLEASE_A_BACKING, s->backing) ||
	    nla_put_u32(skb, MRLEASE_A_TIMEOUT_MS, s->timeout_ms) ||
	    nla_put_u32(skb, MRLEASE_A_HOLD, s->hold) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_BREAKS, s->breaks) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_ACKS, s->acks) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_RESTORES, s->restores) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_REVOKES, s->revokes) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_LAST_BREAK_NS, s->last_break_ns) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_LAST_ACK_NS, s->last_ack_ns))
		return -EMSGSIZE;

	if (s->backing == MRLEASE_BACKING_ANON)
		return 0;
	if (mrl_nl_put_u64(skb, MRLEASE_A_DEV, s->dev) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_INO, s->ino) ||
	    mrl_nl_put_u64(skb, MRLEASE_A_OFFSET, s->offset))
		return -EMSGSIZE;
	if (s->layout && nla_put_u32(skb, MRLEASE_A_LAYOUT, s->layout))
		return -EMSGSIZE;
	if (s->layout == MRLEASE_LAYOUT_REFUSED &&
	    nla_put_s32(skb, MRLEASE_A_LAYOUT_ERROR, s->layout_error))
		return -EMSGSIZE;
	if (s->path.dentry && pathbuf) {
		char *path = d_path(&s->path, pathbuf, PATH_MAX);

		if (!IS_ERR(path) && nla_put_string(skb, MRLEASE_A_PATH, path))
			return -EMSGSIZE;
	}
	return 0;
}

static int mrl_nl_put_breaker(struct sk_buff *skb,
			      const struct mrl_lease_snapshot *s)
{
	if (nla_put_u32(skb, MRLEASE_A_REASON, s->reason) ||
	    nla_put_u32(skb, MRLEASE_A_BREAKER_PID, s->breaker_pid) ||
	    nla_put_string(skb, MRLEASE_A_BREAKER_COMM, s->breaker_comm))
		return -EMSGSIZE;
	return 0;
}

/*
 * One lease message.  @ntf is 0 for replies, MRLEASE_NTF_* for monitor
 * notifications; @cb, if given, marks dumps that raced with changes.
 */
static int mrl_nl_fill_lease(struct sk_buff *skb,
			     const struct mrl_lease_snapshot *s, u32 portid,
			     u32 seq, int flags, u8 cmd, u32 ntf,
			     struct netlink_callback *cb,
			     struct user_namespace *ns, char *pathbuf)
{
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &mrl_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (mrl_nl_put_lease_attrs(skb, s, ns, pathbuf))
		goto cancel;
	if (ntf) {
		if (nla_put_u32(skb, MRLEASE_A_NTF, ntf))
			goto cancel;
		if ((ntf == MRLEASE_NTF_BREAK || ntf == MRLEASE_NTF_REVOKE) &&
		    mrl_nl_put_breaker(skb, s))
			goto cancel;
	}
	genlmsg_end(skb, hdr);
	return 0;

cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int mrl_nl_lease_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mrl_lease_snapshot snap;
	struct mrl_lease *lease;
	struct sk_buff *msg;
	char *pathbuf;
	int ret;

	if (!info->attrs[MRLEASE_A_LEASE_ID]) {
		NL_SET_ERR_MSG_MOD(info->extack, "lease id (MRLEASE_A_LEASE_ID) required");
		return -EINVAL;
	}
	mrl_registry_lock();
	lease = mrl_registry_find(nla_get_u64(info->attrs[MRLEASE_A_LEASE_ID]));
	if (!lease ||
	    !mrl_lease_visible(lease, mrl_nl_opener(skb), mrl_nl_admin(skb))) {
		mrl_registry_unlock();
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[MRLEASE_A_LEASE_ID],
				    "no such lease");
		return -ENOENT;
	}
	mrl_lease_snapshot(lease, &snap, task_active_pid_ns(current));
	mrl_registry_unlock();

	ret = -ENOMEM;
	pathbuf = kmalloc(PATH_MAX, GFP_KERNEL);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!pathbuf || !msg)
		goto out;
	ret = mrl_nl_fill_lease(msg, &snap, info->snd_portid, info->snd_seq, 0,
				MRLEASE_CMD_LEASE_GET, 0, NULL,
				mrl_nl_opener(skb)->user_ns, pathbuf);
	if (ret)
		goto out;
	ret = genlmsg_reply(msg, info);
	msg = NULL;
out:
	nlmsg_free(msg);
	kfree(pathbuf);
	mrl_lease_snapshot_put(&snap);
	return ret;
}

static int mrl_nl_lease_get_dumpit(struct sk_buff *skb,
				   struct netlink_callback *cb)
{
	struct nlattr **attrs = mrl_compat_dump_attrs(cb);
	const struct cred *opener = mrl_nl_opener(cb->skb);
	struct pid_namespace *pid_ns = task_active_pid_ns(current);
	bool admin = mrl_nl_admin(cb->skb);
	struct mrl_lease_snapshot snap;
	unsigned long slot = cb->args[0];
	struct mrl_lease *lease;
	bool filter_pid = attrs[MRLEASE_A_OWNER_PID];
	u32 pid = filter_pid ? nla_get_u32(attrs[MRLEASE_A_OWNER_PID]) : 0;
	char *pathbuf;
	int ret = 0;

	pathbuf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!pathbuf)
		return -ENOMEM;

	mrl_registry_lock();
	cb->seq = mrl_registry_seq();
	for (lease = mrl_registry_next(&slot); lease;
	     slot++, lease = mrl_registry_next(&slot)) {
		if (!mrl_lease_visible(lease, opener, admin))
			continue;
		mrl_lease_snapshot(lease, &snap, pid_ns);
		if (!filter_pid || snap.owner_pid == pid)
			ret = mrl_nl_fill_lease(skb, &snap,
						NETLINK_CB(cb->skb).portid,
						cb->nlh->nlmsg_seq, NLM_F_MULTI,
						MRLEASE_CMD_LEASE_GET, 0, cb,
						opener->user_ns, pathbuf);
		mrl_lease_snapshot_put(&snap);
		if (ret)
			break;
		cond_resched();
	}
	mrl_registry_unlock();
	kfree(pathbuf);

	cb->args[0] = slot;
	/* A full skb ends this round; the next resumes at @slot. */
	if (ret && !skb->len)
		return ret;
	return skb->len;
}

static int mrl_nl_lease_revoke_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mrl_lease *lease;
	int ret;

	if (!mrl_nl_admin(skb))
		return -EPERM;
	if (!info->attrs[MRLEASE_A_LEASE_ID]) {
		NL_SET_ERR_MSG_MOD(info->extack, "lease id (MRLEASE_A_LEASE_ID) required");
		return -EINVAL;
	}
	mrl_registry_lock();
	lease = mrl_registry_find(nla_get_u64(info->attrs[MRLEASE_A_LEASE_ID]));
	if (!lease) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[MRLEASE_A_LEASE_ID],
				    "no such lease");
		ret = -ENOENT;
	} else {
		ret = mrl_lease_revoke(lease);
		if (ret)
			NL_SET_ERR_MSG_MOD(info->extack,
					   "lease is neither armed nor broken");
	}
	mrl_registry_unlock();
	return ret;
}

/* The counters of STATS_GET, beside their attributes. */
static const struct {
	u16 attr;
	atomic64_t *count;
} mrl_nl_counters[] = {
	{ MRLEASE_A_STATS_LEASES,	&mrl_stats.leases },
	{ MRLEASE_A_STATS_PINNED_PAGES,	&mrl_stats.pinned_pages },
	{ MRLEASE_A_STATS_REGISTERS,	&mrl_stats.registers },
	{ MRLEASE_A_STATS_BREAKS,	&mrl_stats.breaks },
	{ MRLEASE_A_STATS_ACKS,		&mrl_stats.acks },
	{ MRLEASE_A_STATS_RESTORES,	&mrl_stats.restores },
	{ MRLEASE_A_STATS_REVOKES,	&mrl_stats.revokes },
	{ MRLEASE_A_STATS_UNREGISTERS,	&mrl_stats.unregisters },
};

static int mrl_nl_put_stats(struct sk_buff *skb)
{
	struct nlattr *hist;
	unsigned int i;

	if (mrl_nl_put_u64(skb, MRLEASE_A_STATS_CONTEXTS,
			   atomic_read(&mrl_stats.contexts)))
		return -EMSGSIZE;
	for (i = 0; i < ARRAY_SIZE(mrl_nl_counters); i++)
		if (mrl_nl_put_u64(skb, mrl_nl_counters[i].attr,
				   atomic64_read(mrl_nl_counters[i].count)))
			return -EMSGSIZE;

	hist = nla_nest_start(skb, MRLEASE_A_STATS_ACK_HIST);
	if (!hist)
		return -EMSGSIZE;
	for (i = 0; i < MRLEASE_ACK_HIST_BUCKETS; i++) {
		if (mrl_nl_put_u64(skb, i + 1,
				   atomic64_read(&mrl_stats.ack_hist[i]))) {
			nla_nest_cancel(skb, hist);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, hist);
	return 0;
}

/* The module parameters of CONFIG_GET, beside their attributes. */
static const struct {
	u16 attr;
	unsigned int *param;
} mrl_nl_params[] = {
	{ MRLEASE_A_CFG_BREAK_TIMEOUT_MS,	&mrl_break_timeout_ms },
	{ MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS,	&mrl_max_break_timeout_ms },
	{ MRLEASE_A_CFG_MAX_LEASES_PER_CTX,	&mrl_max_leases_per_ctx },
	{ MRLEASE_A_CFG_MAX_LEASES_PER_USER,	&mrl_max_leases_per_user },
};

static int mrl_nl_put_config(struct sk_buff *skb)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mrl_nl_params); i++)
		if (nla_put_u32(skb, mrl_nl_params[i].attr,
				READ_ONCE(*mrl_nl_params[i].param)))
			return -EMSGSIZE;
	return 0;
}

static int mrl_nl_reply(struct genl_info *info, u8 cmd,
			int (*put)(struct sk_buff *skb))
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &mrl_genl_family, 0, cmd);
	if (!hdr || put(msg)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int mrl_nl_stats_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	return mrl_nl_reply(info, MRLEASE_CMD_STATS_GET, mrl_nl_put_stats);
}

static int mrl_nl_config_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	return mrl_nl_reply(info, MRLEASE_CMD_CONFIG_GET, mrl_nl_put_config);
}

static int mrl_nl_config_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;

	if (!mrl_nl_admin(skb))
		return -EPERM;
	/* The policy has checked the ranges. */
	if (attrs[MRLEASE_A_CFG_BREAK_TIMEOUT_MS])
		WRITE_ONCE(mrl_break_timeout_ms,
			   nla_get_u32(attrs[MRLEASE_A_CFG_BREAK_TIMEOUT_MS]));
	if (attrs[MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS])
		WRITE_ONCE(mrl_max_break_timeout_ms,
			   nla_get_u32(attrs[MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS]));
	if (attrs[MRLEASE_A_CFG_MAX_LEASES_PER_CTX])
		WRITE_ONCE(mrl_max_leases_per_ctx,
			   nla_get_u32(attrs[MRLEASE_A_CFG_MAX_LEASES_PER_CTX]));
	if (attrs[MRLEASE_A_CFG_MAX_LEASES_PER_USER])
		WRITE_ONCE(mrl_max_leases_per_user,
			   nla_get_u32(attrs[MRLEASE_A_CFG_MAX_LEASES_PER_USER]));
	return 0;
}

static const struct genl_ops mrl_nl_ops[] = {
	{
		.cmd = MRLEASE_CMD_LEASE_GET,
		.doit = mrl_nl_lease_get_doit,
		.dumpit = mrl_nl_lease_get_dumpit,
		.policy = mrl_nl_lease_get_policy,
		.maxattr = MRLEASE_A_MAX,
	},
	{
		.cmd = MRLEASE_CMD_LEASE_REVOKE,
		.doit = mrl_nl_lease_revoke_doit,
		.policy = mrl_nl_lease_revoke_policy,
		.maxattr = MRLEASE_A_MAX,
	},
	{
		.cmd = MRLEASE_CMD_STATS_GET,
		.doit = mrl_nl_stats_get_doit,
		.policy = mrl_nl_no_attrs_policy,
		.maxattr = MRLEASE_A_MAX,
	},
	{
		.cmd = MRLEASE_CMD_CONFIG_GET,
		.doit = mrl_nl_config_get_doit,
		.policy = mrl_nl_no_attrs_policy,
		.maxattr = MRLEASE_A_MAX,
	},
	{
		.cmd = MRLEASE_CMD_CONFIG_SET,
		.doit = mrl_nl_config_set_doit,
		.policy = mrl_nl_config_set_policy,
		.maxattr = MRLEASE_A_MAX,
	},
};

static struct genl_family mrl_genl_family __ro_after_init = {
	.name = MRLEASE_GENL_NAME,
	.version = MRLEASE_GENL_VERSION,
	.maxattr = MRLEASE_A_MAX,
	.module = THIS_MODULE,
	.ops = mrl_nl_ops,
	.n_ops = ARRAY_SIZE(mrl_nl_ops),
	MRL_COMPAT_GENL_RESV_START_OP(MRLEASE_CMD_LEASE_NTF + 1)
	.mcgrps = mrl_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(mrl_nl_mcgrps),
};

bool mrl_netlink_has_listeners(void)
{
	return genl_has_listeners(&mrl_genl_family, &init_net,
				  MRL_NL_MCGRP_MONITOR);
}

/* Tell the monitor group about a lease, from a snapshot of it.  Sleeps. */
void mrl_netlink_notify_snapshot(struct mrl_lease_snapshot *snap, u32 ntf)
{
	struct sk_buff *msg;
	char *pathbuf;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	pathbuf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!msg || !pathbuf)
		goto out;
	if (!mrl_nl_fill_lease(msg, snap, 0, 0, 0, MRLEASE_CMD_LEASE_NTF, ntf,
			       NULL, &init_user_ns, pathbuf)) {
		genlmsg_multicast(&mrl_genl_family, msg, 0,
				  MRL_NL_MCGRP_MONITOR, GFP_KERNEL);
		msg = NULL;
	}
out:
	nlmsg_free(msg);
	kfree(pathbuf);
}

/* Tell the monitor group about @lease.  Sleeps; lease kept alive by caller. */
void mrl_netlink_notify(struct mrl_lease *lease, u32 ntf)
{
	struct mrl_lease_snapshot snap;

	if (!mrl_netlink_has_listeners())
		return;
	mrl_lease_snapshot(lease, &snap, &init_pid_ns);
	mrl_netlink_notify_snapshot(&snap, ntf);
	mrl_lease_snapshot_put(&snap);
}

int mrl_netlink_init(void)
{
	return genl_register_family(&mrl_genl_family);
}

void mrl_netlink_uninit(void)
{
	genl_unregister_family(&mrl_genl_family);
}

MODULE_ALIAS_GENL_FAMILY(MRLEASE_GENL_NAME);
