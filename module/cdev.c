// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/mrlease: one context per open file, the ioctl front end, event
 * reading, poll, fasync and the read-only status page.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "mrlease.h"

static int mrl_open(struct inode *inode, struct file *file)
{
	struct mrl_ctx *ctx;

	if (!current->mm)
		return -EINVAL;
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	ctx->status = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!ctx->status)
		goto free_ctx;
	ctx->user = mrl_user_get(current_uid());
	if (!ctx->user)
		goto free_status;

	mmgrab(current->mm);
	ctx->mm = current->mm;
	ctx->pid_ns = get_pid_ns(task_active_pid_ns(current));
	ctx->owner = get_pid(task_tgid(current));
	get_task_comm(ctx->owner_comm, current->group_leader);
	/*
	 * Who may see the context's leases over netlink (addresses, cookies,
	 * files): the effective uid; and a set-user-ID or set-group-ID
	 * program's only admins, as only they may read its /proc/PID/maps.
	 */
	ctx->uid = current_euid();
	ctx->setid = !uid_eq(current_euid(), current_uid()) ||
		     !gid_eq(current_egid(), current_gid());
	mutex_init(&ctx->mutex);
	ctx->itree = RB_ROOT_CACHED;
	mrl_anchors_init(ctx);
	mrl_lease_ctx_init(ctx);
	INIT_LIST_HEAD(&ctx->layouts);
	spin_lock_init(&ctx->lock);
	INIT_LIST_HEAD(&ctx->events);
	init_waitqueue_head(&ctx->wait);

	file->private_data = ctx;
	atomic_inc(&mrl_stats.contexts);
	return nonseekable_open(inode, file);

free_status:
	free_page((unsigned long)ctx->status);
free_ctx:
	kfree(ctx);
	return -ENOMEM;
}

static int mrl_release(struct inode *inode, struct file *file)
{
	struct mrl_ctx *ctx = file->private_data;

	mrl_lease_destroy_all(ctx);
	mrl_anchors_put_all(ctx);
	mrl_words_free(ctx);
	mrl_user_put(ctx->user);
	put_cred(ctx->admin_cred);
	put_pid(ctx->owner);
	put_pid_ns(ctx->pid_ns);
	mmdrop(ctx->mm);
	/* A status mapping, if any, keeps its own reference to the page. */
	free_page((unsigned long)ctx->status);
	kfree(ctx);
	atomic_dec(&mrl_stats.contexts);
	return 0;
}

static bool mrl_api_done(struct mrl_ctx *ctx)
{
	/* Pairs with the release in mrl_ioctl_api(): features are set. */
	return smp_load_acquire(&ctx->api_done);
}

/* What we have, as a handshake answers it, accepted or refused. */
static void mrl_api_answer(struct mrlease_api *api, u32 words_size)
{
	api->supported = MRLEASE_FEATURE_ALL;
	api->event_size = sizeof(struct mrlease_event);
	api->status_size = sizeof(struct mrlease_status);
	api->words_size = words_size;
}

static int mrl_ioctl_api(struct mrl_ctx *ctx, struct mrlease_api *api)
{
	int ret = 0;

	/* Out only: nonzero below says a refused handshake is worth copying. */
	api->supported = 0;
	mutex_lock(&ctx->mutex);
	if (ctx->api_done) {
		ret = -EBUSY;
	} else if (api->api != MRLEASE_API || api->reserved) {
		ret = -EINVAL;
	} else if (api->features & ~MRLEASE_FEATURE_ALL) {
		/* Refused, but say what we have: the caller may ask again. */
		api->features = 0;
		mrl_api_answer(api, 0);
		ret = -EINVAL;
	}
	if (!ret && (api->features & MRLEASE_FEATURE_VALID_WORDS) &&
	    !ctx->word_pages)
		ret = mrl_words_init(ctx);
	if (!ret) {
		ctx->features = api->features;
		mrl_api_answer(api, ctx->word_pages ? mrl_words_size(ctx) : 0);
		/* Publish the features before the handshake is seen done. */
		smp_store_release(&ctx->api_done, true);
	}
	mutex_unlock(&ctx->mutex);
	return ret;
}

/*
 * The argument structures are size-versioned like openat2's: the size in
 * the ioctl number may differ from ours, as copy_struct_from_user() allows.
 */
#define MRL_IOC_BASE(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

/* The first versions of the structures that grew. */
static_assert(offsetof(struct mrlease_query, hold) == MRLEASE_QUERY_SIZE_VER0);
static_assert(offsetof(struct mrlease_api, words_size) ==
	      MRLEASE_API_SIZE_VER0);
