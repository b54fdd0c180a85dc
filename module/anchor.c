// SPDX-License-Identifier: GPL-2.0
/*
 * Anchors: a page of every fsdax file a context pins, mapped PROT_NONE in
 * the holder's address space through a struct file of our own.
 *
 * Before 6.15 a truncate or hole punch waits for busy DAX pages only if the
 * file is mapped, and it looks at that without a lock: dax_layout_busy_page()
 * returns at once when the file's i_mmap tree is empty.  The tree is empty
 * for an instant whenever the file's last mapping is merged or expanded
 * (vma_merge() and vma_expand() take it out and put it back under
 * i_mmap_rwsem, which that look does not take).  A holder that mprotect()s
 * or maps over part of its only mapping of the file while another process
 * truncates it gets the truncate past our pins: a WARN in
 * dax_disassociate_entry(), and blocks freed that a device may still write.
 *
 * An anchor keeps the tree from being empty while we pin: it can never be
 * merged (no other mapping has its struct file), nor split (one page), so
 * it leaves the tree only when it is unmapped, and then our notifier sees
 * the unmap before it leaves (mrl_anchors_unmapped()): the pins of the
 * context's fsdax leases go first, as for an unmap of their own range.
 * The mapping of the lease's range cannot leave the tree meanwhile: both
 * belong to the same mm, whose mmap_lock lets one change at a time.
 *
 * Since 6.15 the look holds no such shortcut and there are no anchors.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/interval_tree.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/slab.h>

#include "compat.h"
#include "mrlease.h"

struct mrl_anchor {
	struct interval_tree_node it;	/* its page, in ctx->anchors */
	struct list_head node;		/* ctx->anchor_list */
	struct file *file;		/* ours; user space never sees it */
	struct file *vm_file;		/* what its VMA maps (overlayfs: another) */
	bool gone;			/* unmapped, or never sealed */
};

/* vma_is_fsdax() of a mapping of @file. */
static bool mrl_file_is_fsdax(struct file *file)
{
	struct inode *inode = file_inode(file);

	return IS_DAX(inode) && !S_ISCHR(inode->i_mode);
}

/* A live anchor of @inode in @ctx?  Under ctx->lock. */
static bool mrl_anchor_find(struct mrl_ctx *ctx, struct inode *inode)
{
	struct mrl_anchor *a;

	lockdep_assert_held(&ctx->lock);
	list_for_each_entry(a, &ctx->anchor_list, node)
		if (!a->gone && file_inode(a->vm_file) == inode)
			return true;
	return false;
}

/*
 * Do live anchors of @ctx cover every fsdax file of @files?  Asked as pins
 * are published, under ctx->lock (and, for an fsdax range, the mmap_lock):
 * an anchor unmapped since mrl_anchors_get() would leave them uncovered.
 */
bool mrl_anchors_cover(struct mrl_ctx *ctx, const struct mrl_files *files)
{
	unsigned int i;

	if (MRL_COMPAT_DAX_MAPPING_REFS)
		return true;
	lockdep_assert_held(&ctx->lock);
	for (i = 0; i < files->nr; i++)
		if (mrl_file_is_fsdax(files->files[i]) &&
		    !mrl_anchor_find(ctx, file_inode(files->files[i])))
			return false;
	return true;
}

/* Does @mm map @a where we put it, still?  False if killed meanwhile. */
static bool mrl_anchor_mapped(struct mm_struct *mm, struct mrl_anchor *a)
{
	struct vm_area_struct *vma;
	bool mapped;

	if (mmap_read_lock_killable(mm))
		return false;
	vma = find_vma(mm, a->it.start);
	mapped = vma && vma->vm_start == a->it.start &&
		 vma->vm_file == a->vm_file;
	mmap_read_unlock(mm);
	return mapped;
}

/*
 * Make the one-page PROT_NONE mapping at @a an anchor for @inode: never to
 * be made accessible (so never pinned, nor a way to read the file), grown
 * in place (a merge with its own extension takes it out of the tree for an
 * instant), copied into a child or dumped.  -EAGAIN if it is no longer what
 * vm_mmap() made.
 */
static int mrl_anchor_seal(struct mm_struct *mm, struct mrl_anchor *a,
			   struct inode *inode)
{
	struct vm_area_struct *vma;
	int ret = -EAGAIN;

	if (mmap_write_lock_killable(mm))
		return -EINTR;
	vma = find_vma(mm, a->it.start);
	if (vma && vma->vm_start == a->it.start &&
	    vma->vm_end == a->it.start + PAGE_SIZE && vma->vm_file &&
	    file_inode(vma->vm_file) == inode &&
	    !(vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC))) {
		mrl_compat_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTCOPY |
					VM_DONTDUMP, VM_MAYREAD | VM_MAYWRITE |
					VM_MAYEXEC);
		a->vm_file = get_file(vma->vm_file);
		ret = 0;
	}
	mmap_write_unlock(mm);
	return ret;
}

static void mrl_anchor_free(struct mrl_anchor *a)
{
	if (a->vm_file)
		fput(a->vm_file);
	fput(a->file);
	kfree(a);
}

/* Forget anchors an unmap took away.  Under ctx->mutex. */
static void mrl_anchors_reap(struct mrl_ctx *ctx)
{
	struct mrl_anchor *a, *tmp;
	LIST_HEAD(gone);

	spin_lock(&ctx->lock);
	list_for_each_entry_safe(a, tmp, &ctx->anchor_list, node)
		if (a->gone)
			list_move(&a->node, &gone);
	spin_unlock(&ctx->lock);
	list_for_each_entry_safe(a, tmp, &gone, node)
		mrl_anchor_free(a);
}

