#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
# `make check-race`: the adversarial lane with the module's race windows held open, on the debug kernel
# (test/debug/kernel.sh: KASAN, lockdep, DEBUG_OBJECTS, kmemleak). mrlease.ko is built with
# MRLEASE_RACE_WINDOWS=1 (module/race.c) and loaded with race_window_us set, so that one in four passes
# through each lifecycle point (destroy between DYING and the cancels, break between BROKEN and queueing,
# the arm between check, pin and ARMED, restore, the page-table check, the timeout, the layout give-back)
# stalls for up to that long. In that VM: the hostile-user tests (test/cases/NN-hostile-*), trinity as
# uid 65534 against /dev/mrlease (trinity.sh), the stress test (stress.c), then final-check.sh (rmmod,
# kmemleak). Any splat on the console (the rig's patterns) or leak fails the run.
#
#   check-race.sh [--kernel SERIES|REL] [--module-src DIR | --module KO] [--patch FILE] [VM.SH OPTIONS...]
#
# --kernel runs the lane on another kernel than the debug one (e.g. Debian's 6.1: no KASAN, so a race shows
# only as an oops or a WARN there).
# --module-src DIR builds another copy of the module's sources instead of module/ (its uapi/ next to it if
# it has one, else ours); --patch FILE applies FILE (patch -p1, paths module/... and uapi/...) to the
# private copy before building; --module KO takes a .ko built with MRLEASE_RACE_WINDOWS=1 as it is.
# The copy is built in test/build/race/VARIANT/, so module/'s own objects are never touched.
#
# Each test is started through a wrapper that writes "mrlease-race: NAME starts" to /dev/kmsg, so the
# console has the time; after the run this script prints when the first splat came, during which test and
# how many seconds after that test began, and trinity's and the stress test's counts. The last line is the
# rig's summary "N passed, N failed[, N skipped]".
#
# Environment: MRLEASE_RACE_WINDOW_US (default 2000), MRLEASE_STRESS_SECS (90), MRLEASE_TRINITY_SECS (45);
# any other MRLEASE_STRESS_*, MRLEASE_TRINITY_*, MRLEASE_HOSTILE_* variable goes to the guest's tests.
# MRLEASE_RACE_HOSTILE=0 / MRLEASE_RACE_TRINITY=0 / MRLEASE_RACE_STRESS=0 leave a part out;
# MRLEASE_RACE_SKIP (comma-separated test names) leaves tests out; by default the two that measure costs
# rather than race: 85-hostile-many-vmas (a register over 64,000 VMAs: minutes under KASAN) and
# 86-hostile-memory-bound (slab use per lease: KASAN's quarantine keeps freed leases counted). check-debug
# runs both.
#
# Proving the lane (issue 10, defect 1: mrl_lease_destroy() cancelling its work before the lease is DYING,
# with a window held open between the cancels and the state change):
#
#   test/debug/check-race.sh --patch test/debug/race-defect1.patch
#
# must fail with a use-after-free (KASAN / ODEBUG / a NULL dereference in the timer softirq); the line
# "check-race: first splat ..." says how fast (2026-12-02: "ODEBUG: free active ... timer_list hint:
# mrl_lease_timeout_work" 1.8-2.7 s after 85-hostile-destroy-race started; with the hostile tests and
# trinity left out, MRLEASE_RACE_HOSTILE=0 MRLEASE_RACE_TRINITY=0, the stress test's flipper and scribbler
# alone: 5.6 s after 97-stress started). If the patch no longer applies to module/lease.c, redo it:
# move the cancel_*_sync() calls of mrl_lease_destroy() back above the spin_lock() that makes the
# lease DYING (as at commit 5a69dc6) and put mrl_race_window("destroy: cancelled, not DYING", false)
# between them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../rig/lib.sh
. "$here/../rig/lib.sh"

kernel=debug module_src="" module_ko="" patch_file=""
vm_args=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift ;;
	--module-src) module_src=$(realpath "$2"); shift ;;
	--module) module_ko=$(realpath "$2"); shift ;;
	--patch) patch_file=$(realpath "$2"); shift ;;
	*) vm_args+=("$1") ;;
	esac
	shift
done

