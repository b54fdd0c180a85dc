#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mrlease-ctl's plumbing: help at every level, -V, exit codes 0/1/2, stats and config show as text and
# JSON (with the documented keys), config set round trip (the text of "config show" is what "config set"
# takes), the break-timeout ceiling max-break-timeout (set, shown, range-checked, restored), the kernel's
# extended-ACK message on a range error, and errors for leases that do not exist.
# shellcheck source=test/ctl/lib.sh
. "$(dirname "$0")/bin/ctl-lib.sh"

run 0 "$CTL" -V
[[ $OUT == "mrlease-ctl "* ]] || fail "-V printed '$OUT'"
# One version number: the loaded module's (MODULE_VERSION) is the tool's.
tool_version=$(sed -n '1s/^mrlease-ctl \([^ ]*\) .*/\1/p' <<<"$OUT")
[[ $(sed -n 2p <<<"$OUT") == "module $tool_version" ]] || fail "-V: module version is not the tool's: '$OUT'"
for obj in "" lease stats config monitor hold; do
	run 0 "$CTL" $obj help
	[[ $OUT == *Usage:* ]] || fail "'$obj help' printed no usage"
done
run 0 "$CTL" lease show help
run 0 "$CTL" config set help
run 2 "$CTL"
run 2 "$CTL" frobnicate
run 2 "$CTL" lease frobnicate
run 2 "$CTL" lease show 1 2
run 2 "$CTL" lease show pid
run 2 "$CTL" lease revoke
run 2 "$CTL" lease revoke x
run 2 "$CTL" config set
run 2 "$CTL" config set break-timeout
run 2 "$CTL" config set max-leases-per-ctx 4294967296
run 2 "$CTL" config set max-break-timeout
run 2 "$CTL" config set max-break-timeout 4294967296
run 2 "$CTL" stats extra
run 2 "$CTL" -Z stats
run 2 "$CTL" hold
info "usage errors exit 2"

run 0 "$CTL" -j stats
for k in contexts leases pinned_pages registers breaks acks restores revokes unregisters; do
	jq -e --arg k "$k" 'has($k) and (.[$k] | type == "number")' <<<"$OUT" >/dev/null || fail "stats: no number '$k' in $OUT"
done
check_eq "ack histogram buckets" "$(jq '.ack_latency_hist | length' <<<"$OUT")" 32
check_eq "first bucket" "$(jq -c '.ack_latency_hist[0] | [.lo_us, .hi_us]' <<<"$OUT")" "[0,2]"
check_eq "last bucket" "$(jq -c '.ack_latency_hist[31] | [.lo_us, .hi_us]' <<<"$OUT")" "[2147483648,4294967296]"
run 0 "$CTL" stats
[[ $OUT == contexts\ * ]] || fail "stats text: $OUT"
run 0 "$CTL" -j -p stats
[ "$(wc -l <<<"$OUT")" -gt 10 ] || fail "-p did not pretty-print: $OUT"
jq -e . <<<"$OUT" >/dev/null || fail "-j -p stats is not JSON"

run 0 "$CTL" -j config show
orig_json=$OUT
for k in break_timeout_ms max_leases_per_ctx max_leases_per_user max_break_timeout_ms; do
	jq -e --arg k "$k" '.[$k] | type == "number"' <<<"$OUT" >/dev/null || fail "config: no '$k' in $OUT"
done
run 0 "$CTL" config show
orig_text=$OUT
info "config: $orig_text"
# shellcheck disable=SC2086  # the text is "KEY VALUE ..." on purpose
restore_config() { "$CTL" config set $orig_text; }
trap 'restore_config; cleanup' EXIT

run 0 "$CTL" config set break-timeout 12345 max-leases-per-user 54321
run 0 "$CTL" -j config show
check_eq "break_timeout_ms after set" "$(jq .break_timeout_ms <<<"$OUT")" 12345
check_eq "max_leases_per_user after set" "$(jq .max_leases_per_user <<<"$OUT")" 54321
check_eq "max_leases_per_ctx untouched" "$(jq .max_leases_per_ctx <<<"$OUT")" "$(jq .max_leases_per_ctx <<<"$orig_json")"
check_eq "module parameter" "$(cat /sys/module/mrlease/parameters/break_timeout_ms)" 12345

