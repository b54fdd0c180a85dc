// SPDX-License-Identifier: GPL-2.0
/*
 * The max_leases_per_ctx module parameter: set to 8, the 9th register in a
 * context fails -EMFILE, an unregister makes room again, and another context
 * has its own 8.  The old value is put back afterwards.
 */
#include "harness.h"

static long long old;

static void put_back(void *arg)
{
	(void)arg;
	t_param_set("max_leases_per_ctx", old);
}

int main(void)
{
	int fd, fd2;
	char *a = t_anon(32);
	struct mrlease_register l[9];

	old = t_param_get("max_leases_per_ctx");
	t_info("max_leases_per_ctx was %lld", old);
	CHECK_OK(t_param_set("max_leases_per_ctx", 8));
	t_defer(put_back, NULL);
	CHECK_EQ(t_param_get("max_leases_per_ctx"), 8);

	fd = t_ctx();
	fd2 = t_ctx();
	for (int i = 0; i < 8; i++)
		CHECK_OK(t_register(fd, a + PG(i), PG(1), i, i & 1 ? MRLEASE_REG_PIN : 0, 0, &l[i]));
	CHECK_ERR(t_register(fd, a + PG(8), PG(1), 8, 0, 0, NULL), EMFILE);
	CHECK_ERR(t_register(fd, a + PG(8), PG(1), 8, MRLEASE_REG_PIN, 0, NULL), EMFILE);
	CHECK_ERR(t_register(fd, a, PG(32), 8, 0, 0, NULL), EMFILE);

	CHECK_OK(t_unregister(fd, l[3].id));
	CHECK_OK(t_register(fd, a + PG(8), PG(1), 8, 0, 0, &l[8]));
	CHECK_ERR(t_register(fd, a + PG(9), PG(1), 9, 0, 0, NULL), EMFILE);

	/* Broken leases still count until unregistered. */
	CHECK_SYS(munmap(a, PG(1)));
	CHECK_ERR(t_register(fd, a + PG(9), PG(1), 9, 0, 0, NULL), EMFILE);

	for (int i = 0; i < 8; i++)
		CHECK_OK(t_register(fd2, a + PG(16 + i), PG(1), i, 0, 0, NULL));
	CHECK_ERR(t_register(fd2, a + PG(24), PG(1), 8, 0, 0, NULL), EMFILE);
	close(fd);
	close(fd2);
	t_pass();
}
