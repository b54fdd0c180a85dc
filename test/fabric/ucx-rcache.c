// SPDX-License-Identifier: GPL-2.0
/*
 * UCX's registration cache with its own memory hooks and with mrlease as
 * the source of its unmap events (LD_PRELOAD=libmrlease-ucm.so), on
 * Debian's UCX over rxe.  UCP does not connect over rxe under emulation
 * (its UD wire-up times out), so this works where the cache lives: the IB
 * memory domain of rxe0, uct_md_mem_reg() with the rcache on
 * (UCX_IB_RCACHE=yes), which UCX's transports call for every buffer.
 *
 * A 1 MiB buffer is registered twice (the second is a cache hit: the same
 * registration), then new pages are put under its address -- raw munmap +
 * raw mmap, raw mremap, raw MADV_DONTNEED, another process truncating the
 * memfd mapped there -- and it is registered again until the cache hands
 * out a new registration, for at most a second.  The same registration
 * after a change is stale: its MR maps the pages the address no longer
 * does.  With mrlease each change must give a new registration, and the
 * time it took (the window in which a cache hit was still stale: the
 * reader's wake-up) is printed.  With UCX's own hooks the raw munmap +
 * mmap must stay stale: the failure mrlease fixes, and the proof that this
 * test can see it.
 */
#include "harness.h"

#include <sys/syscall.h>

#include <ucs/type/status.h>
#include <uct/api/uct.h>

#define LEN		(1u << 20)
#define MD_NAME		"rxe0"
#define WINDOW_MS	1000

enum change { CH_MUNMAP, CH_MREMAP, CH_DONTNEED, CH_FOREIGN_TRUNCATE, CH_NR };
static const char *const change_name[CH_NR] = {
	"raw munmap + mmap", "raw mremap", "raw MADV_DONTNEED", "foreign truncate",
};

static uct_md_h md;
static size_t rkey_size;
static char preload[4200];

static void md_open(void)
{
	uct_component_h *comps;
	unsigned int n;
	ucs_status_t st;

	if (uct_query_components(&comps, &n) != UCS_OK)
		t_fail("uct_query_components");
	for (unsigned int i = 0; i < n; i++) {
		uct_component_attr_t attr = { .field_mask = UCT_COMPONENT_ATTR_FIELD_NAME };
		uct_md_config_t *cfg;
		uct_md_attr_t md_attr;

		if (uct_component_query(comps[i], &attr) != UCS_OK || strcmp(attr.name, "ib"))
			continue;
		if (uct_md_config_read(comps[i], NULL, NULL, &cfg) != UCS_OK)
			t_fail("uct_md_config_read(ib)");
		st = uct_md_open(comps[i], MD_NAME, cfg, &md);
		uct_config_release(cfg);
		if (st != UCS_OK)
			t_skip("uct_md_open(ib, %s): %s", MD_NAME, ucs_status_string(st));
		if (uct_md_query(md, &md_attr) != UCS_OK)
			t_fail("uct_md_query");
		rkey_size = md_attr.rkey_packed_size;
		CHECK(rkey_size > 0 && rkey_size <= 256);
		uct_release_component_list(comps);
		return;
	}
	t_skip("UCX has no \"ib\" component (libuct_ib.so.0 not found)");
}

/* Register @buf; its packed rkey into @rkey: a new registration has a new one. */
static uct_mem_h reg(char *buf, uint8_t rkey[256])
{
	uct_mem_h memh;
	ucs_status_t st = uct_md_mem_reg(md, buf, LEN, UCT_MD_MEM_ACCESS_ALL, &memh);

	if (st != UCS_OK)
		t_fail("uct_md_mem_reg: %s", ucs_status_string(st));
	st = uct_md_mkey_pack(md, memh, rkey);
	if (st != UCS_OK)
		t_fail("uct_md_mkey_pack: %s", ucs_status_string(st));
	return memh;
}

static char *map_at(void *at, int fd)
{
	long flags = (fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS) | (at ? MAP_FIXED : 0);
	long p = syscall(SYS_mmap, at, LEN, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == -1)
		t_fail("mmap: %s", strerror(errno));
	return (char *)p;
}

/* New pages under @buf, without a libc call that UCM's hooks see. */
static void change(enum change ch, char *buf, int fd)
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
		memset(other, 0xb2, LEN);
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
	memset(buf, 0xb2, LEN);
}

