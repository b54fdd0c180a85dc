// SPDX-License-Identifier: GPL-2.0
/*
 * lease show [ID] [pid PID]	(a request with ID, else a dump)
 * lease revoke ID
 * and the printer of a lease's attributes, which monitor shares.
 */
#include <errno.h>
#include <string.h>

#include "mrlease-ctl.h"

/* new_encode_dev() */
static unsigned int dev_major(uint64_t dev) { return (dev & 0xfff00) >> 8; }
static unsigned int dev_minor(uint64_t dev) { return (dev & 0xff) | ((dev >> 12) & 0xfff00); }

static void pr_enum_attr(const struct nl_attrs *at, int type, const char *key,
			 const char *fmt, const char *const *names, unsigned int nr)
{
	char buf[32];

	if (nl_has(at, type))
		pr_str(key, fmt, pr_enum(names, nr, nl_u32(at, type), buf, sizeof(buf)));
}

static void pr_str_attr(const struct nl_attrs *at, int type, const char *key, const char *fmt)
{
	if (nl_has(at, type))
		pr_str(key, fmt, nl_str(at, type));
}

/* The plain numbers of a lease, in groups, in the order they are printed. */
static const struct pr_field lease_range[] = {
	{ MRLEASE_A_OWNER_UID,		"uid",		" uid %llu", NULL },
	{ MRLEASE_A_ADDR,		"addr",		" addr %#llx", NULL },
	{ MRLEASE_A_LEN,		"len",		" len %llu", NULL },
	{ MRLEASE_A_COOKIE,		"cookie",	" cookie %#llx", NULL },
};

static const struct pr_field lease_arm[] = {
	{ MRLEASE_A_GENERATION,		"generation",	" generation %llu", NULL },
	{ MRLEASE_A_PINNED_PAGES,	"pinned_pages",	" pinned_pages %llu", NULL },
};

static const struct pr_field lease_file[] = {
	{ MRLEASE_A_INO,		"ino",		" ino %llu", NULL },
	{ MRLEASE_A_OFFSET,		"offset",	" offset %llu", NULL },
};

static const struct pr_field lease_counts[] = {
	{ MRLEASE_A_TIMEOUT_MS,		"timeout_ms",	" timeout_ms %llu", NULL },
	{ MRLEASE_A_BREAKS,		"breaks",	" breaks %llu", NULL },
	{ MRLEASE_A_ACKS,		"acks",		" acks %llu", NULL },
	{ MRLEASE_A_RESTORES,		"restores",	" restores %llu", NULL },
	{ MRLEASE_A_REVOKES,		"revokes",	" revokes %llu", NULL },
};

void print_lease_attrs(const struct nl_attrs *at)
{
	char buf[48];
	uint64_t v;

	pr_num_attr(at, MRLEASE_A_LEASE_ID, "id", "lease %llu");
	/* Notifications: why, and who did it. */
	pr_enum_attr(at, MRLEASE_A_REASON, "reason", " reason %s", NAMES(mrlease_reason_names));
	pr_num_attr(at, MRLEASE_A_BREAKER_PID, "breaker_pid", " breaker_pid %llu");
	pr_str_attr(at, MRLEASE_A_BREAKER_COMM, "breaker_comm", " breaker_comm %s");

	pr_num_attr(at, MRLEASE_A_OWNER_PID, "owner_pid", " pid %llu");
	pr_str_attr(at, MRLEASE_A_OWNER_COMM, "owner_comm", " comm %s");
	pr_fields(at, lease_range, ARRAY_SIZE(lease_range));
	if (nl_has(at, MRLEASE_A_FLAGS))
		pr_flags("flags", "flags", NAMES(mrlease_reg_flag_names),
			 nl_u32(at, MRLEASE_A_FLAGS));
	pr_enum_attr(at, MRLEASE_A_STATE, "state", " state %s", NAMES(mrlease_state_names));
	pr_fields(at, lease_arm, ARRAY_SIZE(lease_arm));
	pr_enum_attr(at, MRLEASE_A_BACKING, "backing", " backing %s", NAMES(mrlease_backing_names));
	pr_str_attr(at, MRLEASE_A_PATH, "path", " path %s");
	if (nl_has(at, MRLEASE_A_DEV)) {
		v = nl_u64(at, MRLEASE_A_DEV);
		pr_u64("dev", NULL, v);
		pr_text(" dev %u:%u", dev_major(v), dev_minor(v));
	}
	pr_fields(at, lease_file, ARRAY_SIZE(lease_file));
	/* The FL_LAYOUT file lease behind a file backing, and why the kernel refused it. */
	pr_enum_attr(at, MRLEASE_A_LAYOUT, "layout", " layout %s", NAMES(mrlease_layout_names));
	if (nl_has(at, MRLEASE_A_LAYOUT_ERROR)) {
		int32_t err = (int32_t)nl_u32(at, MRLEASE_A_LAYOUT_ERROR);

		pr_s64("layout_error", NULL, err);
		pr_text(" (%s)", strerror(-err));
	}
	/* Whether a break by another process waits for the ack (up to timeout_ms). */
	pr_enum_attr(at, MRLEASE_A_HOLD, "hold", " hold %s", NAMES(mrlease_hold_names));
	pr_fields(at, lease_counts, ARRAY_SIZE(lease_counts));
	/* Text: a time and a duration, and only once there was a break / an ack. */
	if (nl_has(at, MRLEASE_A_LAST_BREAK_NS)) {
		v = nl_u64(at, MRLEASE_A_LAST_BREAK_NS);
		pr_u64("last_break_ns", NULL, v);
		if (v)
			pr_text(" last_break %s", pr_time_ns(v, buf, sizeof(buf)));
	}
	if (nl_has(at, MRLEASE_A_LAST_ACK_NS)) {
		v = nl_u64(at, MRLEASE_A_LAST_ACK_NS);
		pr_u64("last_ack_ns", NULL, v);
		if (v)
			pr_text(" last_ack %llu.%03llums", (unsigned long long)v / 1000000,
				(unsigned long long)v / 1000 % 1000);
	}
}

