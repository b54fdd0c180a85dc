/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the 45-layout-* tests of file-layout leases (FL_LAYOUT).
 *
 * What a filesystem does with layout leases differs (XFS breaks them before
 * it changes a file's block map and on every write(); ext4 never does), so
 * each test is written for one filesystem and defines T_FS itself before it
 * includes this file; the DAX mount comes from $MRLEASE_XFS / $MRLEASE_EXT4
 * as for the fsdax tests.
 *
 * A lay_op is one change of a file (truncate, a fallocate mode, write,
 * reflink, dedupe), done by a forked breaker (struct breaker of fsdax.h),
 * which reports when its system call returned.  A "remote holder" is a
 * forked child that holds a lease and does what the test tells it (read an
 * event, ack, restore, ...), so that the test can kill it or run it as
 * another user.  Expected file contents are kept in a shadow buffer.
 */
#ifndef MRLEASE_TEST_LAYOUT_H
#define MRLEASE_TEST_LAYOUT_H

#include "fsdax.h"

#include <grp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>

#define MiB		(1u << 20)

/*
 * The geometry most layout tests share: a 4 MiB file, a 1 MiB lease at
 * 1 MiB, and a change of the lease's second quarter.  A test that needs
 * another defines its own before it includes this file.
 */
#ifndef FILE_SIZE
#define FILE_SIZE	(4 * MiB)
#endif
#ifndef LEASE_OFF
#define LEASE_OFF	(1 * MiB)
#endif
#ifndef LEASE_LEN
#define LEASE_LEN	(1 * MiB)
#endif
#ifndef CHG_OFF
#define CHG_OFF		(LEASE_OFF + MiB / 4)
#endif
#ifndef CHG_LEN
#define CHG_LEN		(MiB / 4)
#endif

/* The one byte of block @off of a file made by lay_other_create(.., @xor). */
static inline uint8_t lay_pattern(size_t off, uint8_t xor)
{
	return dax_pattern(off) ^ xor;
}

/* ---- changes of a file --------------------------------------------------- */

enum lay_kind {
	LAY_TRUNCATE,		/* ftruncate(fd, off) */
	LAY_PUNCH,		/* fallocate(fd, PUNCH_HOLE | KEEP_SIZE, off, len) */
	LAY_COLLAPSE,		/* fallocate(fd, COLLAPSE_RANGE, off, len) */
	LAY_INSERT,		/* fallocate(fd, INSERT_RANGE, off, len) */
	LAY_ZERO,		/* fallocate(fd, ZERO_RANGE, off, len) */
	LAY_WRITE,		/* pwrite(fd, len bytes of @byte, off) */
	LAY_CLONE,		/* ioctl(fd, FICLONE, fd2): all of fd2 into fd */
	LAY_CLONE_RANGE,	/* ioctl(fd, FICLONERANGE): fd2 [off2, +len) to fd at off */
	LAY_DEDUPE,		/* ioctl(fd, FIDEDUPERANGE): fd [off, +len) to fd2 at off2 */
};

struct lay_op {
	enum lay_kind kind;
	int fd;
	int fd2;
	off_t off, len, off2;
	uint8_t byte;
};

static inline const char *lay_kind_name(enum lay_kind k)
{
	static const char *const names[] = {
		[LAY_TRUNCATE] = "truncate", [LAY_PUNCH] = "punch-hole",
		[LAY_COLLAPSE] = "collapse-range", [LAY_INSERT] = "insert-range",
		[LAY_ZERO] = "zero-range", [LAY_WRITE] = "write",
		[LAY_CLONE] = "FICLONE", [LAY_CLONE_RANGE] = "FICLONERANGE",
		[LAY_DEDUPE] = "FIDEDUPERANGE",
	};

	return names[k];
}

/* Do @op: 0 or an errno. */
static inline int lay_do(const struct lay_op *op)
{
	switch (op->kind) {
	case LAY_TRUNCATE:
		return ftruncate(op->fd, op->off) ? errno : 0;
	case LAY_PUNCH:
		return fallocate(op->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				 op->off, op->len) ? errno : 0;
	case LAY_COLLAPSE:
		return fallocate(op->fd, FALLOC_FL_COLLAPSE_RANGE, op->off, op->len) ? errno : 0;
	case LAY_INSERT:
		return fallocate(op->fd, FALLOC_FL_INSERT_RANGE, op->off, op->len) ? errno : 0;
	case LAY_ZERO:
		return fallocate(op->fd, FALLOC_FL_ZERO_RANGE, op->off, op->len) ? errno : 0;
	case LAY_WRITE: {
		char *buf = malloc((size_t)op->len);
		ssize_t n;

		if (!buf)
			return ENOMEM;
		memset(buf, op->byte, (size_t)op->len);
		n = pwrite(op->fd, buf, (size_t)op->len, op->off);
		free(buf);
		return n == op->len ? 0 : n < 0 ? errno : EIO;
	}
	case LAY_CLONE:
		return ioctl(op->fd, FICLONE, op->fd2) ? errno : 0;
	case LAY_CLONE_RANGE: {
		struct file_clone_range r = {
			.src_fd = op->fd2, .src_offset = (uint64_t)op->off2,
			.src_length = (uint64_t)op->len, .dest_offset = (uint64_t)op->off,
		};

		return ioctl(op->fd, FICLONERANGE, &r) ? errno : 0;
	}
	case LAY_DEDUPE: {
		struct file_dedupe_range *r;
		struct file_dedupe_range_info *i;
		int err = 0;

		r = calloc(1, sizeof(*r) + sizeof(*i));
		if (!r)
			return ENOMEM;
		i = &r->info[0];
		r->src_offset = (uint64_t)op->off;
		r->src_length = (uint64_t)op->len;
		r->dest_count = 1;
		i->dest_fd = op->fd2;
		i->dest_offset = (uint64_t)op->off2;
		if (ioctl(op->fd, FIDEDUPERANGE, r))
			err = errno;
		else if (i->status < 0)
			err = -i->status;
		else if (i->status != FILE_DEDUPE_RANGE_SAME)
			err = EBADE;		/* the contents differ: a bug of the test */
		else if (i->bytes_deduped != (uint64_t)op->len)
			err = EIO;
		free(r);
		return err;
	}
	}
	return EINVAL;
}

static inline int lay_do_cb(const void *op)
{
	return lay_do(op);
}

/*
 * Fork a breaker named @comm that does @op when breaker_go() says so, and
 * reports like the breakers of fsdax.h (breaker_returned(), BREAKER_DONE,
 * CHECK_BREAKER_WAITING).
 */
static inline void lay_breaker_start(struct breaker *b, const struct lay_op *op, const char *comm)
{
	breaker_fork(b, comm, lay_do_cb, op);
}

/* Do @op in a breaker and expect it to return within @ms, breaking nothing. */
#define LAY_NO_WAIT(op, comm, ms) do {						\
	struct breaker b_;							\
	struct breaker_report r_;						\
	lay_breaker_start(&b_, op, comm);					\
	breaker_go(&b_);							\
	BREAKER_DONE(&b_, 5000, r_);						\
	t_info("%s by %d returned after %lld ms", lay_kind_name((op)->kind),	\
	       b_.pid, (long long)(r_.end_ns - r_.start_ns) / 1000000);	\
	CHECK_LT(r_.end_ns - r_.start_ns, (ms) * 1000000ll);			\
} while (0)

