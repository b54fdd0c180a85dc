// SPDX-License-Identifier: GPL-2.0
/*
 * hold FILE [OFFSET LEN] [--ack-after MS] [--restore-after MS] [--timeout MS]
 *
 * A small lease holder for operators and demos, speaking the ioctl ABI of
 * /dev/mrlease directly: map the file shared, take a pinned lease on the
 * range, print each event as it comes, acknowledge each break after the
 * delay (as an RDMA stack would once it has quiesced the MR), restore the
 * lease after another delay (as it would re-register the MR), and go on
 * until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mrlease-ctl.h"

#define DEV_PATH	"/dev/" MRLEASE_DEVICE_NAME
#define MAX_EVENTS	16
#define NEVER		(-1LL)

struct holder {
	int dev;
	uint64_t id;
	uint64_t ack_after_ms;
	uint64_t restore_after_ms;
	/* The break waiting for its ack, if any. */
	int64_t ack_at_ms;		/* NEVER: none pending */
	uint64_t ack_gen;
	int64_t broke_at_ms;
	/* The restore due after an ack or a revoke, if any. */
	int64_t restore_at_ms;		/* NEVER: none pending */
	size_t event_size;		/* the module's sizeof(struct mrlease_event) */
};

void help_hold(FILE *f)
{
	fprintf(f, "Usage: %s hold FILE [ OFFSET LEN ] [ --ack-after MS ] [ --restore-after MS ]\n"
		   "                       [ --timeout MS ]\n", prog);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A size with an optional k/m/g (1024-based) suffix. */
static int parse_size(const char *w, const char *what, uint64_t *val)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(w, &end, 0);
	if (!errno && end != w && w[0] != '-') {
		switch (*end) {
		case 'k': case 'K': shift = 10; end++; break;
		case 'm': case 'M': shift = 20; end++; break;
		case 'g': case 'G': shift = 30; end++; break;
		}
		if (!*end && v <= (UINT64_MAX >> shift)) {
			*val = v << shift;
			return 0;
		}
	}
	return usage_err("hold: invalid %s \"%s\"", what, w);
}

/* "what happened" lines: {"event": EVENT, "id": ID, ...} / "EVENT lease ID ...". */
static void pr_head(const char *event, uint64_t id)
{
	pr_obj_open(NULL);
	pr_str("event", "%s", event);
	pr_u64("id", " lease %llu", id);
}

static void pr_tail(void)
{
	pr_obj_close();
	pr_end_record();
}

static void print_event(const struct mrlease_event *ev)
{
	char b1[32], b2[32];

	pr_head(pr_enum(NAMES(mrlease_event_names), ev->type, b1, sizeof(b1)), ev->id);
	pr_str("reason", " reason %s",
	       pr_enum(NAMES(mrlease_reason_names), ev->reason, b2, sizeof(b2)));
	pr_u64("breaker_pid", " breaker_pid %llu", (uint32_t)ev->breaker_pid);
	pr_str("breaker_comm", " breaker_comm %s", ev->breaker_comm);
	pr_u64("generation", " generation %llu", ev->generation);
	pr_u64("start", " start %#llx", ev->start);
	pr_u64("length", " length %llu", ev->length);
	pr_u64("cookie", " cookie %#llx", ev->cookie);
	pr_flags("flags", "flags", NAMES(mrlease_event_flag_names), ev->flags);
	pr_tail();
}

static void print_error(const char *what, uint64_t id, int err)
{
	pr_head("error", id);
	pr_str("op", " %s", what);
	pr_str("error", ": %s", strerror(err));
	pr_tail();
}

/* Restore the lease; an error leaves it unarmed, which is fatal for a holder. */
static int restore(struct holder *h)
{
	struct mrlease_restore res = { .id = h->id };
	int tries;

	h->restore_at_ms = NEVER;
	for (tries = 0; tries < 10; tries++) {
		if (!ioctl(h->dev, MRLEASE_IOC_RESTORE, &res)) {
			pr_head("restore", h->id);
			pr_u64("generation", " generation %llu", res.generation);
			pr_tail();
			return 0;
		}
		if (errno != EAGAIN && errno != EINTR)
			break;
		usleep(10000);
	}
	print_error("restore", h->id, errno);
	return -1;
}

static int ack(struct holder *h)
{
	struct mrlease_lease_ref ref = { .id = h->id, .generation = h->ack_gen };

	h->ack_at_ms = NEVER;
	if (ioctl(h->dev, MRLEASE_IOC_ACK, &ref)) {
		/* ETIMEDOUT: revoked meanwhile; its record follows, and the restore with it. */
		print_error("ack", h->id, errno);
		return errno == ETIMEDOUT || errno == ESTALE ? 0 : -1;
	}
	pr_head("ack", h->id);
	pr_u64("generation", " generation %llu", h->ack_gen);
	pr_u64("after_ms", " after_ms %llu", now_ms() - h->broke_at_ms);
	pr_tail();
	h->restore_at_ms = now_ms() + h->restore_after_ms;
	return 0;
}