static int mrl_anchor_add(struct mrl_ctx *ctx, struct file *file)
{
	struct mrl_anchor *a;
	unsigned long addr;
	int ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return -ENOMEM;
	/*
	 * Opened as the file was: no permission is checked again, and the
	 * anchor can never be read.  O_NONBLOCK: a lease on the file must not
	 * hold us (and ctx->mutex) for the lease-break time.
	 */
	a->file = dentry_open(&file->f_path, O_RDONLY | O_LARGEFILE |
			      O_NONBLOCK, file->f_cred);
	if (IS_ERR(a->file)) {
		ret = PTR_ERR(a->file);
		kfree(a);
		return ret == -EWOULDBLOCK ? -EAGAIN : ret;
	}
	addr = vm_mmap(a->file, 0, PAGE_SIZE, PROT_NONE, MAP_SHARED, 0);
	if (IS_ERR_VALUE(addr)) {
		mrl_anchor_free(a);
		return (int)addr;
	}
	a->it.start = addr;
	a->it.last = addr + PAGE_SIZE - 1;
	/* In the tree before the look: from then on an unmap is seen. */
	spin_lock(&ctx->lock);
	interval_tree_insert(&a->it, &ctx->anchors);
	spin_unlock(&ctx->lock);
	ret = mrl_anchor_seal(ctx->mm, a, file_inode(file));
	spin_lock(&ctx->lock);
	if (!ret && a->gone)
		ret = -EAGAIN;
	if (ret && !a->gone) {
		interval_tree_remove(&a->it, &ctx->anchors);
		a->gone = true;
	}
	/* A gone one too, to be freed by the next mrl_anchors_reap(). */
	list_add(&a->node, &ctx->anchor_list);
	spin_unlock(&ctx->lock);
	return ret;
}

/*
 * Before pinning @files in the holder's mm (an arm, under ctx->mutex):
 * an anchor for every fsdax file among them.  -EAGAIN if one was unmapped
 * at once, -ENOMEM when the address space is full.
 */
int mrl_anchors_get(struct mrl_ctx *ctx, const struct mrl_files *files)
{
	unsigned int i;
	int ret;

	if (MRL_COMPAT_DAX_MAPPING_REFS)
		return 0;
	lockdep_assert_held(&ctx->mutex);
	mrl_anchors_reap(ctx);
	for (i = 0; i < files->nr; i++) {
		struct file *file = files->files[i];
		bool found;

		if (!mrl_file_is_fsdax(file))
			continue;
		spin_lock(&ctx->lock);
		found = mrl_anchor_find(ctx, file_inode(file));
		spin_unlock(&ctx->lock);
		if (found)
			continue;
		ret = mrl_anchor_add(ctx, file);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The mm notifier, for an unmap of [start, end): did it take an anchor
 * away?  Then it leaves the tree, and the caller lets go of the context's
 * fsdax pins before the unmap goes on.  Under ctx->lock.
 */
bool mrl_anchors_unmapped(struct mrl_ctx *ctx, unsigned long start,
			  unsigned long end)
{
	struct interval_tree_node *node;
	bool any = false;

	lockdep_assert_held(&ctx->lock);
	while ((node = interval_tree_iter_first(&ctx->anchors, start,
						end - 1))) {
		struct mrl_anchor *a = container_of(node, struct mrl_anchor,
						    it);

		interval_tree_remove(&a->it, &ctx->anchors);
		a->gone = true;
		any = true;
	}
	return any;
}

/*
 * Unmap and forget every anchor of @ctx (at close, after the last lease and
 * the notifier; or trimmed), if the caller runs in the holder's mm
 * (otherwise they go with the mm).  Out of the tree first, so that our own
 * unmap is not taken for the holder's.  A mapping the holder put in an
 * anchor's place is left alone, unless it comes between the look and the
 * unmap: the holder's own doing, in its own mm.
 */
void mrl_anchors_put_all(struct mrl_ctx *ctx)
{
	bool own_mm = current->mm == ctx->mm && !(current->flags & PF_KTHREAD);
	struct mrl_anchor *a, *tmp;
	LIST_HEAD(all);

	spin_lock(&ctx->lock);
	list_splice_init(&ctx->anchor_list, &all);
	list_for_each_entry(a, &all, node)
		if (!a->gone)
			interval_tree_remove(&a->it, &ctx->anchors);
	spin_unlock(&ctx->lock);
	list_for_each_entry_safe(a, tmp, &all, node) {
		if (own_mm && !a->gone && mrl_anchor_mapped(ctx->mm, a))
			vm_munmap(a->it.start, PAGE_SIZE);
		mrl_anchor_free(a);
	}
}

/*
 * No lease of @ctx pins an fsdax file any more (an unregister, under
 * ctx->mutex): the anchors go, so that they neither keep a deleted file's
 * blocks nor pile up in the holder's address space.  Only in the holder's
 * mm: from elsewhere they could not be unmapped, only forgotten.
 */
void mrl_anchors_trim(struct mrl_ctx *ctx)
{
	bool unused;

	lockdep_assert_held(&ctx->mutex);
	/* The list changes under ctx->mutex too: no lock to see it empty. */
	if (current->mm != ctx->mm || list_empty(&ctx->anchor_list))
		return;
	spin_lock(&ctx->lock);
	unused = !ctx->fsdax_pins && !list_empty(&ctx->anchor_list);
	spin_unlock(&ctx->lock);
	if (unused)
		mrl_anchors_put_all(ctx);
}

void mrl_anchors_init(struct mrl_ctx *ctx)
{
	ctx->anchors = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&ctx->anchor_list);
}
