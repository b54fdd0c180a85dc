/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the fsdax tests.  Each cases/NN-fsdax-*.c is built once per
 * filesystem with T_FS set to "ext4" or "xfs"; the DAX mount comes from
 * $MRLEASE_EXT4 / $MRLEASE_XFS.
 *
 * A file is filled with a pattern (every 4 KiB block holds one nonzero byte
 * value derived from its offset), so that blocks are allocated and a punched
 * range (zeros) can be told from the rest.  A "breaker" is a forked child
 * that changes the file on command and reports when its system call returned.
 */
#ifndef MRLEASE_TEST_FSDAX_H
#define MRLEASE_TEST_FSDAX_H

#include "harness.h"

#include <grp.h>
#include <sys/stat.h>

#ifndef T_FS
#error "build with -DT_FS='\"ext4\"' or '\"xfs\"'"
#endif

struct dax_file {
	int fd;
	size_t size;
	char *map;		/* MAP_SHARED, PROT_READ | PROT_WRITE, whole file */
	char path[256];
};

static inline uint8_t dax_pattern(size_t off)
{
	return (uint8_t)((off >> 12) % 251 + 1);
}

/* The DAX mount under test, or skip. */
static inline const char *dax_dir(void)
{
	const char *var = strcmp(T_FS, "xfs") ? "MRLEASE_EXT4" : "MRLEASE_XFS";
	const char *dir = getenv(var);
	struct stat st;

	if (!dir || !*dir)
		t_skip("$%s is not set: no %s DAX mount to test on", var, T_FS);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		t_fail("$%s=%s is not a directory", var, dir);
	return dir;
}

/*
 * Create a @size file on the DAX mount, write the pattern, map it shared.
 * The file is unlinked at once: it lives as long as it is open or mapped.
 */
static inline void dax_create(struct dax_file *f, size_t size)
{
	const char *dir = dax_dir();
	struct statx stx;
	char *buf;

	memset(f, 0, sizeof(*f));
	f->size = size;
	snprintf(f->path, sizeof(f->path), "%s/%s.%d", dir, program_invocation_short_name, getpid());
	f->fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f->fd < 0)
		t_fail("create %s: %s", f->path, t_errname(errno));
	unlink(f->path);

	buf = malloc(1 << 20);
	CHECK(buf);
	for (size_t off = 0; off < size; off += 1 << 20) {
		size_t n = size - off < (1u << 20) ? size - off : 1u << 20;

		for (size_t i = 0; i < n; i += 4096)
			memset(buf + i, dax_pattern(off + i), 4096);
		if (pwrite(f->fd, buf, n, (off_t)off) != (ssize_t)n)
			t_fail("write %s: %s", f->path, t_errname(errno));
	}
	free(buf);
	CHECK_SYS(fsync(f->fd));

	if (statx(f->fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx))
		t_fail("statx %s: %s", f->path, t_errname(errno));
	if (!(stx.stx_attributes_mask & STATX_ATTR_DAX) || !(stx.stx_attributes & STATX_ATTR_DAX))
		t_fail("%s is not a DAX file: is %s mounted with -o dax on fsdax pmem?", f->path, dir);

	f->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	if (f->map == MAP_FAILED)
		t_fail("mmap %s: %s", f->path, t_errname(errno));
	t_info("%s: %zu KiB DAX file at %p", T_FS, size >> 10, (void *)f->map);
}

/*
 * Every byte of [off, off + len) of the mapping holds the pattern, or zero
 * when @zero; also checked through pread(), which does not use the mapping.
 */
