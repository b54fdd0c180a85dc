// SPDX-License-Identifier: GPL-2.0
/*
 * A structure-aware fuzzer for the four surfaces of mrlease: the ioctls
 * (random sizes, directions, flags, reserved bytes, ids, generations,
 * addresses and argument pointers), read() (random sizes and buffers),
 * mmap() of the status page (random prot, flags, sizes, offsets) and the
 * "mrlease" generic netlink family (random commands, flags, versions,
 * attribute sets, types and lengths, batches, truncated messages), mixed
 * with address-space churn (mmap, munmap, mremap, madvise, fork, truncate,
 * punch of DAX files) and context churn.
 *
 * Runs $MRLEASE_FUZZ_SECS seconds (default 30) or $MRLEASE_FUZZ_ITERS
 * iterations, seeded by $MRLEASE_FUZZ_SEED (random by default, always
 * printed).  Iteration i draws its choices from (seed, i), so a run is
 * replayed by its seed and iteration count.  Before the random run, every
 * seed in fuzz-regressions.h is replayed (unless $MRLEASE_FUZZ_NO_REPLAY).
 *
 * A worker process fuzzes; the parent watches it and the kernel log.
 * Failures: a kernel splat (WARNING, BUG, KASAN, lockdep, ...), the worker
 * killed by a signal (an oops kills the task in the system call), stuck for
 * 60 s, an oracle violated (documented errnos of the ioctl argument checks,
 * the status page staying read-only, whole event records), or, once it is
 * gone, leases, pins or contexts left behind (netlink stats).  The parent
 * then prints the seed and iteration to replay.  The module configuration
 * (which the fuzzer's CONFIG_SET requests change) is restored at the end.
 */
#include "harness.h"
#include "nl.h"
#include "kmsg.h"
#include "fuzz-regressions.h"

#include <sys/stat.h>
#include <sys/syscall.h>

#define MAX_CTX		4
#define MAX_LEASES	256
#define MAX_AREAS	8
#define MAX_MAPS	16
#define AREA_PAGES	32
#define STALL_MS	60000

/* ---- randomness ------------------------------------------------------- */

static uint64_t rs;

static uint64_t r64(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(r64() % n) : 0;
}

static bool one_in(uint32_t n)
{
	return rnd(n) == 0;
}

static uint64_t interesting64(void)
{
	static const uint64_t v[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x1001, 0xffff,
				      0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, 0x7fffffffffffULL,
				      0x800000000000ULL, 0xffff800000000000ULL, 0x7fffffffffffffffULL,
				      0x8000000000000000ULL, ~0ULL, 3600000, 3600001 };

	return one_in(4) ? r64() : v[rnd(sizeof(v) / sizeof(v[0]))];
}

/* ---- shared with the parent ------------------------------------------- */

struct progress {
	volatile uint64_t iter;		/* current iteration */
	volatile int64_t beat_ns;	/* last sign of life */
	volatile uint64_t ops[5];	/* ioctl, read, mmap, netlink, churn */
	volatile uint64_t violations;
	char last[160];			/* what the worker was doing */
};

static struct progress *P;

#define NOTE(...) snprintf(P->last, sizeof(P->last), __VA_ARGS__)

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
	va_list ap;

	if (P->violations++ < 20) {
		printf("# oracle violated at iteration %llu: ", (unsigned long long)P->iter);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
	}
}

/* The /proc/self/maps line that covers @addr, for reports. */
static void print_mapping(const void *addr)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && (uintptr_t)addr >= lo && (uintptr_t)addr < hi)
			printf("#   %s", line);
	}
	fclose(f);
}

/* Is @addr mapped from /dev/mrlease? */
static bool mapped_from_device(const void *addr)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && (uintptr_t)addr >= lo && (uintptr_t)addr < hi)
			found = strstr(line, T_DEVICE) != NULL;
	}
	fclose(f);
	return found;
}

/* ---- worker state ----------------------------------------------------- */

/* words_size: of the validity word area, 0 if unknown (a first-version handshake). */
struct ctx { int fd; bool api; uint64_t features; uint32_t words_size; };
struct lease { uint64_t id, gen; int ctx; };
struct area { char *addr; size_t pages; int fd; bool dax; };
struct map { void *addr; size_t len; int prot; bool words; char how[64]; };

static struct {
	struct ctx ctx[MAX_CTX];
	struct lease leases[MAX_LEASES];
	int nleases;
	struct area areas[MAX_AREAS];
	struct map maps[MAX_MAPS];
	int nmaps;
	char *argbuf;		/* two pages, then a PROT_NONE guard page */
	char *scratch;		/* a reservation for MAP_FIXED mmaps */
	int zero;
	struct nl nl;
	const char *dax_dir[2];
} W;

/* Bookkeeping check: no area operation may touch a recorded status page mapping. */
static void check_overlap(const void *addr, size_t len, const char *what)
{
	for (int i = 0; i < W.nmaps; i++) {
		uintptr_t a = (uintptr_t)addr, m = (uintptr_t)W.maps[i].addr;

		if (a < m + t_pg && m < a + len)
			printf("# BUG in the fuzzer: %s of %p+%#zx covers status map %p (%s) at iteration %llu\n",
			       what, addr, len, W.maps[i].addr, W.maps[i].how, (unsigned long long)P->iter);
	}
}

static int ctx_open(int i)
{
	int flags = O_RDWR | O_CLOEXEC | (one_in(2) ? O_NONBLOCK : 0);
	struct ctx *c = &W.ctx[i];

	c->fd = open(T_DEVICE, flags);
	c->api = false;
	if (c->fd < 0)
		return -errno;
	if (!one_in(6)) {
		struct mrlease_api a = { .api = MRLEASE_API, .features = one_in(4) ? r64() & MRLEASE_FEATURE_ALL
										    : MRLEASE_FEATURE_ALL };

		if (!ioctl(c->fd, MRLEASE_IOC_API, &a)) {
			c->api = true;
			c->features = a.features;
			c->words_size = a.words_size;
		}
	}
	return 0;
}

