// SPDX-License-Identifier: GPL-2.0
/*
 * config show
 * config set [break-timeout MS] [max-leases-per-ctx N] [max-leases-per-user N]
 *            [max-break-timeout MS]
 * The text of "config show" is what "config set" takes.
 */
#include "mrlease-ctl.h"

/* The text label of each is its keyword. */
static const struct pr_field params[] = {
	{ MRLEASE_A_CFG_BREAK_TIMEOUT_MS, "break_timeout_ms", "break-timeout %llu",
	  "break-timeout" },
	{ MRLEASE_A_CFG_MAX_LEASES_PER_CTX, "max_leases_per_ctx", " max-leases-per-ctx %llu",
	  "max-leases-per-ctx" },
	{ MRLEASE_A_CFG_MAX_LEASES_PER_USER, "max_leases_per_user", " max-leases-per-user %llu",
	  "max-leases-per-user" },
	/* Last, so that the prefixes of the older words keep their meaning. */
	{ MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS, "max_break_timeout_ms", " max-break-timeout %llu",
	  "max-break-timeout" },
};

void help_config(FILE *f)
{
	fprintf(f,
		"Usage: %s config show\n"
		"       %s config set [ break-timeout MS ] [ max-leases-per-ctx N ]\n"
		"                     [ max-leases-per-user N ] [ max-break-timeout MS ]\n",
		prog, prog);
}

static int config_cb(const struct nlmsghdr *nlh, const struct nl_attrs *at, void *data)
{
	(void)nlh;
	(void)data;
	pr_obj_open(NULL);
	pr_fields(at, params, ARRAY_SIZE(params));
	pr_obj_close();
	pr_end_record();
	return 0;
}

static int config_show(struct args *a)
{
	return nl_show(a, "config show", help_config, MRLEASE_CMD_CONFIG_GET, config_cb);
}

static int config_set(struct args *a)
{
	uint64_t val[ARRAY_SIZE(params)];
	bool set[ARRAY_SIZE(params)] = { false };
	bool any = false;
	struct nlmsghdr *nlh;
	unsigned int i;
	struct nl *nl;
	int ret;

	if (args_is_help(a)) {
		help_config(stdout);
		return EXIT_OK;
	}
	while (!args_empty(a)) {
		for (i = 0; i < ARRAY_SIZE(params); i++)
			if (args_match(a, params[i].word))
				break;
		if (i == ARRAY_SIZE(params))
			return usage_err("config set: unknown parameter \"%s\"", args_peek(a));
		if (set[i])
			return usage_err("config set: %s given twice", params[i].word);
		ret = args_u64(a, params[i].word, UINT32_MAX, &val[i]);
		if (ret)
			return ret;
		set[i] = any = true;
	}
	if (!any)
		return usage_err("config set: nothing to set");

	nl = nl_sock();
	if (!nl)
		return EXIT_ERR;
	nlh = nl_msg(nl, MRLEASE_CMD_CONFIG_SET, 0);
	for (i = 0; i < ARRAY_SIZE(params); i++)
		if (set[i])
			mnl_attr_put_u32(nlh, params[i].type, val[i]);
	ret = nl_talk(nl, nlh, NULL, NULL, "config set");
	return ret ? EXIT_ERR : EXIT_OK;
}

static const struct cmd config_cmds[] = {
	{ "show", config_show },
	{ "set", config_set },
	{ NULL, NULL },
};

int do_config(struct args *a)
{
	return dispatch("config", config_cmds, config_show, help_config, a);
}
