/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal generic netlink client for the reliability tests (stress, fuzz,
 * fault injection): raw sockets, no libmnl, so the tests stay static.
 *
 * Functions return 0 or a negative errno; they never fail the test
 * themselves, because the fault-injection test needs the errors.
 */
#ifndef MRLEASE_TEST_NL_H
#define MRLEASE_TEST_NL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/mrlease.h>

#define NL_BUF_SIZE	(64 * 1024)

struct nl {
	int fd;
	uint16_t family;	/* 0 until resolved */
	uint32_t monitor_grp;	/* multicast group id, 0 if none */
	uint32_t seq;
	uint32_t portid;
};

/* Global counters of MRLEASE_CMD_STATS_GET. */
struct nl_stats {
	uint64_t contexts, leases, pinned_pages;
	uint64_t registers, breaks, acks, restores, revokes, unregisters;
};

static inline int nl_socket(struct nl *nl, int rcvtimeo_ms)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t len = sizeof(sa);
	struct timeval tv = { rcvtimeo_ms / 1000, (rcvtimeo_ms % 1000) * 1000 };
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(nl->fd, (struct sockaddr *)&sa, &len)) {
		int e = errno;

		close(nl->fd);
		nl->fd = -1;
		return -e;
	}
	nl->portid = sa.nl_pid;
	setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Extended ACKs, and errors that do not echo the whole request. */
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;
}

