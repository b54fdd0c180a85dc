// SPDX-License-Identifier: GPL-2.0
/*
 * monitor: join the family's "monitor" multicast group (found by name) on a
 * socket of our own and print each notification as it comes, one line or
 * one JSON object per event, flushed, until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "mrlease-ctl.h"

#define MONITOR_RCVBUF	(4 << 20)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

void help_monitor(FILE *f)
{
	fprintf(f, "Usage: %s monitor\n", prog);
}

static void print_event(const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	struct nl_attrs at;
	char buf[32];

	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN || genl->cmd != MRLEASE_CMD_LEASE_NTF)
		return;
	nl_parse(nlh, &at);
	pr_obj_open(NULL);
	pr_str("event", "[%s] ", pr_enum(NAMES(mrlease_ntf_names),
					 nl_u32(&at, MRLEASE_A_NTF), buf, sizeof(buf)));
	print_lease_attrs(&at);
	pr_obj_close();
	pr_end_record();
}

int do_monitor(struct args *a)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int rcvbuf = MONITOR_RCVBUF;
	unsigned int grp;
	struct nl *nl;

	if (args_is_help(a)) {
		help_monitor(stdout);
		return EXIT_OK;
	}
	if (!args_empty(a))
		return usage_err("monitor: unexpected \"%s\"", args_peek(a));
	nl = nl_sock();
	if (!nl)
		return EXIT_ERR;
	grp = nl->monitor_group;
	if (!grp) {
		err_msg("monitor: the kernel's \"%s\" family has no \"%s\" group",
			MRLEASE_GENL_NAME, MRLEASE_GENL_MCGRP_MONITOR);
		return EXIT_ERR;
	}
	/* Bursts of events: ask for room, but go on with what we get. */
	setsockopt(mnl_socket_get_fd(nl->sk), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (mnl_socket_setsockopt(nl->sk, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0) {
		int err = errno;

		err_msg("monitor: cannot join the \"%s\" group: %s%s", MRLEASE_GENL_MCGRP_MONITOR,
			strerror(err), err == EPERM ? " (it needs CAP_SYS_ADMIN)" : "");
		return EXIT_ERR;
	}

	/* No SA_RESTART: a signal must end the blocking receive. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	while (!stop) {
		const struct nlmsghdr *nlh;
		ssize_t n;
		int len;

		n = mnl_socket_recvfrom(nl->sk, nl->rbuf, nl->rlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				warn_msg("monitor: events were lost (receive buffer overrun)");
				continue;
			}
			err_msg("monitor: %s", strerror(errno));
			return EXIT_ERR;
		}
		len = n;
		for (nlh = (const void *)nl->rbuf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len))
			if (nlh->nlmsg_type == nl->family)
				print_event(nlh);
		if (ferror(stdout)) {
			err_msg("monitor: cannot write: %s", strerror(errno));
			return EXIT_ERR;
		}
	}
	return EXIT_OK;
}
