/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The changes the libfabric and UCX tests put under a registered buffer:
 * new pages at the same address, made so that no libc hook sees them (raw
 * system calls), or by another process.  Each test defines LEN, the
 * buffer's size, before it includes this file.
 */
#ifndef MRLEASE_TEST_REMAP_H
#define MRLEASE_TEST_REMAP_H

#include "harness.h"

#include <limits.h>
#include <sys/syscall.h>

#ifndef LEN
#error "define LEN (the buffer's size) first"
#endif

enum change { CH_MUNMAP, CH_MREMAP, CH_DONTNEED, CH_FOREIGN_TRUNCATE, CH_NR };

/*
 * "LD_PRELOAD=<dir>/lib/libmrlease-ucm.so" into @buf, <dir> the test's own
 * directory (the rig puts the libraries in lib/ beside the tests).
 */
static inline void preload_env(char *buf, size_t size)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		t_fail("readlink /proc/self/exe: %s", strerror(errno));
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(buf, size, "LD_PRELOAD=%s/lib/libmrlease-ucm.so", exe);
	if (access(buf + strlen("LD_PRELOAD="), R_OK))
		t_fail("%s: %s", buf, strerror(errno));
}

static const char *const change_name[CH_NR] = {
	"raw munmap + mmap", "raw mremap", "raw MADV_DONTNEED", "foreign truncate",
};

/* LEN bytes at @at (anywhere if NULL): of memfd @fd (shared), or anonymous if -1. */
static inline char *map_at(void *at, int fd)
{
	long flags = (fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS) | (at ? MAP_FIXED : 0);
	long p = syscall(SYS_mmap, at, LEN, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == -1)
		t_fail("mmap: %s", strerror(errno));
	return (char *)p;
}

/* A buffer for change @ch, and its memfd (for CH_FOREIGN_TRUNCATE) or -1 in *@fd. */
static inline char *change_buffer(enum change ch, int *fd)
{
	*fd = -1;
	if (ch == CH_FOREIGN_TRUNCATE) {
		*fd = memfd_create("remap", 0);
		CHECK_SYS(*fd);
		CHECK_SYS(ftruncate(*fd, LEN));
	}
	return map_at(NULL, *fd);
}

/* New pages under @buf, filled with @fill, the way @ch does it. */
static inline void change(enum change ch, char *buf, int fd, uint8_t fill)
{
	char *other;
	pid_t pid;

	switch (ch) {
	case CH_MUNMAP:
		CHECK_SYS(syscall(SYS_munmap, buf, LEN));
		map_at(buf, -1);
		break;
	case CH_MREMAP:
		other = map_at(NULL, -1);
		memset(other, fill, LEN);
		if (syscall(SYS_mremap, other, LEN, LEN, MREMAP_MAYMOVE | MREMAP_FIXED, buf) == -1)
			t_fail("mremap: %s", strerror(errno));
		return;
	case CH_DONTNEED:
		CHECK_SYS(syscall(SYS_madvise, buf, LEN, MADV_DONTNEED));
		break;
	case CH_FOREIGN_TRUNCATE:
		pid = t_fork();
		if (pid == 0)
			_exit(ftruncate(fd, 0) || ftruncate(fd, LEN) ? 1 : 0);
		CHECK_CHILD_OK(pid, 10000);
		break;
	default:
		t_fail("change %d", ch);
	}
	memset(buf, fill, LEN);
}

/*
 * Run this program again as "@argv0 @mode" with @env ("NAME=value", or
 * NULL) in its environment, its stdout into the pipe returned; the lines
 * "RESULT <change> <value>" go to @res[change] (the first @nch changes
 * must come), the rest to our stdout.
 * The child's exit: a skip skips us, a failure fails us.
 */
static inline void run_half(const char *mode, const char *const env[], long long res[CH_NR],
			    int nch)
{
	char line[256];
	int p[2], st;
	pid_t pid;
	FILE *f;

	t_pipe(p);
	pid = t_fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		for (int i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execl("/proc/self/exe", mode, mode, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	for (int i = 0; i < CH_NR; i++)
		res[i] = LLONG_MIN;
	f = fdopen(p[0], "r");
	while (fgets(line, sizeof(line), f)) {
		int ch;
		long long v;

		if (sscanf(line, "RESULT %d %lld", &ch, &v) == 2 && ch >= 0 && ch < CH_NR)
			res[ch] = v;
		else
			fputs(line, stdout);
	}
	fclose(f);
	if (!t_wait(pid, 120000, &st))
		t_fail("the %s half did not finish", mode);
	if (WIFEXITED(st) && WEXITSTATUS(st) == T_SKIP)
		t_skip("the %s half skipped", mode);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		t_fail("the %s half failed (status %#x)", mode, st);
	for (int i = 0; i < nch; i++)
		if (res[i] == LLONG_MIN)
			t_fail("the %s half gave no result for %s", mode, change_name[i]);
}

#endif /* MRLEASE_TEST_REMAP_H */