static_assert(offsetof(struct mrlease_register, token) ==
	      MRLEASE_REGISTER_SIZE_VER0);
static_assert(offsetof(struct mrlease_restore, token) ==
	      MRLEASE_RESTORE_SIZE_VER0);

union mrl_ioc_arg {
	struct mrlease_api api;
	struct mrlease_register reg;
	struct mrlease_lease_ref ref;
	struct mrlease_restore res;
	struct mrlease_query query;
};

static int mrl_ioc_api(struct mrl_ctx *ctx, union mrl_ioc_arg *u)
{
	return mrl_ioctl_api(ctx, &u->api);
}

static int mrl_ioc_register(struct mrl_ctx *ctx, union mrl_ioc_arg *u)
{
	return mrl_lease_register(ctx, &u->reg);
}

/* Nobody learnt the new lease's id: it must not outlive the error. */
static void mrl_ioc_register_undo(struct mrl_ctx *ctx, union mrl_ioc_arg *u)
{
	struct mrlease_lease_ref ref = { .id = u->reg.id };

	mrl_lease_unregister(ctx, &ref);
}

static int mrl_ioc_unregister(struct mrl_ctx *ctx, union mrl_ioc_arg *u)
{
	return mrl_lease_unregister(ctx, &u->ref);
}

static int mrl_ioc_ack(struct mrl_ctx *ctx, union mrl_ioc_arg *u)
{
	return mrl_lease_ack(ctx, &u->ref);
}

static int mrl_ioc_restore(struct mrl_ctx *ctx, union mrl_ioc_arg *u)
{
	return mrl_lease_restore(ctx, &u->res);
}

static int mrl_ioc_query(struct mrl_ctx *ctx, union mrl_ioc_arg *u)
{
	return mrl_lease_query(ctx, &u->query);
}

/* Allowed before the handshake (only the handshake itself). */
#define MRL_IOC_ANY_TIME	BIT(0)
/* Nothing to copy back: the structure is input only. */
#define MRL_IOC_IN_ONLY		BIT(1)
/* A refused handshake still copies back what the module supports. */
#define MRL_IOC_OUT_ON_REFUSAL	BIT(2)

/*
 * One entry per command (as drm_ioctls[]): the size of our structure, the
 * size of its first version (nothing shorter is accepted), what to call,
 * and what undoes a success whose result could not be copied back.
 */
struct mrl_ioctl_desc {
	unsigned int cmd;	/* MRL_IOC_BASE() of the command */
	unsigned int size;
	unsigned int min_size;
	unsigned int flags;
	int (*handler)(struct mrl_ctx *ctx, union mrl_ioc_arg *u);
	void (*undo)(struct mrl_ctx *ctx, union mrl_ioc_arg *u);
};

#define MRL_IOCTL(ioc, type, ver0_size, fn, undo_fn, fl)		\
	{ .cmd = MRL_IOC_BASE(ioc), .size = sizeof(type),		\
	  .min_size = (ver0_size), .flags = (fl), .handler = (fn),	\
	  .undo = (undo_fn) }

static const struct mrl_ioctl_desc mrl_ioctls[] = {
	MRL_IOCTL(MRLEASE_IOC_API, struct mrlease_api, MRLEASE_API_SIZE_VER0,
		  mrl_ioc_api, NULL, MRL_IOC_ANY_TIME | MRL_IOC_OUT_ON_REFUSAL),
	MRL_IOCTL(MRLEASE_IOC_REGISTER, struct mrlease_register,
		  MRLEASE_REGISTER_SIZE_VER0, mrl_ioc_register,
		  mrl_ioc_register_undo, 0),
	MRL_IOCTL(MRLEASE_IOC_UNREGISTER, struct mrlease_lease_ref,
		  sizeof(struct mrlease_lease_ref), mrl_ioc_unregister, NULL,
		  MRL_IOC_IN_ONLY),
	MRL_IOCTL(MRLEASE_IOC_ACK, struct mrlease_lease_ref,
		  sizeof(struct mrlease_lease_ref), mrl_ioc_ack, NULL,
		  MRL_IOC_IN_ONLY),
	MRL_IOCTL(MRLEASE_IOC_RESTORE, struct mrlease_restore,
		  MRLEASE_RESTORE_SIZE_VER0, mrl_ioc_restore, NULL, 0),
	MRL_IOCTL(MRLEASE_IOC_QUERY, struct mrlease_query,
		  MRLEASE_QUERY_SIZE_VER0, mrl_ioc_query, NULL, 0),
};

