// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile user, query output fields (issue 10, item 5): MRLEASE_IOC_QUERY
 * of a lease without a file-layout lease returns MRLEASE_LAYOUT_NONE (0)
 * and layout_error 0, whatever the caller put in those fields: as uid 1000,
 * queries of an anonymous lease (pinned and not) and of a memfd lease with
 * layout = 7 and layout_error = -5 on input.
 */
#include "hostile.h"

static void query_poisoned(int ctx, uint64_t id, const char *what)
{
	struct mrlease_query q;

	memset(&q, 0, sizeof(q));
	q.id = id;
	q.layout = 7;
	q.layout_error = -5;
	CHECK_OK(t_ioctl(ctx, MRLEASE_IOC_QUERY, &q));
	h_print_query(what, &q);
	CHECK_EQ(q.state, MRLEASE_STATE_ARMED);
	CHECK_EQ(q.layout, MRLEASE_LAYOUT_NONE);
	CHECK_EQ(q.layout_error, 0);
	CHECK_EQ(q.reserved, 0);
}

static void attacker(int in, int out, void *arg)
{
	struct mrlease_register lp, lu, ls;
	char *anon = t_anon(2), *shm;
	int ctx = t_ctx(), mfd;

	(void)in;
	(void)out;
	(void)arg;
	mfd = memfd_create("mrl-hostile", MFD_CLOEXEC);
	CHECK(mfd >= 0);
	CHECK_SYS(ftruncate(mfd, (off_t)t_pg));
	shm = mmap(NULL, t_pg, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(shm != MAP_FAILED);
	shm[0] = 1;
	CHECK_OK(t_register(ctx, anon, t_pg, 1, MRLEASE_REG_PIN, 0, &lp));
	CHECK_OK(t_register(ctx, anon + t_pg, t_pg, 2, 0, 0, &lu));
	CHECK_OK(t_register(ctx, shm, t_pg, 3, MRLEASE_REG_PIN, 0, &ls));
	query_poisoned(ctx, lp.id, "pinned anonymous");
	query_poisoned(ctx, lu.id, "unpinned anonymous");
	query_poisoned(ctx, ls.id, "pinned memfd");
	close(ctx);
}

int main(void)
{
	struct h_agent a;

	h_need_root();
	h_agent_start(&a, "mrl-hostile", H_UID, 64 * MiB, attacker, NULL);
	CHECK_CHILD_OK(a.pid, 20000);
	t_pass();
}
