// SPDX-License-Identifier: GPL-2.0
/*
 * A DAX page shared by two reflinked files is never pinned: a truncate of
 * the other file would wait for the pin, and no break of ours would say so
 * (its unmap does not touch our mapping).  Both files mapped read-only and
 * read, so the page is known to be shared, a pinned register over either
 * fails with -EOPNOTSUPP; an unpinned one succeeds.  (Over a writable
 * mapping a pin for write would unshare the block first.)  Since 6.15 such a page has no
 * ->mapping (before, one marked like an anonymous page's).  Runs from 6.15
 * on, where the check it covers is new: Debian's 6.1 WARNs in
 * dax_insert_entry() as soon as the second file maps the shared block,
 * without mrlease, and 6.12 refuses these pins with -EAGAIN (not pinned
 * either; why, not looked into).  Skips where the filesystem cannot reflink
 * on DAX (ext4; xfs on 5.10).
 */
#include "fsdax.h"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>

#define FILE_SIZE	(1u << 20)

int main(void)
{
	struct mrlease_register l;
	struct dax_file f;
	struct utsname u;
	unsigned int major = 0, minor = 0;
	char path[300];
	char *ro, *other;
	int fd, g;

	CHECK_SYS(uname(&u));
	if (sscanf(u.release, "%u.%u", &major, &minor) != 2 || major * 100 + minor < 615)
		t_skip("Linux %s: the test covers a check of 6.15 and later",
		       u.release);
	dax_create(&f, FILE_SIZE);
	snprintf(path, sizeof(path), "%s.clone", f.path);
	g = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (g < 0)
		t_fail("create %s: %s", path, t_errname(errno));
	unlink(path);
	if (ioctl(g, FICLONE, f.fd)) {
		if (errno == EOPNOTSUPP || errno == EINVAL || errno == EXDEV || errno == ENOTTY)
			t_skip("FICLONE on %s -o dax: %s", T_FS, t_errname(errno));
		t_fail("FICLONE: %s", t_errname(errno));
	}
	/* Read-only: a pin for write would unshare the block first. */
	ro = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, f.fd, 0);
	other = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, g, 0);
	CHECK(ro != MAP_FAILED && other != MAP_FAILED);
	/* Read faults in both files: the page is mapped by both, shared. */
	CHECK_EQ(((volatile char *)ro)[0], (char)dax_pattern(0));
	CHECK_EQ(((volatile char *)other)[0], (char)dax_pattern(0));

	fd = t_ctx();
	CHECK_ERR(t_register(fd, ro, t_pg, 0x39, MRLEASE_REG_PIN, 0, NULL), EOPNOTSUPP);
	CHECK_ERR(t_register(fd, other, t_pg, 0x39, MRLEASE_REG_PIN, 0, NULL), EOPNOTSUPP);
	CHECK_OK(t_register(fd, ro, t_pg, 0x39, 0, 0, &l));
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_ARMED);
	close(fd);
	CHECK_SYS(munmap(ro, FILE_SIZE));
	CHECK_SYS(munmap(other, FILE_SIZE));
	close(g);
	t_pass();
}
