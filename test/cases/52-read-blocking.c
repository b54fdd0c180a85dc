// SPDX-License-Identifier: GPL-2.0
/*
 * A blocking read() sleeps until a record is queued (here by another
 * thread's munmap) and returns it; a signal interrupts it with -EINTR.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>

static int fd;
static atomic_int done;
static ssize_t nread;
static int read_err;
static struct mrlease_event got;

static void *reader(void *arg)
{
	(void)arg;
	nread = read(fd, &got, sizeof(got));
	read_err = errno;
	atomic_store(&done, 1);
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void wait_done(void)
{
	int64_t t0 = t_now_ns();

	while (!atomic_load(&done) && t_ms_since(t0) < 5000)
		t_msleep(1);
	if (!atomic_load(&done))
		t_fail("read() did not return");
}

int main(void)
{
	char *a = t_anon(4);
	struct mrlease_register l;
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	pthread_t th;

	fd = t_ctx();
	CHECK_OK(t_register(fd, a, PG(4), 0x52, 0, 0, &l));
	CHECK_SYS(sigaction(SIGUSR1, &sa, NULL));

	/* A signal interrupts the sleeping read. */
	CHECK_EQ(pthread_create(&th, NULL, reader, NULL), 0);
	t_msleep(300);
	CHECK_EQ(atomic_load(&done), 0);
	CHECK_EQ(pthread_kill(th, SIGUSR1), 0);
	wait_done();
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(nread, -1);
	CHECK_EQ(read_err, EINTR);

	/* A break wakes it with the record. */
	atomic_store(&done, 0);
	CHECK_EQ(pthread_create(&th, NULL, reader, NULL), 0);
	t_msleep(300);
	CHECK_EQ(atomic_load(&done), 0);
	CHECK_SYS(munmap(a + PG(1), PG(1)));
	wait_done();
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(nread, sizeof(got));
	t_print_event(&got);
	CHECK_EVENT(got, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, l, MRLEASE_EVENT_F_SELF);
	CHECK_EVENT_RANGE(got, a + PG(1), PG(1));
	close(fd);
	t_pass();
}
