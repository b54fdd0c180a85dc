// SPDX-License-Identifier: GPL-2.0
/*
 * Race windows held open, for the test lane only: built when the module is
 * made with MRLEASE_RACE_WINDOWS=1, never in a normal build.  Each call
 * marks a point of a lease's life where another path may cut in (between
 * a state change and the work it cancels or queues, in the arm between the
 * check and the pins, in a layout give-back).  With the parameter
 * race_window_us set, a random share of the calls stalls there for up to
 * that long, so a race that would need luck shows up in seconds.  With
 * race_nomem_pct set, that share of the allocations that may not sleep
 * (a lease's break part, in the notifier) fails, so that what follows
 * (lease.c) races with everything else too: failslab can no longer pick
 * one cache at run time.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/random.h>
#include <linux/sched.h>

#include "mrlease.h"

static unsigned int mrl_race_window_us;
module_param_named(race_window_us, mrl_race_window_us, uint, 0644);
MODULE_PARM_DESC(race_window_us,
		 "Test builds only: stall up to this long at lifecycle points (0: off)");

/* One call in four stalls: often enough to hit, rarely enough to run. */
#define MRL_RACE_ODDS	4
/* Spinning in atomic context stays short whatever the parameter says. */
#define MRL_RACE_ATOMIC_MAX_US	200

void mrl_race_window(const char *where, bool atomic)
{
	unsigned int max = READ_ONCE(mrl_race_window_us);
	unsigned int us;

	if (!max || get_random_u32() % MRL_RACE_ODDS)
		return;
	us = get_random_u32() % max + 1;
	if (atomic || !preemptible()) {
		udelay(min(us, MRL_RACE_ATOMIC_MAX_US));
		return;
	}
	if (us < 20)
		cond_resched();
	else
		usleep_range(us, us + us / 4 + 1);
}

static unsigned int mrl_race_nomem_pct;
module_param_named(race_nomem_pct, mrl_race_nomem_pct, uint, 0644);
MODULE_PARM_DESC(race_nomem_pct,
		 "Test builds only: fail this percentage of the allocations that may not sleep (0: off)");

bool mrl_race_nomem(void)
{
	unsigned int pct = READ_ONCE(mrl_race_nomem_pct);

	return pct && get_random_u32() % 100 < pct;
}
