#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
# Boot a Debian kernel in QEMU (TCG) with two NVDIMMs (ext4 and xfs, both -o dax), run the test suite in it
# and judge the result. The guest reports on a second serial port that only its test runner writes to; the
# host trusts it only if it ends with "MRLEASE-DONE <nonce>" for this run's nonce. Any kernel splat on the
# console fails the run. The last line printed is always the summary "N passed, N failed[, N skipped]".
#
#   vm.sh [--kernel SERIES|REL] [--module KO | --no-module] [--tests DIR | --no-suite] [--run FILE]...
#         [--timeout SECS] [--test-timeout SECS] [--log FILE] [--kmod NAME]... [--bin PATH]...
#         [--append ARGS] [--no-load] [--rdma] [--verbose]
#
#   --kernel        kernel series (6.1, the default: newest ABI in the archive) or release (6.1.0-56-amd64)
#                   or "debug" (KASAN/lockdep/kmemleak build of 6.1, test/debug/kernel.sh; see make check-debug)
#   --module KO     use this mrlease.ko instead of building module/ (make -C module KDIR=...)
#   --no-module     boot without mrlease.ko
#   --tests DIR     run the executables in DIR (default: make -C test KDIR=...; test/build/tests)
#   --no-suite      run no test suite (only --run programs)
#   --run FILE      copy FILE into the VM and run it after the suite as one more test (repeatable)
#   --timeout       hard limit for the whole VM (default 900 s); --test-timeout per test (default 120 s)
#   --log FILE      where to keep the guest console (default $CACHE/vm/console.log)
#   --kmod, --bin   extra kernel modules / host programs for the guest (see initramfs.sh)
#   --append        extra kernel command line; --no-load: do not insmod mrlease.ko at boot
#   --rdma          soft-RoCE in the guest (rxe0 on veth0, libibverbs); implied when a test links libibverbs
#   --verbose       show the guest console while it runs
# Exit status: 0 if nothing failed, 1 otherwise, 2 for a usage error.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

kernel=6.1 module="" no_module=0 tests="" suite=1 timeout=900 test_timeout=120 load=1 verbose=0
log_file="$CACHE/vm/console.log" append=""
runs=() initrd_args=()

usage() { sed -n '/^#   vm.sh/,/^# Exit status/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift ;;
	--module) module=$(realpath "$2"); shift ;;
	--no-module) no_module=1 ;;
	--tests) tests=$(realpath "$2"); shift ;;
	--no-suite) suite=0 ;;
	--run) runs+=(--run "$(realpath "$2")"); shift ;;
	--timeout) timeout=$2; shift ;;
	--test-timeout) test_timeout=$2; shift ;;
	--log) log_file=$(realpath -m "$2"); shift ;;
	--kmod|--bin) initrd_args+=("$1" "$2"); shift ;;
	--append) append=$2; shift ;;
	--no-load) load=0 ;;
	--rdma) initrd_args+=(--rdma) ;;
	-v|--verbose) verbose=1 ;;
	-h|--help) usage ;;
	*) echo "vm.sh: unknown option '$1'" >&2; usage ;;
	esac
	shift
done

