#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# "lease show" and "hold" say whether another process's break waits for a lease's ack (hold): "none"
# for an unpinned lease, "wait" for pinned anonymous memory, for a file the holder owns and, through
# CAP_LEASE, for root on another user's file; "not-owner" for an unprivileged holder's pinned lease on
# a file it does not own (root's, mode 0666) -- in JSON and text, for the holder and for root.
# shellcheck source=test/ctl/lib.sh
. "$(dirname "$0")/bin/ctl-lib.sh"

A=1000
F_ROOT=$(dax_file "${MRLEASE_XFS:-}" 64k)
F_A=$(dax_file "${MRLEASE_XFS:-}" 64k)
chmod 0666 "$F_ROOT"
chown $A:$A "$F_A"
trap 'cleanup; rm -f "$F_ROOT" "$F_A"' EXIT

# One page each: an unprivileged user's RLIMIT_MEMLOCK may be 64 KiB.
holder_start a $A -- anon:1:p anon:1 "file:$F_A:0:4096:p" "file:$F_ROOT:0:4096:p"
A_PID=$HOLDER_PID
holder_leases a >"$WORK/a.json"
holder_start r 0 -- "file:$F_A:4096:4096:p"
R_PID=$HOLDER_PID
holder_leases r >"$WORK/r.json"

# holds WHO PID: "path-or-kind hold" per lease of PID, as WHO sees them, sorted by cookie.
holds() {
	if [ "$1" = 0 ]; then
		run 0 "$CTL" -j lease show pid "$2"
	else
		run 0 "$RUNAS" "$1" "$CTL" -j lease show pid "$2"
	fi
	jq -r 'sort_by(.cookie)[] | "\(.path // .backing) \(.pinned_pages) \(.hold)"' <<<"$OUT"
}
want_a="anon 1 wait
anon 0 none
$F_A 1 wait
$F_ROOT 1 not-owner"
check_eq "uid $A's leases, as root sees them" "$(holds 0 "$A_PID")" "$want_a"
check_eq "uid $A's leases, as uid $A sees them" "$(holds $A "$A_PID")" "$want_a"
check_eq "root's lease on uid $A's file (CAP_LEASE)" "$(holds 0 "$R_PID")" "$F_A 1 wait"
info "JSON: none, wait, not-owner as expected"

id=$(jq -r --arg f "$F_ROOT" 'select(.path == $f) | .id' "$WORK/a.json")
run 0 "$CTL" lease show "$id"
info "text: $OUT"
[[ $OUT == *" backing fsdax path $F_ROOT "*" hold not-owner timeout_ms "* ]] || fail "text of lease $id: $OUT"
id=$(jq -r 'select(.kind == "anon" and .flags == 0) | .id' "$WORK/a.json")
run 0 "$CTL" lease show "$id"
[[ $OUT == *" backing anon hold none timeout_ms "* ]] || fail "text of lease $id: $OUT"

# mrlease-ctl hold reports it on its "holding" line.
start_bg "$WORK/hold.json" "$RUNAS" $A "$CTL" -j hold "$F_ROOT" 8192 4096
wait_for 30 grep -sq '"event":"holding"' "$WORK/hold.json" || { cat "$WORK/hold.json"; fail "hold did not start"; }
info "hold: $(head -n 1 "$WORK/hold.json")"
check_eq "hold of root's file by uid $A" "$(jq -r 'select(.event == "holding") | .hold' "$WORK/hold.json")" \
	not-owner
echo "hold ok"
