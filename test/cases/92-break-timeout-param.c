// SPDX-License-Identifier: GPL-2.0
/*
 * The break_timeout_ms module parameter is the timeout of a lease
 * registered with timeout_ms = 0; an explicit timeout_ms wins.  The old
 * value is put back afterwards.
 */
#include "harness.h"

static long long old;

static void put_back(void *arg)
{
	(void)arg;
	t_param_set("break_timeout_ms", old);
}

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(2);
	struct mrlease_register l0, l1;
	struct mrlease_query q;

	old = t_param_get("break_timeout_ms");
	t_info("break_timeout_ms was %lld", old);
	CHECK_OK(t_param_set("break_timeout_ms", 700));
	t_defer(put_back, NULL);

	CHECK_OK(t_register(fd, a, PG(1), 0, 0, 0, &l0));
	CHECK_OK(t_register(fd, a + PG(1), PG(1), 0, 0, 5000, &l1));
	CHECK_OK(t_query(fd, l0.id, &q));
	CHECK_EQ(q.timeout_ms, 700);
	CHECK_OK(t_query(fd, l1.id, &q));
	CHECK_EQ(q.timeout_ms, 5000);
	close(fd);
	t_pass();
}
