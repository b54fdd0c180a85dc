// SPDX-License-Identifier: GPL-2.0
/*
 * Validity words: "is this lease still valid?" in one load of user memory.
 *
 * A registration cache asks on every hit, under its own lock; a system call
 * or the event queue would be far too slow there.  With
 * MRLEASE_FEATURE_VALID_WORDS each lease gets a __u64 in an array that user
 * space maps read-only, and a token: the word holds the token exactly while
 * the lease is ARMED and not being checked, and 0 otherwise.  Tokens count
 * up per context and are never reused, so a cache entry that outlived its
 * lease cannot see its token come back with the word's next owner.
 *
 * The array is backed page by page as words are handed out (8 bytes per
 * lease, nothing up front, within a per-user budget: user.c): a page is
 * allocated at register, under ctx->mutex, and published for the fault
 * handler, which never allocates.  Words are written under ctx->lock, from
 * the notifier too, so they are plain stores to pages that exist.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "mrlease.h"

#define MRL_WORDS_PER_PAGE	(PAGE_SIZE / sizeof(u64))
/* The largest area a context may have: 1M leases, 8 MiB. */
#define MRL_WORDS_MAX		BIT(20)

/* At the handshake, if the context asked for the feature. */
int mrl_words_init(struct mrl_ctx *ctx)
{
	u32 max = clamp_t(u32, READ_ONCE(mrl_max_leases_per_ctx), 1,
			  MRL_WORDS_MAX);
	unsigned int nr_pages = DIV_ROUND_UP(max, MRL_WORDS_PER_PAGE);

	ctx->word_pages = kvcalloc(nr_pages, sizeof(*ctx->word_pages),
				   GFP_KERNEL_ACCOUNT);
	if (!ctx->word_pages)
		return -ENOMEM;
	ctx->words_max = nr_pages * MRL_WORDS_PER_PAGE;
	ida_init(&ctx->word_ida);
	return 0;
}

/* Bytes of the area (api.words_size). */
u32 mrl_words_size(const struct mrl_ctx *ctx)
{
	return ctx->words_max * sizeof(u64);
}

/* When the context goes; a mapping holds its own page references. */
void mrl_words_free(struct mrl_ctx *ctx)
{
	unsigned int i, nr = 0;

	if (!ctx->word_pages)
		return;
	for (i = 0; i < ctx->words_max / MRL_WORDS_PER_PAGE; i++) {
		if (ctx->word_pages[i]) {
			put_page(ctx->word_pages[i]);
			nr++;
		}
	}
	mrl_user_uncharge_word_pages(ctx->user, nr);
	kvfree(ctx->word_pages);
	ida_destroy(&ctx->word_ida);
}

static u64 *mrl_word_ptr(const struct mrl_lease *lease)
{
	const struct mrl_ctx *ctx = lease->ctx;
	struct page *page = ctx->word_pages[lease->word / MRL_WORDS_PER_PAGE];

	return (u64 *)page_address(page) + lease->word % MRL_WORDS_PER_PAGE;
}

/*
 * Give @lease a word, backing its page if needed: 0, or -ENOMEM.  Without
 * the feature, or with every word taken, the lease has none
 * (MRLEASE_NO_WORD).  Under ctx->mutex, before the lease is armed.
 */
int mrl_words_get(struct mrl_ctx *ctx, struct mrl_lease *lease)
{
	unsigned int page_nr;
	struct page *page;
	int word;

	lease->word = MRLEASE_NO_WORD;
	if (!ctx->word_pages)
		return 0;
	word = ida_alloc_max(&ctx->word_ida, ctx->words_max - 1,
			     GFP_KERNEL_ACCOUNT);
	if (word == -ENOSPC)
		return 0;
	if (word < 0)
		return word;
	page_nr = word / MRL_WORDS_PER_PAGE;
	if (!ctx->word_pages[page_nr]) {
		if (!mrl_user_charge_word_page(ctx->user)) {
			ida_free(&ctx->word_ida, word);
			return 0;
		}
		page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!page) {
			mrl_user_uncharge_word_pages(ctx->user, 1);
			ida_free(&ctx->word_ida, word);
			return -ENOMEM;
		}
		/* Zeroed before the fault handler can see it. */
		smp_store_release(&ctx->word_pages[page_nr], page);
	}
	lease->word = word;
	return 0;
}

/* The lease is gone (its word is 0 by now).  Under ctx->mutex. */
void mrl_words_put(struct mrl_ctx *ctx, struct mrl_lease *lease)
{
	if (lease->word == MRLEASE_NO_WORD)
		return;
	ida_free(&ctx->word_ida, lease->word);
	lease->word = MRLEASE_NO_WORD;
}

/* ARMED with a new token.  Under ctx->lock. */
void mrl_word_arm(struct mrl_lease *lease)
{
	struct mrl_ctx *ctx = lease->ctx;

	lockdep_assert_held(&ctx->lock);
	if (lease->word == MRLEASE_NO_WORD)
		return;
	lease->token = ++ctx->next_token;
	WRITE_ONCE(*mrl_word_ptr(lease), lease->token);
}

/* Valid again, with the same token: a check found nothing changed. */
void mrl_word_set(struct mrl_lease *lease)
{
	lockdep_assert_held(&lease->ctx->lock);
	if (lease->word != MRLEASE_NO_WORD)
		WRITE_ONCE(*mrl_word_ptr(lease), lease->token);
}

/* Not valid (any more).  Under ctx->lock; the notifier calls it too. */
void mrl_word_clear(struct mrl_lease *lease)
{
	lockdep_assert_held(&lease->ctx->lock);
	if (lease->word != MRLEASE_NO_WORD)
		WRITE_ONCE(*mrl_word_ptr(lease), 0);
}

/*
 * Only pages of words handed out are backed; the rest of the area is a
 * hole (SIGBUS), so that mapping it costs nothing.
 */
static vm_fault_t mrl_words_fault(struct vm_fault *vmf)
{
	struct mrl_ctx *ctx = vmf->vma->vm_file->private_data;
	unsigned long page_nr = vmf->pgoff - MRLEASE_MMAP_WORDS_PGOFF;
	struct page *page;

	if (page_nr >= ctx->words_max / MRL_WORDS_PER_PAGE)
		return VM_FAULT_SIGBUS;
	/* Pairs with the release in mrl_words_get(). */
	page = smp_load_acquire(&ctx->word_pages[page_nr]);
	if (!page)
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct mrl_words_vm_ops = {
	.fault = mrl_words_fault,
};

/* mmap() at MRLEASE_MMAP_WORDS_PGOFF; the caller checked it is read-only. */
int mrl_words_mmap(struct mrl_ctx *ctx, struct vm_area_struct *vma)
{
	if (!ctx->word_pages)
		return -EOPNOTSUPP;
	if (vma_pages(vma) > ctx->words_max / MRL_WORDS_PER_PAGE)
		return -EINVAL;
	vma->vm_ops = &mrl_words_vm_ops;
	return 0;
}
