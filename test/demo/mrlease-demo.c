// SPDX-License-Identifier: GPL-2.0
/*
 * Helper for demo.sh: every line it prints starts with a wall-clock time.
 *
 *   mrlease-demo hold FILE OFFSET LENGTH ACK_DELAY_S READY_FILE
 *	map FILE shared, take a pinned lease on [OFFSET, OFFSET + LENGTH),
 *	create READY_FILE, wait for the first event, print it, ack it
 *	ACK_DELAY_S seconds later, restore the lease and exit.
 *   mrlease-demo say WHO TEXT...
 *	print "WHO: TEXT".
 *   mrlease-demo time WHO WHAT COMMAND [ARG]...
 *	run COMMAND and print "WHO: WHAT returned after N.N s".
 *   mrlease-demo punch FILE OFFSET LENGTH
 *	fallocate(PUNCH_HOLE | KEEP_SIZE), for systems without fallocate(1) -p.
 *
 * OFFSET and LENGTH take K and M suffixes (KiB, MiB).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/mrlease.h>

#include "mrlease-names.h"


static const char *reason_name(uint32_t reason)
{
	const char *name = mrlease_name(mrlease_reason_names, reason);

	return name ? name : "?";
}

static void say(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *who, const char *fmt, ...)
{
	struct timeval tv;
	struct tm tm;
	va_list ap;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	printf("[%02d:%02d:%02d.%03ld] %s: ", tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000, who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "mrlease-demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t size_arg(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (*end == 'K' || *end == 'k')
		v <<= 10;
	else if (*end == 'M' || *end == 'm')
		v <<= 20;
	return v;
}

static const char *human(uint64_t v, char *buf, size_t n)
{
	if (v >= (1 << 20) && !(v % (1 << 20)))
		snprintf(buf, n, "%llu MiB", (unsigned long long)(v >> 20));
	else if (v >= 1024 && !(v % 1024))
		snprintf(buf, n, "%llu KiB", (unsigned long long)(v >> 10));
	else
		snprintf(buf, n, "%llu bytes", (unsigned long long)v);
	return buf;
}

static int hold(const char *path, uint64_t off, uint64_t len, unsigned int delay, const char *ready)
{
	struct mrlease_api api = { .api = MRLEASE_API, .features = MRLEASE_FEATURE_ALL };
	struct mrlease_register reg = { .len = len, .cookie = 0xdeb0, .flags = MRLEASE_REG_PIN };
	struct mrlease_lease_ref ack = { 0 };
	struct mrlease_restore res = { 0 };
	struct mrlease_event ev;
	struct stat st;
	char b1[32], b2[32];
	int fd, ctx;
	char *map;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		die(path);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	ctx = open("/dev/" MRLEASE_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (ctx < 0)
		die("/dev/" MRLEASE_DEVICE_NAME);
	if (ioctl(ctx, MRLEASE_IOC_API, &api))
		die("MRLEASE_IOC_API");
	reg.addr = (uintptr_t)map + off;
	reg.timeout_ms = (delay + 30) * 1000;
	if (ioctl(ctx, MRLEASE_IOC_REGISTER, &reg))
		die("MRLEASE_IOC_REGISTER");
	say("holder", "leased %s at offset %s of %s (pinned, lease %llu, pid %d)",
	    human(len, b1, sizeof(b1)), human(off, b2, sizeof(b2)), path,
	    (unsigned long long)reg.id, getpid());
	close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));

	if (read(ctx, &ev, sizeof(ev)) != sizeof(ev))
		die("read");
	say("holder", "got MR_%s reason=%s by pid %d (%s), range offset %s + %s",
	    ev.type == MRLEASE_EVENT_DECOHERENCE ? "DECOHERENCE" : "REVOKED",
	    reason_name(ev.reason),
	    ev.breaker_pid, ev.breaker_comm,
	    human(ev.start - (uintptr_t)map, b1, sizeof(b1)), human(ev.length, b2, sizeof(b2)));
	say("holder", "quiescing DMA: acking after %u s", delay);
	sleep(delay);
	ack.id = ev.id;
	ack.generation = ev.generation;
	if (ioctl(ctx, MRLEASE_IOC_ACK, &ack))
		die("MRLEASE_IOC_ACK");
	say("holder", "acked");
	/* Wait until the hole is punched before mapping the range again. */
	usleep(200 * 1000);
	res.id = ev.id;
	if (ioctl(ctx, MRLEASE_IOC_RESTORE, &res))
		die("MRLEASE_IOC_RESTORE");
	say("holder", "restored the lease on the new blocks (generation %llu)", (unsigned long long)res.generation);
	close(ctx);
	return 0;
}

static int timed(const char *who, const char *what, char **argv)
{
	double t0 = now();
	int st;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execvp(argv[0], argv);
		die(argv[0]);
	}
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		say(who, "%s returned after %.1f s", what, now() - t0);
	else
		say(who, "%s FAILED after %.1f s (status %#x)", what, now() - t0, st);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "hold"))
		return hold(argv[2], size_arg(argv[3]), size_arg(argv[4]), (unsigned int)atoi(argv[5]), argv[6]);
	if (argc >= 3 && !strcmp(argv[1], "say")) {
		char line[512] = "";

		for (int i = 3; i < argc; i++)
			snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s", i > 3 ? " " : "", argv[i]);
		say(argv[2], "%s", line);
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "time"))
		return timed(argv[2], argv[3], argv + 4);
	if (argc == 5 && !strcmp(argv[1], "punch")) {
		int fd = open(argv[2], O_RDWR | O_CLOEXEC);

		if (fd < 0)
			die(argv[2]);
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)size_arg(argv[3]), (off_t)size_arg(argv[4])))
			die("fallocate");
		return 0;
	}
	fprintf(stderr, "usage: mrlease-demo hold FILE OFFSET LENGTH ACK_DELAY_S READY_FILE\n"
			"       mrlease-demo say WHO TEXT...\n"
			"       mrlease-demo time WHO WHAT COMMAND [ARG]...\n"
			"       mrlease-demo punch FILE OFFSET LENGTH\n");
	return 2;
}
