// SPDX-License-Identifier: GPL-2.0
/*
 * Global counters (contexts, leases, pinned pages, breaks, acks, restores,
 * revokes) and the histogram of ack latencies, for netlink's STATS_GET and
 * the tests.  Atomic, never locked: they are read, not reasoned about.
 */
#include <linux/log2.h>
#include <linux/math64.h>

#include "mrlease.h"

struct mrl_stats mrl_stats;

/* Into bucket ilog2(microseconds), the last one open-ended. */
void mrl_stats_ack_latency(u64 ns)
{
	u64 us = div_u64(ns, NSEC_PER_USEC);
	unsigned int bucket = us ? ilog2(us) : 0;

	bucket = min_t(unsigned int, bucket, MRLEASE_ACK_HIST_BUCKETS - 1);
	atomic64_inc(&mrl_stats.ack_hist[bucket]);
}