/* ---- files and their expected contents ----------------------------------- */

/*
 * A @size file on the DAX mount beside the leased one, holding
 * lay_pattern(off, @xor), not mapped; unlinked at once.
 */
static inline int lay_other_create(size_t size, uint8_t xor, const char *tag)
{
	char path[300], *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/%s.%d.%s", dax_dir(), program_invocation_short_name,
		 getpid(), tag);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		t_fail("create %s: %s", path, t_errname(errno));
	unlink(path);
	buf = malloc(size);
	CHECK(buf);
	for (size_t i = 0; i < size; i += 4096)
		memset(buf + i, lay_pattern(i, xor), size - i < 4096 ? size - i : 4096);
	if (pwrite(fd, buf, size, 0) != (ssize_t)size)
		t_fail("write %s: %s", path, t_errname(errno));
	free(buf);
	CHECK_SYS(fsync(fd));
	return fd;
}

/* What a file made with @xor should hold: a buffer of @cap bytes, @size used. */
static inline uint8_t *lay_shadow(size_t size, size_t cap, uint8_t xor)
{
	uint8_t *s = calloc(1, cap);

	CHECK(s && size <= cap);
	for (size_t i = 0; i < size; i++)
		s[i] = lay_pattern(i, xor);
	return s;
}

/*
 * The file @fd is @size bytes long and holds @want, read with pread() and,
 * for the part of the file inside it, through @map (@map_len bytes; NULL: no
 * mapping).
 */
