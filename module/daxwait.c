// SPDX-License-Identifier: GPL-2.0
/*
 * Waking a truncate or hole punch that waits for our DAX pins.
 *
 * Since Linux 6.15 a mapping holds a reference to a DAX page, and a layout
 * break (dax_break_layout()) unmaps the range, finds a page still pinned and
 * sleeps until the page's count reaches zero, with the lock that keeps page
 * faults out dropped.  A fault meanwhile maps the doomed page again: our
 * unpin then leaves the count at the number of new mappings, the sleeper is
 * never woken, and the truncate, with the file's i_rwsem, hangs for as long
 * as the mapping stays.  A holder that touches its memory while a break
 * waits for its ack does that without meaning to.  (Upstream, the wait
 * should look for busy pages again after every wake-up.)
 *
 * So when we unpin a DAX page, the task changing its file (the writer of
 * the file's i_rwsem: truncate, fallocate and reflink on ext4 and xfs hold
 * it across the wait) is made to leave its wait the way a signal would,
 * task_work_add(TWA_SIGNAL), and restarts the system call: the restart
 * unmaps again with faults kept out and finds no pin.  Nothing reaches user
 * space.  Who holds the lock is read once the pages are unpinned (a change
 * that began meanwhile may wait for them too), as the kernel's optimistic
 * spinning reads it, under RCU, which was taken while the pins held the
 * inodes (ext4 and xfs free them after a grace period).  Arms then keep off
 * the file for a moment (the layout grace, filelease.c) so that the
 * restarted call goes first.
 *
 * The task work's function is the kernel's wakeme_after_rcu(), never ours,
 * and each kick holds a reference to the module until the reaper has seen
 * it done: the module cannot go while a task has yet to run it (rmmod says
 * EBUSY meanwhile, also for as long as a kicked task stays blocked in the
 * kernel), and never frees what a task may still complete.  One kick per
 * task at a time (its pending kick interrupts it already), MRL_KICKS_MAX in
 * all.
 *
 * Whoever can pin a page of a file can so make the task changing that file
 * restart its call, whatever its user: the restart is what a signal would
 * cause, and the kernel itself repeats it (a FIDEDUPERANGE reports it as
 * -ERESTARTSYS in its status, as for a signal).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/rcupdate_wait.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/task_work.h>

#include "compat.h"
#include "mrlease.h"

#if MRL_COMPAT_DAX_WAIT_RESTARTS

/* FOLIO_MAPPING_FLAGS was PAGE_MAPPING_FLAGS before 6.16. */
#ifndef FOLIO_MAPPING_FLAGS
#define FOLIO_MAPPING_FLAGS	PAGE_MAPPING_FLAGS
#endif

/* kernel/locking/rwsem.c: the flags in the low bits of ->owner. */
#define MRL_RWSEM_READER_OWNED	BIT(0)
#define MRL_RWSEM_OWNER_FLAGS	(BIT(0) | BIT(1))

struct mrl_dax_kick {
	struct rcu_synchronize done;	/* completed by the kicked task */
	const struct task_struct *task;	/* compared only, while not done */
	struct list_head node;		/* on mrl_kicks until reaped */
};

static LIST_HEAD(mrl_kicks);
static DEFINE_SPINLOCK(mrl_kicks_lock);

static unsigned int mrl_kicks_nr;
/* Tasks blocked in the kernel with a kick pending, at most (a kick each). */
#define MRL_KICKS_MAX		1024

static void mrl_dax_kicks_reap_work(struct work_struct *work);
static DECLARE_DELAYED_WORK(mrl_kicks_reaper, mrl_dax_kicks_reap_work);
#define MRL_KICKS_REAP_DELAY	(HZ / 10)

/*
 * Free the kicks their tasks have run; is one for @task still pending?
 * The caller runs in module code the module's exit waits for.
 */
static bool mrl_dax_kicks_reap(const struct task_struct *task)
{
	struct mrl_dax_kick *kick, *next;
	bool pending = false;

	lockdep_assert_held(&mrl_kicks_lock);
	list_for_each_entry_safe(kick, next, &mrl_kicks, node) {
		if (!try_wait_for_completion(&kick->done.completion)) {
			pending |= kick->task == task;
			continue;
		}
		list_del(&kick->node);
		kfree(kick);
		mrl_kicks_nr--;
		module_put(THIS_MODULE);
	}
	return pending;
}

