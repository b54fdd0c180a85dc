// SPDX-License-Identifier: GPL-2.0
/*
 * ctl-badmsg: send the "mrlease" generic netlink family malformed and
 * oversized requests, built by hand byte by byte, and check that each one
 * is refused with the expected error and, where a policy or handler
 * rejects it, an extended-ACK message.  Afterwards the family must still
 * answer well-formed requests and the configuration must be unchanged.
 * Runs as root (some cases need CAP_SYS_ADMIN to get past the permission
 * check to the attribute checks).  Prints one line per case; exit 0 if all
 * passed, 1 otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/mrlease.h>

#define ALIGN4(x)	(((x) + 3u) & ~3u)
#define HUGE_BYTES	(1u << 20)
#define ANY_ERROR	(-1)	/* any nonzero error will do */
#define NO_REPLY_OK	(-2)	/* the kernel may also drop it silently */

static int sk;
static uint16_t family;
static uint32_t seq = 1;
static int failures;

/* A message under construction. */
struct msg {
	char *buf;
	size_t cap;
	size_t send_len;	/* if not 0: send only this much */
	struct nlmsghdr *nlh;
};

static void msg_init(struct msg *m, size_t cap, uint16_t type, uint16_t flags, uint8_t cmd)
{
	struct genlmsghdr *g;

	m->cap = cap;
	m->send_len = 0;
	m->buf = calloc(1, cap);
	if (!m->buf) {
		perror("calloc");
		exit(1);
	}
	m->nlh = (struct nlmsghdr *)m->buf;
	m->nlh->nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN;
	m->nlh->nlmsg_type = type;
	m->nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	m->nlh->nlmsg_seq = ++seq;
	g = (struct genlmsghdr *)(m->buf + NLMSG_HDRLEN);
	g->cmd = cmd;
	g->version = 1;
}

/* Append an attribute whose header says @nla_len but which carries @len bytes of @data. */
static void put_raw(struct msg *m, uint16_t type, uint16_t nla_len, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(m->buf + m->nlh->nlmsg_len);

	if (m->nlh->nlmsg_len + ALIGN4(NLA_HDRLEN + len) > m->cap) {
		fprintf(stderr, "message buffer too small\n");
		exit(1);
	}
	a->nla_type = type;
	a->nla_len = nla_len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	m->nlh->nlmsg_len += ALIGN4(NLA_HDRLEN + len);
}

static void put(struct msg *m, uint16_t type, const void *data, size_t len)
{
	put_raw(m, type, NLA_HDRLEN + len, data, len);
}

static void put_u32(struct msg *m, uint16_t type, uint32_t v) { put(m, type, &v, 4); }
static void put_u64(struct msg *m, uint16_t type, uint64_t v) { put(m, type, &v, 8); }

struct reply {
	int error;		/* 0, a negative errno, or 1: no reply */
	char extack[256];
	int nmsgs;		/* data messages before the end */
	uint32_t u32[MRLEASE_A_MAX + 1];	/* u32 attributes of the last data message */
};

static void parse_extack(const struct nlmsghdr *nlh, size_t off, struct reply *r)
{
	size_t end = nlh->nlmsg_len;

	while (off + NLA_HDRLEN <= end) {
		const struct nlattr *a = (const void *)((const char *)nlh + off);

		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > end)
			break;
		if (a->nla_type == NLMSGERR_ATTR_MSG)
			snprintf(r->extack, sizeof(r->extack), "%.*s",
				 (int)(a->nla_len - NLA_HDRLEN), (const char *)a + NLA_HDRLEN);
		off += ALIGN4(a->nla_len);
	}
}

