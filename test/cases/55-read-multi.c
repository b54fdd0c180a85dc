// SPDX-License-Identifier: GPL-2.0
/*
 * read() returns as many whole records as fit: 2 queued into room for 3
 * gives 2; 3 queued into room for 2.5 gives 2, then the third.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx_flags(O_NONBLOCK);
	char *a = t_anon(3);
	struct mrlease_register l[3];
	struct mrlease_event ev[3];
	bool seen[3];

	for (int i = 0; i < 3; i++)
		CHECK_OK(t_register(fd, a + PG(i), PG(1), 0x550 + i, 0, 0, &l[i]));

	CHECK_SYS(munmap(a, PG(2)));
	memset(ev, 0xff, sizeof(ev));
	CHECK_EQ(read(fd, ev, sizeof(ev)), 2 * sizeof(ev[0]));
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 2; i++) {
		t_print_event(&ev[i]);
		CHECK(ev[i].id == l[0].id || ev[i].id == l[1].id);
		seen[ev[i].id == l[1].id] = true;
	}
	CHECK(seen[0] && seen[1]);
	CHECK_EQ(ev[2].type, 0xffffffffu);	/* untouched */
	CHECK_SYSERR(read(fd, ev, sizeof(ev)), EAGAIN);

	CHECK_ERR(t_restore(fd, &l[2]), EBUSY);
	for (int i = 0; i < 2; i++)
		CHECK(mmap(a + PG(i), PG(1), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == a + PG(i));
	CHECK_OK(t_restore(fd, &l[0]));
	CHECK_OK(t_restore(fd, &l[1]));
	CHECK_SYS(munmap(a, PG(3)));
	CHECK_EQ(read(fd, ev, sizeof(ev[0]) * 5 / 2), 2 * sizeof(ev[0]));
	CHECK_EQ(read(fd, ev, sizeof(ev)), sizeof(ev[0]));
	CHECK_SYSERR(read(fd, ev, sizeof(ev)), EAGAIN);
	close(fd);
	t_pass();
}
