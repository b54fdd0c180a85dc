/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libmrlease: memory-region leases for RDMA libraries.
 *
 * Open a context, register a lease on the virtual range of each memory
 * region, watch mrlease_get_fd() in your poll loop (or test
 * mrlease_pending() on your fast path: one load, no system call), and for
 * each event quiesce the traffic on that region, mrlease_ack_event(), then
 * mrlease_restore() once the range is mapped again and re-register the MR.
 *
 * Every int-returning call returns 0 or a negative errno.
 */
#ifndef LIBMRLEASE_H
#define LIBMRLEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/mrlease.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mrlease_ctx;

/* mrlease_register() flags. */
#define MRLEASE_PIN		MRLEASE_REG_PIN		/* pin while leased */
#define MRLEASE_WAIT_SELF	MRLEASE_REG_WAIT_SELF	/* see the uapi header */

/*
 * What mrlease_query() reports of one lease.  Size-versioned: fields are
 * only ever appended, and the library fills as much as the caller's
 * structure holds (mrlease_query_info(3)).
 */
struct mrlease_info {
	uint64_t id;
	uint64_t generation;
	uint64_t addr;
	uint64_t length;
	uint64_t cookie;
	uint64_t pinned_pages;
	uint64_t dev;		/* file backings: device, new_encode_dev() */
	uint64_t ino;		/* file backings: inode number */
	uint64_t offset;	/* file backings: file offset of addr */
	uint32_t state;		/* MRLEASE_STATE_* */
	uint32_t flags;		/* MRLEASE_PIN, MRLEASE_WAIT_SELF */
	uint32_t backing;	/* MRLEASE_BACKING_* */
	uint32_t timeout_ms;
	uint32_t breaks;
	uint32_t hold;		/* MRLEASE_HOLD_*: does a foreign break wait? */
	/* Version 1.1 (LIBMRLEASE_1.1): */
	uint32_t layout;	/* MRLEASE_LAYOUT_*: the file-layout lease */
	int32_t layout_error;	/* MRLEASE_LAYOUT_REFUSED: why (-errno) */
};

/* struct mrlease_info as LIBMRLEASE_1 (version 1.0) knew it. */
#define MRLEASE_INFO_SIZE_VER0	96

int mrlease_open(struct mrlease_ctx **ctx, unsigned int flags);
void mrlease_close(struct mrlease_ctx *ctx);
/* Version 1.2 (LIBMRLEASE_1.2): a forked child lets go of its parent's context. */
void mrlease_forget(struct mrlease_ctx *ctx);
int mrlease_get_fd(const struct mrlease_ctx *ctx);

int mrlease_register(struct mrlease_ctx *ctx, const void *addr, size_t len,
		     uint64_t cookie, unsigned int flags, uint64_t *id);
int mrlease_register_timeout(struct mrlease_ctx *ctx, const void *addr,
			     size_t len, uint64_t cookie, unsigned int flags,
			     unsigned int timeout_ms, uint64_t *id);
int mrlease_unregister(struct mrlease_ctx *ctx, uint64_t id);

bool mrlease_pending(const struct mrlease_ctx *ctx);

/*
 * The same check without a call: mrlease_get_status() once, then
 * mrlease_status_pending() on the fast path (one load).
 */
const volatile struct mrlease_status *
mrlease_get_status(const struct mrlease_ctx *ctx);

static inline bool
mrlease_status_pending(const volatile struct mrlease_status *status)
{
	return __atomic_load_n(&status->pending, __ATOMIC_RELAXED) != 0;
}

/*
 * "Is this lease still valid?" in one load, for a registration cache that
 * asks on every hit: register (and restore) with the _valid variants, keep
 * the struct mrlease_valid in the cache entry, and call mrlease_valid().
 * It is true while the lease is ARMED (the module clears the word before it
 * reports a break); false once it broke, was revoked or unregistered, and
 * always false where the module gives the lease no word (an older module,
 * or more leases than words): then rely on the events alone.
 */
struct mrlease_valid {
	const volatile uint64_t *word;	/* NULL: no word */
	uint64_t token;
};

int mrlease_register_valid(struct mrlease_ctx *ctx, const void *addr,
			   size_t len, uint64_t cookie, unsigned int flags,
			   unsigned int timeout_ms, uint64_t *id,
			   struct mrlease_valid *valid);
int mrlease_restore_valid(struct mrlease_ctx *ctx, uint64_t id,
			  uint64_t *generation, struct mrlease_valid *valid);

static inline bool mrlease_valid(const struct mrlease_valid *valid)
{
	return valid->word &&
	       __atomic_load_n(valid->word, __ATOMIC_ACQUIRE) == valid->token;
}
int mrlease_get_event(struct mrlease_ctx *ctx, struct mrlease_event *ev);
int mrlease_ack_event(struct mrlease_ctx *ctx, const struct mrlease_event *ev);
int mrlease_restore(struct mrlease_ctx *ctx, uint64_t id,
		    uint64_t *generation);
int mrlease_query(struct mrlease_ctx *ctx, uint64_t id,
		  struct mrlease_info *info);
int mrlease_query_info(struct mrlease_ctx *ctx, uint64_t id,
		       struct mrlease_info *info, size_t size);
/*
 * Programs built with this header pass the size of their structure, so
 * that an older or newer library fills exactly that much.  The function
 * mrlease_query() stays for programs built before: it fills the 1.0
 * structure (MRLEASE_INFO_SIZE_VER0 bytes).
 */
#define mrlease_query(ctx, id, info) \
	mrlease_query_info((ctx), (id), (info), sizeof(*(info)))

const char *mrlease_strerror(int err);
const char *mrlease_reason_str(uint32_t reason);
const char *mrlease_state_str(uint32_t state);

#ifdef __cplusplus
}
#endif

#endif /* LIBMRLEASE_H */
