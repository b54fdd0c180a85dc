// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink channel: resolve the "mrlease" family (and its
 * "monitor" group) by name, send one request, walk the replies until the
 * ack or the end of the dump, and turn errors into words using the
 * kernel's extended ACK.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "mrlease-ctl.h"

#define RECV_BUF_SIZE	(64 * 1024)

/* What a failed request said. */
struct nl_err {
	int err;			/* positive errno */
	char msg[256];			/* NLMSGERR_ATTR_MSG, or "" */
	int bad_type;			/* type of the attribute NLMSGERR_ATTR_OFFS points at, or -1 */
	int miss_type;			/* NLMSGERR_ATTR_MISS_TYPE, or -1 */
};

/* Expected payload of each attribute the kernel may send us; others are ignored. */
static const enum mnl_attr_data_type attr_type[MRLEASE_A_MAX + 1] = {
	[MRLEASE_A_LEASE_ID] = MNL_TYPE_U64,
	[MRLEASE_A_OWNER_PID] = MNL_TYPE_U32,
	[MRLEASE_A_OWNER_COMM] = MNL_TYPE_NUL_STRING,
	[MRLEASE_A_OWNER_UID] = MNL_TYPE_U32,
	[MRLEASE_A_ADDR] = MNL_TYPE_U64,
	[MRLEASE_A_LEN] = MNL_TYPE_U64,
	[MRLEASE_A_COOKIE] = MNL_TYPE_U64,
	[MRLEASE_A_FLAGS] = MNL_TYPE_U32,
	[MRLEASE_A_STATE] = MNL_TYPE_U32,
	[MRLEASE_A_GENERATION] = MNL_TYPE_U64,
	[MRLEASE_A_PINNED_PAGES] = MNL_TYPE_U64,
	[MRLEASE_A_BACKING] = MNL_TYPE_U32,
	[MRLEASE_A_PATH] = MNL_TYPE_NUL_STRING,
	[MRLEASE_A_DEV] = MNL_TYPE_U64,
	[MRLEASE_A_INO] = MNL_TYPE_U64,
	[MRLEASE_A_OFFSET] = MNL_TYPE_U64,
	[MRLEASE_A_TIMEOUT_MS] = MNL_TYPE_U32,
	[MRLEASE_A_BREAKS] = MNL_TYPE_U64,
	[MRLEASE_A_ACKS] = MNL_TYPE_U64,
	[MRLEASE_A_RESTORES] = MNL_TYPE_U64,
	[MRLEASE_A_REVOKES] = MNL_TYPE_U64,
	[MRLEASE_A_LAST_BREAK_NS] = MNL_TYPE_U64,
	[MRLEASE_A_LAST_ACK_NS] = MNL_TYPE_U64,
	[MRLEASE_A_NTF] = MNL_TYPE_U32,
	[MRLEASE_A_REASON] = MNL_TYPE_U32,
	[MRLEASE_A_BREAKER_PID] = MNL_TYPE_U32,
	[MRLEASE_A_BREAKER_COMM] = MNL_TYPE_NUL_STRING,
	[MRLEASE_A_STATS_CONTEXTS] = MNL_TYPE_U64,
	[MRLEASE_A_STATS_LEASES] = MNL_TYPE_U64,
	[MRLEASE_A_STATS_PINNED_PAGES] = MNL_TYPE_U64,
	[MRLEASE_A_STATS_REGISTERS] = MNL_TYPE_U64,
	[MRLEASE_A_STATS_BREAKS] = MNL_TYPE_U64,
	[MRLEASE_A_STATS_ACKS] = MNL_TYPE_U64,
	[MRLEASE_A_STATS_RESTORES] = MNL_TYPE_U64,
	[MRLEASE_A_STATS_REVOKES] = MNL_TYPE_U64,
	[MRLEASE_A_STATS_UNREGISTERS] = MNL_TYPE_U64,
	[MRLEASE_A_STATS_ACK_HIST] = MNL_TYPE_NESTED,
	[MRLEASE_A_CFG_BREAK_TIMEOUT_MS] = MNL_TYPE_U32,
	[MRLEASE_A_CFG_MAX_LEASES_PER_CTX] = MNL_TYPE_U32,
	[MRLEASE_A_CFG_MAX_LEASES_PER_USER] = MNL_TYPE_U32,
	[MRLEASE_A_LAYOUT] = MNL_TYPE_U32,
	[MRLEASE_A_LAYOUT_ERROR] = MNL_TYPE_U32,	/* an s32 */
	[MRLEASE_A_HOLD] = MNL_TYPE_U32,
	[MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS] = MNL_TYPE_U32,
};

