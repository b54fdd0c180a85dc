// SPDX-License-Identifier: GPL-2.0
/*
 * Pinned leases are charged to RLIMIT_MEMLOCK for a caller without
 * CAP_IPC_LOCK: with a 64 KiB limit, as user 65534, 16 KiB + 48 KiB pinned
 * fit, one more page fails -ENOMEM, as does 128 KiB at once; unregister,
 * a self-inflicted break (pins dropped) and closing the context give the
 * budget back; unpinned leases are not charged.  Restore of a lease whose
 * pins would exceed the limit fails -ENOMEM too.
 */
#include "harness.h"

#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define KiB 1024

static void unprivileged(void)
{
	struct rlimit rl = { 64 * KiB, 64 * KiB };
	struct mrlease_register l16, l48, l4, big, un;
	char *a = t_anon(64), *b = t_anon(16);
	int fd, fd2;

	CHECK_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	CHECK_SYS(setgroups(0, NULL));
	CHECK_SYS(setgid(65534));
	CHECK_SYS(setuid(65534));
	CHECK_EQ(geteuid(), 65534);

	fd = t_ctx();
	CHECK_OK(t_register(fd, a, 16 * KiB, 1, MRLEASE_REG_PIN, 0, &l16));
	CHECK_OK(t_register(fd, a + 16 * KiB, 48 * KiB, 2, MRLEASE_REG_PIN, 0, &l48));
	CHECK_ERR(t_register(fd, a + 64 * KiB, 4 * KiB, 3, MRLEASE_REG_PIN, 0, NULL), ENOMEM);
	CHECK_OK(t_register(fd, a, PG(64), 4, 0, 0, &un));	/* not charged */
	CHECK_OK(t_unregister(fd, l48.id));
	CHECK_ERR(t_register(fd, a + 16 * KiB, 128 * KiB, 5, MRLEASE_REG_PIN, 0, NULL), ENOMEM);
	CHECK_OK(t_register(fd, a + 16 * KiB, 32 * KiB, 6, MRLEASE_REG_PIN, 0, &l48));
	CHECK_OK(t_register(fd, a + 48 * KiB, 16 * KiB, 7, MRLEASE_REG_PIN, 0, &l4));
	CHECK_ERR(t_register(fd, a + 128 * KiB, 4 * KiB, 8, MRLEASE_REG_PIN, 0, NULL), ENOMEM);

	/* A second context of the same process shares the budget. */
	fd2 = t_ctx();
	CHECK_ERR(t_register(fd2, b, 4 * KiB, 9, MRLEASE_REG_PIN, 0, NULL), ENOMEM);

	/* A self-inflicted break drops the pins: their charge goes. */
	CHECK_SYS(munmap(a + 48 * KiB, 16 * KiB));
	CHECK_OK(t_register(fd2, b, 16 * KiB, 10, MRLEASE_REG_PIN, 0, &big));
	CHECK_ERR(t_register(fd2, b + 16 * KiB, 4 * KiB, 11, MRLEASE_REG_PIN, 0, NULL), ENOMEM);

	/* Restore of the broken lease would need 16 KiB more. */
	CHECK(mmap(a + 48 * KiB, 16 * KiB, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == a + 48 * KiB);
	CHECK_ERR(t_restore(fd, &l4), ENOMEM);
	CHECK_OK(t_unregister(fd2, big.id));
	CHECK_OK(t_restore(fd, &l4));

	/* Closing a context gives back all of its charge. */
	close(fd);
	CHECK_OK(t_register(fd2, b, 64 * KiB, 12, MRLEASE_REG_PIN, 0, &big));
	close(fd2);
	_exit(0);
}

int main(void)
{
	pid_t pid;

	if (geteuid() != 0)
		t_skip("needs root to set up an unprivileged user");
	t_open_device_to_all();

	pid = t_fork();
	if (pid == 0)
		unprivileged();
	CHECK_CHILD_OK(pid, 20000);
	t_pass();
}
