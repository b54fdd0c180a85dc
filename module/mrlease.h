/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of the mrlease module.  Each .c file owns one concern
 * and exports only its init/uninit pair and the functions declared here.
 */
#ifndef MRLEASE_INTERNAL_H
#define MRLEASE_INTERNAL_H

#include <linux/idr.h>
#include <linux/interval_tree.h>
#include <linux/mmu_notifier.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/path.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/linux/mrlease.h>

struct pid_namespace;
struct pid;

/* Module parameters (main.c). */
extern unsigned int mrl_break_timeout_ms;
extern unsigned int mrl_max_break_timeout_ms;
extern unsigned int mrl_max_leases_per_ctx;
extern unsigned int mrl_max_leases_per_user;

#define MRL_MAX_TIMEOUT_MS	3600000U

/*
 * Lease states besides the uapi's MRLEASE_STATE_*: ARMING while register or
 * restore pins and arms it (nothing breaks it, a change of the range makes
 * the arm retry), DYING once unregister, close or exit started tearing it
 * down (nothing may break it or queue its work any more).
 */
#define MRL_STATE_ARMING	0
#define MRL_STATE_DYING		0xffU

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
	struct pid *owner;		/* opener's thread group */
	char owner_comm[TASK_COMM_LEN];
	kuid_t uid;			/* opener's euid: who sees the leases */
	bool setid;			/* opened set-id: leases for admins only */
	struct mrl_user *user;
	/* CAP_SYS_ADMIN of the last arm's credentials (arm.c), under mutex */
	const struct cred *admin_cred;	/* referenced till close */
	unsigned long admin_asked;	/* jiffies */
	bool admin;
	u64 features;
	bool api_done;
	bool mm_exited;			/* under lock: nobody left to ack */

	/* notifier.c: one mm notifier, the leases in an interval tree */
	struct mmu_interval_notifier notifier;
	bool notifier_attached;		/* under mutex, till close */
	struct rb_root_cached itree;	/* struct mrl_lease.it, under lock */
	/* anchor.c: a mapping of each fsdax file pinned, before 6.15 */
	struct rb_root_cached anchors;	/* under lock */
	struct list_head anchor_list;	/* changed under mutex and lock */
	unsigned int fsdax_pins;	/* leases with pins->fsdax, under lock */

	struct mutex mutex;		/* create, arm, destroy leases */
	struct list_head layouts;	/* struct mrl_layout.ctx_node */
	unsigned int nr_leases;

	spinlock_t lock;		/* states, events, status page */
	struct list_head events;	/* struct mrl_lease_break.event_node */
	/* Records that may come: page-table checks, breaks not recorded. */
	unsigned int expecting;
	unsigned int unrecorded;	/* of them, lease->unrecorded_reason */
	wait_queue_head_t wait;
	struct fasync_struct *fasync;
	struct mrlease_status *status;	/* the page user space maps */

	/* Break timeouts (lease.c): BROKEN leases by deadline, one work. */
	struct rb_root_cached deadlines;	/* under lock */
	struct delayed_work timeout_work;
	/* Breaks the monitor group has not heard of yet (lease.c). */
	struct list_head ntf_leases;		/* under lock */
	struct work_struct ntf_work;
	/* Records breaks that found no memory for one (lease.c). */
	struct delayed_work record_work;

	/* Validity words (words.c); NULL/0 without the feature. */
	struct page **word_pages;	/* published with release */
	u32 words_max;
	struct ida word_ida;		/* under mutex */
	u64 next_token;			/* under lock */
};

/*
 * The FL_LAYOUT lease a context holds on one file, shared by its leases on
 * that file (filelease.c).
 */
