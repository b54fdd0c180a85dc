/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of the mrlease module.  Each .c file owns one concern
 * and exports only its init/uninit pair and the functions declared here.
 */
#ifndef MRLEASE_INTERNAL_H
#define MRLEASE_INTERNAL_H

#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/linux/mrlease.h>

struct pid_namespace;

/* Module parameters (main.c). */
extern unsigned int mrl_break_timeout_ms;
extern unsigned int mrl_max_leases_per_ctx;
extern unsigned int mrl_max_leases_per_user;

#define MRL_MAX_TIMEOUT_MS	3600000U

/* Per-uid lease count, shared by all contexts of one user (user.c). */
struct mrl_user;

/*
 * One open file of /dev/mrlease.  @mutex serialises the ioctls that create,
 * arm or destroy leases; @lock (a spinlock, because the mm notifier must not
 * sleep) protects lease states, the event queue and the status page.
 */
struct mrl_ctx {
	struct mm_struct *mm;		/* mmgrab()ed opener's mm */
	struct pid_namespace *pid_ns;	/* opener's, for breaker pids */
	struct mrl_user *user;
	u64 features;
	bool api_done;

	struct mutex mutex;		/* create, arm, destroy leases */
	struct xarray leases;		/* id -> struct mrl_lease */
	u32 next_id;
	unsigned int nr_leases;

	spinlock_t lock;		/* states, events, status page */
	struct list_head events;	/* leases with a queued record */
	wait_queue_head_t wait;
	struct fasync_struct *fasync;
	struct mrlease_status *status;	/* the page user space maps */
};

/* A set of pinned pages and the RLIMIT_MEMLOCK charge that goes with it. */
struct mrl_pins {
	struct page **pages;
	unsigned long nr;
	bool dirty;			/* the device may have written them */
};

struct mrl_lease {
	struct mmu_interval_notifier notifier;
	struct mrl_ctx *ctx;
	u32 id;
	u32 flags;			/* MRLEASE_REG_* */
	u32 timeout_ms;
	unsigned long start, end;	/* page aligned, end exclusive */
	u64 cookie;

	/* Filled at each arm; read under ctx->mutex. */
	u32 backing;
	u64 dev, ino, offset;

	/* Under ctx->lock. */
	u32 state;			/* MRLEASE_STATE_* or 0 while arming */
	u64 generation;
	u32 breaks;
	struct list_head event_node;	/* on ctx->events while queued */
	struct mrlease_event event;
	struct mrl_pins pins;

	struct work_struct unpin_work;	/* drop pins outside the notifier */
	struct delayed_work timeout_work;
};

/* cdev.c */
int mrl_cdev_init(void);
void mrl_cdev_uninit(void);

/* lease.c */
int mrl_lease_register(struct mrl_ctx *ctx, struct mrlease_register *reg);
int mrl_lease_unregister(struct mrl_ctx *ctx, const struct mrlease_lease_ref *ref);
int mrl_lease_ack(struct mrl_ctx *ctx, const struct mrlease_lease_ref *ref);
int mrl_lease_restore(struct mrl_ctx *ctx, struct mrlease_restore *res);
int mrl_lease_query(struct mrl_ctx *ctx, struct mrlease_query *q);
void mrl_lease_destroy_all(struct mrl_ctx *ctx);
void mrl_lease_break(struct mrl_lease *lease, u32 reason, unsigned long start,
		     unsigned long end);

/* event.c */
void mrl_event_queue(struct mrl_ctx *ctx, struct mrl_lease *lease);
void mrl_event_dequeue(struct mrl_ctx *ctx, struct mrl_lease *lease);
ssize_t mrl_event_read(struct mrl_ctx *ctx, char __user *buf, size_t count,
		       bool nonblock);

/* notifier.c */
extern const struct mmu_interval_notifier_ops mrl_notifier_ops;

/* pin.c */
int mrl_pins_get(struct mm_struct *mm, unsigned long start, unsigned long end,
		 unsigned int gup_flags, struct mrl_pins *pins);
void mrl_pins_put(struct mm_struct *mm, struct mrl_pins *pins);

/* user.c */
struct mrl_user *mrl_user_get(kuid_t uid);
void mrl_user_put(struct mrl_user *user);
bool mrl_user_charge_lease(struct mrl_user *user);
void mrl_user_uncharge_lease(struct mrl_user *user);
void mrl_user_uninit(void);

#endif /* MRLEASE_INTERNAL_H */