static const struct mrl_ioctl_desc *mrl_ioctl_find(unsigned int cmd)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mrl_ioctls); i++)
		if (mrl_ioctls[i].cmd == MRL_IOC_BASE(cmd))
			return &mrl_ioctls[i];
	return NULL;
}

static long mrl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	const struct mrl_ioctl_desc *desc = mrl_ioctl_find(cmd);
	struct mrl_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;
	size_t usize = _IOC_SIZE(cmd);
	union mrl_ioc_arg u;
	int ret;

	if (!desc)
		return -ENOTTY;
	if (!(desc->flags & MRL_IOC_ANY_TIME) && !mrl_api_done(ctx))
		return -EBADFD;
	/* Nothing may be shorter than the structure's first version. */
	if (usize < desc->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(&u, desc->size, uarg, usize);
	if (ret)
		return ret;

	ret = desc->handler(ctx, &u);
	if ((desc->flags & MRL_IOC_IN_ONLY) ||
	    (ret && !((desc->flags & MRL_IOC_OUT_ON_REFUSAL) &&
		      ret == -EINVAL && u.api.supported)))
		return ret;
	/* An older caller gets what its version of the structure holds. */
	if (!copy_to_user(uarg, &u, min_t(size_t, desc->size, usize)))
		return ret;
	if (!ret && desc->undo)
		desc->undo(ctx, &u);
	return -EFAULT;
}

static ssize_t mrl_read(struct file *file, char __user *buf, size_t count,
			loff_t *ppos)
{
	struct mrl_ctx *ctx = file->private_data;

	if (!mrl_api_done(ctx))
		return -EBADFD;
	return mrl_event_read(ctx, buf, count, file->f_flags & O_NONBLOCK);
}

static __poll_t mrl_poll(struct file *file, struct poll_table_struct *wait)
{
	struct mrl_ctx *ctx = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &ctx->wait, wait);
	if (mrl_event_ready(ctx))
		mask = EPOLLIN | EPOLLRDNORM;
	return mask;
}

static int mrl_fasync(int fd, struct file *file, int on)
{
	struct mrl_ctx *ctx = file->private_data;

	return fasync_helper(fd, file, on, &ctx->fasync);
}

/*
 * The status page comes back after madvise(MADV_DONTNEED) or any other zap
 * of the mapping: a fault maps it again.  The mapping holds the file, so the
 * context (and its page) outlive it.
 */
static vm_fault_t mrl_status_fault(struct vm_fault *vmf)
{
	struct mrl_ctx *ctx = vmf->vma->vm_file->private_data;
	struct page *page = virt_to_page(ctx->status);

	if (vmf->pgoff)
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct mrl_status_vm_ops = {
	.fault = mrl_status_fault,
};

static int mrl_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mrl_ctx *ctx = file->private_data;

	int ret;

	if (!mrl_api_done(ctx))
		return -EBADFD;
	/* Data for reading only: never writable, never executable. */
	if (vma->vm_flags & (VM_WRITE | VM_EXEC))
		return -EPERM;
	if (vma->vm_pgoff == MRLEASE_MMAP_WORDS_PGOFF) {
		ret = mrl_words_mmap(ctx, vma);
	} else {
		if (!(ctx->features & MRLEASE_FEATURE_STATUS_PAGE))
			return -EOPNOTSUPP;
		if (vma->vm_pgoff || vma_pages(vma) != 1)
			return -EINVAL;
		vma->vm_ops = &mrl_status_vm_ops;
		ret = 0;
	}
	/* Read-only for good: no mprotect(PROT_WRITE), no private COW copy. */
	if (!ret)
		mrl_compat_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP,
					VM_MAYWRITE | VM_MAYEXEC);
	return ret;
}

static const struct file_operations mrl_fops = {
	.owner = THIS_MODULE,
	.open = mrl_open,
	.release = mrl_release,
	.unlocked_ioctl = mrl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.read = mrl_read,
	.poll = mrl_poll,
	.fasync = mrl_fasync,
	.mmap = mrl_mmap,
	.llseek = mrl_compat_no_llseek,
};

static struct miscdevice mrl_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = MRLEASE_DEVICE_NAME,
	.fops = &mrl_fops,
	/* Like /dev/infiniband/uverbs*: every user registers memory. */
	.mode = 0666,
};

/* Is @file an open /dev/mrlease (a context)? */
bool mrl_cdev_is_ours(const struct file *file)
{
	return file->f_op == &mrl_fops;
}

int mrl_cdev_init(void)
{
	return misc_register(&mrl_miscdev);
}

void mrl_cdev_uninit(void)
{
	misc_deregister(&mrl_miscdev);
}
