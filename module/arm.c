// SPDX-License-Identifier: GPL-2.0
/*
 * Arming a lease (register, restore): check the range mapping by mapping
 * and note what backs it, take the file-layout lease of an fsdax file,
 * pin if asked, and make the lease ARMED only if nothing changed the range
 * meanwhile (the lease's change count, notifier.c), else start over.  What an
 * arm must keep away from: a file being truncated, punched or written
 * (i_rwsem), or whose layout lease is being broken.  The state machine the
 * arm feeds is in lease.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "compat.h"
#include "mrlease.h"

/* An arm that keeps racing with changes of its own range gives up. */
#define MRL_ARM_ATTEMPTS	8

/* How long the answer of mrl_caller_admin() is kept for the same credentials. */
#define MRL_ADMIN_ASK_EVERY	HZ

/* How long an arm waits for a change of a file to finish. */
#define MRL_LOCK_TRIES		10
#define MRL_LOCK_WAIT_MS	5

/* Is a truncate, hole punch or write of @file in progress (i_rwsem)? */
static bool mrl_file_changing(struct file *file)
{
	struct inode *inode = file_inode(file);

	if (!down_read_trylock(&inode->i_rwsem))
		return true;
	up_read(&inode->i_rwsem);
	return false;
}

/*
 * May an arm take pins or a layout lease on @file's pages?  Not while it is
 * being changed, nor while a layout lease on it is being broken: on xfs the
 * breaker then waits with i_rwsem dropped, and goes on to wait for busy
 * DAX pages once the file lease is gone (mrl_layout_breaking()).
 */
static bool mrl_file_busy(struct file *file)
{
	return mrl_file_changing(file) || mrl_layout_breaking(file_inode(file));
}

/*
 * Wait briefly until no file of @files is busy (mrl_file_busy()).  Never
 * sleep on i_rwsem itself: we hold ctx->mutex, and the writer may be
 * waiting for pins that only an ack, which needs that mutex, releases.
 * Poll, then let the caller retry.
 */
static int mrl_files_wait_quiet(const struct mrl_files *files)
{
	unsigned int i, tries = 0;

	for (i = 0; i < files->nr; i++) {
		while (mrl_file_busy(files->files[i])) {
			if (fatal_signal_pending(current))
				return -EINTR;
			if (tries++ == MRL_LOCK_TRIES)
				return -EAGAIN;
			msleep(MRL_LOCK_WAIT_MS);
		}
	}
	return 0;
}

/* After pinning: did a change of any file begin meanwhile? */
bool mrl_files_changing(const struct mrl_files *files)
{
	unsigned int i;

	for (i = 0; i < files->nr; i++)
		if (mrl_file_changing(files->files[i]))
			return true;
	return false;
}

/* As mrl_files_changing(), and did a file lease break begin? */
static bool mrl_files_busy(const struct mrl_files *files)
{
	unsigned int i;

	for (i = 0; i < files->nr; i++)
		if (mrl_file_busy(files->files[i]))
			return true;
	return false;
}

/* vma_is_shmem() is not exported; tmpfs and shared anonymous memory are. */
static bool mrl_vma_is_shmem(struct vm_area_struct *vma)
{
	return vma->vm_file &&
	       file_inode(vma->vm_file)->i_sb->s_magic == TMPFS_MAGIC;
}

/* What backs the pages of @vma: MRLEASE_BACKING_*. */
static u32 mrl_vma_backing(struct vm_area_struct *vma)
{
	if (vma_is_anonymous(vma))
		return MRLEASE_BACKING_ANON;
	if (mrl_vma_is_shmem(vma))
		return MRLEASE_BACKING_SHMEM;
	if (vma_is_fsdax(vma))
		return MRLEASE_BACKING_FSDAX;
	return MRLEASE_BACKING_FILE;
}

/*
 * Could the caller take a kernel lease on @file, as fcntl(F_SETLEASE)
 * requires: its owner (by fsuid) or CAP_LEASE?  Only then may a lease make
 * another process's change of the file wait for its ack.
 */
