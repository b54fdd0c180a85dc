#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
# `make check-debug`: the whole VM suite (with stress, fuzz and fault injection) on the debug kernel
# (test/debug/kernel.sh: KASAN, lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_VM, DEBUG_LIST, kmemleak, fault
# injection), then final-check.sh in the guest: rmmod mrlease and kmemleak scans. Any splat on the console
# (the rig's patterns) or a leak fails the run. The last line is the rig's summary.
#
#   check-debug.sh [--kernel-only] [VM.SH OPTIONS...]
#
# --kernel-only builds (or finds) the debug kernel and stops. mrlease.ko is built from a copy of module/
# (and uapi/) in test/build/debug/, so a debug build never touches module/'s own objects. Environment:
# MRLEASE_STRESS_SECS (default 60), MRLEASE_FUZZ_SECS (default 60) and any other MRLEASE_STRESS_*,
# MRLEASE_FUZZ_*, MRLEASE_FAULT_* variable are passed to the guest's tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../rig/lib.sh
. "$here/../rig/lib.sh"

kernel_only=0
if [ "${1:-}" = --kernel-only ]; then
	kernel_only=1
	shift
fi

fatal() {
	printf '[rig] error: %s\n' "$*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

"$RIG_DIR/deps.sh" || fatal "installing dependencies failed"
start=$(date +%s)
rel=$("$here/kernel.sh") || fatal "building the debug kernel failed"
log "debug kernel $rel ready after $(($(date +%s) - start))s"
[ $kernel_only -eq 0 ] || exit 0
kdir=$("$here/kernel.sh" --kdir)

# A private copy of the module sources: Kbuild writes its objects next to them.
build=$REPO_ROOT/test/build/debug
mkdir -p "$build/src"
rm -rf "$build/src/module" "$build/src/uapi"
cp -a "$REPO_ROOT/uapi" "$build/src/uapi"
cp "$REPO_ROOT/VERSION" "$build/src/VERSION"
mkdir -p "$build/src/module"
(cd "$REPO_ROOT/module" && git ls-files -co --exclude-standard . | grep -v -e '\.o$' -e '\.ko$' -e '\.mod' |
	cpio -pdm --quiet "$build/src/module") || fatal "copying module/ failed"
make -C "$build/src/module" -j"$(nproc)" KDIR="$kdir" MRLEASE_WERROR=1 >&2 || fatal "building module/ against $rel failed"

make -C "$REPO_ROOT/test" -j"$(nproc)" tests >&2 || fatal "building the tests failed"

# Unknown name=value kernel parameters become init's environment, and so the tests': the durations, and any
# other MRLEASE_STRESS_* / MRLEASE_FUZZ_* / MRLEASE_FAULT_* knob set here (see the tests' headers).
append="MRLEASE_STRESS_SECS=${MRLEASE_STRESS_SECS:-60} MRLEASE_FUZZ_SECS=${MRLEASE_FUZZ_SECS:-60}"
# 100,000 leases and jq over their 27 MB dump take minutes on this kernel; 6.1's own lane dumps 100,000.
append+=" MRLEASE_CTL_DUMP_LEASES=${MRLEASE_CTL_DUMP_LEASES:-20000}"
while IFS= read -r var; do
	case $var in
	MRLEASE_STRESS_SECS=*|MRLEASE_FUZZ_SECS=*|MRLEASE_CTL_DUMP_LEASES=*) ;;
	*[[:space:]]*) warn "ignoring $var: values with spaces cannot go on the kernel command line" ;;
	*) append+=" $var" ;;
	esac
done < <(env | grep -E '^MRLEASE_(STRESS|FUZZ|FAULT)_[A-Z_]+=' || true)
# Debug kernels under TCG are slow: longer per-test and VM limits unless the caller sets them.
exec "$RIG_DIR/vm.sh" --kernel "$rel" --module "$build/src/module/mrlease.ko" \
	--tests "$REPO_ROOT/test/build/tests" --run "$here/final-check.sh" \
	--timeout 5400 --test-timeout 900 --append "$append" "$@"
