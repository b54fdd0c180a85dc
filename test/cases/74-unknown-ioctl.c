// SPDX-License-Identifier: GPL-2.0
/*
 * Unknown ioctls fail -ENOTTY: unused numbers of our magic and other
 * magics.  Our numbers with the wrong direction bits are refused (-ENOTTY,
 * or -EINVAL for a module that reads them as a bad size).
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	char buf[256] = { 0 };

	for (unsigned int nr = 0x06; nr < 0x100; nr++) {
		errno = 0;
		if (ioctl(fd, _IOWR(MRLEASE_IOC_MAGIC, nr, struct mrlease_query), buf) != -1 || errno != ENOTTY)
			t_fail("_IOWR(magic, %#x): %s", nr, t_errname(errno));
		if (ioctl(fd, _IO(MRLEASE_IOC_MAGIC, nr), 0) != -1 || errno != ENOTTY)
			t_fail("_IO(magic, %#x): %s", nr, t_errname(errno));
	}
	CHECK_SYSERR(ioctl(fd, _IOWR(MRLEASE_IOC_MAGIC + 1, 0x01, struct mrlease_register), buf), ENOTTY);
	CHECK_SYSERR(ioctl(fd, _IOWR('T', 0x01, struct mrlease_register), buf), ENOTTY);
	CHECK_SYSERR(ioctl(fd, TCGETS, buf), ENOTTY);

	const unsigned long wrong_dir[] = {
		_IO(MRLEASE_IOC_MAGIC, 0x01),
		_IOR(MRLEASE_IOC_MAGIC, 0x01, struct mrlease_register),
		_IOW(MRLEASE_IOC_MAGIC, 0x01, struct mrlease_register),
		_IOR(MRLEASE_IOC_MAGIC, 0x02, struct mrlease_lease_ref),
		_IOWR(MRLEASE_IOC_MAGIC, 0x03, struct mrlease_lease_ref),
		_IOW(MRLEASE_IOC_MAGIC, 0x04, struct mrlease_restore),
		_IOW(MRLEASE_IOC_MAGIC, 0x05, struct mrlease_query),
	};
	for (size_t i = 0; i < sizeof(wrong_dir) / sizeof(wrong_dir[0]); i++) {
		errno = 0;
		if (ioctl(fd, wrong_dir[i], buf) != -1 || (errno != ENOTTY && errno != EINVAL))
			t_fail("ioctl %#lx (nr %#x, wrong direction): %s", wrong_dir[i],
			       (unsigned int)_IOC_NR(wrong_dir[i]), t_errname(errno));
	}
	/* None of those registered anything. */
	CHECK_NO_EVENT(fd, 10);
	close(fd);
	t_pass();
}