/* The exit cancels this work, so it may drop the last reference. */
static void mrl_dax_kicks_reap_work(struct work_struct *work)
{
	bool left;

	spin_lock(&mrl_kicks_lock);
	mrl_dax_kicks_reap(NULL);
	left = mrl_kicks_nr;
	spin_unlock(&mrl_kicks_lock);
	if (left)
		queue_delayed_work(mrl_wq, &mrl_kicks_reaper,
				   MRL_KICKS_REAP_DELAY);
}

/*
 * The task that holds @inode's i_rwsem for writing, if any: a truncate,
 * punch or reflink of it may wait for the page we just unpinned.  Under
 * RCU, which keeps a lock owner's task_struct (see rwsem_spin_on_owner()).
 */
static struct task_struct *mrl_inode_changer(struct inode *inode)
{
	struct rw_semaphore *sem = &inode->i_rwsem;
	unsigned long owner = atomic_long_read(&sem->owner);

	if (!(atomic_long_read(&sem->count) & RWSEM_WRITER_LOCKED) ||
	    (owner & MRL_RWSEM_READER_OWNED))
		return NULL;
	return (struct task_struct *)(owner & ~MRL_RWSEM_OWNER_FLAGS);
}

/*
 * Note the file of @page, a DAX page we hold a pin on and are about to
 * unpin: the pin keeps the page in its file and the file's inode alive,
 * and the RCU read section taken here keeps the inode once it is unpinned.
 */
void mrl_dax_unpin_note(struct mrl_dax_unpin *u, struct page *page)
{
	struct address_space *mapping = READ_ONCE(page_folio(page)->mapping);
	struct inode *inode;

	/* No file: a page shared by reflinked files has no ->mapping. */
	if (!mapping || ((unsigned long)mapping & FOLIO_MAPPING_FLAGS))
		return;
	inode = mapping->host;
	if (u->nr && u->inodes[u->nr - 1] == inode)
		return;
	/*
	 * Full: kick for the files so far, whose pages noted are unpinned.  A
	 * restarted wait that meets a page of theirs still pinned further on
	 * is kicked again when that one goes.
	 */
	if (u->nr == MRL_DAX_UNPIN_FILES)
		mrl_dax_unpin_done(u);
	if (!u->rcu) {
		rcu_read_lock();
		u->rcu = true;
	}
	u->inodes[u->nr++] = inode;
}

/* Under RCU, see mrl_dax_unpin_note(). */
static void mrl_dax_kick(struct inode *inode)
{
	struct task_struct *task = mrl_inode_changer(inode);
	struct mrl_dax_kick *kick;

	/* Not a kernel thread or an io_uring worker: they cannot restart. */
	if (!task || task == current ||
	    (task->flags & (PF_KTHREAD | PF_IO_WORKER)))
		return;
	spin_lock(&mrl_kicks_lock);
	if (mrl_dax_kicks_reap(task) || mrl_kicks_nr >= MRL_KICKS_MAX)
		goto out;
	kick = kzalloc(sizeof(*kick), GFP_ATOMIC | __GFP_NOWARN);
	if (!kick)
		goto out;
	init_completion(&kick->done.completion);
	init_task_work(&kick->done.head, wakeme_after_rcu);
	kick->task = task;
	/* Fails only for an exiting task, whose wait is over anyway. */
	if (task_work_add(task, &kick->done.head, TWA_SIGNAL)) {
		kfree(kick);
		goto out;
	}
	__module_get(THIS_MODULE);
	list_add(&kick->node, &mrl_kicks);
	mrl_kicks_nr++;
	queue_delayed_work(mrl_wq, &mrl_kicks_reaper, MRL_KICKS_REAP_DELAY);
out:
	spin_unlock(&mrl_kicks_lock);
	/* The restarted call goes first: arms keep off the file a moment. */
	mrl_layout_grace_start(inode);
}

/* The pages noted are unpinned: kick who changes their files.  Any context. */
void mrl_dax_unpin_done(struct mrl_dax_unpin *u)
{
	unsigned int i;

	for (i = 0; i < u->nr; i++)
		mrl_dax_kick(u->inodes[i]);
	u->nr = 0;
	if (u->rcu)
		rcu_read_unlock();
	u->rcu = false;
}

/*
 * The module goes: no kick is left (each held a module reference until it
 * was reaped), only maybe the reaper that freed the last.  Before mrl_wq.
 */
void mrl_dax_wait_uninit(void)
{
	cancel_delayed_work_sync(&mrl_kicks_reaper);
}

#else /* a mapping holds no reference to a DAX page, or PREEMPT_RT */

void mrl_dax_unpin_note(struct mrl_dax_unpin *u, struct page *page)
{
}

void mrl_dax_unpin_done(struct mrl_dax_unpin *u)
{
}

void mrl_dax_wait_uninit(void)
{
}

#endif