struct mrl_layout {
	struct list_head ctx_node;	/* on ctx->layouts, under ctx->mutex */
	struct mrl_ctx *ctx;
	struct file *file;		/* referenced; the lease is keyed on it */
	unsigned int users;		/* leases, under ctx->mutex */
	struct list_head leases;	/* mrl_lease.layout_node, ctx->lock */
	u32 state;			/* MRLEASE_LAYOUT_*, under ctx->lock */
	int error;			/* of the last vfs_setlease() */
	bool unused;			/* last lease gone: release for good */
	bool unlock_failed;		/* the acker's F_UNLCK: the work retries */
	struct work_struct release_work;
};

/* A set of pinned pages and the RLIMIT_MEMLOCK charge that goes with it. */
/*
 * References to the files whose pages a lease pins: an evicted inode would
 * have its pages truncated, and fsdax blocks reused, under our pins.
 */
struct mrl_files {
	struct file **files;
	unsigned int nr, cap;
};

struct mrl_pins {
	struct kref ref;
	struct mm_struct *mm;		/* mmgrab()ed, charged for pinned_vm */
	struct mrl_files files;		/* held until the pins go */
	unsigned long nr;
	bool dirty;			/* the device may have written them */
	bool fsdax;			/* of a range that maps an fsdax file */
	/* The DAX pages not unpinned yet are in [dax_first, dax_end); 0: none */
	unsigned long dax_first, dax_end;
	unsigned long zero;		/* of them, shared zero pages */
	struct work_struct put_work;	/* mrl_pins_put_deferred() */
	struct mrl_pins *sync_next;	/* mrl_pins_put_chain() */
	struct page *pages[];		/* NULL once unpinned (DAX first) */
};

/* Who changed a lease's range, as seen in the notifier. */
struct mrl_breaker {
	pid_t pid;			/* in the context's pid namespace */
	char comm[TASK_COMM_LEN];
	bool kthread;
	bool self;			/* the holder's own mm */
	bool unrestartable;		/* a kernel thread or io_uring worker */
};

/*
 * A lease's one event record, kept compact (40 bytes, not the uapi's 96):
 * read() makes a struct mrlease_event of it with the lease's id, cookie and
 * generation, which do not change while it is queued (event.c).
 */
struct mrl_record {
	u64 start, length;
	u8 type, reason, flags;		/* MRLEASE_EVENT_*, _REASON_*, _F_* */
	s32 breaker_pid;
	char breaker_comm[16];
};

/*
 * A lease.  The many are armed and unpinned and never break: what only a
 * file, pins, a page-table check or a break needs is elsewhere.
 */
struct mrl_lease {
	/* The range, [it.start, it.last], in ctx->itree, under ctx->lock. */
	struct interval_tree_node it;
	struct mrl_ctx *ctx;
	u64 id;				/* in the global registry */
	u64 cookie;
	u64 token;			/* its word's value while ARMED */
	u64 generation;			/* under ctx->lock */
	u32 changes;			/* invalidations seen, under ctx->lock */
	u32 word;			/* validity word or MRLEASE_NO_WORD */
	u32 timeout_ms;
	u8 flags;			/* MRLEASE_REG_* */
	u8 state;			/* MRLEASE_STATE_*, MRL_STATE_*: lock */
	/* BROKEN with no memory for its record yet: why (lease.c) */
	u8 unrecorded_reason;		/* MRLEASE_REASON_* or 0, under lock */

	/* Filled at each arm, under ctx->mutex and ctx->lock. */
	u8 backing;			/* of the first page */
	u8 backings;			/* BIT(MRLEASE_BACKING_*) of all pages */
	bool may_hold;			/* owns every file, or CAP_LEASE */
	bool admin;			/* CAP_SYS_ADMIN at arm: no ceiling */
	struct mrl_lease_file *file;	/* set once, under mutex and lock */
	struct mrl_pins *pins;		/* under ctx->lock */
	struct mrl_verify *verify;	/* pinned leases only */
	struct mrl_lease_break *brk;	/* set once, under ctx->lock */
};

/*
 * What a lease has once it broke: its record, its places in the context's
 * event queue, notification list and deadline tree, its statistics.  Most
 * leases never break, so it comes with the first break, allocated in the
 * notifier without sleeping; a lease whose break makes the breaker wait
 * (pins, a file-layout lease) gets it at its arm instead, so that such a
 * break never depends on memory.  Kept till the lease goes; under ctx->lock.
 */
