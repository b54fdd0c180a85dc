// SPDX-License-Identifier: GPL-2.0
/*
 * UNREGISTER / ACK / RESTORE / QUERY argument checks: nonzero flags or
 * reserved fields -EINVAL (UNREGISTER also a nonzero generation); an id of 0,
 * an id never handed out, an unregistered id and another context's id
 * -ENOENT.
 */
#include "harness.h"

int main(void)
{
	int fd = t_ctx(), fd2 = t_ctx();
	char *a = t_anon(4);
	struct mrlease_register l, lg, other;
	struct mrlease_lease_ref ref;
	struct mrlease_restore res;
	struct mrlease_query q;
	struct mrlease_event ev;
	uint64_t bad_ids[4];

	CHECK_OK(t_register(fd, a, PG(2), 1, MRLEASE_REG_PIN, 0, &l));
	CHECK_OK(t_register(fd, a + PG(2), PG(1), 2, 0, 0, &lg));
	CHECK_OK(t_register(fd2, a + PG(3), PG(1), 3, 0, 0, &other));
	CHECK_OK(t_unregister(fd, lg.id));
	CHECK_SYS(munmap(a, PG(1)));
	GET_EVENT(fd, ev, 2000);

	ref = (struct mrlease_lease_ref){ .id = l.id, .flags = 1 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_UNREGISTER, &ref), EINVAL);
	ref = (struct mrlease_lease_ref){ .id = l.id, .generation = l.generation, .flags = 1 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_ACK, &ref), EINVAL);
	ref = (struct mrlease_lease_ref){ .id = l.id, .generation = l.generation, .flags = 1u << 31 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_ACK, &ref), EINVAL);
	ref = (struct mrlease_lease_ref){ .id = l.id, .reserved = 1 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_UNREGISTER, &ref), EINVAL);
	ref = (struct mrlease_lease_ref){ .id = l.id, .generation = l.generation, .reserved = 1 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_ACK, &ref), EINVAL);
	ref = (struct mrlease_lease_ref){ .id = l.id, .generation = 1 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_UNREGISTER, &ref), EINVAL);
	res = (struct mrlease_restore){ .id = l.id, .flags = 1 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_RESTORE, &res), EINVAL);
	res = (struct mrlease_restore){ .id = l.id, .reserved = 1 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_RESTORE, &res), EINVAL);
	q = (struct mrlease_query){ .id = l.id, .flags = 1 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_QUERY, &q), EINVAL);
	/* None of that touched the lease. */
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_BROKEN);

	bad_ids[0] = 0;
	bad_ids[1] = lg.id;
	bad_ids[2] = l.id + other.id + lg.id + 1000;
	bad_ids[3] = ~0ull;
	for (int i = 0; i < 4; i++) {
		t_info("id %llu", (unsigned long long)bad_ids[i]);
		CHECK_ERR(t_unregister(fd, bad_ids[i]), ENOENT);
		CHECK_ERR(t_ack(fd, bad_ids[i], 0), ENOENT);
		CHECK_ERR(t_ack(fd, bad_ids[i], l.generation), ENOENT);
		res = (struct mrlease_restore){ .id = bad_ids[i] };
		CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_RESTORE, &res), ENOENT);
		CHECK_ERR(t_query(fd, bad_ids[i], &q), ENOENT);
	}

	/* Another context's lease is not ours, even if its id is. */
	if (other.id != l.id) {
		CHECK_ERR(t_query(fd, other.id, &q), ENOENT);
		CHECK_ERR(t_unregister(fd, other.id), ENOENT);
	}
	CHECK_ERR(t_query(fd2, l.id == other.id ? lg.id : l.id, &q), ENOENT);
	CHECK_EQ(t_state(fd2, other.id), MRLEASE_STATE_ARMED);

	CHECK_OK(t_ack(fd, l.id, l.generation));
	CHECK_OK(t_unregister(fd, l.id));
	close(fd);
	close(fd2);
	t_pass();
}