/* How the CLI calls the attributes it sends, for error messages. */
static const char *const request_attr_name[MRLEASE_A_MAX + 1] = {
	[MRLEASE_A_LEASE_ID] = "lease id",
	[MRLEASE_A_OWNER_PID] = "pid",
	[MRLEASE_A_CFG_BREAK_TIMEOUT_MS] = "break-timeout",
	[MRLEASE_A_CFG_MAX_LEASES_PER_CTX] = "max-leases-per-ctx",
	[MRLEASE_A_CFG_MAX_LEASES_PER_USER] = "max-leases-per-user",
	[MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS] = "max-break-timeout",
};

static int parse_attr_cb(const struct nlattr *attr, void *data)
{
	struct nl_attrs *at = data;
	uint16_t type = mnl_attr_get_type(attr);

	/* Newer kernels may send attributes we do not know: skip them. */
	if (type > MRLEASE_A_MAX || !attr_type[type])
		return MNL_CB_OK;
	/* A malformed attribute is as good as absent. */
	if (mnl_attr_validate(attr, attr_type[type]) < 0)
		return MNL_CB_OK;
	at->tb[type] = attr;
	return MNL_CB_OK;
}

void nl_parse(const struct nlmsghdr *nlh, struct nl_attrs *at)
{
	memset(at, 0, sizeof(*at));
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), parse_attr_cb, at);
}

struct nlmsghdr *nl_msg(struct nl *nl, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->sbuf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = nl->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl->seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = nl->family == GENL_ID_CTRL ? 1 : MRLEASE_GENL_VERSION;
	return nlh;
}

struct extack_parse {
	struct nl_err *e;
	const struct nlmsghdr *req;
};

static int extack_cb(const struct nlattr *attr, void *data)
{
	struct extack_parse *p = data;
	const struct nlmsghdr *req = p->req;
	uint32_t off;

	switch (mnl_attr_get_type(attr)) {
	case NLMSGERR_ATTR_MSG:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(p->e->msg, sizeof(p->e->msg), "%s", mnl_attr_get_str(attr));
		break;
	case NLMSGERR_ATTR_OFFS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			break;
		/* The offset is into our request, which is still in sbuf. */
		off = mnl_attr_get_u32(attr);
		if (req && off >= mnl_nlmsg_size(GENL_HDRLEN) &&
		    off + sizeof(struct nlattr) <= req->nlmsg_len) {
			const struct nlattr *bad = (const void *)((const char *)req + off);

			p->e->bad_type = bad->nla_type & NLA_TYPE_MASK;
		}
		break;
	case NLMSGERR_ATTR_MISS_TYPE:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			p->e->miss_type = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

/* NLMSG_ERROR or NLMSG_DONE: the error code and the extended ACK after it. */
static void parse_error(const struct nlmsghdr *nlh, const struct nlmsghdr *req,
			struct nl_err *e)
{
	struct extack_parse p = { .e = e, .req = req };
	unsigned int off;
	int err;

	e->msg[0] = '\0';
	e->bad_type = e->miss_type = -1;
	if (nlh->nlmsg_type == NLMSG_DONE) {
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int)) {
			e->err = 0;
			return;
		}
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		off = sizeof(int);
	} else {
		const struct nlmsgerr *ne = mnl_nlmsg_get_payload(nlh);

		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ne)) {
			e->err = EBADMSG;
			return;
		}
		err = ne->error;
		off = sizeof(*ne);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += ne->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	e->err = -err;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off < mnl_nlmsg_get_payload_len(nlh))
		mnl_attr_parse(nlh, off, extack_cb, &p);
}