static int read_events(struct holder *h)
{
	char buf[MAX_EVENTS * 256];
	size_t n = sizeof(buf) / h->event_size * h->event_size;
	ssize_t got;
	size_t off;

	got = read(h->dev, buf, n);
	if (got < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	for (off = 0; off + h->event_size <= (size_t)got; off += h->event_size) {
		struct mrlease_event ev = { 0 };

		memcpy(&ev, buf + off, h->event_size < sizeof(ev) ? h->event_size : sizeof(ev));
		ev.breaker_comm[sizeof(ev.breaker_comm) - 1] = '\0';
		print_event(&ev);
		if (ev.id != h->id)
			continue;
		if (ev.type == MRLEASE_EVENT_DECOHERENCE) {
			h->ack_gen = ev.generation;
			h->broke_at_ms = now_ms();
			h->ack_at_ms = h->broke_at_ms + h->ack_after_ms;
		} else if (ev.type == MRLEASE_EVENT_REVOKED) {
			/* Too late to ack: the pins are gone. Take the range again. */
			h->ack_at_ms = NEVER;
			h->restore_at_ms = now_ms() + h->restore_after_ms;
		}
	}
	return 0;
}

static int hold_loop(struct holder *h)
{
	struct pollfd pfd[2];
	sigset_t sigs;
	int sfd;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		err_msg("hold: signalfd: %s", strerror(errno));
		return -1;
	}
	pfd[0] = (struct pollfd){ .fd = h->dev, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		int64_t next = h->ack_at_ms;
		int timeout = -1, n;

		if (h->restore_at_ms != NEVER && (next == NEVER || h->restore_at_ms < next))
			next = h->restore_at_ms;
		if (next != NEVER) {
			int64_t left = next - now_ms();

			timeout = left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
		}
		n = poll(pfd, 2, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err_msg("hold: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if ((pfd[0].revents & POLLIN) && read_events(h)) {
			err_msg("hold: reading events: %s", strerror(errno));
			break;
		}
		if (h->ack_at_ms != NEVER && now_ms() >= h->ack_at_ms && ack(h))
			break;
		if (h->restore_at_ms != NEVER && now_ms() >= h->restore_at_ms && restore(h))
			break;
	}
	close(sfd);
	return pfd[1].revents ? 0 : -1;
}

int do_hold(struct args *a)
{
	struct mrlease_api api = { .api = MRLEASE_API, .features = MRLEASE_FEATURE_PIN };
	struct mrlease_register reg = { .flags = MRLEASE_REG_PIN };
	struct mrlease_query q = { 0 };
	struct mrlease_lease_ref unreg = { 0 };
	struct holder h = { .dev = -1, .ack_at_ms = NEVER, .restore_at_ms = NEVER };
	const char *path = NULL, *pos[2];
	uint64_t offset = 0, len = 0, timeout_ms = 0;
	unsigned int npos = 0;
	long page = sysconf(_SC_PAGESIZE);
	size_t map_len, delta;
	struct stat st;
	void *map;
	int fd, prot = PROT_READ | PROT_WRITE, ret = EXIT_ERR;
	char b[32];

	if (args_is_help(a)) {
		help_hold(stdout);
		return EXIT_OK;
	}
	while (!args_empty(a)) {
		const char *w = args_next(a);
		int r;

		if (!strcmp(w, "--ack-after") || !strcmp(w, "ack-after")) {
			r = args_u64(a, "--ack-after", INT32_MAX, &h.ack_after_ms);
		} else if (!strcmp(w, "--restore-after") || !strcmp(w, "restore-after")) {
			r = args_u64(a, "--restore-after", INT32_MAX, &h.restore_after_ms);
		} else if (!strcmp(w, "--timeout") || !strcmp(w, "timeout")) {
			r = args_u64(a, "--timeout", UINT32_MAX, &timeout_ms);
		} else if (w[0] == '-' && w[1]) {
			r = usage_err("hold: unknown option \"%s\"", w);
		} else if (!path) {
			path = w;
			r = 0;
		} else if (npos < 2) {
			pos[npos++] = w;
			r = 0;
		} else {
			r = usage_err("hold: unexpected \"%s\"", w);
		}
		if (r)
			return r;
	}
	if (!path)
		return usage_err("hold: which file? (hold FILE [OFFSET LEN])");
	if (npos == 1)
		return usage_err("hold: give both OFFSET and LEN, or neither");
	if (npos == 2 && (parse_size(pos[0], "OFFSET", &offset) || parse_size(pos[1], "LEN", &len)))
		return EXIT_USAGE;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		prot = PROT_READ;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		err_msg("hold: %s: %s", path, strerror(errno));
		return EXIT_ERR;
	}
	if (fstat(fd, &st)) {
		err_msg("hold: %s: %s", path, strerror(errno));
		goto close_fd;
	}
	if (npos == 0) {
		len = st.st_size;
		if (!len) {
			err_msg("hold: %s is empty; give OFFSET and LEN", path);
			goto close_fd;
		}
	}
	if (!len) {
		ret = usage_err("hold: LEN must not be 0");
		goto close_fd;
	}
	/* mmap() wants a page-aligned offset; the lease covers just [OFFSET, +LEN). */
	delta = offset % page;
	if (len > SIZE_MAX - delta) {
		ret = usage_err("hold: LEN too big");
		goto close_fd;
	}
	map_len = delta + len;
	map = mmap(NULL, map_len, prot, MAP_SHARED, fd, offset - delta);
	if (map == MAP_FAILED) {
		err_msg("hold: mmap %s: %s", path, strerror(errno));
		goto close_fd;
	}

	h.dev = open(DEV_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (h.dev < 0) {
		if (errno == ENOENT)
			err_msg("hold: %s: %s (mrlease kernel module not loaded? modprobe mrlease)",
				DEV_PATH, strerror(errno));
		else
			err_msg("hold: %s: %s", DEV_PATH, strerror(errno));
		goto unmap;
	}
	if (ioctl(h.dev, MRLEASE_IOC_API, &api)) {
		err_msg("hold: %s: API handshake: %s", DEV_PATH, strerror(errno));
		goto close_dev;
	}
	if (!(api.features & MRLEASE_FEATURE_PIN)) {
		err_msg("hold: the module does not offer pinned leases");
		goto close_dev;
	}
	if (api.event_size < offsetof(struct mrlease_event, reserved) ||
	    api.event_size > 256) {
		err_msg("hold: the module's event size %u is not one this tool can read",
			api.event_size);
		goto close_dev;
	}
	h.event_size = api.event_size;

	reg.addr = (uintptr_t)map + delta;
	reg.len = len;
	reg.cookie = getpid();
	reg.timeout_ms = timeout_ms;
	if (ioctl(h.dev, MRLEASE_IOC_REGISTER, &reg)) {
		err_msg("hold: registering a pinned lease on %s [%llu, +%llu): %s", path,
			(unsigned long long)offset, (unsigned long long)len, strerror(errno));
		goto close_dev;
	}
	h.id = reg.id;
	q.id = reg.id;
	ioctl(h.dev, MRLEASE_IOC_QUERY, &q);

	pr_head("holding", h.id);
	pr_str("path", " on %s", path);
	pr_u64("offset", " offset %llu", offset);
	pr_u64("len", " len %llu", len);
	pr_u64("pid", " pid %llu", getpid());
	pr_u64("addr", " addr %#llx", reg.addr);
	pr_u64("generation", " generation %llu", reg.generation);
	pr_str("backing", " backing %s",
	       pr_enum(NAMES(mrlease_backing_names), q.backing, b, sizeof(b)));
	pr_u64("pinned_pages", " pinned_pages %llu", q.pinned_pages);
	if (q.layout) {
		pr_str("layout", " layout %s",
		       pr_enum(NAMES(mrlease_layout_names), q.layout, b, sizeof(b)));
		if (q.layout == MRLEASE_LAYOUT_REFUSED) {
			pr_s64("layout_error", NULL, q.layout_error);
			pr_text(" (%s)", strerror(-q.layout_error));
		}
	}
	/* A pinned lease is never HOLD_NONE: 0 is a module that predates the field. */
	if (q.hold)
		pr_str("hold", " hold %s",
		       pr_enum(NAMES(mrlease_hold_names), q.hold, b, sizeof(b)));
	pr_u64("timeout_ms", " timeout_ms %llu", q.timeout_ms);
	pr_u64("ack_after_ms", " ack_after_ms %llu", h.ack_after_ms);
	pr_u64("restore_after_ms", " restore_after_ms %llu", h.restore_after_ms);
	pr_tail();

	if (hold_loop(&h) == 0)
		ret = EXIT_OK;
	unreg.id = h.id;
	if (ioctl(h.dev, MRLEASE_IOC_UNREGISTER, &unreg)) {
		err_msg("hold: unregistering lease %llu: %s", (unsigned long long)h.id,
			strerror(errno));
		ret = EXIT_ERR;
	} else {
		pr_head("released", h.id);
		pr_tail();
	}
close_dev:
	close(h.dev);
unmap:
	munmap(map, map_len);
close_fd:
	close(fd);
	return ret;
}
