// SPDX-License-Identifier: GPL-2.0
/*
 * ctl-holder [-t TIMEOUT_MS] [-c COOKIE] [-x] SPEC...: register leases on
 * /dev/mrlease and hold them, so that the tests can compare what
 * mrlease-ctl reports with what was registered.
 *
 *   anon:PAGES[:FLAGS]		private anonymous mapping (touched), one lease
 *   shm:PAGES[:FLAGS]		shared anonymous mapping (shmem), one lease
 *   file:PATH:OFF:LEN[:FLAGS]	shared mapping of an existing file, one lease
 *   many:N			N unpinned one-page leases on one mapping
 *   FLAGS: letters, p = MRLEASE_REG_PIN, w = MRLEASE_REG_WAIT_SELF
 *
 * For each lease one JSON line on stdout with what the holder knows
 * independently of the module (its pid, comm, uid; the page-rounded range;
 * cookie, flags and timeout it asked for; for files the path, dev, ino and
 * offset from stat()), the id and generation the module gave; for many: one
 * line with the count, the first and last id and the time it took.  Then
 * "ready", and the leases are held until SIGTERM/SIGINT (or, with -x, the
 * holder exits at once).  Cookies are COOKIE + index of the lease.
 *
 * -U: hold them from a new user and pid namespace, where the caller's uid is
 * 0 and the holder pid 1 (what it prints is as seen there); first a line
 * {"ns_holder_pid":PID,"ns_uid":UID} with its pid and uid as seen outside.
 * Exits 4 if this kernel does not let the caller make the namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/mrlease.h>

static int dev = -1;
static long page;
static uint64_t cookie = 0x1000;
static uint32_t timeout_ms = 20000;

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "ctl-holder: %s %s: %s\n", what, arg, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t parse_flags(const char *s)
{
	uint32_t f = 0;

	for (; s && *s; s++) {
		if (*s == 'p')
			f |= MRLEASE_REG_PIN;
		else if (*s == 'w')
			f |= MRLEASE_REG_WAIT_SELF;
		else
			die("unknown flag letter in", s);
	}
	return f;
}

static struct mrlease_register do_register(void *addr, size_t len, uint32_t flags)
{
	struct mrlease_register reg = {
		.addr = (uintptr_t)addr,
		.len = len,
		.cookie = cookie++,
		.flags = flags,
		.timeout_ms = timeout_ms,
	};

	if (ioctl(dev, MRLEASE_IOC_REGISTER, &reg))
		die("register", "");
	return reg;
}

static void print_lease(const struct mrlease_register *reg, const char *kind,
			const char *path, const struct stat *st, uint64_t offset)
{
	char comm[17] = "";

	prctl(PR_GET_NAME, comm);
	printf("{\"kind\":\"%s\",\"id\":%llu,\"generation\":%llu,\"owner_pid\":%d,"
	       "\"owner_comm\":\"%s\",\"uid\":%u,\"addr\":%llu,\"len\":%llu,\"cookie\":%llu,"
	       "\"flags\":%u,\"timeout_ms\":%u",
	       kind, (unsigned long long)reg->id, (unsigned long long)reg->generation, getpid(),
	       comm, getuid(), (unsigned long long)reg->addr, (unsigned long long)reg->len,
	       (unsigned long long)reg->cookie, reg->flags, reg->timeout_ms);
	if (path)
		printf(",\"path\":\"%s\",\"dev\":%llu,\"ino\":%llu,\"offset\":%llu", path,
		       (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
		       (unsigned long long)offset);
	printf("}\n");
}

static void *map_anon(size_t len, int shared, int touch)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		die("mmap", "anon");
	for (i = 0; touch && i < len; i += page)
		p[i] = 1;
	return p;
}

static void spec_anon(char *arg, int shared)
{
	char *pages = strtok(arg, ":"), *flags = strtok(NULL, ":");
	size_t len = strtoul(pages, NULL, 0) * page;
	void *p = map_anon(len, shared, 1);
	struct mrlease_register reg = do_register(p, len, parse_flags(flags));

	print_lease(&reg, shared ? "shm" : "anon", NULL, NULL, 0);
}

static void spec_file(char *arg)
{
	char *path = strtok(arg, ":"), *off = strtok(NULL, ":"), *len = strtok(NULL, ":");
	char *flags = strtok(NULL, ":");
	char real[4096];
	struct mrlease_register reg;
	struct stat st;
	uint64_t o, l;
	void *p;
	int fd;

	if (!path || !off || !len)
		die("usage:", "file:PATH:OFF:LEN");
	o = strtoull(off, NULL, 0);
	l = strtoull(len, NULL, 0);
	fd = open(path, O_RDWR);
	if (fd < 0 || fstat(fd, &st) || !realpath(path, real))
		die("open", path);
	p = mmap(NULL, l, PROT_READ | PROT_WRITE, MAP_SHARED, fd, o);
	if (p == MAP_FAILED)
		die("mmap", path);
	reg = do_register(p, l, parse_flags(flags));
	print_lease(&reg, "file", real, &st, o);
	close(fd);
}

static void spec_many(const char *arg)
{
	unsigned long n = strtoul(arg, NULL, 0), i;
	struct mrlease_register reg = { 0 };
	uint64_t first = 0;
	char *p;
	double t0;

	/* Untouched pages: unpinned leases need a mapping, not memory. */
	p = map_anon(n * page, 0, 0);
	t0 = now();
	for (i = 0; i < n; i++) {
		reg = do_register(p + i * page, page, 0);
		if (!i)
			first = reg.id;
	}
	printf("{\"kind\":\"many\",\"count\":%lu,\"first_id\":%llu,\"last_id\":%llu,"
	       "\"owner_pid\":%d,\"seconds\":%.3f}\n", n, (unsigned long long)first,
	       (unsigned long long)reg.id, getpid(), now() - t0);
}

