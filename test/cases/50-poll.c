// SPDX-License-Identifier: GPL-2.0
/*
 * poll(): no POLLIN (and a full timeout) while nothing is queued, POLLIN
 * once a lease breaks, none again after the record was read.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(4);
	struct mrlease_register l;
	struct mrlease_event ev;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t t0;

	CHECK_OK(t_register(fd, a, PG(4), 0x50, 0, 0, &l));
	CHECK_EQ(poll(&p, 1, 0), 0);
	t0 = t_now_ns();
	CHECK_EQ(poll(&p, 1, 200), 0);
	CHECK_GE(t_ms_since(t0), 190);

	CHECK_SYS(munmap(a + PG(3), PG(1)));
	p.revents = 0;
	CHECK_EQ(poll(&p, 1, 1000), 1);
	CHECK_EQ(p.revents, POLLIN);
	/* Level-triggered: still readable until read. */
	CHECK_EQ(poll(&p, 1, 0), 1);
	CHECK_EQ(read(fd, &ev, sizeof(ev)), sizeof(ev));
	CHECK_EQ(ev.id, l.id);
	CHECK_EQ(poll(&p, 1, 100), 0);
	close(fd);
	t_pass();
}
