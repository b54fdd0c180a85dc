#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run mrlease-bench in the test VM: first without the module (the mmap baseline), then load
# $MRLEASE_MODULE and run the whole benchmark with that baseline in its table 3. Boot the VM with
# the module not loaded (vm.sh --no-load) for the baseline to be taken; else it is left out.
# Extra arguments go to mrlease-bench (e.g. --quick).
set -eu

find_bench() {
	here=$(dirname "$0")
	for d in ${MRLEASE_BENCH_BIN:-} "$here" "$here/../build/bench" "@BENCH_DIR@"; do
		[ -x "$d/mrlease-bench" ] && { echo "$d/mrlease-bench"; return; }
	done
	command -v mrlease-bench || { echo "run-bench.sh: mrlease-bench not found" >&2; exit 1; }
}
bench=$(find_bench)

baseline=
if [ ! -d /sys/module/mrlease ]; then
	baseline=$("$bench" --no-module "$@")
	insmod "${MRLEASE_MODULE:-/lib/mrlease/mrlease.ko}"
	i=0
	while [ ! -e /dev/mrlease ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
fi
exec "$bench" ${baseline:+--baseline-ns "$baseline"} "$@"
