// SPDX-License-Identifier: GPL-2.0
/*
 * The one printer behind every command.  Each value is printed by a call that
 * names both its JSON key and its text format, so the JSON keys cannot drift
 * away from the text and stay stable for scripts.  Text fragments carry
 * their own leading space; text formats receive an unsigned long long or a
 * string.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mrlease-ctl.h"

bool json;
bool pretty;

#define MAX_DEPTH 16

static struct {
	bool array;
	unsigned int members;
} stack[MAX_DEPTH];
static int depth;

static void j_indent(void)
{
	int i;

	if (!pretty)
		return;
	putchar('\n');
	for (i = 0; i < depth; i++)
		fputs("    ", stdout);
}

static void j_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		switch (c) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				printf("\\u%04x", c);
			else
				putchar(c);
		}
	}
	putchar('"');
}

/* Separator, indentation and "key": before a value. */
static void j_member(const char *key)
{
	if (depth > 0) {
		if (stack[depth - 1].members++)
			putchar(',');
		j_indent();
		if (!stack[depth - 1].array && key) {
			j_string(key);
			fputs(pretty ? ": " : ":", stdout);
		}
	}
}

static void j_open(const char *key, bool array)
{
	j_member(key);
	putchar(array ? '[' : '{');
	if (depth < MAX_DEPTH) {
		stack[depth].array = array;
		stack[depth].members = 0;
	}
	depth++;
}

static void j_close(bool array)
{
	bool had = depth > 0 && depth <= MAX_DEPTH && stack[depth - 1].members;

	depth--;
	if (had)
		j_indent();
	putchar(array ? ']' : '}');
}

void pr_obj_open(const char *key)
{
	if (json)
		j_open(key, false);
}

void pr_obj_close(void)
{
	if (json)
		j_close(false);
}

void pr_arr_open(const char *key)
{
	if (json)
		j_open(key, true);
}

void pr_arr_close(void)
{
	if (json)
		j_close(true);
}

void pr_u64(const char *key, const char *fmt, uint64_t v)
{
	if (json) {
		j_member(key);
		printf("%llu", (unsigned long long)v);
	} else if (fmt) {
		printf(fmt, (unsigned long long)v);
	}
}

void pr_s64(const char *key, const char *fmt, int64_t v)
{
	if (json) {
		j_member(key);
		printf("%lld", (long long)v);
	} else if (fmt) {
		printf(fmt, (long long)v);
	}
}

/* Text: control characters and backslashes escaped, so one record stays one line. */
static void t_string(const char *fmt, const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * n + 1), *p = out;

	if (!out) {
		printf(fmt, "?");
		return;
	}
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '\\') {
			*p++ = '\\';
			*p++ = '\\';
		} else if (c < 0x20 || c == 0x7f) {
			p += sprintf(p, "\\x%02x", c);
		} else {
			*p++ = c;
		}
	}
	*p = '\0';
	printf(fmt, out);
	free(out);
}

void pr_str(const char *key, const char *fmt, const char *s)
{
	if (json) {
		j_member(key);
		j_string(s);
	} else if (fmt) {
		t_string(fmt, s);
	}
}

void pr_text(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void pr_end_record(void)
{
	if (json && depth > 0)
		return;
	putchar('\n');
	fflush(stdout);
}

const char *pr_enum(const char *const *names, unsigned int nr, uint32_t v, char *buf,
		    size_t len)
{
	if (v < nr && names[v])
		return names[v];
	snprintf(buf, len, "[UNKNOWN %u]", v);
	return buf;
}

void pr_flags(const char *key, const char *label, const char *const *names,
	      unsigned int nr, uint64_t v)
{
	char buf[32];
	bool first = true;
	unsigned int bit;

	if (json)
		j_open(key, true);
	else
		printf(" %s ", label);
	for (bit = 0; bit < 64; bit++) {
		const char *name;

		if (!(v & (1ULL << bit)))
			continue;
		if (bit < nr && names[bit]) {
			name = names[bit];
		} else {
			snprintf(buf, sizeof(buf), "[UNKNOWN %#llx]", 1ULL << bit);
			name = buf;
		}
		if (json) {
			j_member(NULL);
			j_string(name);
		} else {
			printf("%s%s", first ? "" : ",", name);
		}
		first = false;
	}
	if (json)
		j_close(true);
	else if (first)
		fputs("none", stdout);
}

const char *pr_time_ns(uint64_t ns, char *buf, size_t len)
{
	time_t secs = ns / 1000000000;
	struct tm tm;
	size_t n;

	if (!gmtime_r(&secs, &tm) || !(n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm))) {
		snprintf(buf, len, "%llu", (unsigned long long)ns);
		return buf;
	}
	snprintf(buf + n, len - n, ".%06lluZ", (unsigned long long)(ns % 1000000000) / 1000);
	return buf;
}

void pr_num_attr(const struct nl_attrs *at, int type, const char *key, const char *fmt)
{
	const struct nlattr *attr = at->tb[type];

	if (attr)
		pr_u64(key, fmt, mnl_attr_get_payload_len(attr) == sizeof(uint32_t) ?
		       mnl_attr_get_u32(attr) : mnl_attr_get_u64(attr));
}

void pr_fields(const struct nl_attrs *at, const struct pr_field *fields, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		pr_num_attr(at, fields[i].type, fields[i].key, fields[i].fmt);
}
