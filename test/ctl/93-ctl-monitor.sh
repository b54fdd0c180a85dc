#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# monitor (JSON and text, at once) while "mrlease-ctl hold" holds a pinned lease on a DAX file and
# another process punches a hole into it: the lease's events come in the order register, break, ack,
# restore; the break names the puncher (pid, comm "fallocate") and the reason (layout: XFS breaks the
# file's layout lease first; clear if it came through the page tables); the puncher waits for the ack;
# hold prints the event as it comes and acks after --ack-after; lease show then counts one break, ack
# and restore, with the ack latency; stopping hold unregisters. A holder in user and pid namespaces of its
# own shows in the notifications with its uid and pid as the initial namespaces see them.
# shellcheck source=test/ctl/lib.sh
. "$(dirname "$0")/bin/ctl-lib.sh"

ACK_AFTER=800
F=$(dax_file "${MRLEASE_XFS:-}" 4m)

start_bg "$WORK/mon.json" "$CTL" -j monitor
MON=$LAST_PID
start_bg "$WORK/mon.txt" "$CTL" monitor

# The monitors have joined once they report a probe lease (registered and dropped at once).
probe_seen() {
	local id
	"$HOLDER" -x anon:1 >"$WORK/probe" 2>&1 || return 1
	id=$(grep '^{' "$WORK/probe" | jq .id)
	sleep 0.3
	grep -q "\"id\":$id," "$WORK/mon.json" && grep -q "^\[register\] lease $id " "$WORK/mon.txt"
}
wait_for 60 probe_seen || { cat "$WORK/mon.json" "$WORK/mon.txt"; fail "the monitors never reported a probe lease"; }
kill -0 "$MON" || fail "monitor exited: $(cat "$WORK/mon.json")"
info "monitors joined"

# A holder in user and pid namespaces of its own (uid 1000 is 0 there, it is pid 1): the monitor group is
# the initial namespaces' admins, so its register notification names uid 1000 and the pid seen here, not
# what the holder sees (which a holder could use to pass as root). Exit 4: the kernel refused the namespaces.
rc=0
"$RUNAS" 1000 "$HOLDER" -U -x anon:1 >"$WORK/ns.out" 2>&1 || rc=$?
if [ $rc -eq 4 ]; then
	info "no unprivileged user namespaces here: $(cat "$WORK/ns.out")"
else
	[ $rc -eq 0 ] || { cat "$WORK/ns.out"; fail "the holder in its own namespaces failed ($rc)"; }
	NS_ID=$(grep '"kind"' "$WORK/ns.out" | jq .id)
	NS_PID=$(grep '"ns_holder_pid"' "$WORK/ns.out" | jq .ns_holder_pid)
	check_eq "the holder's own view (uid, pid)" "$(grep '"kind"' "$WORK/ns.out" | jq -c '[.uid, .owner_pid]')" "[0,1]"
	ns_register() { jq -c --argjson id "$NS_ID" 'select(.id == $id and .event == "register") | [.uid, .owner_pid]' "$WORK/mon.json" | tail -n 1; }
	wait_for 20 eval '[ -n "$(ns_register)" ]' || { cat "$WORK/mon.json"; fail "no register event of lease $NS_ID"; }
	check_eq "register notification of a holder in its own namespaces (uid, pid)" "$(ns_register)" "[1000,$NS_PID]"
	info "a holder in its own namespaces: uid 1000, pid $NS_PID in the notification"
fi

start_bg "$WORK/hold.json" "$CTL" -j hold "$F" 1M 1M --ack-after $ACK_AFTER --restore-after 1000 --timeout 60000
HOLD=$LAST_PID
wait_for 30 grep -sq '"event":"holding"' "$WORK/hold.json" || { cat "$WORK/hold.json"; fail "hold did not start"; }
ID=$(jq 'select(.event == "holding") | .id' "$WORK/hold.json")
info "hold: $(head -n 1 "$WORK/hold.json")"
check_eq "hold backing" "$(jq -r 'select(.event == "holding") | "\(.backing) \(.pinned_pages) \(.layout) \(.hold)"' "$WORK/hold.json")" "fsdax 256 held wait"

t0=$(now_ms)
start_bg "$WORK/punch.out" fallocate -p -o $((1024 * 1024 + 256 * 1024)) -l 65536 "$F"
PUNCH=$LAST_PID
rc=0
wait_pid 60 "$PUNCH" || rc=$?
if [ $rc -ne 0 ]; then
	show_stuck "$PUNCH" "$HOLD"
	echo "hold:" && cat "$WORK/hold.json"
	echo "monitor:" && cat "$WORK/mon.txt"
	"$CTL" lease show "$ID" || true
	fail "the punch failed or did not return after the ack (status $rc): $(cat "$WORK/punch.out")"