static void ctx_close(int i)
{
	struct ctx *c = &W.ctx[i];

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	for (int k = 0; k < W.nleases; k++)
		if (W.leases[k].ctx == i)
			W.leases[k--] = W.leases[--W.nleases];
}

static void area_map(int i)
{
	struct area *a = &W.areas[i];
	int kind = (int)rnd(W.dax_dir[0] || W.dax_dir[1] ? 4 : 2);

	a->pages = 1 + rnd(AREA_PAGES);
	a->fd = -1;
	a->dax = false;
	if (kind == 0) {
		a->addr = mmap(NULL, PG(a->pages), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else {
		if (kind == 1) {
			a->fd = memfd_create("fuzz", MFD_CLOEXEC);
		} else {
			const char *dir = W.dax_dir[kind - 2] ? W.dax_dir[kind - 2] : W.dax_dir[3 - kind];
			char path[256];

			snprintf(path, sizeof(path), "%s/fuzz.%d.%d", dir, getpid(), i);
			a->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			unlink(path);
			a->dax = true;
		}
		if (a->fd < 0 || fallocate(a->fd, 0, 0, (off_t)PG(a->pages))) {
			if (a->fd >= 0)
				close(a->fd);
			a->fd = -1;
			a->addr = MAP_FAILED;
		} else {
			a->addr = mmap(NULL, PG(a->pages), PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
		}
	}
	if (a->addr == MAP_FAILED) {
		a->addr = NULL;
		return;
	}
	/* Populated or not (a DAX area beyond a failed fallocate): both are fine. */
	(void)!read(W.zero, a->addr, PG(a->pages));
}

static void area_unmap(int i)
{
	struct area *a = &W.areas[i];

	if (a->addr) {
		check_overlap(a->addr, PG(a->pages), "area_unmap");
		munmap(a->addr, PG(a->pages));
	}
	if (a->fd >= 0)
		close(a->fd);
	a->addr = NULL;
	a->fd = -1;
}

static int pick_ctx(void)
{
	int i = (int)rnd(MAX_CTX);

	if (W.ctx[i].fd < 0)
		ctx_open(i);
	return i;
}

/* An address near something interesting. */
static uint64_t pick_addr(void)
{
	struct area *a = &W.areas[rnd(MAX_AREAS)];

	switch (rnd(8)) {
	case 0:
		return interesting64();
	case 1:
		return (uintptr_t)W.argbuf + rnd(3 * (uint32_t)t_pg);
	case 2:
		return W.nmaps ? (uintptr_t)W.maps[rnd((uint32_t)W.nmaps)].addr : 0;
	default:
		if (!a->addr)
			return (uintptr_t)W.scratch;
		return (uintptr_t)a->addr + (one_in(4) ? rnd((uint32_t)PG(a->pages))
						       : PG(rnd((uint32_t)a->pages)));
	}
}

static uint64_t pick_len(uint64_t addr)
{
	(void)addr;
	switch (rnd(6)) {
	case 0:
		return interesting64();
	case 1:
		return 1 + rnd(64);
	default:
		return PG(1 + rnd(AREA_PAGES));
	}
}

static uint64_t pick_id(uint64_t *gen)
{
	*gen = 0;
	if (W.nleases && !one_in(5)) {
		struct lease *l = &W.leases[rnd((uint32_t)W.nleases)];
		uint64_t id = l->id;

		*gen = l->gen + (one_in(5) ? rnd(3) - 1 : 0);
		if (one_in(10))
			id += rnd(3) - 1;
		if (one_in(20))
			id |= 1ULL << 32;
		return id;
	}
	*gen = interesting64();
	return interesting64();
}

/* ---- ioctl ------------------------------------------------------------ */

union arg {
	struct mrlease_api api;
	struct mrlease_register reg;
	struct mrlease_lease_ref ref;
	struct mrlease_restore res;
	struct mrlease_query q;
	char raw[512];
};

static const unsigned int known_cmds[] = {
	MRLEASE_IOC_API, MRLEASE_IOC_REGISTER, MRLEASE_IOC_UNREGISTER,
	MRLEASE_IOC_ACK, MRLEASE_IOC_RESTORE, MRLEASE_IOC_QUERY,
};

#define IOC_BASE(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

static int known_index(unsigned int cmd)
{
	for (int i = 0; i < 6; i++)
		if (IOC_BASE(cmd) == IOC_BASE(known_cmds[i]))
			return i;
	return -1;
}

static void fill_arg(int which, union arg *u)
{
	uint64_t gen;

	memset(u, 0, sizeof(*u));
	switch (which) {
	case 0:
		u->api.api = one_in(5) ? interesting64() : MRLEASE_API;
		u->api.features = one_in(3) ? r64() : MRLEASE_FEATURE_ALL & r64();
		u->api.reserved = one_in(10) ? (uint32_t)r64() : 0;
		break;
	case 1: {
		static const uint32_t fl[] = { 0, MRLEASE_REG_PIN, MRLEASE_REG_WAIT_SELF, MRLEASE_REG_ALL };

		u->reg.addr = pick_addr();
		u->reg.len = pick_len(u->reg.addr);
		u->reg.cookie = r64();
		u->reg.flags = one_in(8) ? (uint32_t)r64() : fl[rnd(4)];
		u->reg.timeout_ms = one_in(3) ? (uint32_t)interesting64() : 1 + rnd(2000);
		/*
		 * A pinned WAIT_SELF lease makes this single-threaded fuzzer's
		 * own punches wait for an ack that only its timeout gives, as
		 * documented: keep that wait under the hang watchdog.
		 */
		if ((u->reg.flags & MRLEASE_REG_PIN) && (u->reg.flags & MRLEASE_REG_WAIT_SELF) &&
		    (!u->reg.timeout_ms || u->reg.timeout_ms > 2000))
			u->reg.timeout_ms = 1 + rnd(2000);
		if (one_in(8)) {
			u->reg.id = r64();
			u->reg.generation = r64();
			u->reg.token = r64();
			u->reg.word = (uint32_t)r64();
		}
		u->reg.reserved = one_in(10) ? (uint32_t)r64() : 0;
		break;
	}
	case 2:
	case 3:
		u->ref.id = pick_id(&gen);
		u->ref.generation = which == 2 && !one_in(8) ? 0 : gen;
		u->ref.flags = one_in(10) ? (uint32_t)r64() : 0;
		u->ref.reserved = one_in(10) ? (uint32_t)r64() : 0;
		break;
	case 4:
		u->res.id = pick_id(&gen);
		u->res.flags = one_in(10) ? (uint32_t)r64() : 0;
		u->res.reserved = one_in(10) ? (uint32_t)r64() : 0;
		u->res.generation = one_in(8) ? r64() : 0;
		break;
	case 5:
		u->q.id = pick_id(&gen);
		u->q.flags = one_in(10) ? (uint32_t)r64() : 0;
		if (one_in(8))
			for (size_t i = sizeof(u->q.id) + sizeof(u->q.flags); i < sizeof(u->q); i++)
				((char *)&u->q)[i] = (char)r64();
		break;
	}
}

static const size_t ksizes[] = {
	sizeof(struct mrlease_api), sizeof(struct mrlease_register), sizeof(struct mrlease_lease_ref),
	sizeof(struct mrlease_lease_ref), sizeof(struct mrlease_restore), sizeof(struct mrlease_query),
};

/* The first version of each structure: anything shorter is -EINVAL. */
static const size_t minsizes[] = {
	MRLEASE_API_SIZE_VER0, MRLEASE_REGISTER_SIZE_VER0, sizeof(struct mrlease_lease_ref),
	sizeof(struct mrlease_lease_ref), MRLEASE_RESTORE_SIZE_VER0, MRLEASE_QUERY_SIZE_VER0,
};

/*
 * The value of the field at @f of @u as the kernel sees it when the caller's
 * structure is @usize bytes (the rest zero-extended).
 */
static uint32_t seen_u32(const uint32_t *f, const union arg *u, size_t usize)
{
	size_t off = (size_t)((const char *)f - (const char *)u);
	uint32_t v = 0;

	if (usize > off)
		memcpy(&v, f, usize - off < sizeof(v) ? usize - off : sizeof(v));
	return v;
}

/* What the argument checks alone make of this call (0 = beyond them). */
static int expected_early(int ci, int which, unsigned int cmd, size_t usize, bool ptr_ok, bool tail_zero,
			  const union arg *u)
{
	const struct ctx *c = &W.ctx[ci];
	if (_IOC_TYPE(cmd) != MRLEASE_IOC_MAGIC)
		return 0;	/* the VFS may know it: no oracle */
	if (which < 0)
		return ENOTTY;
	if (which != 0 && !c->api)
		return EBADFD;
	if (usize < minsizes[which])
		return EINVAL;
	if (!ptr_ok)
		return EFAULT;
	if (!tail_zero)
		return E2BIG;
	switch (which) {
	case 0:
		if (c->api)
			return EBUSY;
		if (u->api.api != MRLEASE_API || (u->api.features & ~MRLEASE_FEATURE_ALL) ||
		    seen_u32(&u->api.reserved, u, usize))
			return EINVAL;
		break;
	case 1:
		if ((u->reg.flags & ~MRLEASE_REG_ALL) || seen_u32(&u->reg.reserved, u, usize))
			return EINVAL;
		break;
	case 2:
		if (u->ref.generation || u->ref.flags || u->ref.reserved)
			return EINVAL;
		break;
	case 3:
		if (u->ref.flags || u->ref.reserved)
			return EINVAL;
		break;
	case 4:
		if (u->res.flags || u->res.reserved)
			return EINVAL;
		break;
	case 5:
		if (u->q.flags || u->q.reserved)
			return EINVAL;
		break;
	}
	return 0;
}

static void fuzz_ioctl(void)
{
	int ci = pick_ctx(), which = (int)rnd(6), r, e;
	struct ctx *c = &W.ctx[ci];
	unsigned int cmd = known_cmds[which];
	size_t usize = ksizes[which];
	bool ptr_ok = true, tail_zero = true, oracle = true;
	union arg u;
	char *p;

	if (c->fd < 0)
		return;
	fill_arg(which, &u);
	switch (rnd(12)) {
	case 0:	/* bigger, zero tail */
		usize += 8 * (1 + rnd(8));
		break;
	case 1:	/* bigger, garbage tail */
		usize += 8 * (1 + rnd(8));
		tail_zero = false;
		break;
	case 2:
		usize = rnd((uint32_t)usize);
		break;
	case 3:
		usize = rnd(_IOC_SIZEMASK + 1);
		tail_zero = false;
		break;
	case 4:	/* another direction */
		cmd = _IOC(rnd(4), MRLEASE_IOC_MAGIC, _IOC_NR(cmd), 0);
		break;
	case 5:	/* another number */
		cmd = _IOC(_IOC_DIR(cmd), MRLEASE_IOC_MAGIC, rnd(32), 0);
		break;
	case 6:	/* anything */
		cmd = (unsigned int)r64();
		usize = _IOC_SIZE(cmd);
		tail_zero = false;
		break;
	}
	if (usize > sizeof(u))
		usize = one_in(2) ? sizeof(u) : usize;
	if (_IOC_TYPE(cmd) == MRLEASE_IOC_MAGIC || !one_in(2))
		cmd = (cmd & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) | ((unsigned int)usize << _IOC_SIZESHIFT);
	usize = _IOC_SIZE(cmd);
	which = known_index(cmd);

	/* The argument ends at the guard page, so that anything longer faults. */
	p = W.argbuf + 2 * t_pg - (usize <= 2 * t_pg ? usize : 2 * t_pg);
	if (usize <= 2 * t_pg) {
		size_t n = usize < sizeof(u) ? usize : sizeof(u);

		memcpy(p, &u, n);
		if (usize > sizeof(u) || !tail_zero) {
			memset(p + n, 0, usize - n);
			if (!tail_zero && usize > n)
				p[n + rnd((uint32_t)(usize - n))] = (char)(1 + rnd(255));
			else if (!tail_zero && which >= 0 && usize > ksizes[which])
				p[ksizes[which] + rnd((uint32_t)(usize - ksizes[which]))] = (char)(1 + rnd(255));
		}
	} else {
		/* Longer than our buffer: the tail check may fault or find garbage first. */
		ptr_ok = false;
		oracle = false;
	}
	/* Whether the tail past our structure is zero, as the module will see it. */
	if (which >= 0 && usize > ksizes[which] && ptr_ok) {
		tail_zero = true;
		for (size_t i = ksizes[which]; i < usize; i++)
			if (p[i])
				tail_zero = false;
	} else {
		tail_zero = true;
	}
	/* What the module sees: the caller's bytes, zero-extended. */
	if (which >= 0 && ptr_ok && usize >= minsizes[which]) {
		memset(&u, 0, ksizes[which]);
		memcpy(&u, p, usize < ksizes[which] ? usize : ksizes[which]);
	}
	switch (rnd(16)) {
	case 0:
		p = NULL;
		ptr_ok = false;
		break;
	case 1:
		p = (char *)0xffff888000000000ULL;
		ptr_ok = false;
		break;
	case 2:
		p = W.argbuf + 2 * t_pg + rnd(64);	/* the guard page */
		ptr_ok = usize == 0;
		break;
	}
	if (usize == 0 && (which < 0 || ksizes[which] > 0))
		ptr_ok = true;	/* nothing is copied when the size check fails first */

	NOTE("ioctl ctx %d cmd %#x size %zu ptr %p", ci, cmd, usize, (void *)p);
	r = ioctl(c->fd, cmd, p);
	e = r ? errno : 0;
	P->ops[0]++;

	if (oracle) {
		int want = expected_early(ci, which, cmd, usize, ptr_ok, tail_zero, &u);

		if (want && e != want)
			violation("ioctl %#x (size %zu, ctx %s) gave %s, expected %s", cmd, usize,
				  c->api ? "ready" : "no handshake", e ? t_errname(e) : "success",
				  t_errname(want));
	}
	if (r || which < 0 || !ptr_ok)
		return;
	/* An older (shorter) structure gets only what it holds. */
	memset(&u, 0, ksizes[which]);
	memcpy(&u, p, usize < ksizes[which] ? usize : ksizes[which]);
	switch (which) {
	case 0:
		c->api = true;
		c->features = u.api.features;
		c->words_size = u.api.words_size;
		break;
	case 1:
		/* Never 0, exact in a JSON number (uapi: below 2^53). */
		if (!u.reg.id || u.reg.id >= 1ULL << 53)
			violation("register returned id %#llx", (unsigned long long)u.reg.id);
		if (W.nleases < MAX_LEASES)
			W.leases[W.nleases++] = (struct lease){ u.reg.id, u.reg.generation, ci };
		else
			ioctl(c->fd, MRLEASE_IOC_UNREGISTER, &(struct mrlease_lease_ref){ .id = u.reg.id });
		break;
	case 2:
		for (int k = 0; k < W.nleases; k++)
			if (W.leases[k].id == u.ref.id && W.leases[k].ctx == ci)
				W.leases[k--] = W.leases[--W.nleases];
		break;
	case 4:
		for (int k = 0; k < W.nleases; k++)
			if (W.leases[k].id == u.res.id)
				W.leases[k].gen = u.res.generation;
		break;
	case 5:
		if (u.q.state < MRLEASE_STATE_ARMED || u.q.state > MRLEASE_STATE_REVOKED)
			violation("query gave state %u", u.q.state);
		break;
	}
}

/* ---- read ------------------------------------------------------------- */

static void check_events(const struct mrlease_event *ev, size_t n, int ci)
{
	for (size_t i = 0; i < n; i++) {
		if (ev[i].type != MRLEASE_EVENT_DECOHERENCE && ev[i].type != MRLEASE_EVENT_REVOKED)
			violation("event type %u", ev[i].type);
		if (ev[i].reserved[0] || ev[i].reserved[1] || ev[i].reserved[2])
			violation("event reserved bytes not zero");
		if (!memchr(ev[i].breaker_comm, 0, sizeof(ev[i].breaker_comm)))
			violation("event breaker_comm not NUL-terminated");
		for (int k = 0; k < W.nleases; k++)
			if (W.leases[k].id == ev[i].id && W.leases[k].ctx == ci && !one_in(4))
				W.leases[k].gen = ev[i].generation;
	}
}

static void fuzz_read(void)
{
	static const size_t sizes[] = { 0, 1, sizeof(struct mrlease_event) - 1, sizeof(struct mrlease_event),
					2 * sizeof(struct mrlease_event), 3 * sizeof(struct mrlease_event) + 5,
					4096, 1 << 20 };
	int ci = pick_ctx();
	struct ctx *c = &W.ctx[ci];
	size_t size = one_in(4) ? rnd(8192) : sizes[rnd(8)];
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	char *buf = W.argbuf;
	bool buf_ok = true;
	ssize_t n;

	if (c->fd < 0)
		return;
	/* Never block: a blocking context is read only if something is queued. */
	if (!(fcntl(c->fd, F_GETFL) & O_NONBLOCK) && size >= sizeof(struct mrlease_event) && c->api &&
	    poll(&pfd, 1, 0) != 1)
		return;
	switch (rnd(6)) {
	case 0:
		buf = NULL;
		buf_ok = false;
		break;
	case 1:	/* runs into the guard page */
		buf = W.argbuf + 2 * t_pg - rnd(2 * sizeof(struct mrlease_event));
		buf_ok = false;
		break;
	case 2:	/* a read-only mapping */
		if (W.nmaps) {
			buf = W.maps[rnd((uint32_t)W.nmaps)].addr;
			buf_ok = false;
		}
		break;
	}
	if (buf_ok && size > 2 * t_pg)
		size = 2 * t_pg;
	NOTE("read ctx %d size %zu buf %p", ci, size, (void *)buf);
	n = read(c->fd, buf, size);
	P->ops[1]++;
	if (!c->api) {
		if (n >= 0 || errno != EBADFD)
			violation("read before the handshake gave %zd (%s)", n, n < 0 ? t_errname(errno) : "-");
		return;
	}
	if (size < sizeof(struct mrlease_event)) {
		if (n >= 0 || errno != EINVAL)
			violation("read of %zu bytes gave %zd (%s), expected EINVAL", size, n,
				  n < 0 ? t_errname(errno) : "-");
		return;
	}
	if (n > 0) {
		if (n % sizeof(struct mrlease_event) || (size_t)n > size)
			violation("read of %zu bytes returned %zd", size, n);
		else if (buf_ok)
			check_events((const void *)buf, (size_t)n / sizeof(struct mrlease_event), ci);
	} else if (n == 0) {
		violation("read returned 0");
	} else if (errno != EAGAIN && errno != EFAULT) {
		violation("read gave %s", t_errname(errno));
	}
}

/* ---- mmap ------------------------------------------------------------- */

/* The scratch reservation, all PROT_NONE again (no hole another mapping could take). */
static void scratch_reset(void)
{
	if (mmap(W.scratch, PG(16 + AREA_PAGES), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
	    W.scratch)
		_exit(2);
}

static void fuzz_mmap(void)
{
	static const int flagset[] = { MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_SHARED | MAP_POPULATE,
				       MAP_PRIVATE | MAP_POPULATE, MAP_SHARED | MAP_LOCKED, MAP_SHARED | MAP_FIXED,
				       MAP_SHARED | MAP_NORESERVE };
	int ci = pick_ctx(), prot = (int)rnd(8), flags = flagset[rnd(8)];
	struct ctx *c = &W.ctx[ci];
	bool words;
	size_t len;
	off_t off;
	void *at = NULL, *p;

	if (c->fd < 0)
		return;
	if (W.nmaps && one_in(3)) {	/* unmap an old one, or poke at it */
		int k = (int)rnd((uint32_t)W.nmaps);
		struct map *m = &W.maps[k];

		if (one_in(2)) {
			if (!mprotect(m->addr, m->len, PROT_READ | PROT_WRITE)) {
				violation("mprotect(PROT_WRITE) of a status page (%p, prot %#x, %s) succeeded",
					  m->addr, m->prot, m->how);
				print_mapping(m->addr);
			}
			if (mremap(m->addr, m->len, m->len + t_pg, 0) != MAP_FAILED)
				violation("the status page mapping grew");
			/* (A word page no word lives on is a hole: SIGBUS.) */
			if ((m->prot & PROT_READ) && !m->words &&
			    ((const volatile struct mrlease_status *)m->addr)->reserved[4])
				violation("status page reserved bytes not zero");
		} else {
			munmap(m->addr, m->len);
			*m = W.maps[--W.nmaps];
		}
		return;
	}
	switch (rnd(5)) {
	case 0: len = 0; break;
	case 1: len = 1 + rnd((uint32_t)t_pg); break;
	case 2: len = PG(2 + rnd(4)); break;
	case 3: len = (size_t)interesting64(); break;
	default: len = t_pg; break;
	}
	switch (rnd(5)) {
	case 0: off = (off_t)PG(1 + rnd(4)); break;
	case 1: off = (off_t)rnd(8192); break;
	case 2: off = (off_t)interesting64(); break;
	default: off = 0; break;
	}
	if (flags & MAP_FIXED) {
		at = W.scratch + PG(rnd(16));
		if (len > PG(16))
			len = t_pg;
	}
	NOTE("mmap ctx %d len %#zx prot %#x flags %#x off %#llx", ci, len, prot, flags, (long long)off);
	p = mmap(at, len, prot, flags, c->fd, off);
	P->ops[2]++;
	if (p == MAP_FAILED) {
		if (at)	/* a failed MAP_FIXED may have unmapped: keep the reservation whole */
			scratch_reset();
		return;
	}
	if (prot & PROT_WRITE)
		violation("writable mmap (prot %#x flags %#x) of /dev/mrlease succeeded", prot, flags);
	/* The validity words: page 1 on, up to the area's size. */
	words = off == (off_t)(t_pg * MRLEASE_MMAP_WORDS_PGOFF) &&
		(c->features & MRLEASE_FEATURE_VALID_WORDS) && (!c->words_size || len <= c->words_size);
	if ((len > t_pg || off) && !words)
		violation("mmap of %#zx bytes at offset %#llx succeeded", len, (long long)off);
	if (at) {	/* leave the reservation intact */
		scratch_reset();
		return;
	}
	if (W.nmaps < MAX_MAPS) {
		struct map *m = &W.maps[W.nmaps++];

		*m = (struct map){ p, len, prot, words, "" };
		snprintf(m->how, sizeof(m->how), "flags %#x len %#zx iter %llu", flags, len,
			 (unsigned long long)P->iter);
	}
	else
		munmap(p, len);
}

/* ---- netlink ---------------------------------------------------------- */

static const uint16_t valid_attrs[] = {
	MRLEASE_A_LEASE_ID, MRLEASE_A_OWNER_PID, MRLEASE_A_CFG_BREAK_TIMEOUT_MS,
	MRLEASE_A_CFG_MAX_LEASES_PER_CTX, MRLEASE_A_CFG_MAX_LEASES_PER_USER, MRLEASE_A_PAD,
	MRLEASE_A_STATS_ACK_HIST, MRLEASE_A_UNSPEC,
};

/* Attribute @type with a value or length that is right most of the time. */
static void put_attr(char *buf, size_t *len, size_t cap)
{
	uint16_t type = one_in(4) ? (uint16_t)rnd(MRLEASE_A_MAX + 5) : valid_attrs[rnd(8)];
	uint8_t data[72];
	uint16_t dlen;
	uint64_t v;

	if (type == MRLEASE_A_LEASE_ID)
		v = pick_id(&(uint64_t){ 0 });
	else if (type == MRLEASE_A_OWNER_PID)
		v = one_in(2) ? (uint64_t)getpid() : interesting64();
	else if (type >= MRLEASE_A_CFG_BREAK_TIMEOUT_MS && type <= MRLEASE_A_CFG_MAX_LEASES_PER_USER)
		v = one_in(3) ? interesting64() : 1000 + rnd(100000);
	else
		v = interesting64();
	memcpy(data, &v, 8);
	for (size_t i = 8; i < sizeof(data); i++)
		data[i] = (uint8_t)r64();
	switch (rnd(6)) {
	case 0: dlen = (uint16_t)rnd(sizeof(data)); break;
	case 1: dlen = (uint16_t)rnd(9); break;
	case 2: dlen = 4; break;
	default:
		dlen = type == MRLEASE_A_LEASE_ID ? 8 : 4;
		break;
	}
	if (one_in(20))
		type |= NLA_F_NESTED;
	if (one_in(30))
		type |= NLA_F_NET_BYTEORDER;
	if (*len + NLA_HDRLEN + NLA_ALIGN(dlen) > cap)
		return;
	nl_put(buf, len, type, data, dlen);
	if (one_in(25))	/* lie about the length */
		((struct nlattr *)(buf + *len - NLA_ALIGN(NLA_HDRLEN + dlen)))->nla_len = (uint16_t)r64();
}

static void nl_drain(int wait_ms)
{
	static char buf[NL_BUF_SIZE];
	struct pollfd pfd = { .fd = W.nl.fd, .events = POLLIN };

	while (poll(&pfd, 1, wait_ms) == 1) {
		if (recv(W.nl.fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno != ENOBUFS && errno != EAGAIN)
			break;
		wait_ms = 5;
	}
}

static void fuzz_netlink(void)
{
	static const uint16_t fl[] = { NLM_F_ACK, NLM_F_DUMP, NLM_F_ECHO, NLM_F_ATOMIC, NLM_F_EXCL,
				       NLM_F_CREATE, NLM_F_APPEND, NLM_F_NONREC };
	char buf[2048];
	size_t len = 0, start;
	int nmsgs = one_in(10) ? 2 + (int)rnd(3) : 1;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (W.nl.fd < 0)
		return;
	if (one_in(30)) {	/* join or leave the monitor group (or a random one) */
		uint32_t grp = one_in(3) ? (uint32_t)rnd(64) : W.nl.monitor_grp;

		setsockopt(W.nl.fd, SOL_NETLINK, one_in(2) ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP,
			   &grp, sizeof(grp));
	}
	for (int m = 0; m < nmsgs; m++) {
		uint16_t flags = one_in(20) ? 0 : NLM_F_REQUEST;
		uint8_t cmd = one_in(20) ? (uint8_t)r64() : (uint8_t)rnd(MRLEASE_CMD_MAX + 3);
		uint16_t type = one_in(30) ? GENL_ID_CTRL : W.nl.family;
		int nattrs = (int)rnd(5);
		struct nlmsghdr *h;

		for (int i = 0; i < 3; i++)
			if (one_in(3))
				flags |= fl[rnd(8)];
		start = len;
		len += nl_start(&W.nl, buf + len, type, flags, cmd, one_in(10) ? (uint8_t)r64() : MRLEASE_GENL_VERSION);
		if (one_in(15))
			((struct genlmsghdr *)(buf + start + NLMSG_HDRLEN))->reserved = (uint16_t)r64();
		for (int i = 0; i < nattrs; i++)
			put_attr(buf, &len, sizeof(buf) - 64);
		h = (struct nlmsghdr *)(buf + start);
		h->nlmsg_len = (uint32_t)(len - start);
		if (one_in(25))
			h->nlmsg_len = (uint32_t)rnd((uint32_t)(len - start) + 16);
		len = start + NLMSG_ALIGN(len - start);
	}
	if (one_in(25))
		len = rnd((uint32_t)len + 1);
	NOTE("netlink %zu bytes, %d messages, first cmd %u", len,
	     nmsgs, ((struct genlmsghdr *)(buf + NLMSG_HDRLEN))->cmd);
	sendto(W.nl.fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
	P->ops[3]++;
	nl_drain(30);
}

/* ---- churn ------------------------------------------------------------ */

static void fuzz_churn(void)
{
	struct area *a = &W.areas[rnd(MAX_AREAS)];
	size_t first, n;

	P->ops[4]++;
	switch (rnd(10)) {
	case 0:
		NOTE("churn: remap an area");
		area_unmap((int)(a - W.areas));
		area_map((int)(a - W.areas));
		return;
	case 1: {
		int i = (int)rnd(MAX_CTX);

		NOTE("churn: reopen context %d", i);
		ctx_close(i);
		ctx_open(i);
		return;
	}
	case 2: {	/* another process touches our contexts and its copy of memory */
		pid_t pid;

		NOTE("churn: fork");
		pid = (pid_t)syscall(SYS_fork);
		if (pid == 0) {
			int ci = (int)rnd(MAX_CTX);
			struct mrlease_register reg = { .addr = pick_addr(), .len = t_pg };

			if (a->addr && read(W.zero, a->addr, PG(a->pages)) < 0)
				_exit(0);
			if (W.ctx[ci].fd >= 0 && W.ctx[ci].api && !ioctl(W.ctx[ci].fd, MRLEASE_IOC_REGISTER, &reg))
				_exit(9);	/* a foreign mm must get EPERM */
			_exit(0);
		}
		if (pid > 0) {
			int st;

			if (a->addr)
				(void)!read(W.zero, a->addr, PG(a->pages));
			waitpid(pid, &st, 0);
			if (WIFEXITED(st) && WEXITSTATUS(st) == 9)
				violation("register from a forked child (another mm) succeeded");
		}
		return;
	}
	case 3: {	/* ack or restore what the events said */
		int ci = pick_ctx();
		struct mrlease_event ev;

		if (W.ctx[ci].fd < 0 || !W.ctx[ci].api)
			return;
		NOTE("churn: ack/restore on context %d", ci);
		while (t_event(W.ctx[ci].fd, &ev, 0) == 1) {
			check_events(&ev, 1, ci);
			if (one_in(2))
				t_ack(W.ctx[ci].fd, ev.id, ev.generation);
			else
				t_ioctl(W.ctx[ci].fd, MRLEASE_IOC_RESTORE,
					&(struct mrlease_restore){ .id = ev.id });
		}
		return;
	}
	}
	if (!a->addr)
		return;
	first = rnd((uint32_t)a->pages);
	n = 1 + rnd((uint32_t)(a->pages - first));
	switch (rnd(6)) {
	case 0:
		NOTE("churn: munmap part of an area");
		check_overlap(a->addr + PG(first), PG(n), "munmap");
		munmap(a->addr + PG(first), PG(n));
		/* Whatever is left is unmapped with the area later; forget the area now. */
		if (first == 0 && n == a->pages)
			a->addr = NULL;
		else
			mmap(a->addr + PG(first), PG(n), PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		break;
	case 1:
		NOTE("churn: madvise");
		madvise(a->addr + PG(first), PG(n), one_in(2) ? MADV_DONTNEED : MADV_PAGEOUT);
		break;
	case 2:
		NOTE("churn: mprotect");
		mprotect(a->addr + PG(first), PG(n), one_in(2) ? PROT_READ : PROT_NONE);
		mprotect(a->addr + PG(first), PG(n), PROT_READ | PROT_WRITE);
		break;
	case 3:
		NOTE("churn: write");
		(void)!read(W.zero, a->addr + PG(first), PG(n));
		break;
	case 4:
		if (a->fd < 0)
			break;
		NOTE("churn: punch or truncate");
		if (one_in(2)) {
			fallocate(a->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)PG(first), (off_t)PG(n));
		} else {
			(void)!ftruncate(a->fd, (off_t)PG(first));
			(void)!ftruncate(a->fd, (off_t)PG(a->pages));
		}
		fallocate(a->fd, 0, 0, (off_t)PG(a->pages));
		break;
	case 5: {
		void *p;

		NOTE("churn: mremap");
		check_overlap(a->addr, PG(a->pages), "mremap");
		p = mremap(a->addr, PG(a->pages), PG(a->pages), MREMAP_MAYMOVE | MREMAP_FIXED,
			   W.scratch + PG(16));
		if (p != MAP_FAILED) {
			/* Move it back where its owner expects it; if that fails, drop it. */
			if (mremap(p, PG(a->pages), PG(a->pages), MREMAP_MAYMOVE | MREMAP_FIXED, a->addr) ==
			    MAP_FAILED) {
				munmap(p, PG(a->pages));
				a->addr = NULL;
			}
		}
		/* Even a failed MREMAP_FIXED may have unmapped its target first. */
		scratch_reset();
		break;
	}
	}
}

/* ---- the worker and its watcher --------------------------------------- */

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	printf("# worker: signal %d at address %p while: %s\n", sig, si->si_addr, P->last);
	print_mapping(si->si_addr);
	for (int i = 0; i < W.nmaps; i++)
		printf("#   status map %p len %#zx prot %#x (%s)\n", W.maps[i].addr, W.maps[i].len, W.maps[i].prot,
		       W.maps[i].how);
	_exit(128 + sig);
}

static void worker(uint64_t seed, uint64_t iters, int64_t deadline_ns)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_RESETHAND };

	bool check_maps = getenv("MRLEASE_FUZZ_CHECK_MAPS") != NULL;

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	W.zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	W.dax_dir[0] = getenv("MRLEASE_EXT4");
	W.dax_dir[1] = getenv("MRLEASE_XFS");
	for (int i = 0; i < 2; i++)
		if (W.dax_dir[i] && !*W.dax_dir[i])
			W.dax_dir[i] = NULL;
	W.argbuf = mmap(NULL, PG(3), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	W.scratch = mmap(NULL, PG(16 + AREA_PAGES), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (W.argbuf == MAP_FAILED || W.scratch == MAP_FAILED || W.zero < 0)
		_exit(2);
	mprotect(W.argbuf + PG(2), t_pg, PROT_NONE);
	signal(SIGIO, SIG_IGN);
	if (nl_open(&W.nl, 2000))
		W.nl.fd = -1;
	rs = seed;
	for (int i = 0; i < MAX_CTX; i++)
		ctx_open(i);
	for (int i = 0; i < MAX_AREAS; i++)
		area_map(i);

	for (uint64_t it = 0; !iters || it < iters; it++) {
		int nops;

		if (!iters && t_now_ns() >= deadline_ns)
			break;
		P->iter = it;
		P->beat_ns = t_now_ns();
		rs = seed ^ (it * 0x2545f4914f6cdd1dULL);
		nops = 1 + (int)rnd(8);
		for (int k = 0; k < nops; k++) {
			switch (rnd(10)) {
			case 0: case 1: case 2: case 3: fuzz_ioctl(); break;
			case 4: fuzz_read(); break;
			case 5: fuzz_mmap(); break;
			case 6: case 7: fuzz_netlink(); break;
			default: fuzz_churn(); break;
			}
			P->beat_ns = t_now_ns();
			if (check_maps)
				for (int i = 0; i < W.nmaps; i++)
					if (!mapped_from_device(W.maps[i].addr)) {
						printf("# status map %p (%s) is gone after: %s\n", W.maps[i].addr,
						       W.maps[i].how, P->last);
						print_mapping(W.maps[i].addr);
						_exit(3);
					}
		}
	}
	P->iter++;
	_exit(P->violations ? 1 : 0);
}

struct run_result { uint64_t iters; uint64_t ops[5]; };

/* One worker run; fails the test (with the replay line) if it goes wrong. */
static void run(uint64_t seed, uint64_t iters, int secs, struct run_result *res)
{
	int64_t deadline = t_now_ns() + (int64_t)secs * 1000000000LL;
	int kmsg = kmsg_open();
	pid_t pid;
	int st;

	memset((void *)P, 0, sizeof(*P));
	P->beat_ns = t_now_ns();
	pid = t_fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, "mrl-fuzz");
		worker(seed, iters, deadline);
	}
	for (;;) {
		bool done = waitpid(pid, &st, WNOHANG) == pid;

		/* A splat during this iteration (or the one before: logging lags a little). */
		if (kmsg_splats(kmsg, 20)) {
			uint64_t it = P->iter;

			printf("# last operation: %s\n", P->last);
			if (!done) {
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
			}
			t_fail("kernel splat during fuzz iteration %llu; replay: MRLEASE_FUZZ_SEED=%#llx MRLEASE_FUZZ_ITERS=%llu",
			       (unsigned long long)it, (unsigned long long)seed, (unsigned long long)it + 1);
		}
		if (done)
			break;
		if ((t_now_ns() - P->beat_ns) / 1000000 > STALL_MS) {
			printf("# fuzz worker stuck for %d s in: %s\n", STALL_MS / 1000, P->last);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			t_fail("fuzz worker hung at iteration %llu; replay: MRLEASE_FUZZ_SEED=%#llx MRLEASE_FUZZ_ITERS=%llu",
			       (unsigned long long)P->iter, (unsigned long long)seed,
			       (unsigned long long)P->iter + 1);
		}
		t_msleep(50);
	}
	if (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st))) {
		printf("# last operation: %s\n", P->last);
		t_fail("fuzz worker %s %d at iteration %llu (%llu oracle violations); replay: MRLEASE_FUZZ_SEED=%#llx MRLEASE_FUZZ_ITERS=%llu",
		       WIFSIGNALED(st) ? "killed by signal" : "exited with", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
		       (unsigned long long)P->iter, (unsigned long long)P->violations, (unsigned long long)seed,
		       (unsigned long long)P->iter + 1);
	}
	res->iters = P->iter;
	for (int i = 0; i < 5; i++)
		res->ops[i] = P->ops[i];
	if (kmsg >= 0)
		close(kmsg);
}

static const char *const params[] = { "break_timeout_ms", "max_leases_per_ctx", "max_leases_per_user" };
static long long saved[3];

static void restore_params(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		t_param_set(params[i], saved[i]);
}

/* Nothing of the worker's is left once it is gone. */
static void check_clean(struct nl *nl, const struct nl_stats *base, const char *what)
{
	struct nl_stats s;
	int64_t t0 = t_now_ns();

	/* The worker's files are released as it exits; give deferred work a moment. */
	for (;;) {
		CHECK_OK(nl_stats(nl, &s));
		if ((s.leases == base->leases && s.pinned_pages == base->pinned_pages &&
		     s.contexts == base->contexts) || t_ms_since(t0) > 5000)
			break;
		t_msleep(50);
	}
	if (s.leases != base->leases || s.pinned_pages != base->pinned_pages || s.contexts != base->contexts)
		t_fail("after %s: %llu leases, %llu pinned pages, %llu contexts left (before: %llu, %llu, %llu)",
		       what, (unsigned long long)s.leases, (unsigned long long)s.pinned_pages,
		       (unsigned long long)s.contexts, (unsigned long long)base->leases,
		       (unsigned long long)base->pinned_pages, (unsigned long long)base->contexts);
}

int main(void)
{
	const char *env;
	uint64_t seed, iters = 0;
	int secs = 30;
	struct run_result res, total = { 0 };
	struct nl nl;
	struct nl_stats base;
	int64_t t0 = t_now_ns();
	int r;

	if ((env = getenv("MRLEASE_FUZZ_SECS")))
		secs = atoi(env);
	if ((env = getenv("MRLEASE_FUZZ_ITERS")))
		iters = strtoull(env, NULL, 0);
	env = getenv("MRLEASE_FUZZ_SEED");
	seed = env ? strtoull(env, NULL, 0) : ((uint64_t)t_now_ns() * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)getpid();
	printf("fuzz seed %#llx (%s), %s\n", (unsigned long long)seed, env ? "MRLEASE_FUZZ_SEED" : "random",
	       iters ? "bounded by MRLEASE_FUZZ_ITERS" : "bounded by MRLEASE_FUZZ_SECS");
	t_watchdog((unsigned int)secs + 600);

	P = mmap(NULL, sizeof(*P), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(P != MAP_FAILED);
	r = nl_open(&nl, 10000);
	if (r)
		t_fail("resolving the %s genl family: %s", MRLEASE_GENL_NAME, t_errname(-r));
	for (int i = 0; i < 3; i++)
		saved[i] = t_param_get(params[i]);
	t_defer(restore_params, NULL);
	CHECK_OK(nl_stats(&nl, &base));

	/* $MRLEASE_FUZZ_NO_REPLAY: only the random run (to look past a known regression). */
	for (const struct fuzz_regression *fr = fuzz_regressions;
	     fr->iterations && !getenv("MRLEASE_FUZZ_NO_REPLAY"); fr++) {
		t_info("replaying seed %#llx for %u iterations: %s", (unsigned long long)fr->seed, fr->iterations,
		       fr->what);
		run(fr->seed, fr->iterations, 0, &res);
		restore_params(NULL);
		check_clean(&nl, &base, "a replay");
		total.iters += res.iters;
	}
	run(seed, iters, secs, &res);
	restore_params(NULL);
	check_clean(&nl, &base, "the fuzz run");
	total.iters += res.iters;
	printf("fuzz: %llu iterations (%llu random, seed %#llx) in %lld s: %llu ioctl, %llu read, %llu mmap, %llu netlink, %llu churn\n",
	       (unsigned long long)total.iters, (unsigned long long)res.iters, (unsigned long long)seed,
	       (long long)t_ms_since(t0) / 1000, (unsigned long long)res.ops[0], (unsigned long long)res.ops[1],
	       (unsigned long long)res.ops[2], (unsigned long long)res.ops[3], (unsigned long long)res.ops[4]);
	t_pass();
}
