/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * mrlease: memory-region leases for RDMA memory registrations.
 *
 * An RDMA memory region (MR) lets a device DMA into a process's pages by
 * virtual address for as long as the MR lives.  When the mapping behind that
 * address changes (munmap, mremap, mmap(MAP_FIXED), madvise(MADV_DONTNEED),
 * or a truncate / hole punch of a DAX file mapped there) the MR silently
 * points at the wrong pages.  An mrlease "lease" covers the virtual range of
 * an MR; anything that changes the translation of that range "breaks" the
 * lease, and the holder learns about it through an event on a pollable file
 * descriptor.
 *
 * Context
 * -------
 * Every open() of /dev/mrlease is a context bound to the opener's address
 * space (mm).  Only tasks sharing that mm may register or restore leases;
 * others get -EPERM.  Closing the last reference to the file, or the exit
 * of the process, releases every lease and every pin at once.
 *
 * Handshake
 * ---------
 * MRLEASE_IOC_API must be the first ioctl: user space states the API version
 * it speaks (MRLEASE_API) and the features it wants; the kernel answers with
 * the features it granted and all the features it supports.  Every other
 * ioctl and mmap() fails with -EBADFD until the handshake is done; a second
 * handshake fails with -EBUSY.
 *
 * Growing the ABI
 * ---------------
 * What a later module may change, and what a client must do so that it keeps
 * working with older and newer modules:
 *  - ioctl structures are size-versioned like openat2's: the size is in the
 *    ioctl number, fields are only ever appended, and the module takes any
 *    size from the structure's first version (MRLEASE_*_SIZE_VER0) up, as
 *    long as the bytes it does not know are zero (-E2BIG otherwise), and
 *    copies back no more than the caller passed.  Reserved fields and
 *    padding must be zero.
 *  - New behaviour comes only with a new feature bit, granted by the
 *    handshake.  A module refuses bits it does not know (-EINVAL) but still
 *    reports .supported and the sizes: ask again with what it supports.
 *  - The event record, the status page and the validity words grow only at
 *    their end: use the sizes the handshake reports (event_size,
 *    status_size, words_size) and ignore what follows the fields you know.
 *  - Netlink attributes are append only; ignore attributes, flags and
 *    enumeration values (states, reasons, backings, ...) you do not know.
 *
 * Lease life cycle
 * ----------------
 *   ARMED --break--> BROKEN --ack--> ACKED --restore--> ARMED
 *                      |  \                               ^
 *                      |   `--timeout--> REVOKED ---------'
 *                      `------------------ restore -------'
 *
 * A lease is being armed (inside register and restore) before it is ARMED;
 * nothing breaks it then, but a change of its range makes the arm start
 * over.  Unregister, close and exit take a lease in any state out of every
 * path that could break it or queue its work before tearing it down.
 *
 * MRLEASE_IOC_REGISTER rounds [addr, addr + len) out to whole pages; the
 * range must be covered without holes by mappings of the caller's mm
 * (VM_IO / VM_PFNMAP mappings are refused).  With MRLEASE_REG_PIN the pages
 * are pinned for as long as the lease is ARMED or BROKEN (FOLL_LONGTERM where
 * the kernel allows it; fsdax mappings get plain pins, which a truncate or
 * hole punch of the file waits for).  Pinned pages are charged to
 * RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK.
 *
 * A change of the translation of any page of the range (unmap, clear,
 * migration, exit) breaks an ARMED lease: it becomes BROKEN and one
 * MRLEASE_EVENT_DECOHERENCE record is queued.  Protection-only changes
 * (mprotect, fork write-protection, NUMA scanning, writeback) do not break a
 * lease, nor do kernel threads (ksmd, kcompactd, kswapd, khugepaged) that
 * try to move pinned anonymous pages and give up, nor reclaim (kswapd,
 * direct reclaim, MADV_PAGEOUT) unmapping pinned shmem or page-cache pages
 * it cannot free: the same pages come back on the next fault.  To avoid false breaks,
 * when a pinned anonymous range is cleared (madvise, a transparent huge
 * page split by an mprotect or munmap of part of it, a failed migration),
 * the module first checks, once the clear is over, whether the pinned pages
 * are still mapped, and breaks the lease only if they are not.  While such
 * a check runs it counts in the status page's @pending and poll() reports
 * EPOLLIN, so a holder that looks right after its own madvise() never
 * trusts a range that is about to break.
 *
 * At most one record per lease is ever queued: further breaks of a lease
 * whose record has not been read yet widen the record's range, so the queue
 * is bounded by the number of leases and never overflows.  The first break
 * of an unpinned lease that holds no file-layout lease finds the record's
 * memory without sleeping; when memory is that short, the lease is BROKEN
 * at once all the same (its validity word cleared, @pending counting it,
 * poll() reporting EPOLLIN) and its record follows as soon as memory is
 * found, covering the whole lease, with no breaker and no
 * MRLEASE_EVENT_F_SELF (and its ack timeout starts then).  Pinned leases,
 * and leases whose first page maps a file of a disk filesystem (DAX or page
 * cache, not tmpfs), never wait for memory to break.
 *
 * A pinned lease keeps its pins while BROKEN so that pages cannot be reused
 * while DMA may still be in flight: a foreign truncate or hole punch of an
 * fsdax file waits in the filesystem until the holder acknowledges.  The
 * module itself never sleeps on user space inside the mm notifier.  A break
 * caused by the holder's own process (for instance its own munmap or its own
 * truncate) drops the pins at once, so a single-threaded holder never waits
 * on itself, and the record carries MRLEASE_EVENT_F_SELF.  With
 * MRLEASE_REG_WAIT_SELF the pins are kept for self-inflicted breaks too (use
 * it only when another thread acknowledges) -- except when the holder's own
 * munmap, mremap, mmap(MAP_FIXED) or exit removes the mapping of a range that
 * spans an fsdax file: filesystems wait for busy DAX pages only while the
 * file is mapped, so those pins are dropped before the unmap returns.
 *
 * Who may make whom wait
 * ----------------------
 * The kernel's own rule is the model: a file lease (fcntl(F_SETLEASE),
 * FL_LAYOUT) needs the file's ownership or CAP_LEASE, and the wait it
 * imposes on others is bounded by the administrator's fs.lease-break-time.
 * So:
 *  - a pinned lease makes a break by another process wait for its ack only
 *    if, at its last register or restore, the holder owned every file its
 *    range maps or had CAP_LEASE (MRLEASE_HOLD_WAIT in struct
 *    mrlease_query).  Otherwise (MRLEASE_HOLD_NOT_OWNER) every break is still
 *    detected and reported, but the pins are dropped at once
 *    (MRLEASE_EVENT_F_UNPINNED) and the breaker goes on;
 *  - a break waits at most the lease's timeout_ms, which for a holder
 *    without CAP_SYS_ADMIN is capped by the module parameter
 *    max_break_timeout_ms (default 45000 ms), also at break time;
 *  - waits cannot be chained: while a truncate, hole punch or write holds a
 *    file of the range (i_rwsem), or a layout lease on one of its files is
 *    being broken (XFS waits for those with i_rwsem dropped, then for busy
 *    DAX pages again), no register or restore of anyone pins the range or
 *    takes a layout lease for it (-EAGAIN), and the module never holds a
 *    filesystem lock while it pins (a fault may wait on user space:
 *    userfaultfd, FUSE).  On XFS a change can thus wait once for pins and
 *    once for layout leases, each wait bounded, never more;
 *  - the file-layout lease (below) is bounded by fs.lease-break-time like
 *    any other lease.
 *
 * File-layout leases: when the first page of a lease is a file mapping
 * (not shmem), the context also takes an FL_LAYOUT lease on that file (the
 * kind the pNFS server uses), shared by all of the context's leases on the
 * file.  A filesystem that breaks layout leases before changing the file's
 * block map (XFS: truncate, every fallocate mode, reflink and dedupe, and
 * every write()) then breaks those leases with MRLEASE_REASON_LAYOUT and
 * waits, with no filesystem lock held, until every one of them is acked,
 * revoked or unregistered; the file lease is released then, and restore
 * takes it again.  XFS cannot tell an allocating write from an overwrite, so
 * a write() by another process to a leased XFS file breaks its leases too;
 * the holder's own writes and truncates never wait on its own layout lease
 * (they still break leases through the mm notifier when they unmap pages).
 * ext4 never breaks layout leases: there the pins and the notifier protect.
 * If the kernel refuses the file lease (see struct mrlease_query), the lease
 * works with pins and the notifier alone.
 *
 * MRLEASE_IOC_ACK {id, generation} says the holder has quiesced DMA on the
 * range: the pins are dropped, a waiting breaker goes on, and the lease is
 * ACKED.  If no ack comes within the lease's break timeout (pinned or not),
 * the lease is REVOKED: pins dropped and an MRLEASE_EVENT_REVOKED record
 * queued (it replaces the decoherence record if that was not read yet).
 *
 * MRLEASE_IOC_RESTORE re-validates the same virtual range, now backed by
 * whatever pages are mapped there, re-pins it if the lease is pinned, bumps
 * the generation and re-arms the lease.  Restoring a BROKEN lease implies the
 * ack.  MRLEASE_IOC_UNREGISTER drops a lease in any state.
 *
 * Events
 * ------
 * read() returns whole struct mrlease_event records, as many as fit; a buffer
 * smaller than one record fails with -EINVAL.  The record may grow at its end
 * in a later module (never shrink or change what is there): read records of
 * api.event_size bytes, the size the handshake reports, and ignore what
 * follows the fields you know.  read() blocks (interruptibly)
 * unless O_NONBLOCK, then -EAGAIN.  poll()/epoll report EPOLLIN while records
 * are queued, and while a page-table check runs (see above); read() waits up
 * to 100 ms for running checks, but a check may end without a record.  As
 * select(2) says of sockets, read with O_NONBLOCK after poll() and take
 * -EAGAIN as "poll again" (libmrlease does); a blocking read() then waits
 * for the next record.  fasync (F_SETOWN + O_ASYNC) sends SIGIO.
 *
 * Status page
 * -----------
 * mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0) with size up to one page
 * maps a read-only struct mrlease_status.  Its event_seq changes with every
 * queued record, so "anything new?" is a single load and no system call.
 * Writable or executable mappings fail with -EPERM, oversized ones or a
 * nonzero offset with -EINVAL.
 *
 * Validity words
 * --------------
 * "Is this lease still valid?" in one load, for a registration cache that
 * asks on every hit (MRLEASE_FEATURE_VALID_WORDS).  With the feature,
 * register gives each lease a word in a read-only array of __u64 that user
 * space maps at page offset MRLEASE_MMAP_WORDS_PGOFF (mmap(NULL,
 * api.words_size, PROT_READ, MAP_SHARED, fd, MRLEASE_MMAP_WORDS_PGOFF *
 * page size)), and a token.  The word holds the token exactly while the
 * lease is ARMED and no page-table check of it is running; the module
 * clears it (0) before it queues the record of a break, before the
 * breaker goes on, and when the lease is unregistered.  Restore arms the
 * lease with a new token.  Tokens are never reused within a context, so an
 * entry that kept a word and token of a lease since unregistered never sees
 * its token again.  A context holding more leases than the area has words
 * gets MRLEASE_NO_WORD for the rest, and so does a user whose contexts
 * hold twice the word pages max_leases_per_user needs (pages stay until
 * their context is closed).  Only the pages of words that were ever handed
 * out are backed: touching others raises SIGBUS.  Mapping the area writable
 * or executable fails with -EPERM, beyond api.words_size with -EINVAL,
 * without the feature with -EOPNOTSUPP.
 *
 * ioctl argument structures
 * -------------------------
 * All fields are naturally aligned, without implicit padding.  Reserved
 * fields and unknown flag bits must be zero (-EINVAL otherwise).  The size
 * of each structure is encoded in the ioctl number; as with openat2(2), a
 * newer (bigger) structure is accepted if its extra bytes are zero (else
 * -E2BIG), an older (smaller) one is zero-extended, one smaller than the
 * first version fails with -EINVAL.  Unknown ioctls fail with -ENOTTY.
 *
 * Errors common to all ioctls: -EFAULT (bad user pointer), -EINVAL (reserved
 * field or unknown flag set, bad size), -EBADFD (no handshake yet), -ENOENT
 * (no lease with that id in this context).  Per-call errors are listed at
 * each structure.
 */
