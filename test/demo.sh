#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# mrlease in one minute: a process holds a pinned lease on part of a DAX file (think: an RDMA memory
# region); another process punches a hole into that part. The punch waits until the holder has quiesced
# its DMA and acknowledged, two seconds later, then goes on; the holder re-arms its lease on the new blocks.
#
# Runs in the test VM (needs /dev/mrlease and a DAX mount, $MRLEASE_XFS or /mnt/xfs). The helper
# mrlease-demo is looked for in $MRLEASE_DEMO_BIN, next to this script, in the build directory this copy
# was installed from, and in $PATH.
set -eu

dir=${MRLEASE_XFS:-/mnt/xfs}
file=$dir/mrlease-demo.dat
ready=/tmp/mrlease-demo.ready

find_helper() {
	here=$(dirname "$0")
	for d in ${MRLEASE_DEMO_BIN:-} "$here" "$here/build/demo" "@DEMO_DIR@"; do
		[ -x "$d/mrlease-demo" ] && { echo "$d/mrlease-demo"; return; }
	done
	command -v mrlease-demo || { echo "demo.sh: mrlease-demo not found" >&2; exit 1; }
}
demo=$(find_helper)

if [ ! -e /dev/mrlease ] && [ -n "${MRLEASE_MODULE:-}" ]; then
	insmod "$MRLEASE_MODULE"
fi
[ -e /dev/mrlease ] || { echo "demo.sh: no /dev/mrlease: load mrlease.ko first" >&2; exit 1; }
grep -q " $dir .*dax" /proc/mounts || echo "demo.sh: warning: $dir is not mounted with -o dax" >&2

# A 4 MiB file with its blocks allocated.
dd if=/dev/urandom of="$file" bs=1M count=4 2>/dev/null
sync
rm -f "$ready"
trap 'rm -f "$file" "$ready"' EXIT

# The holder: a pinned lease on 1 MiB at offset 1 MiB; it acks 2 s after the break.
"$demo" hold "$file" 1M 1M 2 "$ready" &
holder=$!
while [ ! -e "$ready" ]; do sleep 0.1; done

# The breaker: punch 64 KiB at offset 1280 KiB, inside the lease.
"$demo" say breaker "punching hole: fallocate -p -o 1280KiB -l 64KiB $file"
if fallocate --help 2>&1 | grep -q -- --punch-hole; then
	"$demo" time breaker punch fallocate -p -o 1280KiB -l 64KiB "$file"
else
	"$demo" time breaker punch "$demo" punch "$file" 1280K 64K
fi
wait "$holder"