run 1 "$CTL" config set break-timeout 0
info "break-timeout 0: $ERR"
[[ $ERR == "mrlease-ctl: config set: "*"(Numerical result out of range)"* ]] || fail "no extack + ERANGE: $ERR"
[[ $ERR != "mrlease-ctl: config set: (Numerical"* ]] || fail "empty extack: $ERR"
run 1 "$CTL" config set max-leases-per-ctx 0
run 1 "$CTL" config set break-timeout 3600001
run 0 "$CTL" -j config show
check_eq "config after failed sets" "$(jq .break_timeout_ms <<<"$OUT")" 12345

# The ceiling on the break timeouts of holders without CAP_SYS_ADMIN: same range as break-timeout.
orig_max=$(jq .max_break_timeout_ms <<<"$orig_json")
[ "$orig_max" = 45000 ] || info "max_break_timeout_ms was $orig_max, not the default 45000"
check_eq "max_break_timeout_ms is the module parameter" \
	"$(cat /sys/module/mrlease/parameters/max_break_timeout_ms)" "$orig_max"
run 0 "$CTL" config set max-break-timeout 1234
run 0 "$CTL" -j config show
check_eq "max_break_timeout_ms after set" "$(jq .max_break_timeout_ms <<<"$OUT")" 1234
check_eq "break_timeout_ms untouched by max-break-timeout" "$(jq .break_timeout_ms <<<"$OUT")" 12345
check_eq "max_break_timeout_ms parameter" "$(cat /sys/module/mrlease/parameters/max_break_timeout_ms)" 1234
run 0 "$CTL" config show
[[ " $OUT " == *" max-break-timeout 1234 "* ]] || fail "config show text: $OUT"
run 1 "$CTL" config set max-break-timeout 0
info "max-break-timeout 0: $ERR"
[[ $ERR == "mrlease-ctl: config set: "*"(Numerical result out of range)"* ]] || fail "no extack + ERANGE: $ERR"
run 1 "$CTL" config set max-break-timeout 3600001
[[ $ERR == *"(Numerical result out of range)"* ]] || fail "max-break-timeout 3600001: $ERR"
run 1 "$CTL" config set break-timeout 1000 max-break-timeout 3600001
run 0 "$CTL" -j config show
check_eq "max_break_timeout_ms after failed sets" "$(jq .max_break_timeout_ms <<<"$OUT")" 1234
check_eq "break_timeout_ms after a refused pair" "$(jq .break_timeout_ms <<<"$OUT")" 12345
run 0 "$CTL" config set max-break-timeout 3600000
run 0 "$CTL" config set max-break-timeout 1
run 0 "$CTL" -j config show
check_eq "max_break_timeout_ms at the bottom of its range" "$(jq .max_break_timeout_ms <<<"$OUT")" 1

restore_config
run 0 "$CTL" config show
check_eq "config restored from its own text" "$OUT" "$orig_text"
check_eq "max_break_timeout_ms restored" "$(cat /sys/module/mrlease/parameters/max_break_timeout_ms)" "$orig_max"

run 1 "$CTL" lease show 4000000000
info "lease show of a missing id: $ERR"
[[ $ERR == "mrlease-ctl: lease 4000000000: "*"No such file or directory"* ]] || fail "missing lease: $ERR"
run 1 "$CTL" -j lease show 4000000000
run 1 "$CTL" lease revoke 4000000000
[[ $ERR == *"No such file or directory"* ]] || fail "revoke of a missing lease: $ERR"
run 0 "$CTL" -j lease show pid 999999
check_eq "dump filtered by an unused pid" "$OUT" "[]"
run 0 "$CTL" lease show pid 999999
check_eq "text dump filtered by an unused pid" "$OUT" ""
echo "basics ok"