#ifndef _UAPI_LINUX_MRLEASE_H
#define _UAPI_LINUX_MRLEASE_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/const.h>

#define MRLEASE_DEVICE_NAME	"mrlease"
#define MRLEASE_API		1

/* Features, negotiated by MRLEASE_IOC_API. */
#define MRLEASE_FEATURE_PIN		_BITULL(0) /* MRLEASE_REG_PIN */
#define MRLEASE_FEATURE_STATUS_PAGE	_BITULL(1) /* mmap() of the status page */
#define MRLEASE_FEATURE_WAIT_SELF	_BITULL(2) /* MRLEASE_REG_WAIT_SELF */
#define MRLEASE_FEATURE_VALID_WORDS	_BITULL(3) /* per-lease validity words */
#define MRLEASE_FEATURE_ALL		(MRLEASE_FEATURE_PIN |		\
					 MRLEASE_FEATURE_STATUS_PAGE |	\
					 MRLEASE_FEATURE_WAIT_SELF |	\
					 MRLEASE_FEATURE_VALID_WORDS)

/* mmap() page offset of the validity words (the status page is page 0). */
#define MRLEASE_MMAP_WORDS_PGOFF	1
/* A lease without a validity word. */
#define MRLEASE_NO_WORD			0xffffffffU

/**
 * struct mrlease_api - MRLEASE_IOC_API
 * @api:	in: MRLEASE_API.  Any other value: -EINVAL.
 * @features:	in: features wanted; out: features granted.  Unknown bits
 *		fail with -EINVAL, and then, for this @api, the structure
 *		still comes back with @features 0 and @supported, @event_size
 *		and @status_size filled in, so that a caller can ask again
 *		with what is supported (the context stays without a
 *		handshake).
 * @supported:	out: every feature this module supports.
 * @event_size:	out: sizeof(struct mrlease_event) of this module.
 * @status_size: out: size of struct mrlease_status of this module.
 * @words_size:	out: with MRLEASE_FEATURE_VALID_WORDS, the size in bytes of
 *		the validity word area (a multiple of the page size), else 0.
 *		(Added in the second version of this structure.)
 * @reserved:	must be 0.
 */