static void on_signal(int sig)
{
	(void)sig;
	_exit(0);
}

/* Exits 4 where a security module lets unshare() through but not the maps (EPERM). */
static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		fprintf(stderr, "ctl-holder: write %s: %s\n", path, strerror(errno));
		exit(errno == EPERM ? 4 : 1);
	}
	close(fd);
}

static pid_t ns_holder;

static void forward_signal(int sig)
{
	kill(ns_holder, sig);
}

/* -U: the rest runs in a child, pid 1 of a new pid namespace, as uid 0 of a new user namespace. */
static void enter_namespaces(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char map[64];
	pid_t pid;
	int status;

	if (unshare(CLONE_NEWUSER | CLONE_NEWPID)) {
		fprintf(stderr, "ctl-holder: unshare(CLONE_NEWUSER | CLONE_NEWPID): %s\n",
			strerror(errno));
		exit(errno == EPERM || errno == EINVAL || errno == ENOSPC ? 4 : 1);
	}
	write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned int)uid);
	write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned int)gid);
	write_file("/proc/self/gid_map", map);
	pid = fork();
	if (pid < 0)
		die("fork", "");
	if (pid == 0)
		return;
	printf("{\"ns_holder_pid\":%d,\"ns_uid\":%u}\n", pid, (unsigned int)uid);
	ns_holder = pid;
	signal(SIGTERM, forward_signal);
	signal(SIGINT, forward_signal);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid", "");
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int main(int argc, char **argv)
{
	struct mrlease_api api = { .api = MRLEASE_API, .features = MRLEASE_FEATURE_PIN |
							MRLEASE_FEATURE_WAIT_SELF };
	int opt, exit_now = 0, i;

	page = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "t:c:xU")) != -1) {
		switch (opt) {
		case 'U':
			enter_namespaces();
			break;
		case 't':
			timeout_ms = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			cookie = strtoull(optarg, NULL, 0);
			break;
		case 'x':
			exit_now = 1;
			break;
		default:
			return 2;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	dev = open("/dev/" MRLEASE_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die("open", "/dev/" MRLEASE_DEVICE_NAME);
	if (ioctl(dev, MRLEASE_IOC_API, &api))
		die("handshake", "");
	for (i = optind; i < argc; i++) {
		char *spec = strdup(argv[i]), *colon = strchr(spec, ':');

		if (!colon)
			die("bad spec", argv[i]);
		*colon++ = '\0';
		if (!strcmp(spec, "anon"))
			spec_anon(colon, 0);
		else if (!strcmp(spec, "shm"))
			spec_anon(colon, 1);
		else if (!strcmp(spec, "file"))
			spec_file(colon);
		else if (!strcmp(spec, "many"))
			spec_many(colon);
		else
			die("bad spec", argv[i]);
	}
	printf("ready\n");
	if (exit_now)
		return 0;
	for (;;)
		pause();
}
