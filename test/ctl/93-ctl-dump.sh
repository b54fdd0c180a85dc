#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# "lease show" reports what a process registered: a dump (filtered by pid and not) and a request by id,
# as JSON checked field by field against what the holder registered and knows from stat(), for pinned
# and unpinned anonymous memory, shmem (with WAIT_SELF) and a pinned range of a file on fsdax; plus the
# text form of one lease.
# shellcheck source=test/ctl/lib.sh
. "$(dirname "$0")/bin/ctl-lib.sh"

F=$(dax_file "${MRLEASE_XFS:-}" 4m)
holder_start h 0 -- -t 7000 -c 0xc0de00 anon:4:p anon:2 shm:3:pw "file:$F:1048576:1048576:p"
P=$HOLDER_PID
holder_leases h >"$WORK/expected.json"
check_eq "leases registered" "$(wc -l <"$WORK/expected.json")" 4

run 0 "$CTL" -j lease show pid "$P"
echo "$OUT" >"$WORK/dump.json"
check_eq "leases of pid $P in the dump" "$(jq length "$WORK/dump.json")" 4

# compare EXPECTED(one object per line) DUMP(array): prints one line per mismatch.
compare() {
	jq -rn --slurpfile exp "$1" --slurpfile got "$2" '
	def flagnames: [ if . % 2 == 1 then "pin" else empty end,
			 if (. / 2 | floor) % 2 == 1 then "wait_self" else empty end ];
	def backing: { anon: "anon", shm: "shmem", file: "fsdax" }[.];
	($got[0] | map({ key: (.id | tostring), value: . }) | from_entries) as $by_id
	| $exp[] | . as $e | $by_id[$e.id | tostring] as $d
	| if $d == null then "lease \($e.id): missing"
	  else
		(["id", "owner_pid", "owner_comm", "uid", "addr", "len", "cookie", "timeout_ms",
		  "generation"] + (if $e.kind == "file" then ["path", "dev", "ino", "offset"] else [] end)
		 | .[] as $k | select($d[$k] != $e[$k])
		 | "lease \($e.id): \($k) is \($d[$k] | tojson), registered \($e[$k] | tojson)"),
		({ flags: ($e.flags | flagnames), state: "armed", backing: ($e.kind | backing),
		   layout: (if $e.kind == "file" then "held" else null end),
		   hold: (if $e.flags % 2 == 1 then "wait" else "none" end),
		   pinned_pages: (if $e.flags % 2 == 1 then $e.len / 4096 else 0 end),
		   breaks: 0, acks: 0, restores: 0, revokes: 0, last_break_ns: 0, last_ack_ns: 0 }
		 | to_entries[] | select($d[.key] != .value)
		 | "lease \($e.id): \(.key) is \($d[.key] | tojson), expected \(.value | tojson)"),
		(if $e.kind != "anon" then ["dev", "ino", "offset"][] | select($d[.] | type != "number")
		 | "lease \($e.id): no \(.) for a \($e.kind) backing" else empty end),
		(if $e.kind == "anon" then ["path", "dev", "ino", "offset"][] | . as $k | select($d | has($k))
		 | "lease \($e.id): \($k) for an anonymous backing" else empty end)
	  end'
}
compare "$WORK/expected.json" "$WORK/dump.json" >"$WORK/diff"
if [ -s "$WORK/diff" ]; then
	cat "$WORK/expected.json" "$WORK/dump.json"
	cat "$WORK/diff"
	fail "the dump does not match what was registered"
fi
info "dump by pid matches field by field"

# Unfiltered dump: the same four objects among everything else.
run 0 "$CTL" -j lease show
echo "$OUT" >"$WORK/all.json"
compare "$WORK/expected.json" "$WORK/all.json" >"$WORK/diff"
[ ! -s "$WORK/diff" ] || { cat "$WORK/diff"; fail "the unfiltered dump does not match"; }

# A request by id gives the object the dump gave.
for id in $(jq -r .id "$WORK/expected.json"); do
	run 0 "$CTL" -j lease show "$id"
	check_eq "lease $id by id" "$(jq -cS '.[0]' <<<"$OUT")" \
		"$(jq -cS --argjson id "$id" '.[] | select(.id == $id)' "$WORK/dump.json")"
done
info "requests by id match the dump"

# Text: one line per lease, in the order of the documented fields.
fid=$(jq -r 'select(.kind == "file") | .id' "$WORK/expected.json")
run 0 "$CTL" lease show "$fid"
info "text: $OUT"
check_eq "text lines" "$(wc -l <<<"$OUT")" 1
dev=$(stat -c %d "$F")
addr=$(jq -r 'select(.kind == "file") | .addr' "$WORK/expected.json")
want="lease $fid pid $P comm ctl-holder uid 0 addr $(printf '%#x' "$addr") len 1048576"
want+=" cookie 0xc0de03 flags pin state armed generation"
[[ $OUT == "$want "* ]] || fail "text starts differently; wanted: $want"
[[ $OUT == *" pinned_pages 256 backing fsdax path $F dev $((dev >> 8 & 0xfff)):$((dev & 0xff | (dev >> 12 & 0xfff00))) ino $(stat -c %i "$F") offset 1048576 layout held hold wait timeout_ms 7000 breaks 0 acks 0 restores 0 revokes 0" ]] ||
	fail "text ends differently"
run 0 "$CTL" lease show pid "$P"
check_eq "text dump lines" "$(wc -l <<<"$OUT")" 4
echo "dump ok"
