// SPDX-License-Identifier: GPL-2.0
/*
 * A pinned lease on shared memory (memfd): another process punching a hole
 * breaks it with reason CLEAR, not SELF, and the pins stay until the ack
 * (shmem does not wait for them); restore re-arms it on fresh zeroed pages.
 * The holder's own truncate breaks it with SELF and UNPINNED.
 */
#include "harness.h"

#define KiB 1024

int main(void)
{
	int fd = t_ctx(), mfd;
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;
	char *m;
	pid_t pid;

	mfd = CHECK_SYS(memfd_create("mrlease-test", MFD_CLOEXEC));
	CHECK_SYS(ftruncate(mfd, 1024 * KiB));
	m = CHECK_SYS(mmap(NULL, 1024 * KiB, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0));
	memset(m, 0x33, 1024 * KiB);

	CHECK_OK(t_register(fd, m + 256 * KiB, 512 * KiB, 0x5e, MRLEASE_REG_PIN, 30000, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.backing, MRLEASE_BACKING_SHMEM);
	CHECK_EQ(q.offset, 256 * KiB);
	CHECK_EQ(q.pinned_pages, 512 * KiB / t_pg);

	pid = t_fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, "mrl-breaker");
		CHECK_SYS(fallocate(mfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 384 * KiB, 64 * KiB));
		_exit(0);
	}
	CHECK_CHILD_OK(pid, 10000);
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l, 0);
	CHECK_LE(ev.start, (uintptr_t)m + 384 * KiB);
	CHECK_GE(ev.start + ev.length, (uintptr_t)m + 448 * KiB);
	CHECK_EQ(ev.breaker_pid, pid);
	CHECK(strcmp(ev.breaker_comm, "mrl-breaker") == 0);
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.state, MRLEASE_STATE_BROKEN);
	CHECK_EQ(q.pinned_pages, 512 * KiB / t_pg);

	CHECK_OK(t_ack(fd, l.id, ev.generation));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.pinned_pages, 0);
	CHECK_OK(t_restore(fd, &l));
	CHECK_EQ(m[384 * KiB], 0);
	CHECK_EQ(m[448 * KiB - 1], 0);
	CHECK_EQ(m[448 * KiB], 0x33);
	CHECK_NO_EVENT(fd, 100);

	CHECK_SYS(ftruncate(mfd, 512 * KiB));
	GET_EVENT(fd, ev, 2000);
	CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR, l,
		    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	CHECK_LE(ev.start, (uintptr_t)m + 512 * KiB);
	CHECK_EQ(ev.start + ev.length, (uintptr_t)m + 768 * KiB);
	CHECK_EVENT_BY(ev, getpid());
	CHECK_ERR(t_restore(fd, &l), EFAULT);
	close(fd);
	t_pass();
}
