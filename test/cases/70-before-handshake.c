// SPDX-License-Identifier: GPL-2.0
/*
 * Before MRLEASE_IOC_API every other ioctl and mmap() fails -EBADFD, and the
 * handshake still works afterwards.
 */
#include "harness.h"

int main(void)
{
	int fd = t_open_raw(0);
	char *a = t_anon(1);
	struct mrlease_register reg = { .addr = (uintptr_t)a, .len = PG(1) };
	struct mrlease_lease_ref ref = { .id = 1 };
	struct mrlease_restore res = { .id = 1 };
	struct mrlease_query q = { .id = 1 };

	CHECK_SYSERR(ioctl(fd, MRLEASE_IOC_REGISTER, &reg), EBADFD);
	CHECK_SYSERR(ioctl(fd, MRLEASE_IOC_UNREGISTER, &ref), EBADFD);
	CHECK_SYSERR(ioctl(fd, MRLEASE_IOC_ACK, &ref), EBADFD);
	CHECK_SYSERR(ioctl(fd, MRLEASE_IOC_RESTORE, &res), EBADFD);
	CHECK_SYSERR(ioctl(fd, MRLEASE_IOC_QUERY, &q), EBADFD);
	CHECK_SYSERR(mmap(NULL, t_pg, PROT_READ, MAP_SHARED, fd, 0), EBADFD);

	CHECK_OK(t_api(fd, MRLEASE_FEATURE_ALL, NULL));
	CHECK_OK(t_register(fd, a, PG(1), 0, 0, 0, NULL));
	close(fd);
	t_pass();
}
