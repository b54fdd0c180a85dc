// SPDX-License-Identifier: GPL-2.0
/*
 * Size-versioned ioctl structures (openat2 rules): a bigger structure is
 * accepted when its extra bytes are zero and fails -E2BIG otherwise; one
 * smaller than the first version fails -EINVAL.  The structures that grew
 * (api, register, restore: the validity words; query: hold) still serve
 * their first version, and only what it holds.
 */
#include "harness.h"

#define RESIZE(cmd, size)	_IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), size)

struct big { unsigned char b[512]; };

static int try(int fd, unsigned long cmd, size_t size, const void *v1, size_t v1size,
	       unsigned char tail, struct big *out)
{
	struct big arg;
	int r;

	memset(&arg, 0, sizeof(arg));
	memcpy(&arg, v1, v1size < size ? v1size : size);
	if (size > v1size)
		arg.b[size - 1] = tail;
	r = t_ioctl(fd, RESIZE(cmd, size), &arg);
	if (out)
		*out = arg;
	return r;
}

int main(void)
{
	int fd = t_open_raw(0);
	char *a = t_anon(4);
	struct mrlease_api api = { .api = MRLEASE_API, .features = MRLEASE_FEATURE_ALL };
	struct mrlease_register reg = { .addr = (uintptr_t)a, .len = PG(1), .cookie = 0x75 };
	struct mrlease_register *r;
	struct mrlease_lease_ref ref;
	struct mrlease_restore res;
	struct mrlease_query q;
	struct big out;

	/* The handshake itself. */
	CHECK_ERR(try(fd, MRLEASE_IOC_API, sizeof(api) + 8, &api, sizeof(api), 1, NULL), E2BIG);
	CHECK_ERR(try(fd, MRLEASE_IOC_API, MRLEASE_API_SIZE_VER0 - 8, &api, sizeof(api), 0, NULL), EINVAL);
	api.reserved = 1;
	CHECK_ERR(try(fd, MRLEASE_IOC_API, sizeof(api), &api, sizeof(api), 0, NULL), EINVAL);
	api.reserved = 0;
	/* A first-version handshake on a context of its own: no words_size comes back. */
	{
		int fd0 = t_open_raw(0);

		CHECK_OK(try(fd0, MRLEASE_IOC_API, MRLEASE_API_SIZE_VER0, &api, sizeof(api), 0, &out));
		CHECK_EQ(((struct mrlease_api *)&out)->features, MRLEASE_FEATURE_ALL);
		CHECK_EQ(((struct mrlease_api *)&out)->words_size, 0);	/* not copied out */
		close(fd0);
	}
	CHECK_OK(try(fd, MRLEASE_IOC_API, sizeof(api) + 64, &api, sizeof(api), 0, &out));
	CHECK_EQ(((struct mrlease_api *)&out)->features, MRLEASE_FEATURE_ALL);
	CHECK_EQ(((struct mrlease_api *)&out)->event_size, sizeof(struct mrlease_event));
	CHECK_NE(((struct mrlease_api *)&out)->words_size, 0);

	CHECK_ERR(try(fd, MRLEASE_IOC_REGISTER, sizeof(reg) + 8, &reg, sizeof(reg), 1, NULL), E2BIG);
	CHECK_ERR(try(fd, MRLEASE_IOC_REGISTER, sizeof(reg) + 256, &reg, sizeof(reg), 0xff, NULL), E2BIG);
	CHECK_ERR(try(fd, MRLEASE_IOC_REGISTER, MRLEASE_REGISTER_SIZE_VER0 - 8, &reg, sizeof(reg), 0, NULL),
		  EINVAL);
	CHECK_ERR(try(fd, MRLEASE_IOC_REGISTER, 8, &reg, sizeof(reg), 0, NULL), EINVAL);
	reg.reserved = 1;
	CHECK_ERR(try(fd, MRLEASE_IOC_REGISTER, sizeof(reg), &reg, sizeof(reg), 0, NULL), EINVAL);
	reg.reserved = 0;
	/* The first version: a lease, and nothing written past the structure. */
	CHECK_OK(try(fd, MRLEASE_IOC_REGISTER, MRLEASE_REGISTER_SIZE_VER0, &reg, sizeof(reg), 0, &out));
	r = (struct mrlease_register *)&out;
	CHECK_NE(r->id, 0);
	CHECK_EQ(r->token, 0);	/* not copied out */
	CHECK_OK(t_unregister(fd, r->id));
	CHECK_OK(try(fd, MRLEASE_IOC_REGISTER, sizeof(reg) + 8, &reg, sizeof(reg), 0, &out));
	r = (struct mrlease_register *)&out;
	CHECK_NE(r->id, 0);
	CHECK_NE(r->token, 0);
	CHECK_NE(r->word, MRLEASE_NO_WORD);
	CHECK_EQ(t_state(fd, r->id), MRLEASE_STATE_ARMED);
	reg.id = r->id;
	reg.generation = r->generation;

	q = (struct mrlease_query){ .id = reg.id };
	CHECK_ERR(try(fd, MRLEASE_IOC_QUERY, sizeof(q) + 8, &q, sizeof(q), 1, NULL), E2BIG);
	/* The query's first version (before hold) is still served, and only what it holds. */
	CHECK_ERR(try(fd, MRLEASE_IOC_QUERY, MRLEASE_QUERY_SIZE_VER0 - 8, &q, sizeof(q), 0, NULL), EINVAL);
	CHECK_OK(try(fd, MRLEASE_IOC_QUERY, MRLEASE_QUERY_SIZE_VER0, &q, sizeof(q), 0, &out));
	CHECK_EQ(((struct mrlease_query *)&out)->cookie, 0x75);
	CHECK_OK(try(fd, MRLEASE_IOC_QUERY, sizeof(q), &q, sizeof(q), 0, &out));
	CHECK_EQ(((struct mrlease_query *)&out)->hold, MRLEASE_HOLD_NONE);
	q.reserved = 1;
	CHECK_ERR(try(fd, MRLEASE_IOC_QUERY, sizeof(q), &q, sizeof(q), 0, NULL), EINVAL);
	q.reserved = 0;
	CHECK_OK(try(fd, MRLEASE_IOC_QUERY, sizeof(q) + 8, &q, sizeof(q), 0, &out));
	CHECK_EQ(((struct mrlease_query *)&out)->cookie, 0x75);
	CHECK_EQ(((struct mrlease_query *)&out)->state, MRLEASE_STATE_ARMED);

	CHECK_SYS(madvise(a, PG(1), MADV_DONTNEED));
	ref = (struct mrlease_lease_ref){ .id = reg.id, .generation = reg.generation };
	CHECK_ERR(try(fd, MRLEASE_IOC_ACK, sizeof(ref) + 8, &ref, sizeof(ref), 1, NULL), E2BIG);
	CHECK_ERR(try(fd, MRLEASE_IOC_ACK, sizeof(ref) - 8, &ref, sizeof(ref), 0, NULL), EINVAL);
	CHECK_EQ(t_state(fd, reg.id), MRLEASE_STATE_BROKEN);
	CHECK_OK(try(fd, MRLEASE_IOC_ACK, sizeof(ref) + 8, &ref, sizeof(ref), 0, NULL));
	CHECK_EQ(t_state(fd, reg.id), MRLEASE_STATE_ACKED);

	res = (struct mrlease_restore){ .id = reg.id };
	CHECK_ERR(try(fd, MRLEASE_IOC_RESTORE, sizeof(res) + 8, &res, sizeof(res), 1, NULL), E2BIG);
	CHECK_ERR(try(fd, MRLEASE_IOC_RESTORE, MRLEASE_RESTORE_SIZE_VER0 - 8, &res, sizeof(res), 0, NULL), EINVAL);
	CHECK_EQ(t_state(fd, reg.id), MRLEASE_STATE_ACKED);
	CHECK_OK(try(fd, MRLEASE_IOC_RESTORE, sizeof(res) + 8, &res, sizeof(res), 0, &out));
	CHECK_NE(((struct mrlease_restore *)&out)->generation, reg.generation);
	CHECK_NE(((struct mrlease_restore *)&out)->token, 0);
	CHECK_EQ(t_state(fd, reg.id), MRLEASE_STATE_ARMED);
	/* The first version of restore. */
	CHECK_SYS(madvise(a, PG(1), MADV_DONTNEED));
	CHECK_EQ(t_state(fd, reg.id), MRLEASE_STATE_BROKEN);
	CHECK_OK(try(fd, MRLEASE_IOC_RESTORE, MRLEASE_RESTORE_SIZE_VER0, &res, sizeof(res), 0, &out));
	CHECK_EQ(((struct mrlease_restore *)&out)->token, 0);	/* not copied out */
	CHECK_EQ(t_state(fd, reg.id), MRLEASE_STATE_ARMED);
	{
		struct mrlease_event ev;

		while (t_event(fd, &ev, 0) == 1)
			;
	}

	ref = (struct mrlease_lease_ref){ .id = reg.id };
	CHECK_ERR(try(fd, MRLEASE_IOC_UNREGISTER, sizeof(ref) + 8, &ref, sizeof(ref), 1, NULL), E2BIG);
	CHECK_ERR(try(fd, MRLEASE_IOC_UNREGISTER, sizeof(ref) - 8, &ref, sizeof(ref), 0, NULL), EINVAL);
	CHECK_EQ(t_state(fd, reg.id), MRLEASE_STATE_ARMED);
	CHECK_OK(try(fd, MRLEASE_IOC_UNREGISTER, sizeof(ref) + 8, &ref, sizeof(ref), 0, NULL));
	CHECK_ERR(t_query(fd, reg.id, &q), ENOENT);
	close(fd);
	t_pass();
}