struct mrl_lease_break {
	struct mrl_lease *lease;
	struct list_head event_node;	/* on ctx->events while queued */
	struct mrl_record record;
	struct list_head ntf_node;	/* on ctx->ntf_leases */
	/* While BROKEN, in ctx->deadlines until the jiffies of its timeout. */
	struct rb_node deadline_node;
	unsigned long deadline;
	/* The counts stop at U32_MAX. */
	u32 breaks, acks, restores, revokes;
	u64 last_break_ns;		/* CLOCK_REALTIME */
	u64 last_ack_ns;		/* how long the last ack took */
};

static inline unsigned long mrl_lease_end(const struct mrl_lease *lease)
{
	return lease->it.last + 1;
}

/*
 * What a lease over a file keeps of it: allocated by the first arm that
 * finds a file behind the lease's first page and freed with the lease, so
 * that anonymous leases, the many, carry one pointer for it.  Fields under
 * ctx->lock.
 */
struct mrl_lease_file {
	struct mrl_lease *lease;
	struct path path;		/* of the last arm's first page */
	u64 dev, ino, offset;
	struct mrl_layout *layout;	/* set under ctx->mutex and ctx->lock */
	struct list_head layout_node;	/* on layout->leases */
};

static inline struct mrl_layout *mrl_lease_layout(const struct mrl_lease *lease)
{
	return lease->file ? lease->file->layout : NULL;
}

/*
 * A clear of pinned memory, checked against the page tables before it
 * breaks (lease.c).  Only a pinned lease can need one: it is allocated
 * with the lease, and an unpinned lease does not carry its bytes.
 */
struct mrl_verify {
	struct mrl_lease *lease;
	bool pending;			/* under ctx->lock, as the rest */
	u32 reason;
	unsigned long start, end;
	struct mrl_breaker breaker;
	struct work_struct work;
};

/* A consistent copy of a lease for netlink, taken under the locks. */
struct mrl_lease_snapshot {
	u64 id, addr, len, cookie, generation, pinned_pages;
	u64 dev, ino, offset;
	u64 breaks, acks, restores, revokes, last_break_ns, last_ack_ns;
	u32 flags, state, backing, timeout_ms, layout, hold;
	int layout_error;
	struct path path;		/* referenced; mrl_lease_snapshot_put() */
	pid_t owner_pid;		/* in the viewer's pid namespace */
	char owner_comm[TASK_COMM_LEN];
	kuid_t uid;
	u32 reason;			/* of the last break or revoke */
	pid_t breaker_pid;
	char breaker_comm[TASK_COMM_LEN];
};

/* Global counters since load (stats.c). */
struct mrl_stats {
	atomic_t contexts;
	atomic64_t leases;
	atomic64_t pinned_pages;
	atomic64_t registers, breaks, acks, restores, revokes, unregisters;
	atomic64_t ack_hist[MRLEASE_ACK_HIST_BUCKETS];
};

extern struct mrl_stats mrl_stats;

/* stats.c */
void mrl_stats_ack_latency(u64 ns);

/* words.c */
int mrl_words_init(struct mrl_ctx *ctx);
u32 mrl_words_size(const struct mrl_ctx *ctx);
void mrl_words_free(struct mrl_ctx *ctx);
int mrl_words_get(struct mrl_ctx *ctx, struct mrl_lease *lease);
void mrl_words_put(struct mrl_ctx *ctx, struct mrl_lease *lease);
void mrl_word_arm(struct mrl_lease *lease);
void mrl_word_set(struct mrl_lease *lease);
void mrl_word_clear(struct mrl_lease *lease);
int mrl_words_mmap(struct mrl_ctx *ctx, struct vm_area_struct *vma);

/* cdev.c */
int mrl_cdev_init(void);
bool mrl_cdev_is_ours(const struct file *file);
void mrl_cdev_uninit(void);

