// SPDX-License-Identifier: GPL-2.0
/*
 * A DAX page shared by two reflinked files is never pinned: a truncate of
 * the other file would wait for the pin, and no break of ours would say so
 * (its unmap does not touch our mapping).  Both files mapped and read, so
 * the page is known to be shared, a pinned register over either fails with
 * -EOPNOTSUPP; an unpinned one succeeds.  Before 6.15 such a page's
 * ->mapping was marked like an anonymous one's; since, it has none.  Skips
 * where the filesystem cannot reflink on DAX (ext4; xfs on 5.10).
 */
#include "fsdax.h"

#include <linux/fs.h>
#include <sys/ioctl.h>

#define FILE_SIZE	(1u << 20)

int main(void)
{
	struct mrlease_register l;
	struct dax_file f;
	char path[300];
	char *other;
	int fd, g;

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
	other = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, g, 0);
	CHECK(other != MAP_FAILED);
	/* Read faults in both files: the page is mapped by both, shared. */
	CHECK_EQ(((volatile char *)f.map)[0], (char)dax_pattern(0));
	CHECK_EQ(((volatile char *)other)[0], (char)dax_pattern(0));

	fd = t_ctx();
	CHECK_ERR(t_register(fd, f.map, t_pg, 0x39, MRLEASE_REG_PIN, 0, NULL), EOPNOTSUPP);
	CHECK_ERR(t_register(fd, other, t_pg, 0x39, MRLEASE_REG_PIN, 0, NULL), EOPNOTSUPP);
	CHECK_OK(t_register(fd, f.map, t_pg, 0x39, 0, 0, &l));
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_ARMED);
	close(fd);
	CHECK_SYS(munmap(other, FILE_SIZE));
	close(g);
	t_pass();
}