struct mrlease_api {
	__u64 api;
	__u64 features;
	__u64 supported;
	__u32 event_size;
	__u32 status_size;
	__u32 words_size;
	__u32 reserved;
};

#define MRLEASE_API_SIZE_VER0		32

/* Register flags. */
#define MRLEASE_REG_PIN		_BITUL(0) /* pin the pages while ARMED/BROKEN */
#define MRLEASE_REG_WAIT_SELF	_BITUL(1) /* keep pins on self-inflicted breaks */
#define MRLEASE_REG_ALL		(MRLEASE_REG_PIN | MRLEASE_REG_WAIT_SELF)

/**
 * struct mrlease_register - MRLEASE_IOC_REGISTER
 * @addr:	in: start of the range (rounded down to a page).
 * @len:	in: length in bytes (the end is rounded up to a page).
 * @cookie:	in: opaque value echoed in every event of this lease.
 * @flags:	in: MRLEASE_REG_*.  A flag whose feature was not negotiated
 *		fails with -EOPNOTSUPP.
 * @timeout_ms:	in: break timeout, 0 for the module default (parameter
 *		break_timeout_ms); at most 3600000 (-EINVAL above).  For a
 *		caller without CAP_SYS_ADMIN every break waits at most the
 *		administrator's ceiling (parameter max_break_timeout_ms,
 *		default 45000, like fs.lease-break-time), whatever was asked.
 * @id:		out: lease id, unique among all contexts, never 0, below
 *		2^53; not reused for a long time (not before 2^29 other
 *		registrations), not ordered.
 * @generation:	out: generation of the lease, bumped by each restore.
 * @token:	out: with MRLEASE_FEATURE_VALID_WORDS, the value of the
 *		lease's validity word while it is ARMED (never 0), else 0.
 * @word:	out: index of that word in the area, or MRLEASE_NO_WORD.
 * @reserved:	must be 0.
 *		(@token, @word and @reserved were added in the second version
 *		of this structure.)
 *
 * Errors: -EINVAL zero length, a range that wraps or reaches past the user
 * address space; -EFAULT part of the range is not mapped, or the id could not
 * be copied out (no lease is left behind); -EACCES a VM_IO /
 * VM_PFNMAP mapping, or a mapping of /dev/mrlease itself, in the range;
 * -EPERM the caller's mm is not the context's; -ENOMEM pinning would
 * exceed RLIMIT_MEMLOCK, or the module-wide cap on pins of the shared zero
 * page (memory never written), or out of memory; -EMFILE the per-context
 * lease limit (parameter max_leases_per_ctx); -EUSERS the per-user limit
 * (parameter max_leases_per_user); -ENOSPC 2^24 - 2 leases exist in all
 * contexts together; -EOPNOTSUPP the pages cannot be pinned
 * (among them DAX pages shared by reflinked files); -EAGAIN a pinned range
 * kept changing while it was pinned, or a truncate, hole punch or write of
 * one of its files is in progress, or a layout lease on one of them is being
 * broken (retry).
 */
