// SPDX-License-Identifier: GPL-2.0
/*
 * One munmap breaking 4096 leases queues exactly one record per lease, each
 * clipped to its lease, and read() hands them out in whole records.
 */
#include "harness.h"

#define N 4096

int main(void)
{
	int fd = t_ctx_flags(O_NONBLOCK);
	const volatile struct mrlease_status *st = t_status(fd);
	static uint64_t ids[N];
	static struct mrlease_event ev[100];
	static bool seen[N];
	char *a = t_anon(N);
	struct mrlease_register l;
	uint64_t seq = st->event_seq;
	int64_t t0 = t_now_ns();
	size_t total = 0;
	ssize_t n;

	for (int i = 0; i < N; i++) {
		CHECK_OK(t_register(fd, a + PG(i), PG(1), 0x5700000 + i, i % 4 ? 0 : MRLEASE_REG_PIN, 0, &l));
		ids[i] = l.id;
	}
	t_info("registered %d leases in %lld ms", N, (long long)t_ms_since(t0));
	t0 = t_now_ns();
	CHECK_SYS(munmap(a, PG(N)));
	t_info("munmap took %lld ms", (long long)t_ms_since(t0));
	CHECK_EQ(st->pending, N);
	CHECK_EQ(st->broken, N);
	CHECK_GE(st->event_seq - seq, N);

	while ((n = read(fd, ev, sizeof(ev))) > 0) {
		CHECK_EQ(n % sizeof(ev[0]), 0);
		for (size_t k = 0; k < n / sizeof(ev[0]); k++) {
			uint64_t i = ev[k].cookie - 0x5700000;

			if (i >= N || ev[k].id != ids[i])
				t_fail("record with unknown cookie %#llx / id %llu",
				       (unsigned long long)ev[k].cookie, (unsigned long long)ev[k].id);
			if (seen[i])
				t_fail("second record for lease %llu", (unsigned long long)ev[k].id);
			seen[i] = true;
			CHECK_EQ(ev[k].type, MRLEASE_EVENT_DECOHERENCE);
			CHECK_EQ(ev[k].reason, MRLEASE_REASON_UNMAP);
			CHECK_EQ(ev[k].start, (uintptr_t)a + PG(i));
			CHECK_EQ(ev[k].length, PG(1));
		}
		total += n / sizeof(ev[0]);
	}
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(total, N);
	CHECK_EQ(st->pending, 0);
	close(fd);
	t_pass();
}
