// SPDX-License-Identifier: GPL-2.0
/*
 * A process that exits with leases registered (pinned and not, armed and
 * broken) and its context open leaves nothing behind: the module's
 * reference count comes back.  A context whose opener exited while another
 * process still holds the fd refuses new leases (-EPERM) and closes cleanly.
 */
#include "harness.h"

#include <sys/socket.h>

static long refcnt(void)
{
	char buf[32];

	CHECK_OK(t_read_text(T_SYSMOD "/refcnt", buf, sizeof(buf)));
	return strtol(buf, NULL, 10);
}

/* Wait up to 5 s for the module's reference count to drop to @want. */
static void wait_refcnt(long want)
{
	int64_t t0 = t_now_ns();

	while (refcnt() != want && t_ms_since(t0) < 5000)
		t_msleep(10);
	CHECK_EQ(refcnt(), want);
}

static void holder(int sock)
{
	int fd = t_ctx();
	char *a = t_anon(32);
	struct mrlease_register l;
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	CHECK_OK(t_register(fd, a, PG(8), 1, MRLEASE_REG_PIN, 0, &l));
	CHECK_OK(t_register(fd, a + PG(8), PG(8), 2, 0, 0, &l));
	CHECK_OK(t_register(fd, a + PG(16), PG(8), 3, MRLEASE_REG_PIN | MRLEASE_REG_WAIT_SELF, 0, &l));
	CHECK_OK(t_register(fd, a + PG(24), PG(8), 4, MRLEASE_REG_PIN, 0, &l));
	CHECK_SYS(munmap(a + PG(24), PG(2)));	/* one broken, record unread */
	if (sock >= 0) {
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		CHECK_SYS(sendmsg(sock, &msg, 0));
	}
	_exit(0);
}

int main(void)
{
	long base = refcnt();
	char cbuf[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct mrlease_event ev[4];
	char *a = t_anon(4);
	int sv[2], fd, flags;
	pid_t pid;
	ssize_t n;

	t_info("module refcnt %ld", base);

	/* 1: the holder exits, nothing else holds its context. */
	pid = t_fork();
	if (pid == 0)
		holder(-1);
	CHECK_CHILD_OK(pid, 10000);
	wait_refcnt(base);

	/* 2: the holder sends its fd here, then exits. */
	CHECK_SYS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = t_fork();
	if (pid == 0)
		holder(sv[1]);
	CHECK_SYS(recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC));
	CHECK(CMSG_FIRSTHDR(&msg) && CMSG_FIRSTHDR(&msg)->cmsg_type == SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	CHECK_CHILD_OK(pid, 10000);

	CHECK_ERR(t_register(fd, a, PG(1), 0, 0, 0, NULL), EPERM);
	flags = CHECK_SYS(fcntl(fd, F_GETFL));
	CHECK_SYS(fcntl(fd, F_SETFL, flags | O_NONBLOCK));
	/* Whatever is still queued reads as whole records, then -EAGAIN. */
	do
		n = read(fd, ev, sizeof(ev));
	while (n > 0 && n % sizeof(ev[0]) == 0);
	if (n != -1 || errno != EAGAIN)
		t_fail("read from the orphaned context: %zd (%s)", n, t_errname(errno));
	CHECK_EQ(refcnt(), base + 1);
	close(fd);
	wait_refcnt(base);
	t_pass();
}
