// SPDX-License-Identifier: GPL-2.0
/*
 * The max_leases_per_user module parameter: set to 4, leases of one user
 * across two contexts count together; the 5th fails -EUSERS; unregister and
 * close give the room back.  The old value is put back afterwards.
 */
#include "harness.h"

#include <sys/stat.h>

static long long old;

static void put_back(void *arg)
{
	(void)arg;
	t_param_set("max_leases_per_user", old);
}

int main(void)
{
	int fd, fd2;
	char *a = t_anon(16);
	struct mrlease_register l;
	struct stat st;

	if (stat(T_SYSMOD "/parameters/max_leases_per_user", &st))
		t_skip("the module has no max_leases_per_user parameter");
	old = t_param_get("max_leases_per_user");
	t_info("max_leases_per_user was %lld", old);
	CHECK_OK(t_param_set("max_leases_per_user", 4));
	t_defer(put_back, NULL);

	fd = t_ctx();
	fd2 = t_ctx();
	for (int i = 0; i < 3; i++)
		CHECK_OK(t_register(fd, a + PG(i), PG(1), i, 0, 0, NULL));
	CHECK_OK(t_register(fd2, a + PG(3), PG(1), 3, MRLEASE_REG_PIN, 0, &l));
	CHECK_ERR(t_register(fd2, a + PG(4), PG(1), 4, 0, 0, NULL), EUSERS);
	CHECK_ERR(t_register(fd, a + PG(4), PG(1), 4, MRLEASE_REG_PIN, 0, NULL), EUSERS);
	CHECK_OK(t_unregister(fd2, l.id));
	CHECK_OK(t_register(fd2, a + PG(4), PG(1), 4, 0, 0, NULL));
	CHECK_ERR(t_register(fd2, a + PG(5), PG(1), 5, 0, 0, NULL), EUSERS);
	close(fd);
	for (int i = 0; i < 3; i++)
		CHECK_OK(t_register(fd2, a + PG(8 + i), PG(1), 8 + i, 0, 0, NULL));
	CHECK_ERR(t_register(fd2, a + PG(12), PG(1), 12, 0, 0, NULL), EUSERS);
	close(fd2);
	t_pass();
}