/* Send @m and read until its ack, error or end of dump. */
static void talk(struct msg *m, struct reply *r)
{
	static char buf[64 * 1024];
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	memset(r, 0, sizeof(*r));
	if (sendto(sk, m->buf, m->send_len ? m->send_len : m->nlh->nlmsg_len, 0,
		   (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		r->error = -errno;
		snprintf(r->extack, sizeof(r->extack), "(sendto failed)");
		return;
	}
	for (;;) {
		ssize_t n = recv(sk, buf, sizeof(buf), 0);
		struct nlmsghdr *nlh;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				r->error = 1;
				return;
			}
			r->error = -errno;
			return;
		}
		for (nlh = (void *)buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_seq != m->nlh->nlmsg_seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nlh);
				size_t off = NLMSG_HDRLEN + sizeof(*e);

				if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
					off += e->msg.nlmsg_len - NLMSG_HDRLEN;
				r->error = e->error;
				if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
					parse_extack(nlh, off, r);
				return;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				r->error = *(int *)NLMSG_DATA(nlh);
				if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
					parse_extack(nlh, NLMSG_HDRLEN + sizeof(int), r);
				return;
			}
			if (nlh->nlmsg_type == family) {
				size_t off = NLMSG_HDRLEN + GENL_HDRLEN;

				r->nmsgs++;
				while (off + NLA_HDRLEN <= nlh->nlmsg_len) {
					struct nlattr *a = (void *)((char *)nlh + off);

					if (a->nla_len < NLA_HDRLEN || off + a->nla_len > nlh->nlmsg_len)
						break;
					if (a->nla_type <= MRLEASE_A_MAX && a->nla_len == NLA_HDRLEN + 4)
						memcpy(&r->u32[a->nla_type], (char *)a + NLA_HDRLEN, 4);
					off += ALIGN4(a->nla_len);
				}
			}
		}
	}
}

/*
 * Send @m (freed afterwards) and check the answer: @want is the expected
 * negative errno, ANY_ERROR, or NO_REPLY_OK (an error or silence);
 * @want_extack: a message must come with it.
 */
static void expect(const char *what, struct msg *m, int want, int want_extack)
{
	struct reply r;
	int ok;

	talk(m, &r);
	free(m->buf);
	if (want == NO_REPLY_OK)
		ok = r.error != 0;
	else if (want == ANY_ERROR)
		ok = r.error < 0;
	else
		ok = r.error == want;
	if (ok && want_extack && !r.extack[0])
		ok = 0;
	printf("%s - %s: %s%s%s%s\n", ok ? "ok" : "FAIL", what,
	       r.error == 1 ? "no reply" : r.error ? strerror(-r.error) : "success",
	       r.extack[0] ? " (extack: \"" : "", r.extack, r.extack[0] ? "\")" : "");
	if (!ok) {
		printf("       wanted %s%s\n",
		       want == ANY_ERROR ? "an error" : want == NO_REPLY_OK ? "an error or no reply" :
		       strerror(-want), want_extack ? " with an extack message" : "");
		failures++;
	}
}