static inline void lay_check_at(const char *file, int line, int fd, const char *map, size_t map_len,
				const uint8_t *want, size_t size)
{
	static uint8_t buf[65536];
	struct stat st;

	if (fstat(fd, &st))
		t_fail_at(file, line, "fstat: %s", t_errname(errno));
	if ((size_t)st.st_size != size)
		t_fail_at(file, line, "the file is %lld bytes long, expected %zu",
			  (long long)st.st_size, size);
	for (size_t o = 0; o < size; o += sizeof(buf)) {
		size_t n = size - o < sizeof(buf) ? size - o : sizeof(buf);

		if (pread(fd, buf, n, (off_t)o) != (ssize_t)n)
			t_fail_at(file, line, "pread at %#zx: %s", o, t_errname(errno));
		if (memcmp(buf, want + o, n) == 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (buf[i] != want[o + i])
				t_fail_at(file, line, "file byte at offset %#zx is %#x, expected %#x",
					  o + i, buf[i], want[o + i]);
	}
	if (!map)
		return;
	for (size_t o = 0; o < size && o < map_len; o++)
		if ((uint8_t)map[o] != want[o])
			t_fail_at(file, line, "mapping byte at offset %#zx is %#x, expected %#x",
				  o, (uint8_t)map[o], want[o]);
}

#define LAY_CHECK_FILE(fd, map, map_len, want, size) \
	lay_check_at(__FILE__, __LINE__, fd, map, map_len, want, size)

/* ---- leases ---------------------------------------------------------------- */

/* Query lease @id of context @fd and check its state, pins and layout. */
static inline void lay_check_lease_at(const char *file, int line, int fd, uint64_t id, uint32_t state,
				      uint64_t pinned, uint32_t layout, int32_t layout_error)
{
	struct mrlease_query q;
	int r = t_query(fd, id, &q);

	if (r)
		t_fail_at(file, line, "MRLEASE_IOC_QUERY: %s", t_errname(-r));
	if (q.state != state || q.pinned_pages != pinned || q.layout != layout ||
	    q.layout_error != layout_error)
		t_fail_at(file, line, "lease %llu: state %u pinned %llu layout %u layout_error %d; "
			  "expected state %u pinned %llu layout %u layout_error %d",
			  (unsigned long long)id, q.state, (unsigned long long)q.pinned_pages,
			  q.layout, q.layout_error, state, (unsigned long long)pinned, layout,
			  layout_error);
}

#define CHECK_LEASE(fd, id, state, pinned, layout) \
	lay_check_lease_at(__FILE__, __LINE__, fd, id, state, pinned, layout, 0)

/* Pages a lease @l holds pinned while ARMED or BROKEN. */
static inline uint64_t lay_pins(const struct mrlease_register *l)
{
	return l->flags & MRLEASE_REG_PIN ? l->len / t_pg : 0;
}

/* What lay_break_ack() expects. */
struct lay_expect {
	uint32_t reason;		/* of the DECOHERENCE record */
	uint32_t layout_waiting;	/* layout state while the breaker waits */
	uint32_t layout_after;		/* once the breaker returned after the ack */
	bool whole;			/* the record covers the whole lease */
};

/*
 * Let breaker @b (named @comm) go against lease @l of context @fd (held by
 * this process) and check: one DECOHERENCE record with the expected reason,
 * from the breaker, not SELF, pins kept; the lease BROKEN and the layout as
 * expected; the breaker still waiting 1.1 s after the record came; after the
 * ack the breaker returns within 1 s, the lease is ACKED without pins, and no
 * other record comes.  The layout is checked while the breaker waits, not
 * at once: a record from the notifier may come before the breaker reaches
 * the layout lease.
 */
static inline void lay_break_ack_at(const char *file, int line, int fd, struct mrlease_register *l,
				    struct breaker *b, const char *comm, const struct lay_expect *x)
{
	struct breaker_report rep;
	struct mrlease_event ev;
	int64_t t_ev, acked_ns;

	t_info("line %d: breaking lease %llu (expect reason %s, layout %u while waiting)", line,
	       (unsigned long long)l->id, t_reason_name(x->reason), x->layout_waiting);
	breaker_go(b);
	GET_EVENT(fd, ev, 10000);
	t_ev = t_now_ns();
	t_check_event_at(file, line, &ev, MRLEASE_EVENT_DECOHERENCE, x->reason, l, 0);
	if (ev.breaker_pid != b->pid || strcmp(ev.breaker_comm, comm))
		t_fail_at(file, line, "breaker %d %s, expected %d %s", ev.breaker_pid,
			  ev.breaker_comm, b->pid, comm);
	if (x->whole && (ev.start != l->addr || ev.length != l->len))
		t_fail_at(file, line, "the record covers %#llx+%#llx, not the whole lease",
			  (unsigned long long)ev.start, (unsigned long long)ev.length);
	if (t_state(fd, l->id) != MRLEASE_STATE_BROKEN)
		t_fail_at(file, line, "the lease is not BROKEN after its record");

	t_msleep(1100);
	if (breaker_returned(b, 0, &rep))
		t_fail_at(file, line, "the breaker returned (%s) %lld ms after the break, before the ack",
			  t_errname(rep.err), (long long)(rep.end_ns - t_ev) / 1000000);
	t_info("the breaker still waits %lld ms after the break", (long long)t_ms_since(t_ev));
	/* Now that the breaker is surely waiting (the record may precede lm_break). */
	lay_check_lease_at(file, line, fd, l->id, MRLEASE_STATE_BROKEN, lay_pins(l),
			   x->layout_waiting, 0);

	acked_ns = t_now_ns();
	CHECK_OK(t_ack(fd, l->id, ev.generation));
	if (!breaker_returned(b, 5000, &rep))
		t_fail_at(file, line, "the breaker did not return within 5 s of the ack");
	if (rep.err)
		t_fail_at(file, line, "the breaker's system call failed: %s", t_errname(rep.err));
	CHECK_CHILD_OK(b->pid, 5000);
	t_info("the breaker returned %lld ms after the ack, waited %lld ms in all",
	       (long long)(rep.end_ns - acked_ns) / 1000000,
	       (long long)(rep.end_ns - rep.start_ns) / 1000000);
	if (rep.end_ns - acked_ns >= 1000000000)
		t_fail_at(file, line, "the breaker returned only %lld ms after the ack",
			  (long long)(rep.end_ns - acked_ns) / 1000000);
	lay_check_lease_at(file, line, fd, l->id, MRLEASE_STATE_ACKED, 0, x->layout_after, 0);
	CHECK_NO_EVENT(fd, 200);
}

#define LAY_BREAK_ACK(fd, l, b, comm, x) lay_break_ack_at(__FILE__, __LINE__, fd, &(l), b, comm, x)

/* Restore @l: ARMED again, a new generation, pinned, the layout HELD. */
#define LAY_RESTORE_HELD(fd, l) do {						\
	uint64_t g_ = (l).generation;						\
	CHECK_OK(t_restore(fd, &(l)));					\
	CHECK_NE((l).generation, g_);						\
	CHECK_LEASE(fd, (l).id, MRLEASE_STATE_ARMED, lay_pins(&(l)), MRLEASE_LAYOUT_HELD); \
} while (0)