struct mrlease_register {
	__u64 addr;
	__u64 len;
	__u64 cookie;
	__u32 flags;
	__u32 timeout_ms;
	__u64 id;
	__u64 generation;
	__u64 token;
	__u32 word;
	__u32 reserved;
};

#define MRLEASE_REGISTER_SIZE_VER0	48

/**
 * struct mrlease_lease_ref - MRLEASE_IOC_UNREGISTER, MRLEASE_IOC_ACK
 * @id:		in: lease id.
 * @generation:	in: for ACK: the generation of the event being acknowledged;
 *		for UNREGISTER: must be 0.
 * @flags:	in: must be 0.
 * @reserved:	must be 0.
 *
 * ACK errors: -ESTALE the generation is not the lease's current one;
 * -EINVAL the lease is ARMED (nothing to acknowledge) or already ACKED;
 * -ETIMEDOUT the lease was revoked before the ack came.
 */
struct mrlease_lease_ref {
	__u64 id;
	__u64 generation;
	__u32 flags;
	__u32 reserved;
};

/**
 * struct mrlease_restore - MRLEASE_IOC_RESTORE
 * @id:		in: lease id.
 * @flags:	in: must be 0.
 * @reserved:	must be 0.
 * @generation:	out: the new generation.
 * @token:	out: the validity word's new value (see register), or 0.
 *		(Added in the second version of this structure.)
 *
 * Errors: -EBUSY the lease is ARMED; -EFAULT the range is no longer fully
 * mapped, or the new generation could not be copied out (the lease is then
 * restored: MRLEASE_IOC_QUERY tells its state and generation); -EACCES a
 * VM_IO / VM_PFNMAP mapping now in the range; -EPERM the caller's mm is not
 * the context's; -ENOMEM as for register; -EAGAIN the
 * range kept changing while it was being re-pinned, or the file's layout
 * lease is still being broken because another lease of this context on the
 * same file has not been acked yet (ack it, then retry), or a broken layout
 * lease on the file (of any context) was given back less than 200 ms ago
 * (so that the breaker goes first), or a truncate, hole punch or write of
 * the file is in progress, or a layout lease on it is being broken (retry);
 * -EOPNOTSUPP the range now holds pages that cannot be pinned (a mapping
 * replaced by another kind of memory); register fails the same ways.
 */