static const char *attr_name(int type, char *buf, size_t len)
{
	if (type >= 0 && type <= MRLEASE_A_MAX && request_attr_name[type])
		return request_attr_name[type];
	snprintf(buf, len, "attribute %d", type);
	return buf;
}

static void report(const char *what, const struct nl_err *e)
{
	char where[96] = "", buf[32];

	if (e->bad_type >= 0)
		snprintf(where, sizeof(where), " [%s]", attr_name(e->bad_type, buf, sizeof(buf)));
	else if (e->miss_type >= 0)
		snprintf(where, sizeof(where), " [missing %s]",
			 attr_name(e->miss_type, buf, sizeof(buf)));
	if (e->msg[0])
		err_msg("%s: %s (%s)%s", what, e->msg, strerror(e->err), where);
	else
		err_msg("%s: %s%s", what, strerror(e->err), where);
}

/* Returns 0, or -1 with @e filled in. */
static int talk(struct nl *nl, struct nlmsghdr *req, nl_msg_cb cb, void *data,
		struct nl_err *e)
{
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	struct nl_attrs at;
	ssize_t n;

	nl->dump_intr = false;
	if (mnl_socket_sendto(nl->sk, req, req->nlmsg_len) < 0) {
		*e = (struct nl_err){ .err = errno, .bad_type = -1, .miss_type = -1 };
		return -1;
	}
	for (;;) {
		const struct nlmsghdr *nlh;
		int len;

		n = mnl_socket_recvfrom(nl->sk, nl->rbuf, nl->rlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*e = (struct nl_err){ .err = errno, .bad_type = -1, .miss_type = -1 };
			return -1;
		}
		len = n;
		for (nlh = (const void *)nl->rbuf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (!mnl_nlmsg_portid_ok(nlh, nl->portid) ||
			    !mnl_nlmsg_seq_ok(nlh, req->nlmsg_seq))
				continue;	/* a late reply to an earlier request */
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				nl->dump_intr = true;
			switch (nlh->nlmsg_type) {
			case NLMSG_NOOP:
				continue;
			case NLMSG_OVERRUN:
				*e = (struct nl_err){ .err = ENOBUFS, .bad_type = -1, .miss_type = -1 };
				return -1;
			case NLMSG_ERROR:
			case NLMSG_DONE:
				parse_error(nlh, req, e);
				if (e->err)
					return -1;
				if (e->msg[0])
					warn_msg("%s", e->msg);
				/* A dump ends with DONE, a request with its ack. */
				if (nlh->nlmsg_type == NLMSG_DONE || !dump)
					return 0;
				continue;
			}
			if (nlh->nlmsg_type != nl->family || !cb)
				continue;
			if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
				continue;
			nl_parse(nlh, &at);
			if (cb(nlh, &at, data) < 0) {
				*e = (struct nl_err){ .err = errno ? errno : EIO,
						      .bad_type = -1, .miss_type = -1 };
				return -1;
			}
		}
	}
}

int nl_talk(struct nl *nl, struct nlmsghdr *nlh, nl_msg_cb cb, void *data,
	    const char *what)
{
	struct nl_err e;

	if (talk(nl, nlh, cb, data, &e) == 0)
		return 0;
	report(what, &e);
	errno = e.err;
	return -1;
}

struct family {
	uint16_t id;
	uint32_t version;
	uint32_t monitor_group;
};

