// SPDX-License-Identifier: GPL-2.0
/*
 * MRLEASE_IOC_REGISTER argument checks: zero length, a wrapping range, a
 * kernel address, a range past the user address space -EINVAL; unknown
 * flags -EINVAL; timeout above one hour -EINVAL; an unmapped range or one
 * with a hole -EFAULT; a VM_IO/VM_PFNMAP mapping -EACCES.  A failed register
 * leaves nothing behind.
 */
#include "harness.h"

static const void *at(uint64_t addr)
{
	return (const void *)(uintptr_t)addr;
}

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(8);
	struct mrlease_register l;
	const volatile struct mrlease_status *st = t_status(fd);
	void *io;
	int mem;

	CHECK_ERR(t_register(fd, a, 0, 0, 0, 0, NULL), EINVAL);
	CHECK_ERR(t_register(fd, a, 0, 0, MRLEASE_REG_PIN, 0, NULL), EINVAL);
	CHECK_ERR(t_register(fd, a, ~0ull - (uintptr_t)a + 2, 0, 0, 0, NULL), EINVAL);
	CHECK_ERR(t_register(fd, a, ~0ull, 0, 0, 0, NULL), EINVAL);
	CHECK_ERR(t_register(fd, at(0xffff888000000000ull), PG(1), 0, 0, 0, NULL), EINVAL);
	CHECK_ERR(t_register(fd, at(0xffff888000000000ull), PG(1), 0, MRLEASE_REG_PIN, 0, NULL), EINVAL);
	CHECK_ERR(t_register(fd, at(0xfffffffffffff000ull), PG(1), 0, 0, 0, NULL), EINVAL);
	CHECK_ERR(t_register(fd, at(0x8000000000000000ull), PG(1), 0, 0, 0, NULL), EINVAL);
	/* Ends past the user address space with 4- and with 5-level page tables. */
	CHECK_ERR(t_register(fd, at(0x00ffffffffffe000ull), PG(4), 0, 0, 0, NULL), EINVAL);

	CHECK_ERR(t_register(fd, a, PG(1), 0, 1u << 31, 0, NULL), EINVAL);
	CHECK_ERR(t_register(fd, a, PG(1), 0, MRLEASE_REG_ALL + 1, 0, NULL), EINVAL);
	CHECK_ERR(t_register(fd, a, PG(1), 0, 0, 3600001, NULL), EINVAL);
	CHECK_ERR(t_register(fd, a, PG(1), 0, 0, ~0u, NULL), EINVAL);

	/* Holes: page 0 of the address space, an unmapped page inside. */
	CHECK_ERR(t_register(fd, NULL, PG(1), 0, 0, 0, NULL), EFAULT);
	CHECK_SYS(munmap(a + PG(3), PG(1)));
	CHECK_ERR(t_register(fd, a, PG(8), 0, 0, 0, NULL), EFAULT);
	CHECK_ERR(t_register(fd, a, PG(8), 0, MRLEASE_REG_PIN, 0, NULL), EFAULT);
	CHECK_ERR(t_register(fd, a + PG(3), PG(1), 0, 0, 0, NULL), EFAULT);
	CHECK_ERR(t_register(fd, a + PG(2), PG(2), 0, MRLEASE_REG_PIN, 0, NULL), EFAULT);

	/* Nothing was left registered by the failures: no records from unmapping. */
	CHECK_SYS(munmap(a, PG(8)));
	CHECK_NO_EVENT(fd, 100);
	CHECK_EQ(st->pending, 0);

	/* Rounding: an unaligned range covers the pages it touches; one hour is fine. */
	a = t_anon(4);
	CHECK_OK(t_register(fd, a + 100, PG(1), 0, 0, 3600000, &l));
	{
		struct mrlease_query q;

		CHECK_OK(t_query(fd, l.id, &q));
		CHECK_EQ(q.addr, (uintptr_t)a);
		CHECK_EQ(q.len, PG(2));
		CHECK_EQ(q.timeout_ms, 3600000);
	}
	CHECK_OK(t_register(fd, a + PG(4) - 1, 1, 0, 0, 0, &l));

	/* A VM_IO | VM_PFNMAP mapping: the first page of /dev/mem (if it exists). */
	mem = open("/dev/mem", O_RDONLY | O_CLOEXEC);
	io = mem < 0 ? MAP_FAILED : mmap(NULL, t_pg, PROT_READ, MAP_SHARED, mem, 0);
	if (io == MAP_FAILED) {
		t_info("no /dev/mem mapping (%s): -EACCES not checked", t_errname(errno));
	} else {
		CHECK_ERR(t_register(fd, io, PG(1), 0, 0, 0, NULL), EACCES);
		CHECK_ERR(t_register(fd, io, PG(1), 0, MRLEASE_REG_PIN, 0, NULL), EACCES);
		munmap(io, t_pg);
	}
	close(fd);
	t_pass();
}
