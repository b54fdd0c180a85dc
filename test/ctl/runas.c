// SPDX-License-Identifier: GPL-2.0
/*
 * ctl-runas UID CMD [ARG]...: become an unprivileged user (uid and gid UID,
 * no supplementary groups, no capabilities left) and exec CMD.  The guest
 * has no user database, so the tests name users by number.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long id;
	char *end;

	if (argc < 3) {
		fprintf(stderr, "usage: ctl-runas UID CMD [ARG]...\n");
		return 2;
	}
	errno = 0;
	id = strtoul(argv[1], &end, 10);
	if (errno || *end || end == argv[1] || id == 0 || id > 65535) {
		fprintf(stderr, "ctl-runas: bad uid '%s' (1..65535)\n", argv[1]);
		return 2;
	}
	if (setgroups(0, NULL) || setresgid(id, id, id) || setresuid(id, id, id)) {
		fprintf(stderr, "ctl-runas: dropping to uid %lu: %s\n", id, strerror(errno));
		return 1;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "ctl-runas: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
