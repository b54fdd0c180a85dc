// SPDX-License-Identifier: GPL-2.0
/*
 * The tracepoints (module/trace.h), read through tracefs as perf or
 * bpftrace would: with events/mrlease/ enabled, one lease registered,
 * broken by the holder's own munmap, acked, mapped again and restored, and
 * unregistered, and a second one left unacked until its 300 ms timeout
 * revokes it, leave one line each -- register, break (reason, breaker
 * pid), ack (latency), restore (the new generation), revoke (reason
 * TIMEOUT), unregister -- all naming their lease's id.
 */
#include "harness.h"

#include <sys/mount.h>

#define TRACING		"/sys/kernel/tracing"

static void tracefs_write(const char *file, const char *what)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), TRACING "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		t_fail("%s: %s", path, strerror(errno));
	if (write(fd, what, strlen(what)) != (ssize_t)strlen(what))
		t_fail("write %s: %s", path, strerror(errno));
	close(fd);
}

static char trace[1 << 16];

static void trace_read(void)
{
	int fd = open(TRACING "/trace", O_RDONLY);
	size_t len = 0;
	ssize_t n;

	CHECK_SYS(fd);
	while (len < sizeof(trace) - 1 && (n = read(fd, trace + len, sizeof(trace) - 1 - len)) > 0)
		len += (size_t)n;
	trace[len] = 0;
	close(fd);
}

/* The trace has a line with "@event: lease=@id" and then @rest. */
static void expect(const char *event, uint64_t id, const char *rest)
{
	char want[128];
	const char *line;

	snprintf(want, sizeof(want), "%s: lease=%llu%s%s", event, (unsigned long long)id,
		 *rest ? " " : "\n", rest);
	line = strstr(trace, want);
	if (!line)
		t_fail("no \"%s\" in the trace:\n%s", want, trace);
	t_info("%.*s", (int)(strchrnul(line, '\n') - line), line);
}

int main(void)
{
	struct mrlease_register l, r;
	struct mrlease_event ev;
	char rest[64];
	char *a, *b;
	int fd;

	if (geteuid())
		t_skip("tracefs needs root");
	if (access(TRACING "/events", F_OK) &&
	    mount("nodev", TRACING, "tracefs", 0, NULL))
		t_skip("no tracefs at " TRACING ": %s", strerror(errno));
	if (access(TRACING "/events/mrlease", F_OK))
		t_fail(TRACING "/events/mrlease: %s (the module has tracepoints)", strerror(errno));
	tracefs_write("trace", "");
	tracefs_write("events/mrlease/enable", "1");

	fd = t_ctx();
	a = t_anon(4);
	b = t_anon(4);
	CHECK_OK(t_register(fd, a, PG(4), 0x7ace, MRLEASE_REG_PIN, 0, &l));
	CHECK_OK(t_register(fd, b, PG(4), 0x7acf, MRLEASE_REG_PIN, 300, &r));

	CHECK_SYS(munmap(a, PG(4)));
	GET_EVENT(fd, ev, 2000);
	CHECK_EQ(ev.id, l.id);
	CHECK_OK(t_ack(fd, l.id, ev.generation));
	CHECK(mmap(a, PG(4), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		   -1, 0) == a);
	memset(a, 1, PG(4));
	CHECK_OK(t_restore(fd, &l));

	CHECK_SYS(munmap(b, PG(4)));
	GET_EVENT(fd, ev, 2000);
	CHECK_EQ(ev.id, r.id);
	GET_EVENT(fd, ev, 5000);
	CHECK_EQ(ev.type, MRLEASE_EVENT_REVOKED);
	CHECK_OK(t_unregister(fd, l.id));

	tracefs_write("events/mrlease/enable", "0");
	trace_read();
	snprintf(rest, sizeof(rest), "addr=0x%lx len=%zu flags=0x%x", (unsigned long)a, PG(4),
		 (unsigned int)MRLEASE_REG_PIN);
	expect("mrlease_register", l.id, rest);
	snprintf(rest, sizeof(rest), "reason=%u breaker=%d", MRLEASE_REASON_UNMAP, getpid());
	expect("mrlease_break", l.id, rest);
	expect("mrlease_ack", l.id, "latency_ns=");
	snprintf(rest, sizeof(rest), "generation=%llu", (unsigned long long)l.generation);
	expect("mrlease_restore", l.id, rest);
	snprintf(rest, sizeof(rest), "reason=%u", MRLEASE_REASON_TIMEOUT);
	expect("mrlease_revoke", r.id, rest);
	expect("mrlease_unregister", l.id, "");
	close(fd);
	t_pass();
}
