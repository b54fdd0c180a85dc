// SPDX-License-Identifier: GPL-2.0
/*
 * epoll: a thread blocked in epoll_wait() on the context is woken when
 * another thread of the process unmaps part of a lease.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>

static int ep;
static atomic_llong woke;
static int nready;
static struct epoll_event got;

static void *waiter(void *arg)
{
	(void)arg;
	nready = epoll_wait(ep, &got, 1, 20000);
	atomic_store(&woke, t_now_ns());
	return NULL;
}

int main(void)
{
	int fd = t_ctx();
	char *a = t_anon(4);
	struct mrlease_register l;
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 0xe9 };
	struct mrlease_event ev;
	pthread_t th;
	int64_t t0;

	CHECK_OK(t_register(fd, a, PG(4), 0x51, MRLEASE_REG_PIN, 0, &l));
	ep = CHECK_SYS(epoll_create1(EPOLL_CLOEXEC));
	CHECK_SYS(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e));
	CHECK_EQ(pthread_create(&th, NULL, waiter, NULL), 0);

	t_msleep(300);
	CHECK_EQ(atomic_load(&woke), 0);	/* really blocked */
	t0 = t_now_ns();
	CHECK_SYS(munmap(a, PG(2)));
	while (!atomic_load(&woke) && t_ms_since(t0) < 5000)
		t_msleep(1);
	CHECK(atomic_load(&woke));
	CHECK_EQ(pthread_join(th, NULL), 0);
	t_info("epoll_wait woke %lld us after munmap", (long long)(atomic_load(&woke) - t0) / 1000);
	CHECK_EQ(nready, 1);
	CHECK(got.events & EPOLLIN);
	CHECK_EQ(got.data.u64, 0xe9);
	GET_EVENT(fd, ev, 0);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, l,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_EQ(epoll_wait(ep, &got, 1, 0), 0);
	close(fd);
	t_pass();
}
