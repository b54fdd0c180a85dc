// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: for a few seconds, threads register / unregister / query leases,
 * remap / unmap / clear / reprotect the memory under them, and read, ack and
 * restore whatever breaks, all at once; a forked child comes and goes.
 * Every call must end in one of its documented results, every record must
 * be well formed, and closing the context at the end must work (the rig
 * also fails the run on any kernel warning or leak).
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>

#define PAGES	64
#define SLOTS	24
#define SECONDS	4

static int fd;
static char *base;
static atomic_bool stop;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t slot_id[SLOTS];
static atomic_ulong n_calls, n_events, n_restored;

static unsigned int rnd(unsigned int *seed, unsigned int n)
{
	*seed = *seed * 1103515245 + 12345;
	return (*seed >> 8) % n;
}

/* @r (0 or -errno) must be 0 or one of the listed errnos. */
static void allowed(const char *what, int r, const int *ok, int n)
{
	atomic_fetch_add(&n_calls, 1);
	if (!r)
		return;
	for (int i = 0; i < n; i++)
		if (-r == ok[i])
			return;
	t_fail("%s: unexpected %s", what, t_errname(-r));
}
#define ALLOWED(what, r, ...) do {						\
	const int ok_[] = { __VA_ARGS__ };					\
	allowed(what, r, ok_, sizeof(ok_) / sizeof(ok_[0]));			\
} while (0)

static void *leaser(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	while (!atomic_load(&stop)) {
		int s = (int)rnd(&seed, SLOTS), r;
		struct mrlease_register l;
		struct mrlease_query q;
		uint64_t id;

		pthread_mutex_lock(&lock);
		id = slot_id[s];
		slot_id[s] = 0;
		pthread_mutex_unlock(&lock);
		if (id) {
			if (rnd(&seed, 2)) {
				r = t_query(fd, id, &q);
				ALLOWED("query", r, ENOENT);
				if (!r && (q.state < MRLEASE_STATE_ARMED || q.state > MRLEASE_STATE_REVOKED))
					t_fail("query: state %u", q.state);
				pthread_mutex_lock(&lock);
				slot_id[s] = id;
				pthread_mutex_unlock(&lock);
			} else {
				ALLOWED("unregister", t_unregister(fd, id), 0);
			}
			continue;
		}
		unsigned int first = rnd(&seed, PAGES), len = 1 + rnd(&seed, PAGES - first);
		uint32_t flags = rnd(&seed, 3) ? MRLEASE_REG_PIN : 0;

		r = t_register(fd, base + PG(first), PG(len), s, flags, 1 + rnd(&seed, 50), &l);
		/* The range may have a hole for a moment (munmap, then mmap). */
		ALLOWED("register", r, EFAULT, EAGAIN);
		if (!r) {
			pthread_mutex_lock(&lock);
			slot_id[s] = l.id;
			pthread_mutex_unlock(&lock);
		}
	}
	return NULL;
}

/* The only thread that touches the memory: it knows what is mapped. */
static void *mapper(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	while (!atomic_load(&stop)) {
		unsigned int first = rnd(&seed, PAGES), len = 1 + rnd(&seed, PAGES - first < 8 ? PAGES - first : 8);
		char *p = base + PG(first);

		switch (rnd(&seed, 5)) {
		case 0:
			munmap(p, PG(len));
			/* fall through */
		case 1:
			if (mmap(p, PG(len), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
				t_fail("mmap MAP_FIXED: %s", t_errname(errno));
			break;
		case 2:
			madvise(p, PG(len), MADV_DONTNEED);
			break;
		case 3:
			mprotect(p, PG(len), PROT_READ);
			mprotect(p, PG(len), PROT_READ | PROT_WRITE);
			break;
		case 4:
			memset(p, (int)len, PG(len));
			break;
		}
	}
	return NULL;
}

static void *acker(void *arg)
{
	struct mrlease_event ev[8];

	(void)arg;
	while (!atomic_load(&stop)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(fd, ev, sizeof(ev));
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0 || n % sizeof(ev[0]))
			t_fail("read: %zd (%s)", n, t_errname(errno));
		for (size_t i = 0; i < n / sizeof(ev[0]); i++) {
			struct mrlease_event *e = &ev[i];
			struct mrlease_restore res = { .id = e->id };
			int r;

			atomic_fetch_add(&n_events, 1);
			if ((e->type != MRLEASE_EVENT_DECOHERENCE && e->type != MRLEASE_EVENT_REVOKED) ||
			    e->reason < MRLEASE_REASON_UNMAP || e->reason > MRLEASE_REASON_TIMEOUT ||
			    e->cookie >= SLOTS || e->id == 0 || e->reserved[0] || e->reserved[1] ||
			    e->reserved[2] || e->flags & ~(MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_KTHREAD |
							  MRLEASE_EVENT_F_UNPINNED)) {
				t_print_event(e);
				t_fail("malformed record");
			}
			if (e->type == MRLEASE_EVENT_DECOHERENCE &&
			    (e->length == 0 || e->start < (uintptr_t)base ||
			     e->start + e->length > (uintptr_t)base + PG(PAGES))) {
				t_print_event(e);
				t_fail("record range outside the region");
			}
			if (e->type == MRLEASE_EVENT_DECOHERENCE) {
				r = t_ack(fd, e->id, e->generation);
				ALLOWED("ack", r, ENOENT, ESTALE, EINVAL, ETIMEDOUT);
			}
			r = t_ioctl(fd, MRLEASE_IOC_RESTORE, &res);
			ALLOWED("restore", r, ENOENT, EBUSY, EFAULT, EAGAIN, ENOMEM);
			if (!r)
				atomic_fetch_add(&n_restored, 1);
		}
	}
	return NULL;
}

int main(void)
{
	pthread_t th[4];
	int64_t t0 = t_now_ns();
	int forks = 0;

	fd = t_ctx_flags(O_NONBLOCK);
	base = t_anon(PAGES);
	CHECK_EQ(pthread_create(&th[0], NULL, leaser, (void *)1), 0);
	CHECK_EQ(pthread_create(&th[1], NULL, leaser, (void *)2), 0);
	CHECK_EQ(pthread_create(&th[2], NULL, mapper, (void *)3), 0);
	CHECK_EQ(pthread_create(&th[3], NULL, acker, NULL), 0);

	while (t_ms_since(t0) < SECONDS * 1000) {
		pid_t pid = t_fork();

		if (pid == 0)
			_exit(0);	/* a copy of the mm comes and goes */
		CHECK_CHILD_OK(pid, 10000);
		forks++;
		t_msleep(100);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);
	t_info("%lu calls, %lu records, %lu restores, %d forks in %d s",
	       atomic_load(&n_calls), atomic_load(&n_events), atomic_load(&n_restored), forks, SECONDS);
	CHECK(atomic_load(&n_events) > 0);
	CHECK(atomic_load(&n_restored) > 0);
	close(fd);
	t_pass();
}