struct mrlease_restore {
	__u64 id;
	__u32 flags;
	__u32 reserved;
	__u64 generation;
	__u64 token;
};

#define MRLEASE_RESTORE_SIZE_VER0	24

/* Lease states, as in struct mrlease_query. */
#define MRLEASE_STATE_ARMED	1
#define MRLEASE_STATE_BROKEN	2
#define MRLEASE_STATE_ACKED	3
#define MRLEASE_STATE_REVOKED	4

/* What backs the first page of a lease, as in struct mrlease_query. */
#define MRLEASE_BACKING_ANON	1
#define MRLEASE_BACKING_SHMEM	2
#define MRLEASE_BACKING_FILE	3
#define MRLEASE_BACKING_FSDAX	4

/*
 * Whether a break by another process waits for the ack of a pinned lease,
 * as in struct mrlease_query (see "Who may make whom wait" above).
 */
#define MRLEASE_HOLD_NONE	0 /* not pinned: nothing to wait for */
#define MRLEASE_HOLD_WAIT	1 /* it waits, up to the lease's timeout_ms */
#define MRLEASE_HOLD_NOT_OWNER	2 /* it does not: not the holder's file */

/* State of the file-layout lease behind a lease, as in struct mrlease_query. */
#define MRLEASE_LAYOUT_NONE	0 /* not a file mapping */
#define MRLEASE_LAYOUT_HELD	1 /* an FL_LAYOUT lease guards the file */
#define MRLEASE_LAYOUT_BROKEN	2 /* broken; released once every lease is acked */
#define MRLEASE_LAYOUT_RELEASED	3 /* given back after a break; restore re-takes it */
#define MRLEASE_LAYOUT_REFUSED	4 /* the kernel refused it: see layout_error */

/**
 * struct mrlease_query - MRLEASE_IOC_QUERY
 * @id:		in: lease id.
 * @flags:	in: must be 0.
 * @state:	out: MRLEASE_STATE_*.  A clear of a pinned range that may
 *		have left the same pages mapped (a THP split; before Linux
 *		5.18 the write-back of a DAX page) is checked against the page
 *		tables first; the query waits up to 500 ms for that check, so
 *		that a change which returned before the query shows in it.
 * @generation:	out: current generation.
 * @addr:	out: start of the (page-rounded) range.
 * @len:	out: length of the range.
 * @cookie:	out: the registered cookie.
 * @lease_flags: out: MRLEASE_REG_* the lease was registered with.
 * @backing:	out: MRLEASE_BACKING_* of the first page, at the last
 *		register/restore.
 * @pinned_pages: out: pages currently pinned by this lease.
 * @dev:	out: for file backings, the device (new_encode_dev format).
 * @ino:	out: for file backings, the inode number.
 * @offset:	out: for file backings, file offset of @addr.
 * @timeout_ms:	out: the lease's break timeout.
 * @breaks:	out: how many times this lease was broken.
 * @layout:	out: MRLEASE_LAYOUT_* of the file-layout lease.
 * @layout_error: out: with MRLEASE_LAYOUT_REFUSED, the negative errno
 *		vfs_setlease() gave: -EACCES (not the file's owner and no
 *		CAP_LEASE), -EINVAL (leases disabled, or not a regular file),
 *		-EAGAIN (a conflicting lease).
 * @hold:	out: MRLEASE_HOLD_*: whether a break by another process waits
 *		for this lease's ack (added in the second version of this
 *		structure; a module that predates it leaves it 0).
 * @reserved:	must be 0.
 *
 * The first version of this structure ended at @layout_error (104 bytes);
 * the module fills what the caller's size holds.
 */
