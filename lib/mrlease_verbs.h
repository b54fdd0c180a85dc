/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libmrlease-verbs: memory regions that survive changes of their mapping.
 *
 * mrlease_verbs_reg_mr() registers an ibv_mr together with a lease on its
 * virtual range.  When the mapping behind the range changes (munmap and a
 * new mmap at the same address, mremap, madvise(MADV_DONTNEED), a truncate
 * of a mapped file), the kernel queues an event, and mrlease_pending() on
 * the context of mrlease_verbs_ctx() turns true.  The application's fast
 * path tests only that; when it is true, or when the fd of
 * mrlease_get_fd() polls readable, the application calls
 * mrlease_verbs_process(), which for each affected MR
 *
 *   1. calls ops->quiesce(): stop posting work requests that use the MR and
 *      wait for the posted ones to complete;
 *   2. acknowledges the event (a waiting truncate goes on);
 *   3. once the range is mapped again, restores the lease and re-registers
 *      the MR on the pages now mapped there: ibv_rereg_mr() in place, or
 *      ibv_dereg_mr() + ibv_reg_mr() where the provider refuses that;
 *   4. calls ops->rekey() with the MR's new lkey and rkey.
 *
 * Between 1 and 4 mrlease_verbs_mr_ibv() returns NULL.  An MR whose range
 * is not mapped yet (munmap, then mmap later) stays that way and is retried
 * by every later mrlease_verbs_process().
 *
 * Not thread-safe: call everything on one mrlease_verbs handle from one
 * thread at a time (typically the progress thread).  The callbacks must not
 * call mrlease_verbs_*() functions other than the two accessors.
 *
 * Every int-returning call returns 0 or a negative errno.
 */
#ifndef LIBMRLEASE_VERBS_H
#define LIBMRLEASE_VERBS_H

#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>
#include <mrlease.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mrlease_verbs;
struct mrlease_verbs_mr;

struct mrlease_verbs_ops {
	/*
	 * The translation of @mr's range changed (@ev says how).  Return 0
	 * once no work request that uses the MR is outstanding and none will
	 * be posted until rekey(); a negative errno to be asked again by the
	 * next mrlease_verbs_process().  NULL: nothing to quiesce.
	 */
	int (*quiesce)(struct mrlease_verbs_mr *mr,
		       const struct mrlease_event *ev, void *arg);
	/* @mr maps the current pages again, with @ibmr's lkey and rkey. */
	void (*rekey)(struct mrlease_verbs_mr *mr, struct ibv_mr *ibmr,
		      void *arg);
};

int mrlease_verbs_open(struct mrlease_verbs **mv,
		       const struct mrlease_verbs_ops *ops, unsigned int flags);
void mrlease_verbs_close(struct mrlease_verbs *mv);
struct mrlease_ctx *mrlease_verbs_ctx(const struct mrlease_verbs *mv);

int mrlease_verbs_reg_mr(struct mrlease_verbs *mv, struct ibv_pd *pd,
			 void *addr, size_t length, int access,
			 unsigned int lease_flags, void *arg,
			 struct mrlease_verbs_mr **mr);
int mrlease_verbs_dereg_mr(struct mrlease_verbs_mr *mr);
int mrlease_verbs_process(struct mrlease_verbs *mv);

struct ibv_mr *mrlease_verbs_mr_ibv(const struct mrlease_verbs_mr *mr);
uint64_t mrlease_verbs_mr_lease(const struct mrlease_verbs_mr *mr);

#ifdef __cplusplus
}
#endif

#endif /* LIBMRLEASE_VERBS_H */