/* arm.c */
int mrl_lease_arm(struct mrl_ctx *ctx, struct mrl_lease *lease);
bool mrl_files_changing(const struct mrl_files *files);

/* anchor.c */
void mrl_anchors_init(struct mrl_ctx *ctx);
int mrl_anchors_get(struct mrl_ctx *ctx, const struct mrl_files *files);
bool mrl_anchors_cover(struct mrl_ctx *ctx, const struct mrl_files *files);
bool mrl_anchors_unmapped(struct mrl_ctx *ctx, unsigned long start,
			  unsigned long end);
void mrl_anchors_trim(struct mrl_ctx *ctx);
void mrl_anchors_put_all(struct mrl_ctx *ctx);

/* query.c */
int mrl_lease_query(struct mrl_ctx *ctx, struct mrlease_query *q);
void mrl_lease_snapshot_locked(struct mrl_lease *lease,
			       struct mrl_lease_snapshot *snap,
			       struct pid_namespace *pid_ns);
void mrl_lease_snapshot(struct mrl_lease *lease, struct mrl_lease_snapshot *snap,
			struct pid_namespace *pid_ns);
void mrl_lease_snapshot_put(struct mrl_lease_snapshot *snap);
bool mrl_lease_visible(struct mrl_lease *lease, const struct cred *opener,
		       bool admin);

/* lease.c */
extern struct workqueue_struct *mrl_wq;
int mrl_lease_init(void);
void mrl_lease_uninit(void);
int mrl_lease_register(struct mrl_ctx *ctx, struct mrlease_register *reg);
int mrl_lease_unregister(struct mrl_ctx *ctx, const struct mrlease_lease_ref *ref);
int mrl_lease_ack(struct mrl_ctx *ctx, const struct mrlease_lease_ref *ref);
int mrl_lease_restore(struct mrl_ctx *ctx, struct mrlease_restore *res);
struct mrl_lease *mrl_lease_lookup(struct mrl_ctx *ctx, u64 id);
void mrl_lease_destroy_all(struct mrl_ctx *ctx);
void mrl_lease_ctx_init(struct mrl_ctx *ctx);
int mrl_lease_revoke(struct mrl_lease *lease);
u32 mrl_lease_timeout_ms(const struct mrl_lease *lease);
struct mrl_pins *mrl_lease_take_pins(struct mrl_lease *lease);
bool mrl_lease_spans_fsdax(const struct mrl_lease *lease);
void mrl_lease_invalidate(struct mrl_lease *lease, u32 reason,
			  unsigned long start, unsigned long end,
			  struct mrl_pins **sync);
int mrl_lease_break_prepare(struct mrl_lease *lease);
void mrl_lease_break(struct mrl_lease *lease, u32 reason,
		     unsigned long start, unsigned long end,
		     const struct mrl_breaker *breaker,
		     struct mrl_pins **sync);
void mrl_breaker_current(struct mrl_ctx *ctx, struct mrl_breaker *breaker);

/* event.c */
void mrl_event_queue(struct mrl_ctx *ctx, struct mrl_lease *lease);
void mrl_event_dequeue(struct mrl_ctx *ctx, struct mrl_lease *lease);
void mrl_event_expect(struct mrl_ctx *ctx);
void mrl_event_expect_end(struct mrl_ctx *ctx);
bool mrl_event_ready(struct mrl_ctx *ctx);
ssize_t mrl_event_read(struct mrl_ctx *ctx, char __user *buf, size_t count,
		       bool nonblock);

/* filelease.c */
int mrl_layout_attach(struct mrl_lease *lease, struct file *file);
void mrl_layout_detach(struct mrl_lease *lease);
void mrl_layout_settle(struct mrl_layout *layout);
void mrl_layout_grace_start(const struct inode *inode);
bool mrl_layout_breaking(struct inode *inode);
bool mrl_layout_guards(const struct mrl_lease *lease);
bool mrl_layout_release_now(struct mrl_layout *layout);