/* The family's id, version and multicast groups, from CTRL_CMD_GETFAMILY. */
static int family_cb(const struct nlmsghdr *nlh, const struct nl_attrs *unused, void *data)
{
	struct family *fam = data;
	const struct nlattr *attr, *grp, *ga;

	(void)unused;
	mnl_attr_for_each(attr, nlh, GENL_HDRLEN) {
		switch (mnl_attr_get_type(attr)) {
		case CTRL_ATTR_FAMILY_ID:
			if (mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
				fam->id = mnl_attr_get_u16(attr);
			break;
		case CTRL_ATTR_VERSION:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				fam->version = mnl_attr_get_u32(attr);
			break;
		case CTRL_ATTR_MCAST_GROUPS:
			mnl_attr_for_each_nested(grp, attr) {
				const char *name = NULL;
				uint32_t id = 0;

				mnl_attr_for_each_nested(ga, grp) {
					if (mnl_attr_get_type(ga) == CTRL_ATTR_MCAST_GRP_NAME &&
					    mnl_attr_validate(ga, MNL_TYPE_NUL_STRING) == 0)
						name = mnl_attr_get_str(ga);
					else if (mnl_attr_get_type(ga) == CTRL_ATTR_MCAST_GRP_ID &&
						 mnl_attr_validate(ga, MNL_TYPE_U32) == 0)
						id = mnl_attr_get_u32(ga);
				}
				if (name && !strcmp(name, MRLEASE_GENL_MCGRP_MONITOR))
					fam->monitor_group = id;
			}
			break;
		}
	}
	return 0;
}

static int nl_open(struct nl *nl)
{
	struct family fam = { 0 };
	struct nlmsghdr *nlh;
	struct nl_err e;
	int one = 1;

	memset(nl, 0, offsetof(struct nl, sbuf));
	nl->rlen = RECV_BUF_SIZE;
	nl->rbuf = malloc(nl->rlen);
	if (!nl->rbuf) {
		err_msg("out of memory");
		return -1;
	}
	nl->sk = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sk) {
		err_msg("cannot open a generic netlink socket: %s", strerror(errno));
		goto free_buf;
	}
	/* Error messages from the kernel, without an echo of our request. */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		err_msg("cannot bind the generic netlink socket: %s", strerror(errno));
		goto close_sk;
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = time(NULL);

	nl->family = GENL_ID_CTRL;
	nlh = nl_msg(nl, CTRL_CMD_GETFAMILY, 0);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, MRLEASE_GENL_NAME);
	if (talk(nl, nlh, family_cb, &fam, &e) < 0) {
		/* The kernel already tried to autoload the module by its alias. */
		if (e.err == ENOENT)
			err_msg("mrlease kernel module not loaded (modprobe mrlease)");
		else
			report("resolving the generic netlink family \"" MRLEASE_GENL_NAME "\"", &e);
		goto close_sk;
	}
	nl->family = fam.id;
	nl->family_version = fam.version;
	nl->monitor_group = fam.monitor_group;
	if (!nl->family) {
		err_msg("the kernel did not say the id of the \"" MRLEASE_GENL_NAME "\" family");
		goto close_sk;
	}
	return 0;

close_sk:
	mnl_socket_close(nl->sk);
	nl->sk = NULL;
free_buf:
	free(nl->rbuf);
	nl->rbuf = NULL;
	return -1;
}

static void nl_close(struct nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	free(nl->rbuf);
	nl->sk = NULL;
	nl->rbuf = NULL;
}

static struct nl the_sock;

struct nl *nl_sock(void)
{
	if (!the_sock.sk && nl_open(&the_sock))
		return NULL;
	return &the_sock;
}

void nl_sock_close(void)
{
	nl_close(&the_sock);
}

int nl_request(uint8_t cmd, uint16_t flags, nl_msg_cb cb, void *data,
	       const char *what)
{
	struct nl *nl = nl_sock();

	if (!nl)
		return -1;
	return nl_talk(nl, nl_msg(nl, cmd, flags), cb, data, what);
}

int nl_show(struct args *a, const char *what, void (*help)(FILE *f), uint8_t cmd,
	    nl_msg_cb cb)
{
	if (args_is_help(a)) {
		help(stdout);
		return EXIT_OK;
	}
	if (!args_empty(a))
		return usage_err("%s: unexpected \"%s\"", what, args_peek(a));
	return nl_request(cmd, 0, cb, NULL, what) ? EXIT_ERR : EXIT_OK;
}