# Anything that stops us before the VM has run is one failure, reported in the usual last-line format.
fatal() {
	printf '[rig] error: %s\n' "$*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

"$RIG_DIR/deps.sh" || fatal "installing dependencies failed"
# shellcheck source=kernel.sh
. "$RIG_DIR/kernel.sh"
rel=$(kernel_resolve "$kernel") || fatal "kernel $kernel unavailable"
kdir=$(kernel_kdir "$rel")
log "kernel $rel (KDIR=$kdir)"

if [ -z "$module" ] && [ $no_module -eq 0 ]; then
	if [ -d "$REPO_ROOT/module" ]; then
		# kernel_make: in the kernel's build chroot if its compiler is not the host's (5.10, 7.x).
		kernel_make "$rel" -C "$REPO_ROOT/module" -j"$(nproc)" KDIR="$kdir" MRLEASE_WERROR=1 >&2 || fatal "building module/ failed"
		module=$REPO_ROOT/module/mrlease.ko
		[ -f "$module" ] || fatal "module/ built no mrlease.ko"
	else
		warn "module/ does not exist: running without mrlease.ko"
	fi
fi
[ -n "$module" ] && initrd_args+=(--module "$module")

if [ $suite -eq 1 ]; then
	if [ -z "$tests" ]; then
		if [ -f "$REPO_ROOT/test/Makefile" ]; then
			make -C "$REPO_ROOT/test" -j"$(nproc)" KDIR="$kdir" >&2 || fatal "building the tests failed"
		fi
		tests=$REPO_ROOT/test/build/tests
		[ -d "$tests" ] || { warn "no $tests: running no test suite"; tests=""; }
	fi
	[ -n "$tests" ] && initrd_args+=(--tests "$tests")
fi

mkdir -p "$CACHE/vm" "$(dirname "$log_file")"
run=$(mktemp -d "$CACHE/vm/run.XXXXXX")
qpid=""
cleanup() {
	[ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$RIG_DIR/initramfs.sh" --kernel "$rel" --out "$run/initrd.gz" "${initrd_args[@]}" "${runs[@]}" ||
	fatal "building the initramfs failed"

nonce=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
results=$run/results
: >"$log_file"
: >"$results"
truncate -s 512M "$run/nvdimm0.img" "$run/nvdimm1.img"
# no_timer_check: under a loaded TCG host 5.10's IO-APIC timer check fails ("timer doesn't work through
# Interrupt-remapped IO-APIC") and panics at boot.
cmdline="console=ttyS0 intel_iommu=on panic=-1 no_timer_check loglevel=7 printk.time=1 rig.nonce=$nonce"
cmdline+=" rig.test_timeout=$test_timeout rig.load=$load${append:+ $append}"
# la57=off: TCG's "max" CPU offers 5-level paging. 6.1's identify_cpu() clears boot_cpu_data's feature words
# for a moment at boot, and an interrupt taken then sees pgtable_l5_enabled() false: KASAN calls the
# 5-level direct-map address it checks a wild access (the session-13 CI run: debug kernel, 7 s into boot).
# Real x86 servers run 4-level paging; so do the guests.
qemu=(qemu-system-x86_64
	-machine "q35,nvdimm=on,kernel-irqchip=split" -accel tcg -cpu max,la57=off -smp 2 -m "2G,slots=4,maxmem=8G"
	-object "memory-backend-file,id=nvm0,share=on,mem-path=$run/nvdimm0.img,size=512M,align=2M"
	-device "nvdimm,id=nvdimm0,memdev=nvm0"
	-object "memory-backend-file,id=nvm1,share=on,mem-path=$run/nvdimm1.img,size=512M,align=2M"
	-device "nvdimm,id=nvdimm1,memdev=nvm1"
	-device "intel-iommu,intremap=on,caching-mode=on"
	-nodefaults -nographic -no-reboot -monitor none
	-serial "file:$log_file" -serial "file:$results"
	-kernel "$(kernel_vmlinuz "$rel")" -initrd "$run/initrd.gz" -append "$cmdline")

log "booting (console: $log_file, hard timeout ${timeout}s)"
start=$(date +%s)
timeout -k 10 "$timeout" "${qemu[@]}" </dev/null >"$run/qemu.out" 2>&1 &
qpid=$!
[ $verbose -eq 0 ] || tail -n +1 -F --pid="$qpid" "$log_file" 2>/dev/null >&2 &
qrc=0
wait "$qpid" || qrc=$?
qpid=""
wait || true
log "VM ran for $(($(date +%s) - start))s (qemu exit status $qrc)"

# --- judge
tr -d '\r' <"$results" >"$run/results.txt"
cp "$run/results.txt" "${log_file%.log}.results"
finished=0
grep -qxF "MRLEASE-DONE $nonce" "$run/results.txt" && finished=1

grep -E '^(not )?ok [0-9]+ ' "$run/results.txt" || true
read -r passed failed skipped < <(awk '
	/^ok [0-9]+ .*# SKIP/ { s++; next }
	/^ok [0-9]+ / { p++ }
	/^not ok [0-9]+ / { f++ }
	END { print p + 0, f + 0, s + 0 }' "$run/results.txt")

tail_log() {
	echo "--- last lines of the guest console ($log_file):"
	tail -n "${1:-60}" "$log_file"
	[ ! -s "$run/qemu.out" ] || { echo "--- qemu said:"; cat "$run/qemu.out"; }
}

# Output of the failed tests, from the console (each of their lines is prefixed "name: ").
awk '/^not ok [0-9]+ / { sub(/^not ok [0-9]+ /, ""); sub(/ #.*/, ""); print }' "$run/results.txt" |
while IFS= read -r name; do
	echo "--- output of failed test $name:"
	awk -v p="$name: " 'index($0, p) == 1' "$log_file" | tail -n 40
	[[ $name != setup:* ]] || grep -F 'mrlease-init:' "$log_file" || true
done

# where_in_log [ERE]: what the guest was doing at the first console line matching ERE (default: at the end).
where_in_log() {
	re=${1:-} awk '
		/^=== [^:]*$/ { t = " while running " substr($0, 5); next }
		/^=== .*: exit / { t = " after " substr($0, 5, index($0, ": exit") - 5); next }
		ENVIRON["re"] != "" && $0 ~ ENVIRON["re"] { exit }
		END { print t ? t : " before the tests" }' "$log_file"
}

# Kernel messages only (printk timestamps), so test output cannot trip it. Lockdep's reports are WARNING:,
# BUG: or INFO: lines (a bare "lockdep" would match a lockdep-enabled kernel's boot messages). A kernel that
# says we use an interface it is about to remove (7.x: "enqueued on deprecated workqueue") fails it too.
splat='\[ *[0-9]+\.[0-9]+\] .*(enqueued on deprecated workqueue|mrlease.*deprecated|WARNING:|BUG:|Oops|Call Trace|general protection|KASAN|UBSAN|DEBUG_LOCKS_WARN_ON|INFO: trying to register non-static key|turning off the locking correctness validator|possible circular locking|INFO: possible|sleeping function called from invalid context|kmemleak: .*new suspected|list_add corruption|list_del corruption|refcount_t:|Kernel panic|INFO: task .* blocked for more than|soft lockup|hard LOCKUP|rcu: INFO: .* stall)'
if grep -qE "$splat" "$log_file"; then
	failed=$((failed + 1))
	echo "--- kernel splat on the guest console ($log_file), first$(where_in_log "$splat"):"
	grep -nE -B 3 -A 25 -m 5 "$splat" "$log_file" | head -n 200
fi

last_test=$(where_in_log)
if grep -qE '\] Kernel panic - not syncing' "$log_file"; then
	echo "guest kernel panicked$last_test"
	[ $finished -eq 1 ] || { failed=$((failed + 1)); tail_log 40; }
elif [ $finished -eq 0 ]; then
	failed=$((failed + 1))
	if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
		echo "guest did not finish (timeout after ${timeout}s)$last_test"
	else
		echo "guest did not finish (no MRLEASE-DONE line; qemu exit status $qrc)$last_test"
	fi
	tail_log
elif [ $qrc -ne 0 ]; then
	failed=$((failed + 1))
	if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
		echo "guest finished but did not power off (timeout after ${timeout}s)"
	else
		echo "qemu exit status $qrc"
	fi
	tail_log 30
fi

summary="$passed passed, $failed failed"
[ "$skipped" -eq 0 ] || summary+=", $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
