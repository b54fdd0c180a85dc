// SPDX-License-Identifier: GPL-2.0
/*
 * What an unprivileged user of the installed packages builds with
 * `cc lease-hello.c $(pkg-config --cflags --libs libmrlease)`: lease a
 * buffer, munmap it, read the break from the pollable descriptor, ack it.
 * Prints "lease-hello: ok <reason>" and exits 0 when all of that worked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mrlease.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "lease-hello: %s: %s\n", what, mrlease_strerror(err));
	return 1;
}

int main(void)
{
	size_t len = 16 * (size_t)sysconf(_SC_PAGESIZE);
	struct mrlease_event ev;
	struct mrlease_ctx *ctx;
	struct pollfd pfd;
	uint64_t id;
	void *buf;
	int err;

	err = mrlease_open(&ctx, 0);
	if (err)
		return fail("mrlease_open", err);
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail("mmap", -errno);
	memset(buf, 0x5a, len);
	err = mrlease_register(ctx, buf, len, 42, 0, &id);
	if (err)
		return fail("mrlease_register", err);
	if (munmap(buf, len))
		return fail("munmap", -errno);
	pfd = (struct pollfd){ .fd = mrlease_get_fd(ctx), .events = POLLIN };
	if (poll(&pfd, 1, 10000) != 1)
		return fail("poll: no break within 10 s", -ETIMEDOUT);
	err = mrlease_get_event(ctx, &ev);
	if (err)
		return fail("mrlease_get_event", err);
	if (ev.id != id || ev.cookie != 42)
		return fail("the event names another lease", -EINVAL);
	err = mrlease_ack_event(ctx, &ev);
	if (err)
		return fail("mrlease_ack_event", err);
	printf("lease-hello: ok %s\n", mrlease_reason_str(ev.reason));
	mrlease_close(ctx);
	return 0;
}
