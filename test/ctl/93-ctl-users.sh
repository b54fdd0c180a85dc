#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two unprivileged users (uid 1000 and 1001) each hold leases: each sees only its own (dump, pid filter,
# request by id), neither may revoke a lease (not even its own) nor change the config (EPERM, exit 1),
# neither may join the monitor group; stats and config show are open to them. Root sees all. A set-user-ID
# program's leases only root sees: neither the user who ran it nor its owner.
# shellcheck source=test/ctl/lib.sh
. "$(dirname "$0")/bin/ctl-lib.sh"

A=1000 B=1001
holder_start a $A -- anon:2:p anon:1
A_PID=$HOLDER_PID
A_IDS=$(holder_leases a | jq -sc 'map(.id) | sort')
holder_start b $B -- anon:1:p
B_PID=$HOLDER_PID
B_IDS=$(holder_leases b | jq -sc 'map(.id) | sort')
A_ID=$(jq '.[0]' <<<"$A_IDS")
B_ID=$(jq '.[0]' <<<"$B_IDS")
info "uid $A holds $A_IDS (pid $A_PID), uid $B holds $B_IDS (pid $B_PID)"

for who in A B; do
	uid=${!who}
	ids_var=${who}_IDS
	run 0 "$RUNAS" "$uid" "$CTL" -j lease show
	check_eq "uid $uid sees" "$(jq -c 'map(.id) | sort' <<<"$OUT")" "${!ids_var}"
	check_eq "uids uid $uid sees" "$(jq -c 'map(.uid) | unique' <<<"$OUT")" "[$uid]"
done

run 0 "$CTL" -j lease show
for id in $(jq -r '.[]' <<<"$A_IDS") $(jq -r '.[]' <<<"$B_IDS"); do
	jq -e --argjson id "$id" 'any(.[]; .id == $id)' <<<"$OUT" >/dev/null || fail "root does not see lease $id"
done
check_eq "uid of $A_ID for root" "$(jq --argjson id "$A_ID" '.[] | select(.id == $id) | .uid' <<<"$OUT")" $A
check_eq "uid of $B_ID for root" "$(jq --argjson id "$B_ID" '.[] | select(.id == $id) | .uid' <<<"$OUT")" $B

# A set-user-ID program (owner C) run by A: its leases are for admins only, as its /proc/PID/maps.
C=1002
mkdir -p "$WORK/suid"
chmod 755 "$WORK" "$WORK/suid"
cp "$HOLDER" "$WORK/suid/holder"
chown $C:$C "$WORK/suid/holder"
chmod 4755 "$WORK/suid/holder"
HOLDER=$WORK/suid/holder holder_start s $A -- anon:1
S_PID=$HOLDER_PID
run 0 "$CTL" -j lease show pid "$S_PID"
S_ID=$(jq '.[0].id' <<<"$OUT")
check_eq "uid of the set-user-ID holder's lease $S_ID for root" "$(jq '.[0].uid' <<<"$OUT")" $C
run 0 "$RUNAS" $A "$CTL" -j lease show
check_eq "uid $A after running a set-user-ID holder sees" "$(jq -c 'map(.id) | sort' <<<"$OUT")" "$A_IDS"
run 1 "$RUNAS" $A "$CTL" lease show "$S_ID"
run 0 "$RUNAS" $C "$CTL" -j lease show pid "$S_PID"
check_eq "uid $C asking for the set-user-ID holder's leases" "$OUT" "[]"
run 1 "$RUNAS" $C "$CTL" lease show "$S_ID"
kill "$S_PID"
info "a set-user-ID program's leases are for admins only"

run 0 "$RUNAS" $A "$CTL" -j lease show "$A_ID"
check_eq "own lease by id" "$(jq '.[0].id' <<<"$OUT")" "$A_ID"
run 1 "$RUNAS" $A "$CTL" lease show "$B_ID"
[[ $ERR == *"No such file or directory"* ]] || fail "uid $A asking for lease $B_ID: $ERR"
run 1 "$RUNAS" $B "$CTL" -j lease show "$A_ID"
run 0 "$RUNAS" $A "$CTL" -j lease show pid "$B_PID"
check_eq "uid $A filtering by pid $B_PID" "$OUT" "[]"
info "each user sees only its own leases"

for id in "$A_ID" "$B_ID"; do
	run 1 "$RUNAS" $A "$CTL" lease revoke "$id"
	[[ $ERR == *"Operation not permitted"* ]] || fail "uid $A revoking $id: $ERR"
done
run 1 "$RUNAS" $B "$CTL" lease revoke "$B_ID"
run 0 "$CTL" -j lease show "$A_ID"
check_eq "state of $A_ID after refused revokes" "$(jq -r '.[0] | "\(.state) \(.revokes)"' <<<"$OUT")" "armed 0"
info "revoke: EPERM"

run 0 "$CTL" config show
before=$OUT
run 1 "$RUNAS" $B "$CTL" config set break-timeout 1000
[[ $ERR == *"Operation not permitted"* ]] || fail "uid $B config set: $ERR"
run 1 "$RUNAS" $A "$CTL" config set max-leases-per-user 1
run 0 "$CTL" config show
check_eq "config after refused sets" "$OUT" "$before"
run 0 "$RUNAS" $A "$CTL" config show
check_eq "config as uid $A" "$OUT" "$before"
run 0 "$RUNAS" $A "$CTL" -j stats
info "config set: EPERM; config show and stats: allowed"

run 1 timeout 20 "$RUNAS" $A "$CTL" monitor
info "monitor as uid $A: $ERR"
[[ $ERR == *"Operation not permitted"* ]] || fail "uid $A monitor: $ERR"
run 1 timeout 20 "$RUNAS" $B "$CTL" -j monitor
echo "users ok"
