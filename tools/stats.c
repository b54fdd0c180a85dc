// SPDX-License-Identifier: GPL-2.0
/*
 * stats [show]: the module's counters and its histogram of ack latency.
 */
#include "mrlease-ctl.h"

#define HIST_MAX_BUCKETS 64

void help_stats(FILE *f)
{
	fprintf(f, "Usage: %s stats [ show ]\n", prog);
}

static const struct pr_field counters[] = {
	{ MRLEASE_A_STATS_CONTEXTS, "contexts", "contexts %llu", NULL },
	{ MRLEASE_A_STATS_LEASES, "leases", " leases %llu", NULL },
	{ MRLEASE_A_STATS_PINNED_PAGES, "pinned_pages", " pinned_pages %llu\n", NULL },
	{ MRLEASE_A_STATS_REGISTERS, "registers", "registers %llu", NULL },
	{ MRLEASE_A_STATS_BREAKS, "breaks", " breaks %llu", NULL },
	{ MRLEASE_A_STATS_ACKS, "acks", " acks %llu", NULL },
	{ MRLEASE_A_STATS_RESTORES, "restores", " restores %llu", NULL },
	{ MRLEASE_A_STATS_REVOKES, "revokes", " revokes %llu", NULL },
	{ MRLEASE_A_STATS_UNREGISTERS, "unregisters", " unregisters %llu\n", NULL },
};

static void print_hist(const struct nlattr *nest)
{
	uint64_t count[HIST_MAX_BUCKETS] = { 0 };
	bool present[HIST_MAX_BUCKETS] = { false };
	const struct nlattr *attr;
	unsigned int i, nonzero = 0;

	mnl_attr_for_each_nested(attr, nest) {
		unsigned int type = mnl_attr_get_type(attr);

		if (type < 1 || type > HIST_MAX_BUCKETS ||
		    mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
			continue;
		present[type - 1] = true;
		count[type - 1] = mnl_attr_get_u64(attr);
		nonzero += count[type - 1] != 0;
	}
	pr_text("ack_latency_us%s\n", nonzero ? "" : " none");
	pr_arr_open("ack_latency_hist");
	for (i = 0; i < HIST_MAX_BUCKETS; i++) {
		/* Bucket i counts acks in [2^i, 2^(i+1)) us; bucket 0 also those below 1 us. */
		uint64_t lo = i ? 1ULL << i : 0, hi = i < 63 ? 1ULL << (i + 1) : UINT64_MAX;

		if (!present[i] || (!json && !count[i]))
			continue;
		pr_obj_open(NULL);
		pr_u64("lo_us", "    [%llu, ", lo);
		pr_u64("hi_us", "%llu)", hi);
		pr_u64("count", " %llu\n", count[i]);
		pr_obj_close();
	}
	pr_arr_close();
}

static int stats_cb(const struct nlmsghdr *nlh, const struct nl_attrs *at, void *data)
{
	(void)nlh;
	(void)data;
	pr_obj_open(NULL);
	pr_fields(at, counters, ARRAY_SIZE(counters));
	if (at->tb[MRLEASE_A_STATS_ACK_HIST])
		print_hist(at->tb[MRLEASE_A_STATS_ACK_HIST]);
	pr_obj_close();
	if (json)
		pr_end_record();
	else
		fflush(stdout);
	return 0;
}

static int stats_show(struct args *a)
{
	return nl_show(a, "stats", help_stats, MRLEASE_CMD_STATS_GET, stats_cb);
}

static const struct cmd stats_cmds[] = {
	{ "show", stats_show },
	{ NULL, NULL },
};

int do_stats(struct args *a)
{
	return dispatch("stats", stats_cmds, stats_show, help_stats, a);
}
