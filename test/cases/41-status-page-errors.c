// SPDX-License-Identifier: GPL-2.0
/*
 * Status page mmap() rules: before the handshake -EBADFD; writable (shared)
 * (or private) or executable -EPERM or refused; mprotect() of a read-only mapping to writable fails; larger than
 * a page or at a nonzero offset -EINVAL.
 */
#include "harness.h"

int main(void)
{
	int fd = t_open_raw(0);
	void *p;

	CHECK_SYSERR(mmap(NULL, t_pg, PROT_READ, MAP_SHARED, fd, 0), EBADFD);
	CHECK_OK(t_api(fd, MRLEASE_FEATURE_ALL, NULL));

	CHECK_SYSERR(mmap(NULL, t_pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EPERM);
	CHECK_SYSERR(mmap(NULL, t_pg, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0), EPERM);
	CHECK_SYSERR(mmap(NULL, 2 * t_pg, PROT_READ, MAP_SHARED, fd, 0), EINVAL);
	/* (Page 1 on is the validity word area: 42-valid-words.) */
	CHECK_SYSERR(mmap(NULL, t_pg, PROT_READ, MAP_SHARED, fd, (off_t)PG(2)), EINVAL);
	CHECK_SYSERR(mmap(NULL, t_pg, PROT_READ, MAP_SHARED, fd, 1), EINVAL);

	p = CHECK_SYS(mmap(NULL, t_pg, PROT_READ, MAP_SHARED, fd, 0));
	CHECK_SYSERR(mprotect(p, t_pg, PROT_READ | PROT_WRITE), EACCES);
	CHECK_SYSERR(mprotect(p, t_pg, PROT_READ | PROT_EXEC), EACCES);
	CHECK_SYS(munmap(p, t_pg));

	/* Nor a writable private one. */
	p = mmap(NULL, t_pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p != MAP_FAILED)
		t_fail("a writable private mapping of the status page was allowed");
	close(fd);
	t_pass();
}