/* Is there a lease on the file @fd in /proc/locks?  Its lines, for the log. */
static inline int lay_proc_leases(int fd)
{
	char line[256], key[64];
	struct stat st;
	FILE *f;
	int n = 0;

	CHECK_SYS(fstat(fd, &st));
	snprintf(key, sizeof(key), " %02x:%02x:%llu ", major(st.st_dev), minor(st.st_dev),
		 (unsigned long long)st.st_ino);
	f = fopen("/proc/locks", "r");
	if (!f)
		t_fail("open /proc/locks: %s", t_errname(errno));
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "LEASE") && strstr(line, key)) {
			t_info("/proc/locks: %s", strtok(line, "\n"));
			n++;
		}
	fclose(f);
	return n;
}

/* ---- users ----------------------------------------------------------------- */

/* The test runs as root and may let other users at the device. */
static inline void lay_need_root(void)
{
	if (geteuid() != 0)
		t_skip("needs root to set up other users");
	t_open_device_to_all();
}

/*
 * Become @uid (and gid @uid) for good, with no capabilities (so neither
 * CAP_LEASE nor CAP_IPC_LOCK: RLIMIT_MEMLOCK is raised first for the pins).
 */
static inline void lay_become(uid_t uid)
{
	struct rlimit rl = { 64 * MiB, 64 * MiB };

	CHECK_SYS(setrlimit(RLIMIT_MEMLOCK, &rl));
	CHECK_SYS(setgroups(0, NULL));
	CHECK_SYS(setresgid(uid, uid, uid));
	CHECK_SYS(setresuid(uid, uid, uid));
	/* A change of credentials clears the parent-death signal. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	CHECK_EQ(geteuid(), uid);
	CHECK_EQ(t_cap_eff(), 0);
}

/* ---- a holder in another process ------------------------------------------- */

/* What the test tells a remote holder. */
enum lay_hcmd {
	LAY_H_EVENT = 'e',	/* read one record, waiting up to arg ms */
	LAY_H_ACK = 'a',	/* ack the last record read */
	LAY_H_RESTORE = 'r',
	LAY_H_QUERY = 'q',
	LAY_H_UNREGISTER = 'u',
	LAY_H_CLOSE = 'c',	/* close the context */
	LAY_H_BECOME = 'b',	/* lay_become(arg) */
};

struct lay_cmd {
	int32_t op;
	int32_t arg;
};

struct lay_reply {
	int32_t ret;			/* 0 or -errno */
	int32_t got;			/* LAY_H_EVENT: 1 if a record came */
	int64_t t_ns;			/* when the command was done */
	struct mrlease_register l;	/* the lease, as registered / restored */
	struct mrlease_query q;		/* queried after the command, if possible */
	struct mrlease_event ev;	/* LAY_H_EVENT: the record */
};

struct lay_holder_cfg {
	const void *addr;
	size_t len;
	uint64_t cookie;
	uint32_t flags;
	uint32_t timeout_ms;
	uid_t uid;			/* nonzero: lay_become(uid) first */
};

struct lay_holder {
	pid_t pid;
	int cmd;
	int rep;
	struct mrlease_register l;	/* from the first reply */
};

#define LAY_HOLDER_COMM	"mrl-holder"

/*
 * Start breaker @b (comm BREAKER_COMM); holder @h reads the DECOHERENCE
 * record (@reason, by @b) into @r; @b still waits 1.1 s later.
 */
#define LAY_HOLDER_BREAK(h, b, reason, r) do {					\
	breaker_go(b);								\
	lay_holder_call(h, LAY_H_EVENT, 10000, r);				\
	if (!(r)->got)								\
		t_fail("the holder got no record: %s", t_errname(-(r)->ret));	\
	t_print_event(&(r)->ev);						\
	CHECK_EVENT((r)->ev, MRLEASE_EVENT_DECOHERENCE, reason, (h)->l, 0);	\
	CHECK_EQ((r)->ev.breaker_pid, (b)->pid);				\
	CHECK(strcmp((r)->ev.breaker_comm, BREAKER_COMM) == 0);		\
	t_msleep(1100);								\
	CHECK_BREAKER_WAITING(b);						\
} while (0)

