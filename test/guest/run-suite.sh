#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run every executable file directly in each DIR (sorted), one at a time, as TAP on the results channel.
#
#   run-suite.sh DIR...
#
# Each test runs in a new session with cwd /tmp, stdin /dev/null, and a timeout (MRLEASE_TEST_TIMEOUT,
# default 120 s); its stdout and stderr go to the console prefixed with its name. Exit 0 is a pass, 4 a skip
# (the reason is the last line it printed), anything else a failure. Processes it leaves behind are killed.
# Only this script writes to ttyS1: TAP lines, the summary, and last "MRLEASE-DONE <nonce>", which the host
# requires before it trusts anything here. Lines in $SETUP_FAIL (written by init) become failures first.

RESULTS=${MRLEASE_RESULTS:-/dev/ttyS1}
TIMEOUT=${MRLEASE_TEST_TIMEOUT:-120}
nonce=$MRLEASE_NONCE
unset MRLEASE_NONCE MRLEASE_RESULTS

stty -F "$RESULTS" raw -echo 2>/dev/null
exec 3>"$RESULTS"

n=0 passed=0 failed=0 skipped=0
[ -d /tests/lib ] && export LD_LIBRARY_PATH=/tests/lib

report() {
	n=$((n + 1))
	echo "$1 $n $2" >&3
	echo "TAP: $1 $n $2"
}

# Kill whatever the last test left behind: every process outside our own session (tests run in sessions
# of their own, kernel threads are in session 0), so even daemons that called setsid() go.
# sid_of PID: set $sid to the session of PID (no subshell: this runs for every process after every test).
sid_of() {
	read -r st 2>/dev/null <"/proc/$1/stat" || return 1
	st=${st##*) }
	# shellcheck disable=SC2086  # split the stat fields on purpose: state ppid pgrp session
	set -- $st
	sid=$4
}
sid_of $$
our_sid=$sid
kill_leftovers() {
	for p in /proc/[0-9]*; do
		sid_of "${p#/proc/}" || continue
		[ "$sid" = 0 ] || [ "$sid" = "$our_sid" ] || kill -KILL "${p#/proc/}" 2>/dev/null
	done
	return 0
}

# run_one PATH NAME
run_one() {
	out=/tmp/.rig-out fifo=/tmp/.rig-fifo flag=/tmp/.rig-timedout
	rm -f "$out" "$fifo" "$flag"
	mkfifo "$fifo"
	awk -v p="$2: " -v f="$out" '{ print p $0; fflush(); print > f }' <"$fifo" 3>&- &
	printer=$!
	echo "=== $2"
	(cd /tmp && exec setsid "$1") </dev/null >"$fifo" 2>&1 3>&- &
	tpid=$!
	(
		# Take the sleep along when the test ends in time and this watchdog is killed.
		trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
		sleep "$TIMEOUT" &
		sleeper=$!
		wait "$sleeper"
		: >"$flag"
		kill -TERM -- "-$tpid" 2>/dev/null
		sleep 5
		kill -KILL -- "-$tpid" 2>/dev/null
	) &
	watchdog=$!
	start=$(date +%s)
	wait "$tpid"
	rc=$?
	kill "$watchdog" 2>/dev/null
	kill_leftovers
	# The printer ends when the last writer is gone; do not hang on one that escaped.
	i=0
	while kill -0 "$printer" 2>/dev/null && [ $i -lt 20 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill "$printer" 2>/dev/null
	wait "$printer" 2>/dev/null
	secs=$(($(date +%s) - start))
	rm -f "$fifo"

	if [ -e "$flag" ]; then
		failed=$((failed + 1))
		report "not ok" "$2 # TIMEOUT after ${TIMEOUT}s"
	elif [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		report ok "$2"
	elif [ "$rc" -eq 4 ]; then
		skipped=$((skipped + 1))
		reason=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1)
		report ok "$2 # SKIP ${reason:-no reason given}"
	else
		failed=$((failed + 1))
		report "not ok" "$2 # exit $rc"
	fi
	echo "=== $2: exit $rc, ${secs}s"
}

echo "TAP version 13" >&3
if [ -s "$SETUP_FAIL" ]; then
	while read -r what; do
		failed=$((failed + 1))
		report "not ok" "setup: $what"
	done <"$SETUP_FAIL"
fi
for dir in "$@"; do
	[ -d "$dir" ] || continue
	for t in "$dir"/*; do
		if [ -f "$t" ] && [ -x "$t" ]; then
			# --run programs are copied as NNN-name to keep their order; report them by name.
			name=${t##*/}
			[ "$dir" = /extra ] && name=${name#[0-9][0-9][0-9]-}
			run_one "$t" "$name"
		fi
	done
done
echo "1..$n" >&3
summary="$passed passed, $failed failed, $skipped skipped"
echo "$summary" >&3
echo "$summary"
echo "MRLEASE-DONE $nonce" >&3
exec 3>&-
