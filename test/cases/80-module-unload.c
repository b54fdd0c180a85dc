// SPDX-License-Identifier: GPL-2.0
/*
 * Module unload: `rmmod mrlease` fails and leaves the module working while a
 * context is open, and also while only a status page mapping is left of it;
 * with nothing open it succeeds, /dev/mrlease goes away, and `insmod
 * $MRLEASE_MODULE` (with the parameters it had) brings it back.  Right
 * after contexts with file-layout leases on an XFS file (one broken by a
 * write, one held) were closed, the unload works too and leaves nothing
 * behind: writing and truncating the file afterwards must not reach the
 * unloaded module.  The module is loaded again when the test ends,
 * whatever happened.
 */
#include "harness.h"

#include <dirent.h>
#include <sys/stat.h>

static const char *module;
static char params[1024];

static bool loaded(void)
{
	struct stat st;

	return stat(T_SYSMOD "/refcnt", &st) == 0;
}

static int run(const char *cmd)
{
	int st;

	t_info("$ %s", cmd);
	st = system(cmd);
	if (st == -1)
		t_fail("system(%s): %s", cmd, t_errname(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void insmod(void)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "insmod %s%s", module, params);
	run(cmd);
}

static void reload(void *arg)
{
	(void)arg;
	if (!loaded())
		insmod();
}

/* " name=value ..." of every readable parameter. */
static void save_params(void)
{
	DIR *d = opendir(T_SYSMOD "/parameters");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300], val[128];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), T_SYSMOD "/parameters/%s", e->d_name);
		if (t_read_text(path, val, sizeof(val)) || strchr(val, ' ') || !*val)
			continue;
		snprintf(params + strlen(params), sizeof(params) - strlen(params), " %s=%s", e->d_name, val);
	}
	closedir(d);
}

static bool wait_dev(bool present)
{
	int64_t t0 = t_now_ns();
	struct stat st;

	while ((stat(T_DEVICE, &st) == 0) != present) {
		if (t_ms_since(t0) > 3000)
			return false;
		t_msleep(10);
	}
	return true;
}

/* Leave an XFS file that had layout leases; return its fd (or -1). */
static int layout_leases(void)
{
	const char *dir = getenv("MRLEASE_XFS");
	struct mrlease_register l;
	struct mrlease_event ev;
	struct mrlease_query q;
	char path[256], *map;
	static char page[4096];
	int ffd, fd;
	pid_t w;

	if (!dir || !*dir) {
		t_info("no $MRLEASE_XFS: unload after layout leases not checked");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/80-module-unload.%d", dir, getpid());
	ffd = CHECK_SYS(open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
	unlink(path);
	for (int i = 0; i < 64; i++)
		CHECK_EQ(pwrite(ffd, page, sizeof(page), i * 4096), sizeof(page));
	map = CHECK_SYS(mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ffd, 0));

	/* Broken by another process's write, then the context is closed. */
	fd = t_ctx();
	CHECK_OK(t_register(fd, map, 64 * 4096, 1, MRLEASE_REG_PIN, 30000, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.layout, MRLEASE_LAYOUT_HELD);
	w = t_fork();
	if (w == 0) {
		close(fd);	/* else the context outlives the parent's close */
		CHECK_EQ(pwrite(ffd, page, sizeof(page), 0), sizeof(page));
		_exit(0);
	}
	GET_EVENT(fd, ev, 10000);
	CHECK_EQ(ev.reason, MRLEASE_REASON_LAYOUT);
	close(fd);
	CHECK_CHILD_OK(w, 5000);

	/* Held, never broken, then closed. */
	fd = t_ctx();
	CHECK_OK(t_register(fd, map, 64 * 4096, 2, MRLEASE_REG_PIN, 30000, &l));
	CHECK_OK(t_query(fd, l.id, &q));
	CHECK_EQ(q.layout, MRLEASE_LAYOUT_HELD);
	close(fd);
	CHECK_SYS(munmap(map, 64 * 4096));
	return ffd;
}

/* Another process writes to and truncates @ffd: breaks any layout lease left. */
static void poke(int ffd)
{
	static char page[4096];
	pid_t pid = t_fork();

	if (pid == 0) {
		CHECK_EQ(pwrite(ffd, page, sizeof(page), 4096), sizeof(page));
		CHECK_SYS(ftruncate(ffd, 4096));
		CHECK_SYS(fallocate(ffd, 0, 0, 64 * 4096));
		_exit(0);
	}
	CHECK_CHILD_OK(pid, 10000);
}

int main(void)
{
	struct mrlease_register l;
	const volatile struct mrlease_status *st;
	char *a = t_anon(2);
	int fd, fd2, ffd;

	module = getenv("MRLEASE_MODULE");
	if (!module || access(module, R_OK))
		t_skip("$MRLEASE_MODULE (%s) is not a readable module file", module ? module : "unset");
	if (!loaded())
		t_fail("mrlease is not loaded at the start");
	save_params();
	t_info("parameters:%s", params);
	t_defer(reload, NULL);

	/* An open context with a pinned lease. */
	fd = t_ctx();
	CHECK_OK(t_register(fd, a, PG(2), 1, MRLEASE_REG_PIN, 0, &l));
	CHECK_NE(run("rmmod mrlease"), 0);
	CHECK(loaded());
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_ARMED);

	/* Only a status page mapping left. */
	st = t_status(fd);
	close(fd);
	CHECK_NE(run("rmmod mrlease"), 0);
	CHECK(loaded());
	CHECK_EQ(st->pending, 0);
	CHECK_SYS(munmap((void *)st, t_pg));

	/* An open fd without a handshake. */
	fd = t_open_raw(0);
	CHECK_NE(run("rmmod mrlease"), 0);
	CHECK(loaded());
	close(fd);

	/* Nothing open: unload, the device goes, load again. */
	ffd = layout_leases();
	CHECK_EQ(run("rmmod mrlease"), 0);
	CHECK(!loaded());
	if (!wait_dev(false))
		t_fail(T_DEVICE " still exists after rmmod");
	CHECK_SYSERR(open(T_DEVICE, O_RDWR), ENOENT);
	if (ffd >= 0) {
		poke(ffd);
		close(ffd);
	}
	insmod();
	CHECK(loaded());
	if (!wait_dev(true))
		t_fail(T_DEVICE " did not come back after insmod");

	fd = t_ctx();
	fd2 = t_ctx();
	CHECK_OK(t_register(fd, a, PG(2), 1, MRLEASE_REG_PIN, 0, &l));
	CHECK_SYS(munmap(a, PG(1)));
	{
		struct mrlease_event ev;

		GET_EVENT(fd, ev, 2000);
		CHECK_EVENT(ev, MRLEASE_EVENT_DECOHERENCE, MRLEASE_REASON_UNMAP, l,
			    MRLEASE_EVENT_F_SELF | MRLEASE_EVENT_F_UNPINNED);
	}
	close(fd);
	close(fd2);
	t_pass();
}