struct mrlease_query {
	__u64 id;
	__u32 flags;
	__u32 state;
	__u64 generation;
	__u64 addr;
	__u64 len;
	__u64 cookie;
	__u32 lease_flags;
	__u32 backing;
	__u64 pinned_pages;
	__u64 dev;
	__u64 ino;
	__u64 offset;
	__u32 timeout_ms;
	__u32 breaks;
	__u32 layout;
	__s32 layout_error;
	__u32 hold;
	__u32 reserved;
};

#define MRLEASE_QUERY_SIZE_VER0	104

#define MRLEASE_IOC_MAGIC	0xBD
#define MRLEASE_IOC_API		_IOWR(MRLEASE_IOC_MAGIC, 0x00, struct mrlease_api)
#define MRLEASE_IOC_REGISTER	_IOWR(MRLEASE_IOC_MAGIC, 0x01, struct mrlease_register)
#define MRLEASE_IOC_UNREGISTER	_IOW(MRLEASE_IOC_MAGIC, 0x02, struct mrlease_lease_ref)
#define MRLEASE_IOC_ACK		_IOW(MRLEASE_IOC_MAGIC, 0x03, struct mrlease_lease_ref)
#define MRLEASE_IOC_RESTORE	_IOWR(MRLEASE_IOC_MAGIC, 0x04, struct mrlease_restore)
#define MRLEASE_IOC_QUERY	_IOWR(MRLEASE_IOC_MAGIC, 0x05, struct mrlease_query)

/* Event types. */
#define MRLEASE_EVENT_DECOHERENCE	1 /* the range's translation changed */
#define MRLEASE_EVENT_REVOKED		2 /* no ack within the break timeout */

/* Event reasons: what changed the range (DECOHERENCE) or why it was revoked. */
#define MRLEASE_REASON_UNMAP	1 /* munmap, mremap, mmap(MAP_FIXED) over it */
#define MRLEASE_REASON_CLEAR	2 /* madvise(DONTNEED), truncate/punch, COW, reclaim */
#define MRLEASE_REASON_MIGRATE	3 /* page migration to/from device memory */
#define MRLEASE_REASON_EXIT	4 /* the address space is being torn down */
#define MRLEASE_REASON_OTHER	5 /* another translation change */
#define MRLEASE_REASON_TIMEOUT	6 /* REVOKED: break timeout expired */
#define MRLEASE_REASON_ADMIN	7 /* revoked by an administrator (netlink) */
#define MRLEASE_REASON_LAYOUT	8 /* the file's layout lease was broken */

/* Event flags. */
#define MRLEASE_EVENT_F_SELF	_BITUL(0) /* broken by the holder's own mm */
#define MRLEASE_EVENT_F_KTHREAD	_BITUL(1) /* broken by a kernel thread */
#define MRLEASE_EVENT_F_UNPINNED _BITUL(2) /* pins already dropped */

/**
 * struct mrlease_event - one record read() from the fd
 * @type:	MRLEASE_EVENT_*, never 0.
 * @reason:	MRLEASE_REASON_*.
 * @id:		lease id.
 * @cookie:	the lease's cookie.
 * @generation:	generation of the lease that broke: pass it to MRLEASE_IOC_ACK.
 * @start:	start of the affected part of the lease (clipped to it).
 * @length:	length of the affected part.
 * @flags:	MRLEASE_EVENT_F_*.
 * @breaker_pid: thread-group id of the task that broke the lease, in the
 *		reader's pid namespace; 0 for a kernel thread or a task the
 *		reader cannot see.
 * @breaker_comm: its comm, NUL-terminated.
 * @reserved:	zero.
 */