static bool mrl_may_hold_file(struct file *file, int *cap_lease)
{
	if (uid_eq(current_fsuid(), file_inode(file)->i_uid))
		return true;
	if (*cap_lease < 0)
		*cap_lease = ns_capable_noaudit(&init_user_ns, CAP_LEASE);
	return *cap_lease;
}

/*
 * Has the caller CAP_SYS_ADMIN, which lifts the administrator's ceiling on
 * its leases' break timeouts?  Asked at each arm, since privileges may have
 * been dropped since the last.  The security modules' capable() hooks were
 * an eighth of an unpinned register and unregister, so the answer is kept
 * with the credentials it was given for (referenced, so that no other set
 * can appear at their address), for a second at most: new credentials ask
 * again at once, a security policy changed under the same ones within a
 * second.  Under ctx->mutex.
 */
static bool mrl_caller_admin(struct mrl_ctx *ctx)
{
	const struct cred *cred = current_cred();

	lockdep_assert_held(&ctx->mutex);
	if (cred != ctx->admin_cred ||
	    time_after(jiffies, ctx->admin_asked + MRL_ADMIN_ASK_EVERY)) {
		put_cred(ctx->admin_cred);
		ctx->admin_cred = get_cred(cred);
		ctx->admin = ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN);
		ctx->admin_asked = jiffies;
	}
	return ctx->admin;
}

/*
 * Record what backs the first page, and the file behind it in the lease's
 * file part, together.  The old path reference goes to @old for the caller
 * to drop outside the locks.  Under ctx->mutex and mmap_lock.
 */
static int mrl_lease_note_backing(struct mrl_lease *lease,
				  struct vm_area_struct *vma,
				  struct path *old, struct file **layout_file)
{
	struct mrl_ctx *ctx = lease->ctx;
	u32 backing = mrl_vma_backing(vma);
	struct mrl_lease_file *lf = NULL;
	struct inode *inode;
	struct path path = {};

	if (vma->vm_file) {
		/* lease->file is set under ctx->mutex, which we hold. */
		if (!lease->file) {
			lf = kzalloc(sizeof(*lf), GFP_KERNEL_ACCOUNT);
			if (!lf)
				return -ENOMEM;
			lf->lease = lease;
			INIT_LIST_HEAD(&lf->layout_node);
		}
		path = vma->vm_file->f_path;
		path_get(&path);
	}
	/* shmem has no block map to lease, nor has anything but a file. */
	if ((backing == MRLEASE_BACKING_FILE ||
	     backing == MRLEASE_BACKING_FSDAX) &&
	    S_ISREG(file_inode(vma->vm_file)->i_mode))
		*layout_file = get_file(vma->vm_file);

	spin_lock(&ctx->lock);
	lease->backing = backing;
	if (lf)
		lease->file = lf;
	lf = lease->file;
	if (lf) {
		*old = lf->path;
		lf->path = path;
		lf->dev = 0;
		lf->ino = 0;
		lf->offset = 0;
	}
	if (vma->vm_file) {
		inode = file_inode(vma->vm_file);
		lf->dev = new_encode_dev(inode->i_sb->s_dev);
		lf->ino = inode->i_ino;
		lf->offset = ((u64)vma->vm_pgoff << PAGE_SHIFT) +
			     (lease->it.start - vma->vm_start);
	}
	spin_unlock(&ctx->lock);
	return 0;
}

/*
 * Check that the lease's range is fully mapped by ordinary memory and
 * choose how to pin it: FOLL_LONGTERM only for anonymous and shmem memory
 * (fsdax refuses long-term pins, and newer kernels refuse them for shared
 * page-cache mappings), FOLL_WRITE only if every part is writable.
 * *@layout_file gets a reference to the file behind the first page, if any,
 * and @files one to every file in the range.  The kinds of memory in the
 * range and whether the caller may hold every file go into the lease.
 */
