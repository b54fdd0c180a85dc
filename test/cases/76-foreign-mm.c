// SPDX-License-Identifier: GPL-2.0
/*
 * A context belongs to the opener's address space: a forked child using the
 * inherited fd cannot register (-EPERM) or restore (-EPERM); a thread of the
 * opener can.
 */
#include "harness.h"

#include <pthread.h>

static int fd;
static char *a;
static int thread_ret;

static void *thread(void *arg)
{
	(void)arg;
	thread_ret = t_register(fd, a + PG(2), PG(1), 3, MRLEASE_REG_PIN, 0, NULL);
	return NULL;
}

int main(void)
{
	struct mrlease_register l;
	struct mrlease_event ev;
	pthread_t th;
	pid_t pid;

	fd = t_ctx();
	a = t_anon(4);
	CHECK_OK(t_register(fd, a, PG(1), 1, 0, 0, &l));
	CHECK_SYS(madvise(a, PG(1), MADV_DONTNEED));
	GET_EVENT(fd, ev, 2000);

	pid = t_fork();
	if (pid == 0) {
		CHECK_ERR(t_register(fd, a + PG(1), PG(1), 2, 0, 0, NULL), EPERM);
		CHECK_ERR(t_register(fd, a + PG(1), PG(1), 2, MRLEASE_REG_PIN, 0, NULL), EPERM);
		CHECK_ERR(t_restore(fd, &l), EPERM);
		_exit(0);
	}
	CHECK_CHILD_OK(pid, 5000);
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_BROKEN);

	CHECK_EQ(pthread_create(&th, NULL, thread, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_OK(thread_ret);
	CHECK_OK(t_restore(fd, &l));
	close(fd);
	t_pass();
}
