#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Without the module (unloaded; autoload cannot find it in the guest) every netlink command says so in
# words and exits 1, hold says that /dev/mrlease is missing; after insmod all works again.
# shellcheck source=test/ctl/lib.sh
. "$(dirname "$0")/bin/ctl-lib.sh"

[ -f "${MRLEASE_MODULE:-}" ] || skip "no \$MRLEASE_MODULE to load again"
rmmod mrlease 2>"$WORK/rmmod.err" || skip "cannot unload mrlease: $(cat "$WORK/rmmod.err")"
trap 'grep -q "^mrlease " /proc/modules || insmod "$MRLEASE_MODULE"; cleanup' EXIT

for cmd in "lease show" "lease show 1" "lease revoke 1" "stats" "config show" "config set break-timeout 1000" "monitor"; do
	# shellcheck disable=SC2086
	run 1 timeout 20 "$CTL" $cmd
	check_eq "$cmd without the module" "$ERR" "mrlease-ctl: mrlease kernel module not loaded (modprobe mrlease)"
done
echo data >"$WORK/file"
run 1 "$CTL" hold "$WORK/file"
[[ $ERR == "mrlease-ctl: hold: /dev/mrlease: No such file or directory (mrlease kernel module not loaded? modprobe mrlease)" ]] ||
	fail "hold: $ERR"

insmod "$MRLEASE_MODULE" || fail "insmod $MRLEASE_MODULE"
run 0 "$CTL" -j stats
check_eq "leases after reload" "$(jq .leases <<<"$OUT")" 0
run 0 "$CTL" -j lease show
check_eq "dump after reload" "$OUT" "[]"
echo "unloaded ok"
