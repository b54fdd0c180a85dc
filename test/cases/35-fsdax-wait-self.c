// SPDX-License-Identifier: GPL-2.0
/*
 * MRLEASE_REG_WAIT_SELF: a thread of the holder punches a hole into the
 * lease; the record says SELF but not UNPINNED, the thread waits in
 * fallocate() until another thread acks (still waiting 1 s later), then
 * returns promptly.
 */
#include "fsdax.h"

#include <pthread.h>
#include <stdatomic.h>

#define MiB		(1u << 20)
#define FILE_SIZE	(4 * MiB)
#define LEASE_OFF	(1 * MiB)
#define LEASE_LEN	(1 * MiB)
#define HOLE_OFF	(LEASE_OFF + MiB / 2)
#define HOLE_LEN	(64 * 1024)

static struct dax_file f;
static atomic_llong t_done;
static int punch_err;

static void *puncher(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "mrl-puncher");
	punch_err = fallocate(f.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, HOLE_OFF, HOLE_LEN) ? errno : 0;
	atomic_store(&t_done, t_now_ns());
	return NULL;
}

int main(void)
{
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;
	pthread_t th;
	int64_t acked_ns;
	int fd;

	dax_create(&f, FILE_SIZE);
	fd = t_ctx();
	CHECK_OK(t_register(fd, f.map + LEASE_OFF, LEASE_LEN, 0x3e1f,
			      MRLEASE_REG_PIN | MRLEASE_REG_WAIT_SELF, 30000, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.lease_flags, MRLEASE_REG_PIN | MRLEASE_REG_WAIT_SELF);

	CHECK_EQ(pthread_create(&th, NULL, puncher, NULL), 0);
	GET_EVENT(fd, ev, 10000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l, MRLEASE_EVENT_F_SELF);
	CHECK_EQ(ev.breaker_pid, getpid());
	CHECK(strcmp(ev.breaker_comm, "mrl-puncher") == 0);
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.pinned_pages, LEASE_LEN / t_pg);

	t_msleep(1000);
	if (atomic_load(&t_done))
		t_fail("the punching thread did not wait for the ack (%s)", t_errname(punch_err));
	acked_ns = t_now_ns();
	CHECK_OK(t_ack(fd, l.id, ev.generation));
	while (!atomic_load(&t_done) && t_ms_since(acked_ns) < 5000)
		t_msleep(1);
	CHECK(atomic_load(&t_done));
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(punch_err, 0);
	t_info("the thread returned %lld ms after the ack", (long long)(atomic_load(&t_done) - acked_ns) / 1000000);
	CHECK_LT(atomic_load(&t_done) - acked_ns, 1000000000);
	CHECK_OK(t_restore(fd, &l));
	DAX_CHECK_ZERO(&f, HOLE_OFF, HOLE_LEN);
	close(fd);
	t_pass();
}
