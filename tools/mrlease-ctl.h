/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mrlease-ctl: the operator's view of mrlease over generic netlink.
 * Shared declarations of the CLI's parts: argument helpers (mrlease-ctl.c),
 * the netlink channel (nl.c), the printer (print.c) and the objects.
 */
#ifndef MRLEASE_CTL_H
#define MRLEASE_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <libmnl/libmnl.h>
#include <linux/mrlease.h>

#include "mrlease-names.h"

#ifndef MRLEASE_CTL_VERSION
#define MRLEASE_CTL_VERSION "unknown"
#endif

/* Exit codes. */
#define EXIT_OK		0
#define EXIT_ERR	1
#define EXIT_USAGE	2

#define __printf(a, b)	__attribute__((format(printf, a, b)))

extern const char *prog;

/* --- mrlease-ctl.c: messages and arguments */
void __printf(1, 2) err_msg(const char *fmt, ...);
void __printf(1, 2) warn_msg(const char *fmt, ...);
/* Reports a usage error and returns EXIT_USAGE. */
int __printf(1, 2) usage_err(const char *fmt, ...);

/* The unparsed rest of the command line. */
struct args {
	int argc;
	char **argv;
};

static inline bool args_empty(const struct args *a) { return a->argc <= 0; }
static inline const char *args_peek(const struct args *a)
{
	return a->argc > 0 ? a->argv[0] : NULL;
}
const char *args_next(struct args *a);
/* True (and consumes it) if the next word is a prefix of @word. */
bool args_match(struct args *a, const char *word);
bool args_is_help(const struct args *a);
/* Parse the next word as an unsigned number; 0 or EXIT_USAGE. */
int args_u64(struct args *a, const char *what, uint64_t max, uint64_t *val);

struct cmd {
	const char *name;
	int (*fn)(struct args *a);
};
/*
 * Run the command named by the next word (a prefix is enough; the table's
 * order breaks ties), or @dflt if there is none.  Unknown words are usage
 * errors and print @help.
 */
int dispatch(const char *object, const struct cmd *cmds, int (*dflt)(struct args *),
	     void (*help)(FILE *), struct args *a);

/* --- nl.c: one generic netlink socket talking to the mrlease family */
struct nl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
	uint16_t family;
	uint32_t family_version;
	uint32_t monitor_group;		/* 0: the kernel offers none */
	bool dump_intr;			/* a reply carried NLM_F_DUMP_INTR */
	char *rbuf;
	size_t rlen;
	char sbuf[8192];			/* our requests are small */
};

/* Attributes of one mrlease message, indexed by MRLEASE_A_*. */
struct nl_attrs {
	const struct nlattr *tb[MRLEASE_A_MAX + 1];
};

typedef int (*nl_msg_cb)(const struct nlmsghdr *nlh, const struct nl_attrs *at,
			 void *data);

/*
 * The process's one socket, opened and the family resolved on first use;
 * NULL (and why, printed) on failure.  nl_sock_close() at exit.
 */
struct nl *nl_sock(void);
void nl_sock_close(void);
/* Start a request in nl->sbuf. */
struct nlmsghdr *nl_msg(struct nl *nl, uint8_t cmd, uint16_t flags);
/*
 * Send @nlh and run @cb on each reply until the ack or the end of the dump.
 * On error prints "@what: strerror" with the kernel's extended ACK and
 * returns -1 with errno set.
 */
int nl_talk(struct nl *nl, struct nlmsghdr *nlh, nl_msg_cb cb, void *data,
	    const char *what);
/* nl_msg() + nl_talk() on nl_sock() for a request without attributes. */
int nl_request(uint8_t cmd, uint16_t flags, nl_msg_cb cb, void *data,
	       const char *what);
/*
 * "stats show", "config show": help, or no argument and one request whose
 * answer @cb prints; an exit status.  @what names it in messages.
 */
int nl_show(struct args *a, const char *what, void (*help)(FILE *f), uint8_t cmd,
	    nl_msg_cb cb);
/* Parse the attributes of an mrlease message (unknown ones are ignored). */
void nl_parse(const struct nlmsghdr *nlh, struct nl_attrs *at);

static inline bool nl_has(const struct nl_attrs *at, int type)
{
	return at->tb[type] != NULL;
}
static inline uint64_t nl_u64(const struct nl_attrs *at, int type)
{
	return at->tb[type] ? mnl_attr_get_u64(at->tb[type]) : 0;
}
static inline uint32_t nl_u32(const struct nl_attrs *at, int type)
{
	return at->tb[type] ? mnl_attr_get_u32(at->tb[type]) : 0;
}
static inline const char *nl_str(const struct nl_attrs *at, int type)
{
	return at->tb[type] ? mnl_attr_get_str(at->tb[type]) : NULL;
}

/* --- print.c: one printer for text and JSON */
extern bool json;
extern bool pretty;

/* Open/close a JSON object or array; @key is NULL inside arrays and at the top. */
void pr_obj_open(const char *key);
void pr_obj_close(void);
void pr_arr_open(const char *key);
void pr_arr_close(void);
/* One value: its JSON member @key, or the text @fmt (skipped if NULL). */
void pr_u64(const char *key, const char *fmt, uint64_t v);
void pr_s64(const char *key, const char *fmt, int64_t v);	/* text: a long long */
void pr_str(const char *key, const char *fmt, const char *s);
/* Text only. */
void __printf(1, 2) pr_text(const char *fmt, ...);
/* End of a top-level record: newline, and flush in both modes. */
void pr_end_record(void);
/* Strings for enum values: "[UNKNOWN n]" for values this tool does not know. */
const char *pr_enum(const char *const *names, unsigned int nr, uint32_t v, char *buf,
		    size_t len);
/* A flags word: JSON array of strings, text "a,b" ("none" if empty). */
void pr_flags(const char *key, const char *label, const char *const *names,
	      unsigned int nr, uint64_t v);
/* Attribute @type of @at if present, a u32 or a u64 (by its length), as pr_u64(). */
void pr_num_attr(const struct nl_attrs *at, int type, const char *key, const char *fmt);
/* A number attribute as pr_fields() prints it. */
struct pr_field {
	int type;		/* MRLEASE_A_*, a u32 or a u64 */
	const char *key;	/* JSON member */
	const char *fmt;	/* text, with one %llu or %#llx */
	const char *word;	/* the CLI's keyword for it, if one sets it */
};
/* Each of the @n fields present in @at, in order. */
void pr_fields(const struct nl_attrs *at, const struct pr_field *fields, unsigned int n);
/* Text for a CLOCK_REALTIME time in ns: 2026-11-27T18:06:10.123456Z. */
const char *pr_time_ns(uint64_t ns, char *buf, size_t len);

/* --- the objects */
int do_lease(struct args *a);
int do_stats(struct args *a);
int do_config(struct args *a);
int do_monitor(struct args *a);
int do_hold(struct args *a);

void help_lease(FILE *f);
void help_stats(FILE *f);
void help_config(FILE *f);
void help_monitor(FILE *f);
void help_hold(FILE *f);

/* lease.c: the attributes of a lease, shared with monitor. */
void print_lease_attrs(const struct nl_attrs *at);
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* A table of mrlease-names.h and its length, for pr_enum() and pr_flags(). */
#define NAMES(t) (t), ARRAY_SIZE(t)

#endif /* MRLEASE_CTL_H */
