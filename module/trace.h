/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints at each step of a lease's life, for perf, bpftrace and
 * tracefs (events/mrlease/): register, break, ack, restore, revoke and
 * unregister, each with the lease's id so that one lease can be followed.
 * Only root reads them; they show user addresses, as the netlink dump does
 * to the lease's owner.  No strings: __assign_str() changed in 6.10.
 * register and restore fire once the arm is done: a break that comes
 * right after the arm may be traced before them.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mrlease

#if !defined(_MRLEASE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MRLEASE_TRACE_H

#include <linux/sched.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

TRACE_EVENT(mrlease_register,
	    TP_PROTO(u64 id, unsigned long addr, unsigned long len, u32 flags,
		     u32 backing),
	    TP_ARGS(id, addr, len, flags, backing),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(unsigned long, addr)
			     __field(unsigned long, len)
			     __field(u32, flags)
			     __field(u32, backing)),
	    TP_fast_assign(__entry->id = id;
			   __entry->addr = addr;
			   __entry->len = len;
			   __entry->flags = flags;
			   __entry->backing = backing;),
	    TP_printk("lease=%llu addr=0x%lx len=%lu flags=0x%x backing=%u",
		      __entry->id, __entry->addr, __entry->len, __entry->flags,
		      __entry->backing)
);

/*
 * @pid and @comm are the breaker's as the holder's pid namespace sees it
 * (0 and "" where it cannot, and for kernel threads); @self: the holder's
 * own mm.
 */
TRACE_EVENT(mrlease_break,
	    TP_PROTO(u64 id, u32 reason, pid_t pid, const char *comm,
		     bool self),
	    TP_ARGS(id, reason, pid, comm, self),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u32, reason)
			     __field(pid_t, pid)
			     __array(char, comm, TASK_COMM_LEN)
			     __field(bool, self)),
	    TP_fast_assign(__entry->id = id;
			   __entry->reason = reason;
			   __entry->pid = pid;
			   memcpy(__entry->comm, comm, TASK_COMM_LEN);
			   __entry->self = self;),
	    TP_printk("lease=%llu reason=%u breaker=%d comm=%.16s self=%d",
		      __entry->id, __entry->reason, __entry->pid, __entry->comm,
		      __entry->self)
);

/* @latency_ns: from the break to the ack. */
TRACE_EVENT(mrlease_ack,
	    TP_PROTO(u64 id, u64 latency_ns),
	    TP_ARGS(id, latency_ns),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u64, latency_ns)),
	    TP_fast_assign(__entry->id = id;
			   __entry->latency_ns = latency_ns;),
	    TP_printk("lease=%llu latency_ns=%llu", __entry->id,
		      __entry->latency_ns)
);

TRACE_EVENT(mrlease_restore,
	    TP_PROTO(u64 id, u64 generation),
	    TP_ARGS(id, generation),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u64, generation)),
	    TP_fast_assign(__entry->id = id;
			   __entry->generation = generation;),
	    TP_printk("lease=%llu generation=%llu", __entry->id,
		      __entry->generation)
);

/* @reason: MRLEASE_REASON_TIMEOUT, or _ADMIN for a revoke over netlink. */
TRACE_EVENT(mrlease_revoke,
	    TP_PROTO(u64 id, u32 reason),
	    TP_ARGS(id, reason),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u32, reason)),
	    TP_fast_assign(__entry->id = id;
			   __entry->reason = reason;),
	    TP_printk("lease=%llu reason=%u", __entry->id, __entry->reason)
);

TRACE_EVENT(mrlease_unregister,
	    TP_PROTO(u64 id),
	    TP_ARGS(id),
	    TP_STRUCT__entry(__field(u64, id)),
	    TP_fast_assign(__entry->id = id;),
	    TP_printk("lease=%llu", __entry->id)
);

#endif /* _MRLEASE_TRACE_H */

/* Out of tree: define_trace.h finds this file through -I$(src) (Kbuild). */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