static int mrl_lease_check_range(struct mrl_lease *lease,
				 unsigned int *gup_flags,
				 struct file **layout_file,
				 struct mrl_files *files)
{
	struct mm_struct *mm = lease->ctx->mm;
	struct vm_area_struct *vma;
	unsigned long addr = lease->it.start;
	unsigned int flags = FOLL_WRITE | FOLL_LONGTERM;
	struct path old_path = {};
	bool admin = mrl_caller_admin(lease->ctx);
	bool may_hold = true;
	int cap_lease = -1;
	u8 backings = 0;
	int ret = 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma = find_vma(mm, addr);
	while (addr < mrl_lease_end(lease)) {
		if (!vma || vma->vm_start > addr) {
			ret = -EFAULT;
			break;
		}
		/*
		 * Our own status page: a lease holding a reference to its
		 * context's file would keep the context open for ever.
		 */
		if ((vma->vm_flags & (VM_IO | VM_PFNMAP)) ||
		    (vma->vm_file && mrl_cdev_is_ours(vma->vm_file))) {
			ret = -EACCES;
			break;
		}
		if (addr == lease->it.start) {
			ret = mrl_lease_note_backing(lease, vma, &old_path,
						     layout_file);
			if (ret)
				break;
		}
		if (!(vma->vm_flags & VM_WRITE))
			flags &= ~FOLL_WRITE;
		if (vma->vm_file && !mrl_vma_is_shmem(vma))
			flags &= ~FOLL_LONGTERM;
		backings |= BIT(mrl_vma_backing(vma));
		if (vma->vm_file) {
			if (may_hold && !mrl_may_hold_file(vma->vm_file,
							   &cap_lease))
				may_hold = false;
			ret = mrl_files_add(files, vma->vm_file);
			if (ret)
				break;
		}
		addr = vma->vm_end;
		vma = find_vma(mm, addr);
		/* A range may span vm.max_map_count mappings. */
		if (need_resched()) {
			mmap_read_unlock(mm);
			cond_resched();
			if (mmap_read_lock_killable(mm)) {
				ret = -EINTR;
				goto unlocked;
			}
			vma = find_vma(mm, addr);
		}
	}
	mmap_read_unlock(mm);
unlocked:
	path_put(&old_path);
	mrl_files_finish(files);
	spin_lock(&lease->ctx->lock);
	lease->backings = backings;
	lease->may_hold = may_hold;
	lease->admin = admin;
	spin_unlock(&lease->ctx->lock);
	*gup_flags = flags;
	if (ret && *layout_file) {
		fput(*layout_file);
		*layout_file = NULL;
	}
	return ret;
}

/* What the arm hands mrl_pins_get() for mrl_lease_publish_pins(). */
struct mrl_publish {
	struct mrl_lease *lease;
	u32 changes;		/* mrl_notifier_read_begin() of this attempt */
	bool again;		/* refused for a change of ours: try again */
};

/*
 * Pins just taken, the mmap_lock still held: refuse them if a change of a
 * file began meanwhile, if the range changed since the check (the pins may
 * be of a file the check did not see), or if an anchor of theirs went
 * (anchor.c); else make them the lease's at once.  An unmap of the range
 * or of an anchor from then on drops them before it returns
 * (mrl_lease_invalidate()), as for an armed lease, and the arm starts
 * over.  After this the arm must not touch them: that unmap may free them.
 */
static int mrl_lease_publish_pins(struct mrl_pins *pins, void *arg)
{
	struct mrl_publish *p = arg;
	struct mrl_lease *lease = p->lease;
	struct mrl_ctx *ctx = lease->ctx;
	int ret = 0;

	if (mrl_files_busy(&pins->files))
		return -EAGAIN;
	spin_lock(&ctx->lock);
	if (mrl_notifier_changed(lease, p->changes) ||
	    (pins->fsdax && !mrl_anchors_cover(ctx, &pins->files))) {
		p->again = true;
		ret = -EAGAIN;
	} else {
		lease->pins = pins;
		if (pins->fsdax)
			ctx->fsdax_pins++;
	}
	spin_unlock(&ctx->lock);
	return ret;
}