/* One half: "RESULT <change> <ms until a new registration, or -1>" per change. */
static void run(void)
{
	md_open();
	for (int ch = 0; ch < CH_NR; ch++) {
		int fd = -1;
		int64_t t0, ms = -1;
		uint8_t k1[256], k2[256], k3[256];
		uct_mem_h m1, m2, m3;
		char *buf;

		if (ch == CH_FOREIGN_TRUNCATE) {
			fd = memfd_create("ucx-rcache", 0);
			CHECK_SYS(fd);
			CHECK_SYS(ftruncate(fd, LEN));
		}
		buf = map_at(NULL, fd);
		memset(buf, 0xa1, LEN);
		m1 = reg(buf, k1);
		m2 = reg(buf, k2);
		if (m2 != m1 || memcmp(k1, k2, rkey_size))
			t_fail("%s: registering an unchanged buffer again was no cache hit",
			       change_name[ch]);
		uct_md_mem_dereg(md, m2);
		uct_md_mem_dereg(md, m1);
		change(ch, buf, fd);
		t0 = t_now_ns();
		do {
			m3 = reg(buf, k3);
			uct_md_mem_dereg(md, m3);
			if (memcmp(k3, k1, rkey_size)) {
				ms = t_ms_since(t0);
				break;
			}
			usleep(200);
		} while (t_ms_since(t0) < WINDOW_MS);
		printf("RESULT %d %lld\n", ch, (long long)ms);
		fflush(stdout);
		munmap(buf, LEN);
		if (fd >= 0)
			close(fd);
	}
	uct_md_close(md);
}

static void half(bool with_mrlease, int64_t res[CH_NR])
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
		if (with_mrlease)
			setenv("LD_PRELOAD", preload, 1);
		execl("/proc/self/exe", "ucx-rcache", "half", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	for (int i = 0; i < CH_NR; i++)
		res[i] = -2;
	f = fdopen(p[0], "r");
	while (fgets(line, sizeof(line), f)) {
		int ch;
		long long ms;

		if (sscanf(line, "RESULT %d %lld", &ch, &ms) == 2 && ch >= 0 && ch < CH_NR)
			res[ch] = ms;
		else
			fputs(line, stdout);
	}
	fclose(f);
	if (!t_wait(pid, 120000, &st))
		t_fail("the %s half did not finish", with_mrlease ? "mrlease" : "stock");
	if (WIFEXITED(st) && WEXITSTATUS(st) == T_SKIP)
		t_skip("the %s half skipped", with_mrlease ? "mrlease" : "stock");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		t_fail("the %s half failed (status %#x)", with_mrlease ? "mrlease" : "stock", st);
}

int main(int argc, char **argv __attribute__((unused)))
{
	int64_t stock[CH_NR], lease[CH_NR];
	char exe[4096];
	ssize_t n;

	/* The rcache on, or uct_md_open() fails: nothing to test without it. */
	setenv("UCX_IB_RCACHE", "yes", 1);
	if (argc > 1) {
		run();
		t_pass();
	}
	if (access(T_DEVICE, F_OK))
		t_skip("no %s", T_DEVICE);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0);
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(preload, sizeof(preload), "%s/lib/libmrlease-ucm.so", exe);
	if (access(preload, R_OK))
		t_fail("%s: %s", preload, strerror(errno));
	half(false, stock);
	half(true, lease);
	for (int ch = 0; ch < CH_NR; ch++) {
		if (stock[ch] < -1 || lease[ch] < -1)
			t_fail("%s: a half gave no result", change_name[ch]);
		t_info("%-20s UCX's hooks: %-14s mrlease: %s", change_name[ch],
		       stock[ch] < 0 ? "stale for 1 s," : "new registration,",
		       lease[ch] < 0 ? "STALE for 1 s" : "new registration");
		t_info("%-20s   (after %lld / %lld ms)", "", (long long)stock[ch], (long long)lease[ch]);
		if (lease[ch] < 0)
			t_fail("with mrlease, %s left the cache stale for %d ms", change_name[ch],
			       WINDOW_MS);
	}
	if (stock[CH_MUNMAP] >= 0)
		t_fail("UCX's own hooks saw a raw munmap + mmap: this test cannot see the failure "
		       "mrlease fixes");
	t_pass();
}