void help_lease(FILE *f)
{
	fprintf(f,
		"Usage: %s lease show [ ID ] [ pid PID ]\n"
		"       %s lease revoke ID\n", prog, prog);
}

static int lease_cb(const struct nlmsghdr *nlh, const struct nl_attrs *at, void *data)
{
	unsigned long *n = data;

	(void)nlh;
	pr_obj_open(NULL);
	print_lease_attrs(at);
	pr_obj_close();
	pr_end_record();
	(*n)++;
	return 0;
}

static int lease_show(struct args *a)
{
	uint64_t id = 0, pid = 0;
	bool have_id = false, have_pid = false;
	struct nlmsghdr *nlh;
	unsigned long n = 0;
	char what[64];
	struct nl *nl;
	int ret;

	while (!args_empty(a)) {
		const char *w = args_peek(a);
		int r;

		if (args_is_help(a)) {
			help_lease(stdout);
			return EXIT_OK;
		}
		if (args_match(a, "pid")) {
			if (have_pid)
				return usage_err("lease show: pid given twice");
			r = args_u64(a, "pid", INT32_MAX, &pid);
			have_pid = true;
		} else if (args_match(a, "id") || (w[0] >= '0' && w[0] <= '9')) {
			if (have_id)
				return usage_err("lease show: more than one lease id");
			r = args_u64(a, "lease id", UINT64_MAX, &id);
			have_id = true;
		} else {
			return usage_err("lease show: unknown argument \"%s\"", w);
		}
		if (r)
			return r;
	}
	if (have_id && have_pid)
		return usage_err("lease show: give a lease ID or pid PID, not both");

	nl = nl_sock();
	if (!nl)
		return EXIT_ERR;
	if (have_id) {
		nlh = nl_msg(nl, MRLEASE_CMD_LEASE_GET, 0);
		mnl_attr_put_u64(nlh, MRLEASE_A_LEASE_ID, id);
		snprintf(what, sizeof(what), "lease %llu", (unsigned long long)id);
	} else {
		nlh = nl_msg(nl, MRLEASE_CMD_LEASE_GET, NLM_F_DUMP);
		if (have_pid)
			mnl_attr_put_u32(nlh, MRLEASE_A_OWNER_PID, pid);
		snprintf(what, sizeof(what), "lease show");
	}
	pr_arr_open(NULL);
	ret = nl_talk(nl, nlh, lease_cb, &n, what);
	pr_arr_close();
	if (json)
		pr_end_record();
	else
		fflush(stdout);
	if (!ret && nl->dump_intr)
		warn_msg("dump was interrupted (leases changed meanwhile) and may be inconsistent; run it again");
	return ret ? EXIT_ERR : EXIT_OK;
}

static int lease_revoke(struct args *a)
{
	struct nlmsghdr *nlh;
	char what[64];
	struct nl *nl;
	uint64_t id;
	int ret;

	if (args_is_help(a)) {
		help_lease(stdout);
		return EXIT_OK;
	}
	args_match(a, "id");
	if (args_empty(a))
		return usage_err("lease revoke: which lease? (lease revoke ID)");
	ret = args_u64(a, "lease id", UINT64_MAX, &id);
	if (ret)
		return ret;
	if (!args_empty(a))
		return usage_err("lease revoke: unexpected \"%s\"", args_peek(a));

	nl = nl_sock();
	if (!nl)
		return EXIT_ERR;
	nlh = nl_msg(nl, MRLEASE_CMD_LEASE_REVOKE, 0);
	mnl_attr_put_u64(nlh, MRLEASE_A_LEASE_ID, id);
	snprintf(what, sizeof(what), "lease revoke %llu", (unsigned long long)id);
	ret = nl_talk(nl, nlh, NULL, NULL, what);
	return ret ? EXIT_ERR : EXIT_OK;
}

static const struct cmd lease_cmds[] = {
	{ "show", lease_show },
	{ "list", lease_show },
	{ "revoke", lease_revoke },
	{ NULL, NULL },
};

int do_lease(struct args *a)
{
	return dispatch("lease", lease_cmds, lease_show, help_lease, a);
}