/*
 * Validate, pin and arm.  The lease's change count (notifier.c) tells
 * whether the range changed between the check and the moment the lease is
 * armed; then the pins may be of stale pages and the arm starts over.
 *
 * A truncate or hole punch holds the file's i_rwsem exclusively from before
 * it unmaps until its wait for busy pages is over, but lets faults in while
 * it waits.  Pins taken then would be of a doomed page and would make the
 * breaker wait again, for a lease armed after the break: waits chained
 * without end.  So no file of the range may be locked so before the pins
 * are taken, nor after (a change that started in between); otherwise
 * -EAGAIN.  On xfs the breaker also waits for file leases to go, with
 * i_rwsem dropped, and then looks for busy pages again: the same holds
 * while a layout lease of the file is being broken, and a layout lease is
 * taken only when no change is under way (mrl_file_busy()).
 *
 * No filesystem lock is held across the pinning: a fault may wait on user
 * space (userfaultfd, FUSE) for as long as it likes, and a lock held
 * meanwhile would hang every truncate, chmod and write of the file.  Only
 * our own mmap_lock is, for a range that maps an fsdax file, while pins
 * that never fault are taken and published (mrl_pins_get()).
 */
int mrl_lease_arm(struct mrl_ctx *ctx, struct mrl_lease *lease)
{
	unsigned int gup_flags;
	int attempt, ret;

	for (attempt = 0; attempt < MRL_ARM_ATTEMPTS; attempt++) {
		struct mrl_publish publish = { .lease = lease };
		struct mrl_files files = {};
		struct file *layout_file = NULL;
		bool pin = lease->flags & MRLEASE_REG_PIN;
		struct mrl_pins *pins = NULL;
		bool armed = false, guarded;

		publish.changes = mrl_notifier_read_begin(ctx, lease);
		ret = mrl_lease_check_range(lease, &gup_flags, &layout_file,
					    &files);
		guarded = layout_file;
		/* Their breakers wait for the ack: a break must not need memory. */
		if (!ret && (pin || guarded))
			ret = mrl_lease_break_prepare(lease);
		if (!ret)
			ret = mrl_layout_attach(lease, layout_file);
		else if (layout_file)
			fput(layout_file);
		/*
		 * A layout lease makes a breaker wait as pins do: looked at
		 * once it is taken, so that a change that began before is seen.
		 */
		if (!ret && (pin || guarded))
			ret = mrl_files_wait_quiet(&files);
		/* Before the pins: see anchor.c. */
		if (!ret && pin && mrl_lease_spans_fsdax(lease))
			ret = mrl_anchors_get(ctx, &files);
		mrl_race_window("arm: checked, not pinned", false);
		if (!ret && pin)
			ret = mrl_pins_get(ctx->mm, lease->it.start, mrl_lease_end(lease),
					   gup_flags,
					   mrl_lease_spans_fsdax(lease), &files,
					   mrl_lease_publish_pins, &publish);
		/* The next attempt looks again (and anchors anew). */
		if (ret == -EAGAIN && publish.again)
			ret = 0;
		mrl_files_put(&files);
		mrl_race_window("arm: pinned, not armed", false);

		spin_lock(&ctx->lock);
		/* Pins published and no unmap since that dropped them. */
		if (!ret && !mrl_notifier_changed(lease, publish.changes) &&
		    !!lease->pins == pin && mrl_layout_guards(lease)) {
			lease->state = MRLEASE_STATE_ARMED;
			lease->generation++;
			mrl_word_arm(lease);
			armed = true;
		}
		if (!armed)
			pins = mrl_lease_take_pins(lease);
		spin_unlock(&ctx->lock);
		if (armed)
			return 0;
		mrl_pins_put(pins);
		if (ret)
			return ret;
	}
	return -EAGAIN;
}
