/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Watching the kernel log from a test: new records of /dev/kmsg that look
 * like a splat (the same kinds the rig fails a run for), so that a test can
 * say which of its steps caused one.
 */
#ifndef MRLEASE_TEST_KMSG_H
#define MRLEASE_TEST_KMSG_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline bool kmsg_is_splat(const char *msg)
{
	static const char *const pats[] = {
		"BUG:", "WARNING:", "Oops", "KASAN", "UBSAN", "general protection",
		"circular locking", "recursive locking", "inconsistent lock",
		"sleeping function called", "list_add corruption", "list_del corruption",
		"refcount_t:", "kmemleak", "Call Trace", "ODEBUG", "Kernel panic",
		"blocked for more than", "soft lockup", "hard LOCKUP", "stall",
	};

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		if (strstr(msg, pats[i]))
			return true;
	return false;
}

/* /dev/kmsg, positioned at its end; -1 if it cannot be read. */
static inline int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * Read the records logged since the last call; print those that look like a
 * splat (at most @max, each prefixed "# kernel: "); return how many there were.
 */
static inline int kmsg_splats(int fd, int max)
{
	char rec[2048];
	int found = 0;
	ssize_t len;

	if (fd < 0)
		return 0;
	while ((len = read(fd, rec, sizeof(rec) - 1)) != 0) {
		char *msg, *nl;

		if (len < 0) {
			if (errno == EPIPE)	/* records overwritten meanwhile */
				continue;
			break;
		}
		rec[len] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		if (kmsg_is_splat(msg) && found++ < max)
			printf("# kernel: %s\n", msg);
	}
	return found;
}

#endif /* MRLEASE_TEST_KMSG_H */