static void resolve_family(void)
{
	struct msg m;
	char buf[8192];
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;
	struct nlmsghdr *nlh;

	msg_init(&m, 256, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY);
	put(&m, CTRL_ATTR_FAMILY_NAME, MRLEASE_GENL_NAME, sizeof(MRLEASE_GENL_NAME));
	m.nlh->nlmsg_flags &= ~NLM_F_ACK;
	if (sendto(sk, m.buf, m.nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		perror("sendto");
		exit(1);
	}
	n = recv(sk, buf, sizeof(buf), 0);
	free(m.buf);
	for (nlh = (void *)buf; n > 0 && NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
		size_t off = NLMSG_HDRLEN + GENL_HDRLEN;

		if (nlh->nlmsg_type != GENL_ID_CTRL)
			continue;
		while (off + NLA_HDRLEN <= nlh->nlmsg_len) {
			struct nlattr *a = (void *)((char *)nlh + off);

			if (a->nla_type == CTRL_ATTR_FAMILY_ID)
				memcpy(&family, (char *)a + NLA_HDRLEN, 2);
			off += ALIGN4(a->nla_len);
		}
	}
	if (!family) {
		fprintf(stderr, "ctl-badmsg: family %s not found\n", MRLEASE_GENL_NAME);
		exit(1);
	}
}

static void config_get(struct reply *r)
{
	struct msg m;

	msg_init(&m, 64, family, 0, MRLEASE_CMD_CONFIG_GET);
	talk(&m, r);
	free(m.buf);
}

/* How a table case's attribute is encoded. */
enum attr_kind { NONE, U32, U64, BYTES12, EMPTY };

/*
 * A request of one command with up to two attributes, and the answer it
 * must get: a negative errno, and whether an extended-ACK message must
 * come with it.
 */
struct bad_case {
	const char *what;
	uint8_t cmd;
	uint16_t flags;		/* 0 or NLM_F_DUMP */
	struct {
		enum attr_kind kind;
		uint16_t type;
		uint64_t val;
	} attrs[2];
	int want;
	int want_extack;
};

static const struct bad_case bad_cases[] = {
	/* --- wrong attribute lengths */
	{ "lease get: id as u32", MRLEASE_CMD_LEASE_GET, 0,
	  { { U32, MRLEASE_A_LEASE_ID, 1 } }, -EINVAL, 1 },
	{ "lease get: id of 12 bytes", MRLEASE_CMD_LEASE_GET, 0,
	  { { BYTES12, MRLEASE_A_LEASE_ID, 0 } }, -EINVAL, 1 },
	{ "lease get: empty id", MRLEASE_CMD_LEASE_GET, 0,
	  { { EMPTY, MRLEASE_A_LEASE_ID, 0 } }, -EINVAL, 1 },
	{ "config set: break timeout as u64", MRLEASE_CMD_CONFIG_SET, 0,
	  { { U64, MRLEASE_A_CFG_BREAK_TIMEOUT_MS, 1000 } }, -EINVAL, 1 },
	{ "config set: max break timeout as u64", MRLEASE_CMD_CONFIG_SET, 0,
	  { { U64, MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS, 1000 } }, -EINVAL, 1 },
	{ "lease dump: pid filter as u64", MRLEASE_CMD_LEASE_GET, NLM_F_DUMP,
	  { { U64, MRLEASE_A_OWNER_PID, 1 } }, -EINVAL, 1 },
	/* --- unknown attributes and attributes the command does not take */
	{ "lease get: unknown attribute type MAX + 1", MRLEASE_CMD_LEASE_GET, 0,
	  { { U64, MRLEASE_A_LEASE_ID, 1 }, { U32, MRLEASE_A_MAX + 1, 0 } }, -EINVAL, 1 },
	{ "lease get: unknown attribute type 0x3fff", MRLEASE_CMD_LEASE_GET, 0,
	  { { U32, 0x3fff, 0 } }, -EINVAL, 1 },
	{ "lease get: attribute type 0 (UNSPEC)", MRLEASE_CMD_LEASE_GET, 0,
	  { { U64, MRLEASE_A_UNSPEC, 1 } }, -EINVAL, 1 },
	{ "lease get: a config attribute", MRLEASE_CMD_LEASE_GET, 0,
	  { { U32, MRLEASE_A_CFG_BREAK_TIMEOUT_MS, 1000 } }, -EINVAL, 1 },
	{ "stats get: any attribute", MRLEASE_CMD_STATS_GET, 0,
	  { { U64, MRLEASE_A_LEASE_ID, 1 } }, -EINVAL, 1 },
	{ "config get: any attribute", MRLEASE_CMD_CONFIG_GET, 0,
	  { { U32, MRLEASE_A_CFG_BREAK_TIMEOUT_MS, 1 } }, -EINVAL, 1 },
	{ "lease dump: a notification attribute", MRLEASE_CMD_LEASE_GET, NLM_F_DUMP,
	  { { U32, MRLEASE_A_BREAKER_PID, 1 } }, -EINVAL, 1 },
	{ "config set: a nest it does not take", MRLEASE_CMD_CONFIG_SET, 0,
	  { { EMPTY, MRLEASE_A_STATS_ACK_HIST | NLA_F_NESTED, 0 } }, -EINVAL, 1 },
	{ "lease revoke: an extra pid", MRLEASE_CMD_LEASE_REVOKE, 0,
	  { { U64, MRLEASE_A_LEASE_ID, 1 }, { U32, MRLEASE_A_OWNER_PID, 1 } }, -EINVAL, 1 },
	/* --- missing, out-of-range, absent things */
	{ "lease revoke: no id", MRLEASE_CMD_LEASE_REVOKE, 0,
	  { { NONE, 0, 0 } }, -EINVAL, 1 },
	{ "lease get: no id", MRLEASE_CMD_LEASE_GET, 0,
	  { { NONE, 0, 0 } }, -EINVAL, 1 },
	{ "lease get: id 2^64-1", MRLEASE_CMD_LEASE_GET, 0,
	  { { U64, MRLEASE_A_LEASE_ID, UINT64_MAX } }, -ENOENT, 1 },
	{ "lease revoke: id 0", MRLEASE_CMD_LEASE_REVOKE, 0,
	  { { U64, MRLEASE_A_LEASE_ID, 0 } }, -ENOENT, 1 },
	{ "config set: break timeout 0", MRLEASE_CMD_CONFIG_SET, 0,
	  { { U32, MRLEASE_A_CFG_BREAK_TIMEOUT_MS, 0 } }, -ERANGE, 1 },
	{ "config set: break timeout 3600001", MRLEASE_CMD_CONFIG_SET, 0,
	  { { U32, MRLEASE_A_CFG_BREAK_TIMEOUT_MS, 3600001 } }, -ERANGE, 1 },
	{ "config set: max break timeout 0", MRLEASE_CMD_CONFIG_SET, 0,
	  { { U32, MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS, 0 } }, -ERANGE, 1 },
	{ "config set: max break timeout 3600001", MRLEASE_CMD_CONFIG_SET, 0,
	  { { U32, MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS, 3600001 } }, -ERANGE, 1 },
	{ "config set: max leases per ctx 0", MRLEASE_CMD_CONFIG_SET, 0,
	  { { U32, MRLEASE_A_CFG_MAX_LEASES_PER_CTX, 0 } }, -ERANGE, 1 },
	{ "config set: a good and a bad value (none applied)", MRLEASE_CMD_CONFIG_SET, 0,
	  { { U32, MRLEASE_A_CFG_BREAK_TIMEOUT_MS, 5000 },
	    { U32, MRLEASE_A_CFG_MAX_LEASES_PER_USER, 0 } }, -ERANGE, 1 },
	/* --- commands that do not exist or only exist as notifications */
	{ "unknown command 99", 99, 0, { { NONE, 0, 0 } }, -EOPNOTSUPP, 0 },
	{ "notification command sent as a request", MRLEASE_CMD_LEASE_NTF, 0,
	  { { NONE, 0, 0 } }, -EOPNOTSUPP, 0 },
	{ "command 0 (UNSPEC)", MRLEASE_CMD_UNSPEC, 0, { { NONE, 0, 0 } }, -EOPNOTSUPP, 0 },
	{ "dump of stats (do only)", MRLEASE_CMD_STATS_GET, NLM_F_DUMP,
	  { { NONE, 0, 0 } }, -EOPNOTSUPP, 0 },
};

/* After all of them: the family still works. */
static const struct bad_case good_cases[] = {
	{ "lease dump afterwards (must succeed)", MRLEASE_CMD_LEASE_GET, NLM_F_DUMP,
	  { { NONE, 0, 0 } }, 0, 0 },
	{ "stats afterwards (must succeed)", MRLEASE_CMD_STATS_GET, 0, { { NONE, 0, 0 } }, 0, 0 },
};

static void run_bad_case(const struct bad_case *c)
{
	static const uint8_t twelve[12];
	struct msg m;
	unsigned int i;

	msg_init(&m, 256, family, c->flags, c->cmd);
	for (i = 0; i < sizeof(c->attrs) / sizeof(c->attrs[0]); i++) {
		switch (c->attrs[i].kind) {
		case NONE:
			break;
		case U32:
			put_u32(&m, c->attrs[i].type, (uint32_t)c->attrs[i].val);
			break;
		case U64:
			put_u64(&m, c->attrs[i].type, c->attrs[i].val);
			break;
		case BYTES12:
			put(&m, c->attrs[i].type, twelve, sizeof(twelve));
			break;
		case EMPTY:
			put(&m, c->attrs[i].type, NULL, 0);
			break;
		}
	}
	expect(c->what, &m, c->want, c->want_extack);
}

/* Headers and lengths that lie. */
static void bad_framing(void)
{
	uint8_t twelve[12] = { 0 };
	struct msg m;

	msg_init(&m, 256, family, 0, MRLEASE_CMD_LEASE_GET);
	put_raw(&m, MRLEASE_A_LEASE_ID, 200, twelve, 8);
	expect("lease get: nla_len past the end of the message", &m, -EINVAL, 1);

	msg_init(&m, 256, family, 0, MRLEASE_CMD_LEASE_GET);
	put_raw(&m, MRLEASE_A_LEASE_ID, 2, twelve, 8);
	expect("lease get: nla_len 2 (less than a header)", &m, -EINVAL, 1);

	msg_init(&m, 256, family, 0, MRLEASE_CMD_LEASE_GET);
	put_u64(&m, MRLEASE_A_LEASE_ID, 1);
	m.nlh->nlmsg_len += 2;		/* two stray bytes after the attributes */
	expect("lease get: trailing bytes", &m, -EINVAL, 1);

	msg_init(&m, 256, family, 0, MRLEASE_CMD_LEASE_GET);
	m.nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	expect("lease get: shorter than the genetlink header", &m, ANY_ERROR, 0);

	msg_init(&m, 256, family, 0, MRLEASE_CMD_LEASE_GET);
	put_u64(&m, MRLEASE_A_LEASE_ID, 1);
	m.send_len = m.nlh->nlmsg_len;
	m.nlh->nlmsg_len += 64;		/* claims more than is sent */
	expect("lease get: nlmsg_len longer than the datagram", &m, NO_REPLY_OK, 0);
}

/* 65000-byte attributes, and a megabyte of them. */
static void huge_messages(void)
{
	char *blob = calloc(1, 65000);
	struct msg m;
	unsigned int i;

	if (!blob) {
		printf("FAIL - calloc\n");
		failures++;
		return;
	}
	msg_init(&m, 70000, family, 0, MRLEASE_CMD_LEASE_GET);
	put(&m, MRLEASE_A_LEASE_ID, blob, 65000);
	expect("lease get: a 65000-byte id", &m, -EINVAL, 1);

	msg_init(&m, 70000, family, 0, MRLEASE_CMD_CONFIG_SET);
	put(&m, MRLEASE_A_CFG_BREAK_TIMEOUT_MS, blob, 65000);
	expect("config set: a 65000-byte break timeout", &m, -EINVAL, 1);
	free(blob);

	msg_init(&m, HUGE_BYTES + 64, family, 0, MRLEASE_CMD_LEASE_GET);
	for (i = 0; i < HUGE_BYTES / 12; i++)
		put_u64(&m, MRLEASE_A_LEASE_ID, i + 1);
	put_u32(&m, MRLEASE_A_MAX + 7, 0);
	expect("lease get: 1 MiB of ids, then an unknown attribute", &m, -EINVAL, 1);

	msg_init(&m, HUGE_BYTES + 64, family, NLM_F_DUMP, MRLEASE_CMD_LEASE_GET);
	for (i = 0; i < HUGE_BYTES / 8; i++)
		put_u32(&m, MRLEASE_A_MAX + 1 + i % 100, i);
	expect("lease dump: 1 MiB of unknown attributes", &m, -EINVAL, 1);
}

/* Nothing above may have changed the configuration. */
static void config_unchanged(const struct reply *before)
{
	struct reply after;

	config_get(&after);
	if (after.error || memcmp(before->u32, after.u32, sizeof(before->u32))) {
		printf("FAIL - the configuration changed: break timeout %u -> %u, max break timeout "
		       "%u -> %u, per ctx %u -> %u, per user %u -> %u\n",
		       before->u32[MRLEASE_A_CFG_BREAK_TIMEOUT_MS], after.u32[MRLEASE_A_CFG_BREAK_TIMEOUT_MS],
		       before->u32[MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS],
		       after.u32[MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS],
		       before->u32[MRLEASE_A_CFG_MAX_LEASES_PER_CTX],
		       after.u32[MRLEASE_A_CFG_MAX_LEASES_PER_CTX],
		       before->u32[MRLEASE_A_CFG_MAX_LEASES_PER_USER],
		       after.u32[MRLEASE_A_CFG_MAX_LEASES_PER_USER]);
		failures++;
	} else {
		printf("ok - configuration unchanged\n");
	}
}

int main(void)
{
	struct timeval tv = { .tv_sec = 3 };
	int one = 1, big = 8 << 20;
	struct reply before;
	unsigned int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (sk < 0) {
		perror("socket");
		return 1;
	}
	setsockopt(sk, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(sk, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Room for the huge messages (root may exceed wmem_max). */
	setsockopt(sk, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	resolve_family();
	config_get(&before);
	if (before.error || !before.nmsgs) {
		printf("FAIL - config get before: %s\n", strerror(-before.error));
		return 1;
	}

	/*
	 * Wrong lengths, unknown or misplaced attributes, missing, out-of-range
	 * or absent things, unknown commands.
	 */
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		run_bad_case(&bad_cases[i]);
	bad_framing();
	huge_messages();
	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++)
		run_bad_case(&good_cases[i]);
	config_unchanged(&before);

	printf("%d failure%s\n", failures, failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
