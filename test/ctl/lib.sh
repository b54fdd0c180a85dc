# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by the 93-ctl-* tests (installed as bin/ctl-lib.sh next to mrlease-ctl and the helpers).
# Exit 0: pass, 4: skip (the last line says why), anything else: fail.

set -euo pipefail

BIN=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CTL=$BIN/mrlease-ctl
HOLDER=$BIN/ctl-holder
RUNAS=$BIN/ctl-runas
PATH=$BIN:$PATH
WORK=$(mktemp -d /tmp/ctl-test.XXXXXX)
BG_PIDS=()

# These print to stderr, so that they are seen from inside $(...) too.
info() { echo "# $*" >&2; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
skip() {
	echo "SKIP: $*" >&2
	exit 4
}

cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

[ -c /dev/mrlease ] || skip "/dev/mrlease missing: mrlease.ko is not loaded"
[ -x "$CTL" ] || fail "$CTL missing"

# run RC CMD...: run CMD, keep its stdout in $OUT and stderr in $ERR, and insist on exit status RC.
run() {
	local want=$1 rc=0
	shift
	"$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
	if [ "$rc" != "$want" ]; then
		echo "command: $*"
		echo "stdout: $OUT"
		echo "stderr: $ERR"
		fail "exit status $rc, wanted $want"
	fi
}

# Clocks in integer ms / ns (busybox date has no %N).
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
now_ns() { echo $((${EPOCHREALTIME/./} * 1000)); }
since_ms() { echo $(($(now_ms) - $1)); }

# check_eq WHAT GOT WANT
check_eq() {
	[ "$2" == "$3" ] || fail "$1: got '$2', wanted '$3'"
}

# wait_for SECS CMD...: poll until CMD succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

# start_bg OUTFILE CMD...: CMD in the background, stdout+stderr to OUTFILE; $! is remembered for cleanup.
start_bg() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 &
	BG_PIDS+=($!)
	LAST_PID=$!
}

# holder_start NAME [RUNAS_UID] -- HOLDER_ARGS...: start ctl-holder, wait for "ready";
# its lease lines are in $WORK/NAME.out, its pid in HOLDER_PID.
holder_start() {
	local name=$1 uid=$2 out=$WORK/$1.out
	shift 3
	if [ "$uid" = 0 ]; then
		start_bg "$out" "$HOLDER" "$@"
	else
		start_bg "$out" "$RUNAS" "$uid" "$HOLDER" "$@"
	fi
	HOLDER_PID=$LAST_PID
	wait_for 300 eval "grep -sqx ready '$out' || ! kill -0 $HOLDER_PID 2>/dev/null" ||
		{ cat "$out"; fail "holder $name did not get ready"; }
	if ! grep -sqx ready "$out" || ! kill -0 "$HOLDER_PID" 2>/dev/null; then
		cat "$out"
		fail "holder $name died"
	fi
}

# wait_pid SECS PID: wait for background PID to end, at most SECS; its exit status, or 124 on timeout.
wait_pid() {
	local rc=0
	wait_for "$1" eval "! kill -0 $2 2>/dev/null" || return 124
	wait "$2" || rc=$?
	return $rc
}

# show_stuck PID...: what these processes are doing (for the log of a failure).
show_stuck() {
	local p
	for p in "$@"; do
		[ -d "/proc/$p" ] || continue
		echo "--- pid $p ($(cat "/proc/$p/comm")), state $(cut -d' ' -f3 "/proc/$p/stat"), kernel stack:"
		cat "/proc/$p/stack" 2>/dev/null || true
	done >&2
}

# Lease lines of a holder (JSON, one per line).
holder_leases() { grep '^{' "$WORK/$1.out"; }

# dax_file DIR SIZE: a file with real blocks on a DAX filesystem; prints its path.
dax_file() {
	local f=$1/ctl-$$-$RANDOM
	if [ -z "$1" ] || [ ! -d "$1" ]; then
		skip "no DAX filesystem (\$MRLEASE_XFS unset)"
	fi
	grep -q " $1 .*dax" /proc/mounts || skip "$1 is not mounted with -o dax"
	xfs_io -f -c "pwrite -q 0 $2" -c fsync "$f" || fail "cannot write $f"
	echo "$f"
}