static inline void dax_check_at(const char *file, int line, const struct dax_file *f,
				size_t off, size_t len, bool zero)
{
	static uint8_t buf[4096];

	for (size_t o = off; o < off + len; o++) {
		uint8_t want = zero ? 0 : dax_pattern(o);

		if ((uint8_t)f->map[o] != want)
			t_fail_at(file, line, "mapping byte at offset %#zx is %#x, expected %#x",
				  o, (uint8_t)f->map[o], want);
	}
	for (size_t o = off; o < off + len; o += sizeof(buf)) {
		size_t n = off + len - o < sizeof(buf) ? off + len - o : sizeof(buf);

		if (pread(f->fd, buf, n, (off_t)o) != (ssize_t)n)
			t_fail_at(file, line, "pread at %#zx: %s", o, t_errname(errno));
		for (size_t i = 0; i < n; i++)
			if (buf[i] != (zero ? 0 : dax_pattern(o + i)))
				t_fail_at(file, line, "file byte at offset %#zx is %#x, expected %#x",
					  o + i, buf[i], zero ? 0 : dax_pattern(o + i));
	}
}

#define DAX_CHECK_DATA(f, off, len)	dax_check_at(__FILE__, __LINE__, f, off, len, false)
#define DAX_CHECK_ZERO(f, off, len)	dax_check_at(__FILE__, __LINE__, f, off, len, true)

/* What a breaker does to the file. */
enum breaker_op { BREAK_PUNCH, BREAK_TRUNCATE };

struct breaker {
	pid_t pid;
	int go;			/* write end: one byte starts the operation */
	int done;		/* read end: a struct breaker_report when it returned */
};

struct breaker_report {
	int64_t start_ns;	/* CLOCK_MONOTONIC just before the system call */
	int64_t end_ns;		/* and just after it returned */
	int err;		/* its errno, 0 on success */
};

#define BREAKER_COMM "mrl-breaker"

/*
 * Fork a breaker named @comm that waits for breaker_go(), then calls
 * @fn(@arg), which does one change of a file and returns 0 or an errno, and
 * reports when it returned.  It has its own address space, so its breaks
 * are not the holder's own; @arg may point into the caller's stack frame
 * (the child has its own copy of it).
 */
static inline void breaker_fork(struct breaker *b, const char *comm, int (*fn)(const void *arg),
				const void *arg)
{
	int go[2], done[2];

	t_pipe(go);
	t_pipe(done);
	b->pid = t_fork();
	if (b->pid == 0) {
		struct breaker_report rep = { 0 };
		char c;

		prctl(PR_SET_NAME, comm);
		close(go[1]);
		close(done[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(0);	/* the test is over without us */
		rep.start_ns = t_now_ns();
		rep.err = fn(arg);
		rep.end_ns = t_now_ns();
		t_write_full(done[1], &rep, sizeof(rep));
		_exit(rep.err ? 1 : 0);
	}
	close(go[0]);
	close(done[1]);
	b->go = go[1];
	b->done = done[0];
}

struct breaker_change {
	int fd;
	enum breaker_op op;
	size_t off, len;
};

static inline int breaker_change_do(const void *arg)
{
	const struct breaker_change *c = arg;

	if (c->op == BREAK_PUNCH)
		return fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				 (off_t)c->off, (off_t)c->len) ? errno : 0;
	return ftruncate(c->fd, (off_t)c->off) ? errno : 0;
}

/*
 * Fork a breaker that waits for breaker_go(), then punches [off, off + len)
 * (BREAK_PUNCH) or truncates the file to @off (BREAK_TRUNCATE).
 */
static inline void breaker_start(struct breaker *b, int fd, enum breaker_op op, size_t off, size_t len)
{
	const struct breaker_change c = { .fd = fd, .op = op, .off = off, .len = len };

	breaker_fork(b, BREAKER_COMM, breaker_change_do, &c);
}

static inline void breaker_go(struct breaker *b)
{
	t_write_full(b->go, "g", 1);
}

/* 1 and the report if the breaker's system call returned within @timeout_ms. */
static inline int breaker_returned(struct breaker *b, int timeout_ms, struct breaker_report *rep)
{
	return t_read_full(b->done, rep, sizeof(*rep), timeout_ms);
}

/* The breaker is still inside its system call (and alive). */
#define CHECK_BREAKER_WAITING(b) do {						\
	struct breaker_report r_;						\
	int st_;								\
	if (breaker_returned(b, 0, &r_))					\
		t_fail("the breaker's system call already returned (%s)",	\
		       t_errname(r_.err));					\
	if (waitpid((b)->pid, &st_, WNOHANG) != 0)				\
		t_fail("the breaker %d is gone", (b)->pid);			\
} while (0)