struct mrlease_event {
	__u32 type;
	__u32 reason;
	__u64 id;
	__u64 cookie;
	__u64 generation;
	__u64 start;
	__u64 length;
	__u32 flags;
	__s32 breaker_pid;
	char breaker_comm[16];
	__u64 reserved[3];
};

/**
 * struct mrlease_status - the read-only status page
 * @event_seq:	incremented with every queued record (new, widened or
 *		replaced); compare with a previous value to learn of news.
 * @pending:	records queued and not read yet, plus checks still running
 *		that may queue one and breaks whose record waits for memory
 *		(see above); read() waits a little for those.
 * @broken:	leases in the BROKEN state (awaiting an ack).
 * @reserved:	zero.
 */
struct mrlease_status {
	__u64 event_seq;
	__u64 pending;
	__u64 broken;
	__u64 reserved[5];
};

/*
 * Generic netlink family "mrlease" (version 1)
 * --------------------------------------------
 * For operators: who holds which lease, why a truncate waits, and what the
 * module is doing.  Requesting the family autoloads the module.  Lease ids
 * are unique across all contexts, so an id names one lease here and in the
 * ioctls.  Unprivileged callers see only leases of contexts opened with
 * their effective uid, not by a set-user-ID or set-group-ID program;
 * commands marked (admin) need CAP_SYS_ADMIN (-EPERM otherwise).  Attribute
 * policies are strict: unknown attributes, wrong lengths and attributes a
 * command does not take are rejected with -EINVAL and an extended-ACK
 * message.
 *
 * MRLEASE_CMD_LEASE_GET
 *	do: MRLEASE_A_LEASE_ID required; -ENOENT if there is no such lease
 *	visible to the caller.  dump: every visible lease, optionally only those
 *	of MRLEASE_A_OWNER_PID.  Replies carry the lease attributes (ID,
 *	OWNER_PID, OWNER_COMM, OWNER_UID, ADDR, LEN, COOKIE, FLAGS, STATE,
 *	GENERATION, PINNED_PAGES, BACKING, TIMEOUT_MS, counters, last break; for
 *	file backings PATH, DEV, INO, OFFSET).  A dump that raced with lease
 *	creation or removal is flagged NLM_F_DUMP_INTR.
 * MRLEASE_CMD_LEASE_REVOKE (admin)
 *	do: MRLEASE_A_LEASE_ID required.  Breaks the lease if it is armed and
 *	revokes it exactly as a break timeout would, with reason
 *	MRLEASE_REASON_ADMIN: pins dropped, a waiting breaker goes on.
 * MRLEASE_CMD_STATS_GET
 *	do: global counters (MRLEASE_A_STATS_*) and MRLEASE_A_STATS_ACK_HIST, a
 *	nest whose attribute of type i + 1 (a u64) counts acks that came within
 *	[2^i, 2^(i+1)) microseconds of their break (i = 0 also counts < 1 us).
 * MRLEASE_CMD_CONFIG_GET
 *	do: MRLEASE_A_CFG_* (the module parameters).
 * MRLEASE_CMD_CONFIG_SET (admin)
 *	do: any of MRLEASE_A_CFG_*; BREAK_TIMEOUT_MS and MAX_BREAK_TIMEOUT_MS
 *	in [1, 3600000], limits at least 1 (-ERANGE otherwise).
 * MRLEASE_CMD_LEASE_NTF
 *	sent to the "monitor" multicast group (joining it needs CAP_SYS_ADMIN)
 *	on MRLEASE_NTF_* changes: MRLEASE_A_NTF says which, with the lease
 *	attributes; breaks and revokes add REASON, BREAKER_PID, BREAKER_COMM.
 *	OWNER_PID and OWNER_UID are in the initial pid and user namespaces
 *	(the group's members are their admins); BREAKER_PID is the holder's
 *	view, as in its events (0: a breaker the holder cannot see).
 *
 * All integers are in host byte order.  u64 attributes are padded with
 * MRLEASE_A_PAD.  Times are CLOCK_REALTIME nanoseconds.
 */
#define MRLEASE_GENL_NAME		"mrlease"
#define MRLEASE_GENL_VERSION		1
#define MRLEASE_GENL_MCGRP_MONITOR	"monitor"

enum mrlease_nl_cmd {
	MRLEASE_CMD_UNSPEC,
	MRLEASE_CMD_LEASE_GET,
	MRLEASE_CMD_LEASE_REVOKE,
	MRLEASE_CMD_STATS_GET,
	MRLEASE_CMD_CONFIG_GET,
	MRLEASE_CMD_CONFIG_SET,
	MRLEASE_CMD_LEASE_NTF,