/* netlink.c */
int mrl_netlink_init(void);
void mrl_netlink_uninit(void);
bool mrl_netlink_has_listeners(void);
void mrl_netlink_notify(struct mrl_lease *lease, u32 ntf);
struct mrl_lease_snapshot;
void mrl_netlink_notify_snapshot(struct mrl_lease_snapshot *snap, u32 ntf);

/* registry.c: global lease ids, for netlink and unique across contexts */
int mrl_registry_init(void);
void mrl_registry_uninit(void);
int mrl_registry_add(struct mrl_lease *lease);
void mrl_registry_remove(struct mrl_lease *lease);
struct mrl_lease *mrl_registry_find_own(struct mrl_ctx *ctx, u64 id);
struct mrl_lease *mrl_registry_find(u64 id);
void mrl_registry_lock(void);
void mrl_registry_unlock(void);
unsigned int mrl_registry_seq(void);
struct mrl_lease *mrl_registry_next(unsigned long *slot);

/* notifier.c */
int mrl_notifier_attach(struct mrl_ctx *ctx);
void mrl_notifier_detach(struct mrl_ctx *ctx);
void mrl_notifier_add(struct mrl_ctx *ctx, struct mrl_lease *lease);
void mrl_notifier_del(struct mrl_ctx *ctx, struct mrl_lease *lease);
u32 mrl_notifier_read_begin(struct mrl_ctx *ctx, struct mrl_lease *lease);
bool mrl_notifier_changed(struct mrl_lease *lease, u32 changes);

/* daxwait.c: the files of DAX pages being unpinned */
#define MRL_DAX_UNPIN_FILES	4
struct mrl_dax_unpin {
	unsigned int nr;
	bool rcu;			/* rcu_read_lock() held since the first */
	struct inode *inodes[MRL_DAX_UNPIN_FILES];
};

void mrl_dax_unpin_note(struct mrl_dax_unpin *u, struct page *page);
void mrl_dax_unpin_done(struct mrl_dax_unpin *u);
void mrl_dax_wait_uninit(void);

/* pin.c */
int mrl_pins_get(struct mm_struct *mm, unsigned long start, unsigned long end,
		 unsigned int gup_flags, bool fsdax, struct mrl_files *files,
		 int (*publish)(struct mrl_pins *pins, void *arg), void *arg);
int mrl_files_add(struct mrl_files *files, struct file *file);
void mrl_files_finish(struct mrl_files *files);
void mrl_files_put(struct mrl_files *files);
struct mrl_pins *mrl_pins_ref(struct mrl_pins *pins);
void mrl_pins_unref(struct mrl_pins *pins);
void mrl_pins_unpin_dax(struct mrl_pins *pins);
void mrl_pins_put(struct mrl_pins *pins);
void mrl_pins_put_deferred(struct mrl_pins *pins);
void mrl_pins_put_chain(struct mrl_pins *chain);
int mrl_pins_init(void);
void mrl_pins_uninit(void);
bool mrl_pins_mapped(struct mrl_pins *pins, unsigned long start);

/* race.c: held-open race windows, MRLEASE_RACE_WINDOWS=1 builds only */
#ifdef MRLEASE_RACE_WINDOWS
void mrl_race_window(const char *where, bool atomic);
bool mrl_race_nomem(void);
#else
static inline void mrl_race_window(const char *where, bool atomic) { }
static inline bool mrl_race_nomem(void) { return false; }
#endif

/* user.c */
struct mrl_user *mrl_user_get(kuid_t uid);
void mrl_user_put(struct mrl_user *user);
bool mrl_user_charge_lease(struct mrl_user *user);
void mrl_user_uncharge_lease(struct mrl_user *user);
bool mrl_user_charge_word_page(struct mrl_user *user);
void mrl_user_uncharge_word_pages(struct mrl_user *user, unsigned int nr);
void mrl_user_uninit(void);

#endif /* MRLEASE_INTERNAL_H */