fatal() {
	printf '[rig] error: %s\n' "$*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

t0=$(date +%s)
"$RIG_DIR/deps.sh" || fatal "installing dependencies failed"
# trinity only ever runs in the guest; the host needs the package for its binary. util-linux: setpriv.
(need_pkgs trinity util-linux) || fatal "installing trinity failed"
# shellcheck source=../rig/kernel.sh
. "$RIG_DIR/kernel.sh"
rel=$(kernel_resolve "$kernel") || fatal "kernel $kernel unavailable"
kdir=$(kernel_kdir "$rel")
log "kernel $rel"

# --- mrlease.ko with the race windows
# Each kind of build has its own directory: two lanes may run at once.
variant=module
[ -z "$module_src" ] || variant=src-$(printf '%s' "$module_src" | md5sum | cut -c1-8)
[ -z "$module_ko" ] || variant=ko-$(printf '%s' "$module_ko" | md5sum | cut -c1-8)
[ -z "$patch_file" ] || variant+=-$(basename "$patch_file" .patch)
[ "$kernel" = debug ] || variant+=-$rel
build=$REPO_ROOT/test/build/race/$variant
if [ -n "$module_ko" ]; then
	[ -z "$module_src$patch_file" ] || fatal "--module takes a built .ko: no --module-src or --patch with it"
	ko=$module_ko
else
	src=${module_src:-$REPO_ROOT/module}
	[ -f "$src/Kbuild" ] || fatal "$src has no Kbuild: not a copy of module/"
	uapi=$REPO_ROOT/uapi
	[ ! -d "$src/../uapi" ] || uapi=$(cd "$src/../uapi" && pwd)
	# A private copy of the sources only (Kbuild writes its objects next to them).
	rm -rf "$build/src"
	mkdir -p "$build/src/module"
	cp -a "$uapi" "$build/src/uapi"
	cp "$REPO_ROOT/VERSION" "$build/src/VERSION"
	(cd "$src" && find . -type f \( -name '*.[ch]' -o -name Kbuild -o -name Kbuild.include -o -name Makefile \) \
		! -name '*.mod.c' | cpio -pdm --quiet "$build/src/module") || fatal "copying $src failed"
	if [ -n "$patch_file" ]; then
		patch -p1 -s -d "$build/src" --no-backup-if-mismatch <"$patch_file" ||
			fatal "$patch_file does not apply to $src (see the header of $0 to redo it)"
		log "applied $patch_file to the copy of $src"
	fi
	kernel_make "$rel" -C "$build/src/module" -j"$(nproc)" KDIR="$kdir" MRLEASE_RACE_WINDOWS=1 MRLEASE_WERROR=1 >&2 ||
		fatal "building $src with MRLEASE_RACE_WINDOWS=1 against $rel failed"
	ko=$build/src/module/mrlease.ko
fi
modinfo -F parm "$ko" | grep -q '^race_window_us:' ||
	fatal "$ko has no race_window_us parameter: not built with MRLEASE_RACE_WINDOWS=1"

# --- the tests, built into a directory of our own, each behind a wrapper that marks its start on the
# kernel log (the real programs sit in .bin/, where the suite runner does not look)
tests=$build/tests
rm -rf "$tests" "$build/b"
mkdir -p "$tests/.bin"
names=()
if [ "${MRLEASE_RACE_HOSTILE:-1}" != 0 ]; then
	for f in "$REPO_ROOT"/test/cases/[0-9][0-9]-hostile-*.c "$REPO_ROOT"/test/cases/[0-9][0-9]-hostile-*.sh; do
		[ -f "$f" ] || continue
		n=${f##*/}
		n=${n%.*}
		case $n in
		*-fsdax-*) names+=("$n-ext4" "$n-xfs") ;;
		*) names+=("$n") ;;
		esac
	done
	[ ${#names[@]} -gt 0 ] || warn "no test/cases/NN-hostile-* yet: running without hostile-user tests"
fi
skip=${MRLEASE_RACE_SKIP-85-hostile-many-vmas,86-hostile-memory-bound}
for n in "${!names[@]}"; do
	[[ ",$skip," != *",${names[n]},"* ]] || unset 'names[n]'
done
names=("${names[@]}")
[ "${MRLEASE_RACE_STRESS:-1}" = 0 ] || names+=(97-stress)
targets=()
for n in "${names[@]}"; do
	targets+=("$build/b/tests/$n")
done
if [ ${#targets[@]} -gt 0 ]; then
	make -C "$REPO_ROOT/test" -j"$(nproc)" B="$build/b" "${targets[@]}" >&2 || fatal "building the tests failed"
	cp "${targets[@]}" "$tests/.bin/"
fi
bins=()
if [ "${MRLEASE_RACE_TRINITY:-1}" != 0 ]; then
	install -m 0755 "$here/trinity.sh" "$tests/.bin/96-trinity"
	names+=(96-trinity)
	bins=(--bin "$(command -v trinity)" --bin "$(command -v setpriv)")
fi
for n in "${names[@]}"; do
	cat >"$tests/$n" <<-'EOF'
	#!/bin/sh
	# check-race.sh: put the start of this test on the kernel log, then run it.
	n=${0##*/}
	echo "mrlease-race: $n starts (race_window_us=$(cat /sys/module/mrlease/parameters/race_window_us))" >/dev/kmsg
	exec "$(dirname "$0")/.bin/$n"
	EOF
	chmod 0755 "$tests/$n"
done

# --- the VM
us=${MRLEASE_RACE_WINDOW_US:-2000}
append="MRLEASE_MODPARAMS=race_window_us=$us MRLEASE_STRESS_SECS=${MRLEASE_STRESS_SECS:-90}"
append+=" MRLEASE_TRINITY_SECS=${MRLEASE_TRINITY_SECS:-45}"
while IFS= read -r var; do
	case $var in
	MRLEASE_STRESS_SECS=*|MRLEASE_TRINITY_SECS=*) ;;
	*[[:space:]]*) warn "ignoring $var: values with spaces cannot go on the kernel command line" ;;
	*) append+=" $var" ;;
	esac
done < <(env | grep -E '^MRLEASE_(STRESS|TRINITY|HOSTILE)_[A-Z_]+=' || true)
console=$CACHE/vm/race-$variant-console.log
for ((i = 0; i < ${#vm_args[@]}; i++)); do
	[ "${vm_args[i]}" != --log ] || console=$(realpath -m "${vm_args[i + 1]}")
done
mkdir -p "$build"
out=$build/vm.out
t1=$(date +%s)
rc=0
# Debug kernels under TCG are slow: longer per-test and VM limits unless the caller sets them.
"$RIG_DIR/vm.sh" --kernel "$rel" --module "$ko" --tests "$tests" --run "$here/final-check.sh" \
	--timeout 1800 --test-timeout 600 --log "$console" "${bins[@]}" --append "$append" "${vm_args[@]}" |
	tee "$out" || rc=$?
t2=$(date +%s)

# --- what happened, from the console
summary=$(tail -n 1 "$out")
echo
echo "check-race: race_window_us=$us, module $ko"
# vm.sh lists the splats as "grep -n" lines after its header; the first "LINE:[ TIME]" one is the first.
first=$(sed -n '/^--- kernel splat on the guest console/,$p' "$out" | grep -m 1 -E '^[0-9]+:\[ *[0-9]+\.[0-9]+\]' || true)
if [ -n "$first" ]; then
	line=${first%%:*}
	t_splat=$(sed -E 's/^[0-9]+:\[ *([0-9]+\.[0-9]+)\].*/\1/' <<<"$first")
	# The last test start marked before that console line.
	mark=$(head -n "$line" "$console" | grep -E '^\[ *[0-9]+\.[0-9]+\] mrlease-race: .* starts' | tail -n 1 || true)
	if [ -n "$mark" ]; then
		t_mark=$(sed -E 's/^\[ *([0-9]+\.[0-9]+)\].*/\1/' <<<"$mark")
		name=$(sed -E 's/.*mrlease-race: ([^ ]+) starts.*/\1/' <<<"$mark")
		echo "check-race: first splat at ${t_splat}s (guest clock), $(awk -v a="$t_splat" -v b="$t_mark" \
			'BEGIN { printf "%.1f", a - b }')s after $name started:"
	else
		echo "check-race: first splat at ${t_splat}s (guest clock), before any test started:"
	fi
	echo "    ${first#*:}"
else
	echo "check-race: no splat on the console"
fi
grep -E '^(96-trinity: # trinity: ran|97-stress: stress: [0-9]+ s,)' "$console" | sed 's/^/check-race: /' || true
echo "check-race: $((t2 - t0))s in all: $((t1 - t0))s to build, $((t2 - t1))s in the VM"
echo "$summary"
exit "$rc"