static inline void __attribute__((noreturn))
lay_holder_main(const struct lay_holder_cfg *cfg, int cmd, int rep)
{
	struct mrlease_register l;
	struct mrlease_event last = { 0 };
	struct lay_reply r = { 0 };
	int fd;

	prctl(PR_SET_NAME, LAY_HOLDER_COMM);
	if (cfg->uid)
		lay_become(cfg->uid);
	fd = t_ctx();
	r.ret = t_register(fd, cfg->addr, cfg->len, cfg->cookie, cfg->flags, cfg->timeout_ms, &l);
	if (!r.ret)
		r.ret = t_query(fd, l.id, &r.q);
	r.l = l;
	r.t_ns = t_now_ns();
	t_write_full(rep, &r, sizeof(r));
	if (r.ret)
		_exit(1);
	for (;;) {
		struct lay_cmd c;

		if (!t_read_full(cmd, &c, sizeof(c), 3600 * 1000))
			_exit(0);
		memset(&r, 0, sizeof(r));
		switch (c.op) {
		case LAY_H_EVENT:
			r.got = t_event(fd, &r.ev, c.arg);
			if (r.got < 0) {
				r.ret = r.got;
				r.got = 0;
			}
			if (r.got)
				last = r.ev;
			break;
		case LAY_H_ACK:
			r.ret = t_ack(fd, l.id, last.generation);
			break;
		case LAY_H_RESTORE:
			r.ret = t_restore(fd, &l);
			break;
		case LAY_H_QUERY:
			break;
		case LAY_H_UNREGISTER:
			r.ret = t_unregister(fd, l.id);
			break;
		case LAY_H_CLOSE:
			r.ret = close(fd) ? -errno : 0;
			fd = -1;
			break;
		case LAY_H_BECOME:
			lay_become((uid_t)c.arg);
			break;
		default:
			_exit(2);
		}
		r.t_ns = t_now_ns();
		if (fd >= 0 && c.op != LAY_H_UNREGISTER && t_query(fd, l.id, &r.q))
			memset(&r.q, 0, sizeof(r.q));
		r.l = l;
		t_write_full(rep, &r, sizeof(r));
	}
}