	__MRLEASE_CMD_MAX,
	MRLEASE_CMD_MAX = __MRLEASE_CMD_MAX - 1
};

/* MRLEASE_A_NTF values: what happened to the lease. */
enum mrlease_nl_ntf {
	MRLEASE_NTF_UNSPEC,
	MRLEASE_NTF_REGISTER,
	MRLEASE_NTF_BREAK,
	MRLEASE_NTF_ACK,
	MRLEASE_NTF_RESTORE,
	MRLEASE_NTF_REVOKE,
	MRLEASE_NTF_UNREGISTER,

	__MRLEASE_NTF_MAX,
	MRLEASE_NTF_MAX = __MRLEASE_NTF_MAX - 1
};

/* Attributes; append only.  Types in brackets. */
enum mrlease_nl_attr {
	MRLEASE_A_UNSPEC,
	MRLEASE_A_PAD,
	MRLEASE_A_LEASE_ID,		/* u64 */
	MRLEASE_A_OWNER_PID,		/* u32: tgid in the caller's pid ns (NTF: initial) */
	MRLEASE_A_OWNER_COMM,		/* string */
	MRLEASE_A_OWNER_UID,		/* u32: in the caller's user ns (NTF: initial) */
	MRLEASE_A_ADDR,			/* u64 */
	MRLEASE_A_LEN,			/* u64 */
	MRLEASE_A_COOKIE,		/* u64 */
	MRLEASE_A_FLAGS,		/* u32: MRLEASE_REG_* */
	MRLEASE_A_STATE,		/* u32: MRLEASE_STATE_* */
	MRLEASE_A_GENERATION,		/* u64 */
	MRLEASE_A_PINNED_PAGES,		/* u64 */
	MRLEASE_A_BACKING,		/* u32: MRLEASE_BACKING_* */
	MRLEASE_A_PATH,			/* string: as the owner's root sees it */
	MRLEASE_A_DEV,			/* u64: new_encode_dev() */
	MRLEASE_A_INO,			/* u64 */
	MRLEASE_A_OFFSET,		/* u64 */
	MRLEASE_A_TIMEOUT_MS,		/* u32 */
	MRLEASE_A_BREAKS,		/* u64 */
	MRLEASE_A_ACKS,			/* u64 */
	MRLEASE_A_RESTORES,		/* u64 */
	MRLEASE_A_REVOKES,		/* u64 */
	MRLEASE_A_LAST_BREAK_NS,	/* u64: when the lease last broke */
	MRLEASE_A_LAST_ACK_NS,		/* u64: how long its last ack took */
	MRLEASE_A_NTF,			/* u32: MRLEASE_NTF_* */
	MRLEASE_A_REASON,		/* u32: MRLEASE_REASON_* */
	MRLEASE_A_BREAKER_PID,		/* u32 */
	MRLEASE_A_BREAKER_COMM,		/* string */
	MRLEASE_A_STATS_CONTEXTS,	/* u64: open contexts */
	MRLEASE_A_STATS_LEASES,		/* u64: leases now */
	MRLEASE_A_STATS_PINNED_PAGES,	/* u64: pages pinned now */
	MRLEASE_A_STATS_REGISTERS,	/* u64: counters since load */
	MRLEASE_A_STATS_BREAKS,		/* u64 */
	MRLEASE_A_STATS_ACKS,		/* u64 */
	MRLEASE_A_STATS_RESTORES,	/* u64 */
	MRLEASE_A_STATS_REVOKES,	/* u64 */
	MRLEASE_A_STATS_UNREGISTERS,	/* u64 */
	MRLEASE_A_STATS_ACK_HIST,	/* nest: see MRLEASE_CMD_STATS_GET */
	MRLEASE_A_CFG_BREAK_TIMEOUT_MS,	/* u32 */
	MRLEASE_A_CFG_MAX_LEASES_PER_CTX, /* u32 */
	MRLEASE_A_CFG_MAX_LEASES_PER_USER, /* u32 */
	MRLEASE_A_LAYOUT,		/* u32: MRLEASE_LAYOUT_* */
	MRLEASE_A_LAYOUT_ERROR,		/* s32: see struct mrlease_query */
	MRLEASE_A_HOLD,			/* u32: MRLEASE_HOLD_* */
	MRLEASE_A_CFG_MAX_BREAK_TIMEOUT_MS, /* u32 */

	__MRLEASE_A_MAX,
	MRLEASE_A_MAX = __MRLEASE_A_MAX - 1
};

#define MRLEASE_ACK_HIST_BUCKETS	32

#endif /* _UAPI_LINUX_MRLEASE_H */