/* The breaker's system call returned successfully within @ms; its report. */
#define BREAKER_DONE(b, ms, rep) do {						\
	if (!breaker_returned(b, ms, &(rep)))					\
		t_fail("the breaker's system call did not return within %d ms", (int)(ms)); \
	if ((rep).err)								\
		t_fail("the breaker's system call failed: %s", t_errname((rep).err)); \
	CHECK_CHILD_OK((b)->pid, 5000);						\
} while (0)

/* A punch of [off, off + len) of @f, by a breaker that becomes @uid first (if root). */
struct dax_punch {
	const struct dax_file *f;
	uid_t uid;
	size_t off, len;
};

/* breaker_fork()'s function for a struct dax_punch; it drops its copy of the mapping first. */
static inline int dax_punch_do(const void *arg)
{
	const struct dax_punch *p = arg;

	munmap(p->f->map, p->f->size);
	if (geteuid() == 0 && (setgroups(0, NULL) || setresgid(p->uid, p->uid, p->uid) ||
			       setresuid(p->uid, p->uid, p->uid)))
		return errno;
	return fallocate(p->f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)p->off,
			 (off_t)p->len) ? errno : 0;
}

/*
 * What most fsdax tests open with: a DAX file, a breaker ready to change it,
 * the lease the change breaks, its record and the breaker's report.
 */
struct dax_scene {
	struct dax_file f;
	struct breaker b;
	struct breaker_report rep;
	struct mrlease_register l;
	struct mrlease_event ev;
};

/* A @size DAX file and a breaker that will do @op at @off, @len (breaker_start()). */
static inline void dax_scene_open(struct dax_scene *s, size_t size, enum breaker_op op, size_t off,
				  size_t len)
{
	dax_create(&s->f, size);
	breaker_start(&s->b, s->f.fd, op, off, len);
}

/*
 * Fork @holder(&s->f, out), which registers a lease on the file, writes its
 * struct mrlease_register to out and later the record it reads; read the first.
 */
static inline pid_t dax_scene_holder(struct dax_scene *s, int p[2],
				     void (*holder)(struct dax_file *f, int out))
{
	pid_t h;

	t_pipe(p);
	h = t_fork();
	if (h == 0) {
		close(p[0]);
		holder(&s->f, p[1]);
	}
	close(p[1]);
	if (!t_read_full(p[0], &s->l, sizeof(s->l), 10000))
		t_fail("the holder did not register");
	return h;
}

/* Start the breaker; the lease's DECOHERENCE record (CLEAR, by the breaker, @flags) is on @fd. */
#define DAX_SCENE_BREAK(s, fd, flags) do {					\
	breaker_go(&(s)->b);							\
	GET_EVENT(fd, (s)->ev, 10000);						\
	CHECK_EVENT((s)->ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_CLEAR,	\
		    (s)->l, flags);						\
	CHECK_EQ((s)->ev.breaker_pid, (s)->b.pid);				\
	CHECK(strcmp((s)->ev.breaker_comm, BREAKER_COMM) == 0);		\
} while (0)

/*
 * The breaker still waits @ms later; the ack (at *@acked_ns) lets its call
 * return within a second.
 */
#define DAX_SCENE_ACK(s, fd, ms, acked_ns) do {					\
	t_msleep(ms);								\
	CHECK_BREAKER_WAITING(&(s)->b);						\
	*(acked_ns) = t_now_ns();						\
	CHECK_OK(t_ack(fd, (s)->l.id, (s)->ev.generation));			\
	BREAKER_DONE(&(s)->b, 5000, (s)->rep);					\
	t_info("the breaker still waited after %d ms; it returned %lld ms after the ack", \
	       (int)(ms), (long long)((s)->rep.end_ns - *(acked_ns)) / 1000000); \
	CHECK_LT((s)->rep.end_ns - *(acked_ns), 1000000000);			\
} while (0)

#endif /* MRLEASE_TEST_FSDAX_H */
