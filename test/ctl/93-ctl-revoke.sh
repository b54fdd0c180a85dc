#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A hole punch waits on a pinned lease whose holder will not ack for ten minutes; "lease revoke" frees
# it at once: the punch returns, the holder gets a REVOKED event with reason admin and takes the range
# again (3 s later, when the punch is long done), and the lease counts the revoke. Revoking an armed
# lease breaks it and revokes it the same way.
# shellcheck source=test/ctl/lib.sh
. "$(dirname "$0")/bin/ctl-lib.sh"

F=$(dax_file "${MRLEASE_XFS:-}" 4m)
start_bg "$WORK/hold.json" "$CTL" -j hold "$F" 1M 1M --ack-after 600000 --restore-after 3000 --timeout 600000
HOLD=$LAST_PID
wait_for 30 grep -sq '"event":"holding"' "$WORK/hold.json" || { cat "$WORK/hold.json"; fail "hold did not start"; }
ID=$(jq 'select(.event == "holding") | .id' "$WORK/hold.json")

start_bg "$WORK/punch.out" fallocate -p -o $((1024 * 1024 + 512 * 1024)) -l 65536 "$F"
PUNCH=$LAST_PID
state() { "$CTL" -j lease show "$ID" | jq -r '.[0].state'; }
wait_for 30 eval '[ "$(state)" = broken ]' || fail "the lease did not break (state $(state))"
sleep 1.5
kill -0 "$PUNCH" 2>/dev/null || fail "the punch did not wait for the lease"
run 0 "$CTL" -j lease show "$ID"
check_eq "broken lease" "$(jq -c '.[0] | [.state, .pinned_pages, .breaks]' <<<"$OUT")" '["broken",256,1]'
info "the punch (pid $PUNCH) is waiting on lease $ID"

t0=$(now_ms)
run 0 "$CTL" lease revoke "$ID"
rc=0
wait_pid 30 "$PUNCH" || rc=$?
if [ $rc -ne 0 ]; then
	show_stuck "$PUNCH" "$HOLD"
	echo "hold:" && cat "$WORK/hold.json"
	"$CTL" lease show "$ID" || true
	fail "the punch failed or did not return after the revoke (status $rc): $(cat "$WORK/punch.out")"
fi
freed=$(since_ms "$t0")
info "the punch returned $freed ms after the revoke"
[ "$freed" -lt 2000 ] || fail "the punch took $freed ms to return after the revoke"

wait_for 20 grep -q '"event":"restore"' "$WORK/hold.json" || { cat "$WORK/hold.json"; fail "hold did not restore"; }
check_eq "hold's events" "$(jq -r .event "$WORK/hold.json" | tr '\n' ' ')" "holding decoherence revoked restore "
check_eq "revoked event" "$(jq -c 'select(.event == "revoked") | [.id, .reason]' "$WORK/hold.json")" "[$ID,\"admin\"]"
run 0 "$CTL" -j lease show "$ID"
check_eq "after the revoke" "$(jq -c '.[0] | [.state, .revokes, .acks, .restores, .pinned_pages]' <<<"$OUT")" '["armed",1,0,1,256]'

# An armed lease: revoke breaks it and revokes it; hold takes it again.
run 0 "$CTL" lease revoke "$ID"
wait_for 20 eval '[ "$(grep -c "\"event\":\"restore\"" "$WORK/hold.json")" = 2 ]' || { cat "$WORK/hold.json"; fail "no second restore"; }
check_eq "second revoke" "$(jq -c 'select(.event == "revoked") | .reason' "$WORK/hold.json" | tr '\n' ' ')" '"admin" "admin" '
run 0 "$CTL" -j lease show "$ID"
check_eq "after the second revoke" "$(jq -c '.[0] | [.state, .revokes, .breaks]' <<<"$OUT")" '["armed",2,2]'
kill -TERM "$HOLD"
wait "$HOLD" || fail "hold exited with $? on SIGTERM"
echo "revoke ok"