fi
waited=$(since_ms "$t0")
info "the punch (pid $PUNCH) returned after $waited ms"
[ "$waited" -ge $((ACK_AFTER - 100)) ] || fail "the punch did not wait for the ack ($waited ms)"

lease_events() { jq -r --argjson id "$ID" 'select(.id == $id) | .event' "$WORK/mon.json" | tr '\n' ' '; }
wait_for 20 grep -q '"event":"restore"' "$WORK/hold.json" || { cat "$WORK/hold.json"; fail "hold did not restore"; }
wait_for 20 eval '[[ $(lease_events) == *restore* ]]' || fail "no restore event: $(lease_events)"
check_eq "events of lease $ID" "$(lease_events)" "register break ack restore "

ev() { jq -c --argjson id "$ID" --arg e "$1" "select(.id == \$id and .event == \$e) | $2" "$WORK/mon.json"; }
REASON=$(ev break .reason | tr -d '"')
info "break reason: $REASON"
[[ $REASON == layout || $REASON == clear ]] || fail "break reason $REASON"
check_eq "break" "$(ev break '[.reason, .breaker_pid, .breaker_comm, .state]')" "[\"$REASON\",$PUNCH,\"fallocate\",\"broken\"]"
check_eq "ack state" "$(ev ack .state)" '"acked"'
check_eq "restore state" "$(ev restore .state)" '"armed"'
gen0=$(ev register .generation)
gen1=$(ev restore .generation)
[ "$gen1" -gt "$gen0" ] || fail "restore did not bump the generation ($gen0 -> $gen1)"
check_eq "register path" "$(ev register .path)" "\"$F\""

check_eq "hold's event" "$(jq -c 'select(.event == "decoherence") | [.id, .reason, .breaker_pid, .breaker_comm]' "$WORK/hold.json")" \
	"[$ID,\"$REASON\",$PUNCH,\"fallocate\"]"
check_eq "hold's lines" "$(jq -r .event "$WORK/hold.json" | tr '\n' ' ')" "holding decoherence ack restore "
after=$(jq 'select(.event == "ack") | .after_ms' "$WORK/hold.json")
[ "$after" -ge $ACK_AFTER ] || fail "hold acked after $after ms, not $ACK_AFTER"

grep -q "^\[break\] lease $ID reason $REASON breaker_pid $PUNCH breaker_comm fallocate pid $HOLD comm mrlease-ctl " "$WORK/mon.txt" ||
	{ cat "$WORK/mon.txt"; fail "text monitor: no break line"; }
check_eq "text events" "$(grep -o "^\[[a-z]*\] lease $ID " "$WORK/mon.txt" | cut -d' ' -f1 | tr '\n' ' ')" \
	"[register] [break] [ack] [restore] "

run 0 "$CTL" -j lease show "$ID"
info "lease: $OUT"
check_eq "counters" "$(jq -c '.[0] | [.breaks, .acks, .restores, .revokes, .state]' <<<"$OUT")" '[1,1,1,0,"armed"]'
ack_ns=$(jq '.[0].last_ack_ns' <<<"$OUT")
break_ns=$(jq '.[0].last_break_ns' <<<"$OUT")
if [ "$ack_ns" -lt $(((ACK_AFTER - 100) * 1000000)) ] || [ "$ack_ns" -ge 60000000000 ]; then
	fail "last_ack_ns $ack_ns"
fi
now_ns=$(now_ns)
if [ $((now_ns - break_ns)) -lt 0 ] || [ $((now_ns - break_ns)) -ge 60000000000 ]; then
	fail "last_break_ns $break_ns, now $now_ns"
fi
run 0 "$CTL" lease show "$ID"
[[ $OUT == *" last_break "*"Z last_ack "*ms ]] || fail "text times: $OUT"

kill -INT "$HOLD"
wait "$HOLD" || fail "hold exited with $? on SIGINT"
check_eq "hold's last line" "$(tail -n 1 "$WORK/hold.json" | jq -c '[.event, .id]')" "[\"released\",$ID]"
wait_for 10 eval '[[ $(lease_events) == *unregister* ]]' || fail "no unregister event: $(lease_events)"
kill -TERM "$MON"
wait "$MON" || fail "monitor exited with $? on SIGTERM"
jq -e . "$WORK/mon.json" >/dev/null || fail "monitor output is not a JSON stream"
echo "monitor ok"
