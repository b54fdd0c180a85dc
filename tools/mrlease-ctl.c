// SPDX-License-Identifier: GPL-2.0
/*
 * mrlease-ctl [OPTIONS] OBJECT { COMMAND | help }: options, the object
 * table and the small argument helpers every object uses.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mrlease-ctl.h"

const char *prog = "mrlease-ctl";

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: %s", prog, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void warn_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

int usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try \"%s help\".\n", prog);
	return EXIT_USAGE;
}

const char *args_next(struct args *a)
{
	if (a->argc <= 0)
		return NULL;
	a->argc--;
	return *a->argv++;
}

static bool is_prefix(const char *word, const char *of)
{
	size_t n = strlen(word);

	return n && n <= strlen(of) && !strncmp(word, of, n);
}

bool args_match(struct args *a, const char *word)
{
	if (args_empty(a) || !is_prefix(a->argv[0], word))
		return false;
	args_next(a);
	return true;
}

bool args_is_help(const struct args *a)
{
	const char *w = args_peek(a);

	return w && (is_prefix(w, "help") || !strcmp(w, "-h") || !strcmp(w, "--help"));
}

int args_u64(struct args *a, const char *what, uint64_t max, uint64_t *val)
{
	const char *w = args_next(a);
	unsigned long long v;
	char *end;

	if (!w)
		return usage_err("%s: a value is missing", what);
	errno = 0;
	v = strtoull(w, &end, 0);
	if (errno || end == w || *end || w[0] == '-' || v > max)
		return usage_err("%s: invalid value \"%s\" (0..%" PRIu64 ")", what, w, max);
	*val = v;
	return 0;
}

int dispatch(const char *object, const struct cmd *cmds, int (*dflt)(struct args *),
	     void (*help)(FILE *), struct args *a)
{
	const struct cmd *c;
	const char *w;

	if (args_empty(a)) {
		if (dflt)
			return dflt(a);
		help(stderr);
		return EXIT_USAGE;
	}
	if (args_is_help(a)) {
		help(stdout);
		return EXIT_OK;
	}
	w = args_peek(a);
	for (c = cmds; c->name; c++) {
		if (is_prefix(w, c->name)) {
			args_next(a);
			return c->fn(a);
		}
	}
	if (object)
		err_msg("%s: unknown command \"%s\"", object, w);
	else
		err_msg("unknown object \"%s\"", w);
	help(stderr);
	return EXIT_USAGE;
}

static void help_main(FILE *f)
{
	fprintf(f,
		"Usage: %s [ OPTIONS ] OBJECT { COMMAND | help }\n"
		"where  OBJECT := { lease | stats | config | monitor | hold | help }\n"
		"       OPTIONS := { -j[son] | -p[retty] | -V[ersion] | -h[elp] }\n"
		"\n", prog);
	help_lease(f);
	help_stats(f);
	help_config(f);
	help_monitor(f);
	help_hold(f);
}

static int do_help(struct args *a)
{
	(void)a;
	help_main(stdout);
	return EXIT_OK;
}

static const struct cmd objects[] = {
	{ "lease", do_lease },
	{ "stats", do_stats },
	{ "config", do_config },
	{ "monitor", do_monitor },
	{ "hold", do_hold },
	{ "help", do_help },
	{ NULL, NULL },
};

/* The tool's version, and the loaded module's (its MODULE_VERSION). */
static void print_version(void)
{
	char mod[64] = "not loaded";
	FILE *f = fopen("/sys/module/mrlease/version", "r");

	if (f) {
		if (!fgets(mod, sizeof(mod), f))
			snprintf(mod, sizeof(mod), "unknown");
		mod[strcspn(mod, "\n")] = '\0';
		fclose(f);
	} else if (!access("/sys/module/mrlease", F_OK)) {
		snprintf(mod, sizeof(mod), "unknown (built without a version)");
	}
	printf("%s %s (uAPI %d, generic netlink family \"%s\" version %d)\n",
	       prog, MRLEASE_CTL_VERSION, MRLEASE_API, MRLEASE_GENL_NAME, MRLEASE_GENL_VERSION);
	printf("module %s\n", mod);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct args a;
	int c;

	/* iproute2 habit: -json, -pretty, -Version with one dash. */
	for (c = 1; c < argc && argv[c][0] == '-' && argv[c][1] != '-'; c++) {
		if (!strcmp(argv[c], "-json"))
			argv[c] = "-j";
		else if (!strcmp(argv[c], "-pretty"))
			argv[c] = "-p";
		else if (!strcmp(argv[c], "-Version"))
			argv[c] = "-V";
		else if (!strcmp(argv[c], "-help"))
			argv[c] = "-h";
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jpVh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			pretty = true;
			break;
		case 'V':
			print_version();
			return EXIT_OK;
		case 'h':
			help_main(stdout);
			return EXIT_OK;
		default:
			if (optopt)
				return usage_err("unknown option -%c", optopt);
			return usage_err("unknown option \"%s\"", argv[optind - 1]);
		}
	}
	a.argc = argc - optind;
	a.argv = argv + optind;
	if (args_empty(&a)) {
		help_main(stderr);
		return EXIT_USAGE;
	}
	c = dispatch(NULL, objects, NULL, help_main, &a);
	nl_sock_close();
	return c;
}