/* Fork a holder that registers a lease as @cfg says; its first reply in @r. */
static inline void lay_holder_start(struct lay_holder *h, const struct lay_holder_cfg *cfg,
				    struct lay_reply *r)
{
	int cmd[2], rep[2];

	t_pipe(cmd);
	t_pipe(rep);
	h->pid = t_fork();
	if (h->pid == 0) {
		close(cmd[1]);
		close(rep[0]);
		lay_holder_main(cfg, cmd[0], rep[1]);
	}
	close(cmd[0]);
	close(rep[1]);
	h->cmd = cmd[1];
	h->rep = rep[0];
	if (!t_read_full(h->rep, r, sizeof(*r), 20000))
		t_fail("the holder %d did not report its lease", h->pid);
	if (r->ret)
		t_fail("the holder could not register its lease: %s", t_errname(-r->ret));
	h->l = r->l;
}

/* Tell holder @h to do @op (@arg), and wait for its reply. */
static inline void lay_holder_call(struct lay_holder *h, enum lay_hcmd op, int arg, struct lay_reply *r)
{
	struct lay_cmd c = { .op = op, .arg = arg };

	t_write_full(h->cmd, &c, sizeof(c));
	if (!t_read_full(h->rep, r, sizeof(*r), (op == LAY_H_EVENT ? arg : 0) + 20000))
		t_fail("the holder %d did not answer '%c'", h->pid, op);
}

#endif /* MRLEASE_TEST_LAYOUT_H */
