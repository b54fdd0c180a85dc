// SPDX-License-Identifier: GPL-2.0
/*
 * A bad argument pointer (NULL, unmapped, read-only for an ioctl that
 * writes back) fails -EFAULT.  (Whether a register whose id cannot be
 * written back leaves its lease is the module's choice: the id then shows up
 * in events, so this does not check it.)
 */
#include "harness.h"

int main(void)
{
	int fd = t_open_raw(0);
	void *none = mmap(NULL, t_pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct mrlease_register *ro;
	char *a = t_anon(1);
	const unsigned long cmds[] = {
		MRLEASE_IOC_REGISTER, MRLEASE_IOC_UNREGISTER, MRLEASE_IOC_ACK,
		MRLEASE_IOC_RESTORE, MRLEASE_IOC_QUERY,
	};

	CHECK(none != MAP_FAILED);
	CHECK_SYSERR(ioctl(fd, MRLEASE_IOC_API, NULL), EFAULT);
	CHECK_SYSERR(ioctl(fd, MRLEASE_IOC_API, none), EFAULT);
	CHECK_OK(t_api(fd, MRLEASE_FEATURE_ALL, NULL));
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		CHECK_SYSERR(ioctl(fd, cmds[i], NULL), EFAULT);
		CHECK_SYSERR(ioctl(fd, cmds[i], none), EFAULT);
		CHECK_SYSERR(ioctl(fd, cmds[i], (void *)-4096L), EFAULT);
	}

	/* REGISTER reads a good argument but cannot write the id back. */
	ro = mmap(NULL, t_pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(ro != MAP_FAILED);
	*ro = (struct mrlease_register){ .addr = (uintptr_t)a, .len = PG(1) };
	CHECK_SYS(mprotect(ro, t_pg, PROT_READ));
	CHECK_SYSERR(ioctl(fd, MRLEASE_IOC_REGISTER, ro), EFAULT);
	close(fd);
	t_pass();
}