static inline void nl_close(struct nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

/* Append an attribute to the message in @buf of length *@len (aligned). */
static inline void nl_put(char *buf, size_t *len, uint16_t type, const void *data, uint16_t dlen)
{
	struct nlattr *a = (struct nlattr *)(buf + *len);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + dlen;
	if (dlen)
		memcpy((char *)a + NLA_HDRLEN, data, dlen);
	memset((char *)a + NLA_HDRLEN + dlen, 0, NLA_ALIGN(a->nla_len) - a->nla_len);
	*len += NLA_ALIGN(a->nla_len);
}

/* Start a genl request in @buf; returns its length so far. */
static inline size_t nl_start(struct nl *nl, char *buf, uint16_t type, uint16_t flags, uint8_t cmd,
			      uint8_t version)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct genlmsghdr *g = (struct genlmsghdr *)(buf + NLMSG_HDRLEN);

	memset(buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = ++nl->seq;
	g->cmd = cmd;
	g->version = version;
	return NLMSG_HDRLEN + GENL_HDRLEN;
}

static inline int nl_send(struct nl *nl, char *buf, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	ssize_t n;

	((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)len;
	n = sendto(nl->fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

/* Attribute @type in [attrs, attrs + len), or NULL. */
static inline const struct nlattr *nl_attr(const void *attrs, size_t len, uint16_t type)
{
	const char *p = attrs;

	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const void *)p;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		if ((size_t)NLA_ALIGN(a->nla_len) >= len)
			break;
		len -= NLA_ALIGN(a->nla_len);
		p += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

static inline uint64_t nl_u64(const struct nlattr *a)
{
	uint64_t v = 0;

	if (a && a->nla_len >= NLA_HDRLEN + 8)
		memcpy(&v, (const char *)a + NLA_HDRLEN, 8);
	else if (a && a->nla_len >= NLA_HDRLEN + 4)
		memcpy(&v, (const char *)a + NLA_HDRLEN, 4);
	return v;
}

/*
 * Receive the replies to request @seq until its ack (NLMSG_ERROR) or the end
 * of a dump (NLMSG_DONE), calling @cb for each data message with its genl
 * attributes.  Returns the request's error (0 or negative), or a receive
 * error (-EAGAIN on timeout).  *@intr is set if a dump was flagged
 * NLM_F_DUMP_INTR.
 */
typedef void (*nl_cb)(void *arg, const struct nlmsghdr *h, const void *attrs, size_t len);

static inline int nl_recv(struct nl *nl, uint32_t seq, nl_cb cb, void *arg, bool *intr)
{
	static __thread char buf[NL_BUF_SIZE];

	for (;;) {
		ssize_t n = recv(nl->fd, buf, sizeof(buf), 0);
		const struct nlmsghdr *h;
		size_t left;

		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		left = (size_t)n;
		for (h = (const void *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (intr && (h->nlmsg_flags & NLM_F_DUMP_INTR))
				*intr = true;
			if (h->nlmsg_type == NLMSG_DONE) {
				int err = 0;

				/* A dump that failed ends with its error in NLMSG_DONE. */
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(err)))
					memcpy(&err, NLMSG_DATA(h), sizeof(err));
				return err < 0 ? err : 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EIO;
				return e->error;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
				return -EIO;
			if (cb)
				cb(arg, h, (const char *)NLMSG_DATA(h) + GENL_HDRLEN,
				   h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN));
		}
	}
}

struct nl_family_arg {
	uint16_t id;
	uint32_t grp;
};

static inline void nl_family_cb(void *arg, const struct nlmsghdr *h, const void *attrs, size_t len)
{
	struct nl_family_arg *f = arg;
	const struct nlattr *a = nl_attr(attrs, len, CTRL_ATTR_FAMILY_ID);
	const struct nlattr *grps = nl_attr(attrs, len, CTRL_ATTR_MCAST_GROUPS);

	(void)h;
	if (a)
		memcpy(&f->id, (const char *)a + NLA_HDRLEN, 2);
	if (grps) {
		const char *p = (const char *)grps + NLA_HDRLEN;
		size_t left = grps->nla_len - NLA_HDRLEN;

		while (left >= NLA_HDRLEN) {
			const struct nlattr *g = (const void *)p;
			const struct nlattr *name, *id;

			if (g->nla_len < NLA_HDRLEN || g->nla_len > left)
				break;
			name = nl_attr((const char *)g + NLA_HDRLEN, g->nla_len - NLA_HDRLEN,
				       CTRL_ATTR_MCAST_GRP_NAME);
			id = nl_attr((const char *)g + NLA_HDRLEN, g->nla_len - NLA_HDRLEN,
				     CTRL_ATTR_MCAST_GRP_ID);
			if (name && id && !strcmp((const char *)name + NLA_HDRLEN,
						  MRLEASE_GENL_MCGRP_MONITOR))
				f->grp = (uint32_t)nl_u64(id);
			if ((size_t)NLA_ALIGN(g->nla_len) >= left)
				break;
			left -= NLA_ALIGN(g->nla_len);
			p += NLA_ALIGN(g->nla_len);
		}
	}
}

/* Resolve the "mrlease" family (CTRL_CMD_GETFAMILY) and its monitor group. */
static inline int nl_resolve(struct nl *nl)
{
	char buf[256];
	struct nl_family_arg f = { 0 };
	size_t len = nl_start(nl, buf, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
	int r;

	nl_put(buf, &len, CTRL_ATTR_FAMILY_NAME, MRLEASE_GENL_NAME, sizeof(MRLEASE_GENL_NAME));
	r = nl_send(nl, buf, len);
	if (r)
		return r;
	r = nl_recv(nl, nl->seq, nl_family_cb, &f, NULL);
	if (r)
		return r;
	if (!f.id)
		return -ENOENT;
	nl->family = f.id;
	nl->monitor_grp = f.grp;
	return 0;
}

/* Open a socket and resolve the family. */
static inline int nl_open(struct nl *nl, int rcvtimeo_ms)
{
	int r = nl_socket(nl, rcvtimeo_ms);

	if (r)
		return r;
	r = nl_resolve(nl);
	if (r)
		nl_close(nl);
	return r;
}

/* Send one request of ours with an optional u64 lease id; the replies go to @cb. */
static inline int nl_request(struct nl *nl, uint8_t cmd, uint16_t flags, uint64_t id, nl_cb cb, void *arg,
			     bool *intr)
{
	char buf[256];
	size_t len = nl_start(nl, buf, nl->family, NLM_F_REQUEST | NLM_F_ACK | flags, cmd,
			      MRLEASE_GENL_VERSION);
	int r;

	if (id)
		nl_put(buf, &len, MRLEASE_A_LEASE_ID, &id, sizeof(id));
	r = nl_send(nl, buf, len);
	if (r)
		return r;
	return nl_recv(nl, nl->seq, cb, arg, intr);
}

static inline void nl_stats_cb(void *arg, const struct nlmsghdr *h, const void *attrs, size_t len)
{
	struct nl_stats *s = arg;

	(void)h;
	s->contexts = nl_u64(nl_attr(attrs, len, MRLEASE_A_STATS_CONTEXTS));
	s->leases = nl_u64(nl_attr(attrs, len, MRLEASE_A_STATS_LEASES));
	s->pinned_pages = nl_u64(nl_attr(attrs, len, MRLEASE_A_STATS_PINNED_PAGES));
	s->registers = nl_u64(nl_attr(attrs, len, MRLEASE_A_STATS_REGISTERS));
	s->breaks = nl_u64(nl_attr(attrs, len, MRLEASE_A_STATS_BREAKS));
	s->acks = nl_u64(nl_attr(attrs, len, MRLEASE_A_STATS_ACKS));
	s->restores = nl_u64(nl_attr(attrs, len, MRLEASE_A_STATS_RESTORES));
	s->revokes = nl_u64(nl_attr(attrs, len, MRLEASE_A_STATS_REVOKES));
	s->unregisters = nl_u64(nl_attr(attrs, len, MRLEASE_A_STATS_UNREGISTERS));
}

static inline int nl_stats(struct nl *nl, struct nl_stats *s)
{
	memset(s, 0, sizeof(*s));
	return nl_request(nl, MRLEASE_CMD_STATS_GET, 0, 0, nl_stats_cb, s, NULL);
}

static inline void nl_count_cb(void *arg, const struct nlmsghdr *h, const void *attrs, size_t len)
{
	(void)h;
	(void)attrs;
	(void)len;
	(*(unsigned long *)arg)++;
}

/* Number of leases a full dump shows. */
static inline int nl_dump_count(struct nl *nl, unsigned long *count, bool *intr)
{
	*count = 0;
	return nl_request(nl, MRLEASE_CMD_LEASE_GET, NLM_F_DUMP, 0, nl_count_cb, count, intr);
}

/* VmPin of /proc/self/status in kB (mm->pinned_vm), or -1. */
static inline long proc_vmpin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmPin:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

#endif /* MRLEASE_TEST_NL_H */
