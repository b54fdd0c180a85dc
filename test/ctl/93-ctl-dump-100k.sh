#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A dump of 100,000 leases (unpinned, one page each, one holder) completes, consistent and complete, as
# JSON and as text; the times are printed, and so is how long the holder's exit takes to free them all.
# A dump that races with leases coming and going says it was interrupted (and still exits 0).
# MRLEASE_CTL_DUMP_LEASES (kernel command line) sets another count: the matrix and the debug kernel, where jq
# over the 27 MB takes minutes under TCG, use 20,000 (still a dump of many netlink messages).
# shellcheck source=test/ctl/lib.sh
. "$(dirname "$0")/bin/ctl-lib.sh"

N=${MRLEASE_CTL_DUMP_LEASES:-100000}
holder_start many 0 -- "many:$N"
P=$HOLDER_PID
read -r first last secs <<<"$(holder_leases many | jq -r '"\(.first_id) \(.last_id) \(.seconds)"')"
info "registering $N leases took $secs s (ids $first..$last)"

t0=$(now_ms)
"$CTL" -j lease show pid "$P" >"$WORK/dump.json" 2>"$WORK/err"
t_json=$(since_ms "$t0")
[ ! -s "$WORK/err" ] || fail "lease show said: $(cat "$WORK/err")"
info "JSON dump of $N leases: $t_json ms, $(($(stat -c %s "$WORK/dump.json") / 1024)) KiB"
# One pass of jq over the 27 MB: it is the slow part under TCG.
read -r n uniq lo hi kinds <<<"$(jq -r '(map(.id)) as $ids | [length, ($ids | unique | length), ($ids | min),
	($ids | max), (map([.len, .pinned_pages, .owner_pid, .state]) | unique | tojson)] | @tsv' "$WORK/dump.json")"
check_eq "leases in the JSON dump" "$n" $N
check_eq "distinct ids" "$uniq" $N
check_eq "lowest id" "$lo" "$first"
check_eq "highest id" "$hi" "$last"
check_eq "all unpinned single pages" "$kinds" "[[4096,0,$P,\"armed\"]]"

t0=$(now_ms)
lines=$("$CTL" lease show 2>"$WORK/err" | grep -c " pid $P comm ctl-holder ")
t_text=$(since_ms "$t0")
[ ! -s "$WORK/err" ] || fail "lease show said: $(cat "$WORK/err")"
check_eq "leases in the unfiltered text dump" "$lines" $N
info "text dump of all leases: $t_text ms"

t0=$(now_ms)
"$CTL" lease show pid "$P" >/dev/null
info "text dump of $N leases to /dev/null: $(since_ms "$t0") ms"
# Leases registered and dropped all through a dump: the kernel flags it, the CLI warns.
churn() {
	while :; do "$HOLDER" -x anon:1 >/dev/null 2>&1; done
}
churn &
CHURN=$!
BG_PIDS+=("$CHURN")
intr=0
for try in 1 2 3; do
	"$CTL" lease show pid "$P" >/dev/null 2>"$WORK/err" || fail "racing dump failed: $(cat "$WORK/err")"
	if grep -q "dump was interrupted" "$WORK/err"; then
		intr=$try
		break
	fi
done
kill "$CHURN"
wait "$CHURN" 2>/dev/null || true
[ $intr -gt 0 ] || fail "three dumps racing with registrations were never flagged as interrupted"
info "a racing dump: $(cat "$WORK/err") (try $intr)"

run 0 "$CTL" -j stats
base=$(($(jq .leases <<<"$OUT") - N))
t0=$(now_ms)
kill -TERM "$P"
wait_pid 120 "$P" || show_stuck "$P"
leases() { "$CTL" -j stats | jq .leases; }
wait_for 120 eval '[ "$(leases)" -le $base ]' || { show_stuck "$P"; fail "$(leases) leases left, $base expected"; }
t_free=$(since_ms "$t0")
info "exit of the holder and freeing $N leases: $t_free ms"
echo "dump of $N leases ok: registered in $secs s, JSON dump $t_json ms, text dump $t_text ms, freed in $t_free ms"
