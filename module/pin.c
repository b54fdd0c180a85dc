// SPDX-License-Identifier: GPL-2.0
/*
 * Pinning a lease's pages, charged to RLIMIT_MEMLOCK the way ib_umem_get()
 * charges an RDMA memory registration: against mm->pinned_vm, refused over
 * the limit unless the caller has CAP_IPC_LOCK.
 *
 * A set of pins is reference counted so that a check of the page tables
 * (mrl_pins_mapped()) can keep it alive while the lease lets go of it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/workqueue.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "compat.h"
#include "mrlease.h"

/*
 * pin_user_pages_fast() takes an int count: pin in bounded batches, small
 * enough that what one batch adds to a page's count before it is checked
 * (mrl_pins_check_batch()) stays far from overflowing it.
 */
#define MRL_PIN_BATCH	BIT(12)
/* Pages compared per batch in mrl_pins_mapped(), on the stack. */
#define MRL_CHECK_BATCH	64

static int mrl_memlock_charge(struct mm_struct *mm, unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	u64 total = atomic64_add_return(nr, &mm->pinned_vm);

	if (total > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(nr, &mm->pinned_vm);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Hold a reference to @file; may sleep.  Consecutive mappings of one file
 * are added once; mrl_files_finish() drops the other duplicates.  A range
 * may span up to vm.max_map_count mappings of as many files, so the array
 * grows by doubling (kvmalloc) and is deduplicated by sorting, never by a
 * search per mapping, which would be quadratic.
 */
int mrl_files_add(struct mrl_files *files, struct file *file)
{
	if (files->nr && files->files[files->nr - 1] == file)
		return 0;
	if (files->nr == files->cap) {
		unsigned int cap = files->cap ? 2 * files->cap : 4;
		struct file **grown;

		grown = kvmalloc_array(cap, sizeof(*grown),
				       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!grown)
			return -ENOMEM;
		if (files->nr)
			memcpy(grown, files->files,
			       files->nr * sizeof(*grown));
		kvfree(files->files);
		files->files = grown;
		files->cap = cap;
	}
	files->files[files->nr++] = get_file(file);
	return 0;
}

static int mrl_file_cmp(const void *a, const void *b)
{
	const struct file *fa = *(struct file * const *)a;
	const struct file *fb = *(struct file * const *)b;

	return fa < fb ? -1 : fa > fb;
}

/* Sort @files and drop the references of duplicates; may sleep. */
void mrl_files_finish(struct mrl_files *files)
{
	unsigned int i, nr = 0;

	if (files->nr < 2)
		return;
	sort(files->files, files->nr, sizeof(*files->files), mrl_file_cmp,
	     NULL);
	for (i = 0; i < files->nr; i++) {
		if (nr && files->files[nr - 1] == files->files[i]) {
			fput(files->files[i]);
			continue;
		}
		files->files[nr++] = files->files[i];
	}
	files->nr = nr;
}

void mrl_files_put(struct mrl_files *files)
{
	unsigned int i;

	for (i = 0; i < files->nr; i++)
		fput(files->files[i]);
	kvfree(files->files);
	memset(files, 0, sizeof(*files));
}

/*
 * The shared zero pages: the 4 KiB one, and the huge one (not exported, but
 * the only compound page that is neither anonymous nor in a file or a DAX
 * mapping).
 */
static bool mrl_page_is_zero(struct page *page)
{
	struct page *head = compound_head(page);

	if (is_zero_pfn(page_to_pfn(page)))
		return true;
	return PageHead(head) && !PageAnon(head) && !is_zone_device_page(head) &&
	       !READ_ONCE(head->mapping);
}

/*
 * Each pin adds 1024 to a page's count, and before 6.5 the kernel pins the
 * shared zero page itself for a read-only range never written: a few GiB
 * of it would overflow the count (a WARN, then a wrapped refcount).  Our
 * pins of it, all users together, stay far below that.
 */
#define MRL_MAX_ZERO_PINS	65536L
static atomic_long_t mrl_zero_pins;

/*
 * Before 6.15 a DAX page shared by reflinked files has its ->mapping marked
 * like an anonymous one's; since, it has none (and a share count).  A page
 * mapped through a file once has one.
 */
static bool mrl_dax_page_shared(struct page *page)
{
	struct page *head = compound_head(page);

	if (PageAnon(head))
		return true;
	return MRL_COMPAT_DAX_MAPPING_REFS && !READ_ONCE(head->mapping);
}

/*
 * Look at a batch just pinned, before the next one: count its zero pages
 * against MRL_MAX_ZERO_PINS (-ENOMEM above), note DAX pages, which
 * mrl_pins_unpin_dax() lets go of first, refuse shared DAX pages.
 */
static int mrl_pins_check_batch(struct mrl_pins *pins, unsigned long from,
				unsigned long to)
{
	unsigned long i, zero = 0;

	for (i = from; i < to; i++) {
		struct page *page = pins->pages[i];

		if (mrl_page_is_zero(page)) {
			zero++;
		} else if (is_zone_device_page(page)) {
			/* Where mrl_pins_unpin_dax() has to look. */
			if (!pins->dax_end || i < pins->dax_first)
				pins->dax_first = i;
			pins->dax_end = max(pins->dax_end, i + 1);
		}
		/*
		 * A DAX page shared by reflinked files: a truncate of the
		 * other file would wait for our pin, and no break of ours
		 * would tell us.
		 */
		if (is_zone_device_page(page) && mrl_dax_page_shared(page))
			return -EOPNOTSUPP;
	}
	if (!zero)
		return 0;
	if (atomic_long_add_return(zero, &mrl_zero_pins) > MRL_MAX_ZERO_PINS) {
		atomic_long_sub(zero, &mrl_zero_pins);
		return -ENOMEM;
	}
	pins->zero += zero;
	return 0;
}

static void mrl_pins_uncount_zero(struct mrl_pins *pins)
{
	atomic_long_sub(pins->zero, &mrl_zero_pins);
	pins->zero = 0;
}

/* How often the pins are taken again after the range was faulted in. */
#define MRL_PIN_ROUNDS	4

/*
 * The fsdax file mapped at @addr, referenced, and the end of its mapping
 * (or of the range) in *@seg_end; NULL for other memory.
 */
static struct file *mrl_fsdax_file_at(struct mm_struct *mm, unsigned long addr,
				      unsigned long end, unsigned long *seg_end)
{
	struct vm_area_struct *vma;
	struct file *file = NULL;

	*seg_end = addr + PAGE_SIZE;
	if (mmap_read_lock_killable(mm))
		return ERR_PTR(-EINTR);
	vma = find_vma(mm, addr);
	if (vma && vma->vm_start <= addr) {
		*seg_end = min(vma->vm_end, end);
		if (vma_is_fsdax(vma))
			file = get_file(vma->vm_file);
	}
	mmap_read_unlock(mm);
	return file;
}

/*
 * Fault the page at @addr in as a pin of it would.  A long-term pin
 * (anonymous and shmem ranges only) is taken and dropped, so that what it
 * needs (a private copy of the shared zero page on newer kernels) is done;
 * such a pin refuses fsdax pages before it takes any reference.  Any other
 * range is faulted in without taking a page reference at all
 * (fixup_user_fault()): a reference to a DAX page that another thread
 * mapped over the range meanwhile, held while a third unmaps and truncates
 * the file, would be a page the filesystem frees while it is busy.
 */
static int mrl_fault_in_page(struct mm_struct *mm, unsigned long addr,
			     unsigned int gup_flags)
{
	bool unlocked = false;
	struct page *page;
	int ret;

	if (gup_flags & FOLL_LONGTERM) {
		ret = pin_user_pages_fast(addr, 1, gup_flags, &page);
		if (ret != 1)
			return ret < 0 ? ret : -EFAULT;
		unpin_user_page(page);
		return 0;
	}
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	/* Drops the lock to wait (killably), and takes it back. */
	ret = fixup_user_fault(mm, addr,
			       (gup_flags & FOLL_WRITE) ? FAULT_FLAG_WRITE : 0,
			       &unlocked);
	mmap_read_unlock(mm);
	return ret;
}

/*
 * Fault [start, end) in, one page at a time (mrl_fault_in_page()): nothing
 * is held while a fault waits on user space (userfaultfd, FUSE), which may
 * be for ever.  DAX faults are different: a truncate or
 * punch lets faults in while it waits for busy pages, and from 6.15 a page
 * mapped again then keeps it waiting until that mapping goes.  So pages of
 * an fsdax file are faulted in only while no such change holds the file
 * (i_rwsem, taken shared by trylock for the segment: a DAX fault never
 * waits on user space), else -EAGAIN.
 */
static int mrl_fault_in(struct mm_struct *mm, unsigned long start,
			unsigned long end, unsigned int gup_flags)
{
	unsigned long addr = start, seg_end;

	while (addr < end) {
		struct file *file = mrl_fsdax_file_at(mm, addr, end, &seg_end);
		int ret = 0;

		if (IS_ERR(file))
			return PTR_ERR(file);
		if (file && !down_read_trylock(&file_inode(file)->i_rwsem)) {
			fput(file);
			return -EAGAIN;
		}
		for (; addr < seg_end; addr += PAGE_SIZE) {
			if (fatal_signal_pending(current)) {
				ret = -EINTR;
				break;
			}
			ret = mrl_fault_in_page(mm, addr, gup_flags);
			if (ret)
				break;
			cond_resched();
		}
		if (file) {
			up_read(&file_inode(file)->i_rwsem);
			fput(file);
		}
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Before the pins are published: unpin the DAX pages among the first @nr
 * (also those of a batch mrl_pins_check_batch() gave up on halfway, which
 * it did not note).
 */
static void mrl_pins_unpin_all_dax(struct mrl_pins *pins, unsigned long nr)
{
	pins->dax_first = 0;
	pins->dax_end = nr;
	mrl_pins_unpin_dax(pins);
}

/*
 * Unpin what is left of the first @nr pages, in runs; may sleep on a page
 * lock when @dirty.
 */
static void mrl_pins_unpin_rest(struct mrl_pins *pins, unsigned long nr,
				bool dirty)
{
	unsigned long i = 0, run;

	while (i < nr) {
		if (!pins->pages[i]) {
			i++;
			continue;
		}
		for (run = 1; i + run < nr && pins->pages[i + run]; run++)
			;
		if (dirty)
			unpin_user_pages_dirty_lock(pins->pages + i, run, true);
		else
			unpin_user_pages(pins->pages + i, run);
		i += run;
		cond_resched();
	}
}

/*
 * Pin [start, end) of the current mm, which must be @mm.  @gup_flags carries
 * FOLL_WRITE and FOLL_LONGTERM as the caller decided from the VMAs.  On
 * success @publish has made the pins the lease's (they own the memlock
 * charge and the references in @files, which is emptied) and they are no
 * longer ours to touch.  On failure @files stays the caller's, except when
 * @publish refused the pins: then the references went with them and
 * @files is empty.
 *
 * The pins are taken without faulting and handed to @publish.  For a range
 * that maps an fsdax file (@fsdax) the mmap_lock is held (read) from before
 * the pinning until they are published: filesystems wait for busy DAX pages
 * only while the file is mapped, and were it dropped in between, another
 * thread's munmap of the range could find no pins to let go of, return, and
 * let a truncate free blocks that are still pinned (a WARN in
 * dax_disassociate_entry(), a page given to another file).  Holding it,
 * that munmap waits and finds the pins published.  Only our own mm's lock
 * is held then, and nothing faults (mrl_compat_pin_nofault_locked()).  A
 * range that maps no fsdax file is pinned without it; should a DAX page
 * show up in it all the same (the range changed), its pins go at once.
 * @publish may refuse the pins (-EAGAIN): they go at once too.
 *
 * Where a page must be faulted in, every pin taken so far goes first and
 * the rest of the range is faulted in holding nothing (mrl_fault_in());
 * then the pins are taken again, a few times at most: -EAGAIN if the range
 * keeps changing.
 */
int mrl_pins_get(struct mm_struct *mm, unsigned long start, unsigned long end,
		 unsigned int gup_flags, bool fsdax, struct mrl_files *files,
		 int (*publish)(struct mrl_pins *pins, void *arg), void *arg)
{
	unsigned long nr = (end - start) >> PAGE_SHIFT;
	unsigned long done = 0;
	struct mrl_pins *pins;
	unsigned int round;
	long ret;

	/* The limit first: the array is sized by what user space asked. */
	ret = mrl_memlock_charge(mm, nr);
	if (ret)
		return ret;
	/* CAP_IPC_LOCK may ask for more than kvmalloc() ever gives. */
	pins = kvmalloc(struct_size(pins, pages, nr),
			GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!pins) {
		ret = -ENOMEM;
		goto uncharge;
	}
	kref_init(&pins->ref);
	pins->dirty = gup_flags & FOLL_WRITE;
	pins->fsdax = fsdax;
	pins->dax_first = 0;
	pins->dax_end = 0;
	pins->zero = 0;

	for (round = 0; ; round++) {
		if (fsdax && mmap_read_lock_killable(mm)) {
			ret = -EINTR;
			goto free_pins;
		}
		while (done < nr) {
			unsigned long batch = min(nr - done, MRL_PIN_BATCH);
			unsigned long addr = start + (done << PAGE_SHIFT);
			struct page **pages = pins->pages + done;

			if (fatal_signal_pending(current)) {
				ret = -EINTR;
				goto unpin;
			}
			if (fsdax)
				ret = mrl_compat_pin_nofault_locked(addr, batch,
								    gup_flags,
								    pages);
			else
				ret = mrl_compat_pin_nofault(addr, batch,
							     gup_flags, pages,
							     round == MRL_PIN_ROUNDS);
			if (ret <= 0)
				break;
			done += ret;
			/* Before the next batch: see mrl_pins_check_batch(). */
			ret = mrl_pins_check_batch(pins, done - ret, done);
			/* An fsdax file mapped since the range was checked. */
			if (!ret && !fsdax && pins->dax_end)
				ret = -EAGAIN;
			if (ret)
				goto unpin;
			cond_resched();
		}
		if (done == nr)
			break;
		if (ret < 0 && ret != -EFAULT)
			goto unpin;
		/* A fault is needed: let go of everything first. */
		mrl_pins_unpin_all_dax(pins, done);
		mrl_pins_unpin_rest(pins, done, false);
		mrl_pins_uncount_zero(pins);
		if (fsdax)
			mmap_read_unlock(mm);
		if (round == MRL_PIN_ROUNDS) {
			ret = -EAGAIN;
			goto free_pins;
		}
		ret = mrl_fault_in(mm, start + (done << PAGE_SHIFT), end,
				   gup_flags);
		done = 0;
		if (ret)
			goto free_pins;
	}
	mmgrab(mm);
	pins->mm = mm;
	pins->files = *files;
	memset(files, 0, sizeof(*files));
	pins->nr = nr;
	atomic64_add(nr, &mrl_stats.pinned_pages);
	mrl_race_window("pins: pinned, not published", false);
	ret = publish(pins, arg);
	if (ret) {
		/* Before our mapping may go: the rest may sleep. */
		mrl_pins_unpin_dax(pins);
		if (fsdax)
			mmap_read_unlock(mm);
		mrl_pins_put(pins);
		return ret;
	}
	if (fsdax)
		mmap_read_unlock(mm);
	return 0;

unpin:
	mrl_pins_unpin_all_dax(pins, done);
	mrl_pins_unpin_rest(pins, done, false);
	mrl_pins_uncount_zero(pins);
	if (fsdax)
		mmap_read_unlock(mm);
free_pins:
	kvfree(pins);
uncharge:
	atomic64_sub(nr, &mm->pinned_vm);
	return ret;
}

/*
 * A reference that keeps the page array readable (for mrl_pins_mapped()),
 * not the pins: those go when their owner lets go, see mrl_pins_put().
 */
struct mrl_pins *mrl_pins_ref(struct mrl_pins *pins)
{
	kref_get(&pins->ref);
	return pins;
}

static void mrl_pins_free(struct kref *ref)
{
	kvfree(container_of(ref, struct mrl_pins, ref));
}

void mrl_pins_unref(struct mrl_pins *pins)
{
	if (pins)
		kref_put(&pins->ref, mrl_pins_free);
}

/*
 * Unpin the DAX pages of @pins, the ones a truncate or hole punch waits for,
 * and clear their slots.  Never sleeps (a DAX page is never dirtied through
 * its page, and its last unpin only wakes the waiter), so it runs under
 * ctx->lock, inside the mm notifier, or first of all: whatever the other
 * pages of the set do, a waiting breaker goes on.  Whoever takes pins away
 * from a lease calls it before ctx->lock is dropped: once the notifier can
 * no longer find them, the holder's munmap may return, and the file be
 * truncated, at any moment.
 */
void mrl_pins_unpin_dax(struct mrl_pins *pins)
{
	struct mrl_dax_unpin u = { 0 };
	unsigned long i;

	if (!pins->dax_end)
		return;
	/* Only where DAX pages are: this runs under a spinlock. */
	for (i = pins->dax_first; i < pins->dax_end; i++) {
		struct page *page = pins->pages[i];

		if (page && is_zone_device_page(page)) {
			mrl_dax_unpin_note(&u, page);
			unpin_user_page(page);
			pins->pages[i] = NULL;
		}
	}
	pins->dax_end = 0;
	/* A truncate that waited for them may not be woken by the unpin. */
	mrl_dax_unpin_done(&u);
}

/*
 * The owner lets go: unpin now, whoever still looks at the page array.  A
 * pinned fsdax page must not outlive what made its breaker wait, not even
 * by the length of a check.  May sleep (page lock).
 */
void mrl_pins_put(struct mrl_pins *pins)
{
	if (!pins)
		return;
	mrl_pins_unpin_dax(pins);
	mrl_pins_unpin_rest(pins, pins->nr, pins->dirty);
	mrl_pins_uncount_zero(pins);
	atomic64_sub(pins->nr, &pins->mm->pinned_vm);
	atomic64_sub(pins->nr, &mrl_stats.pinned_pages);
	/* Only now may the files, and their pages, go. */
	mrl_files_put(&pins->files);
	mmdrop(pins->mm);
	mrl_pins_unref(pins);
}

/* The pins a notifier callback collected (mrl_lease_drop_pins()). */
void mrl_pins_put_chain(struct mrl_pins *chain)
{
	while (chain) {
		struct mrl_pins *next = chain->sync_next;

		mrl_pins_put(chain);
		chain = next;
	}
}

static struct workqueue_struct *mrl_unpin_wq;

static void mrl_pins_put_work(struct work_struct *work)
{
	mrl_pins_put(container_of(work, struct mrl_pins, put_work));
}

/*
 * Let go from any context, under ctx->lock too: the DAX pages now, the rest
 * from a work item of their own, so that a page lock held for long (a FUSE
 * daemon can) delays nobody else's unpinning, and nobody's breaker.
 */
void mrl_pins_put_deferred(struct mrl_pins *pins)
{
	if (!pins)
		return;
	mrl_pins_unpin_dax(pins);
	INIT_WORK(&pins->put_work, mrl_pins_put_work);
	queue_work(mrl_unpin_wq, &pins->put_work);
}

int mrl_pins_init(void)
{
	mrl_unpin_wq = alloc_workqueue("mrlease_unpin", WQ_UNBOUND, 0);
	return mrl_unpin_wq ? 0 : -ENOMEM;
}

/* Every context is closed: wait for the last deferred unpins. */
void mrl_pins_uninit(void)
{
	destroy_workqueue(mrl_unpin_wq);
}

/* How long a page-table check tries for the mm's lock before it gives up. */
#define MRL_CHECK_LOCK_TRIES	50
#define MRL_CHECK_LOCK_WAIT_US	2000

/*
 * Do the page tables of the current mm (a kthread_use_mm() one) still map
 * the pinned pages at @start?  Looks only, never faults (a fault could
 * allocate, or wait on user space): a page that is no longer mapped counts
 * as changed.
 *
 * The look takes a reference to each page for an instant, DAX pages too:
 * the mm's lock is held meanwhile, so that no munmap can take the file's
 * last mapping away and let a truncate free a page we still reference.  A
 * worker must not sleep on a lock a user can keep: tried for ~100 ms, then
 * the pages count as changed (the lease breaks; never a wrong "same").
 */
bool mrl_pins_mapped(struct mrl_pins *pins, unsigned long start)
{
	struct page *pages[MRL_CHECK_BATCH];
	struct mm_struct *mm = current->mm;
	unsigned long done = 0;
	unsigned int tries;
	bool same = true;

	for (tries = 0; !mmap_read_trylock(mm); tries++) {
		if (tries == MRL_CHECK_LOCK_TRIES)
			return false;
		usleep_range(MRL_CHECK_LOCK_WAIT_US, 2 * MRL_CHECK_LOCK_WAIT_US);
	}
	while (same && done < pins->nr) {
		int batch = min_t(unsigned long, pins->nr - done,
				  MRL_CHECK_BATCH);
		int got, i;

		got = get_user_pages_fast_only(start + (done << PAGE_SHIFT),
					       batch, 0, pages);
		if (got < batch)
			same = false;
		for (i = 0; i < max(got, 0); i++) {
			if (pages[i] != pins->pages[done + i])
				same = false;
			put_page(pages[i]);
		}
		done += batch;
	}
	mmap_read_unlock(mm);
	return same;
}
