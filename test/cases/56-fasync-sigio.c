// SPDX-License-Identifier: GPL-2.0
/*
 * fasync: with F_SETOWN and O_ASYNC the owner gets SIGIO when a record is
 * queued, and none while nothing happens.
 */
#include "harness.h"

#include <stdatomic.h>

static atomic_int sigio;

static void on_sigio(int sig)
{
	(void)sig;
	atomic_fetch_add(&sigio, 1);
}

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(2);
	struct mrlease_register l;
	struct sigaction sa = { .sa_handler = on_sigio };
	int64_t t0;

	CHECK_SYS(sigaction(SIGIO, &sa, NULL));
	CHECK_SYS(fcntl(fd, F_SETOWN, getpid()));
	CHECK_SYS(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC));
	CHECK_OK(t_register(fd, a, PG(2), 0x56, 0, 0, &l));
	t_msleep(100);
	CHECK_EQ(atomic_load(&sigio), 0);

	CHECK_SYS(munmap(a, PG(1)));
	t0 = t_now_ns();
	while (!atomic_load(&sigio) && t_ms_since(t0) < 2000)
		t_msleep(1);
	CHECK_GE(atomic_load(&sigio), 1);
	close(fd);
	t_pass();
}
