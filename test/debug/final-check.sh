#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The last test of `make check-debug`, run in the guest after the suite: kmemleak scan with the module
# loaded, then `rmmod mrlease` (it must unload: no context, lease or reference left), then a kmemleak scan
# again (what the module leaked can only be told for sure once it is gone). Fails on a failed rmmod or any
# unreferenced object; prints kmemleak's report.

KMEMLEAK=/sys/kernel/debug/kmemleak
fail=0

# kmemleak reports an object only once it is older than 5 s and was unreferenced in a scan; let deferred
# frees (RCU, work items) finish first.
scan() {
	sleep 6
	echo scan >"$KMEMLEAK"
	sleep 1
	echo scan >"$KMEMLEAK"
	n=$(grep -c '^unreferenced object' "$KMEMLEAK")
	echo "kmemleak scan $1: $n unreferenced objects"
	if [ "$n" -gt 0 ]; then
		cat "$KMEMLEAK"
		fail=1
	fi
}

[ -w "$KMEMLEAK" ] || echo "no $KMEMLEAK: this kernel has no kmemleak, checking the unload only"
[ -w "$KMEMLEAK" ] && scan "after the suite"

# has_mrlease PID-DIR: does the process have /dev/mrlease open?
has_mrlease() {
	for fd in "$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = /dev/mrlease ] && return 0
	done
	return 1
}

# Who keeps the module: processes with /dev/mrlease open (state, kernel stack), and every task in D state.
holders() {
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		state=$(sed -n 's/^State:[[:space:]]*//p' "$p/status" 2>/dev/null)
		open=
		has_mrlease "$p" && open=", has /dev/mrlease open"
		if [ -n "$open" ] || [ "${state%% *}" = D ]; then
			echo "pid $pid ($(cat "$p/comm" 2>/dev/null)) state $state$open"
			for t in "$p"/task/*; do
				sed 's/^/    /' "$t/stack" 2>/dev/null
			done
		fi
	done
}

if [ -d /sys/module/mrlease ]; then
	echo "mrlease refcnt $(cat /sys/module/mrlease/refcnt)"
	# Tests that failed may leave processes that take a moment to die.
	i=0
	while ! rmmod mrlease 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge 30 ]; then
			echo "rmmod mrlease failed for 30 s (refcnt $(cat /sys/module/mrlease/refcnt)); holders:"
			holders
			fail=1
			break
		fi
		sleep 1
	done
	[ -d /sys/module/mrlease ] || echo "rmmod mrlease: ok (after ${i}s)"
else
	echo "mrlease is not loaded"
	fail=1
fi

[ -w "$KMEMLEAK" ] && scan "after rmmod"
exit $fail
