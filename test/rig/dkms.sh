#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
# DKMS, the way users install: `make dkms-install` puts the sources where DKMS looks, then `dkms add` and
# `dkms build -k REL --kernelsourcedir KDIR` against each kernel's cached headers; then the whole VM suite
# runs on the .ko that DKMS built for the default kernel (6.1).
#
#   dkms.sh [--kernels "SERIES..."] [--suite-kernel SERIES] [--no-suite] [-- VM.SH-OPTIONS...]
#
#   --kernels       what to build for (default: "5.10 6.1 6.12 7.x"); releases work too
#   --suite-kernel  the kernel to boot with its DKMS-built .ko (default 6.1)
#   --no-suite      build only
# VM.SH-OPTIONS go to vm.sh (the console log is $CACHE/dkms/console.log unless --log says otherwise).
# DKMS runs with its own trees under $CACHE/dkms/ (--sourcetree, --dkmstree and --installtree per kernel), so
# the host's DKMS state (/usr/src, /var/lib/dkms) is never touched. A kernel whose modules build in a chroot
# (kernel.sh --chroot: 5.10, 7.x) gets that release's own dkms, run in the chroot. Each build is one test in
# the last line, "N passed, N failed", with the suite's results added.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=kernel.sh
. "$RIG_DIR/kernel.sh"

kernels="5.10 6.1 6.12 7.x" suite_kernel=6.1 suite=1 vm_args=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernels) kernels=$2; shift ;;
	--suite-kernel) suite_kernel=$2; shift ;;
	--no-suite) suite=0 ;;
	--) shift; vm_args=("$@"); break ;;
	-h|--help) sed -n '/^#   dkms.sh/,/^# the last line/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "dkms.sh: unknown option '$1' (see --help)" ;;
	esac
	shift
done

name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' "$REPO_ROOT/dkms.conf")
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$REPO_ROOT/dkms.conf")
{ [ -n "$name" ] && [ -n "$version" ]; } || die "dkms.conf names no PACKAGE_NAME/PACKAGE_VERSION"
top=$CACHE/dkms
src=$top/src
"$RIG_DIR/deps.sh" >&2 || die "installing dependencies failed"
need_pkgs dkms

log "make dkms-install DKMSDIR=$src/$name-$version"
rm -rf "$src"
make --no-print-directory -C "$REPO_ROOT" dkms-install DKMSDIR="$src/$name-$version" >&2 ||
	die "make dkms-install failed"

# dkms_for REL CMD...: run dkms (CMD...) with REL's private trees, on the host or in REL's chroot.
dkms_for() {
	local rel=$1 tree=$top/$1 suite
	shift
	mkdir -p "$tree/dkms" "$tree/install"
	set -- dkms --sourcetree "$src" --dkmstree "$tree/dkms" --installtree "$tree/install" "$@"
	suite=$(kernel_chroot_suite "$rel")
	if [ -z "$suite" ]; then
		"$@"
	else
		kernel_chroot_need "$suite" dkms
		kernel_chroot_exec "$(kernel_chroot_root "$suite")" "$top" "$(kernel_dir "$rel")" -- "$@"
	fi
}

passed=0 failed=0 suite_ko="" rows=()
for k in $kernels; do
	rel=$(kernel_resolve "$k") || { failed=$((failed + 1)); rows+=("$k: fetch failed"); continue; }
	rm -rf "${top:?}/$rel"
	t0=$(date +%s)
	log "=== dkms add + build $name/$version for $rel"
	ko=$top/$rel/dkms/$name/$version/$rel/x86_64/module/$name.ko
	# --no-prepare-kernel: given --kernelsourcedir, bullseye's dkms 2.8 would "prepare" the headers with make
	# mrproper + oldconfig, wiping include/generated/ of the cached tree.
	if dkms_for "$rel" add -m "$name" -v "$version" >&2 &&
		dkms_for "$rel" build -m "$name" -v "$version" -k "$rel" --kernelsourcedir "$(kernel_kdir "$rel")" \
			--no-prepare-kernel >&2 &&
		[ -f "$ko" ]; then
		passed=$((passed + 1))
		rows+=("$k: $rel: dkms build ok ($(($(date +%s) - t0)) s): $ko")
		echo "ok dkms-build-$rel"
	else
		failed=$((failed + 1))
		rows+=("$k: $rel: dkms build FAILED ($(($(date +%s) - t0)) s)")
		echo "not ok dkms-build-$rel"
		find "$top/$rel/dkms" -name make.log -exec tail -n 30 {} + >&2 2>/dev/null || true
	fi
	if [ "$k" = "$suite_kernel" ] || [ "$rel" = "$suite_kernel" ]; then suite_ko=$ko; suite_rel=$rel; fi
done
printf '%s\n' "${rows[@]}" >&2

if [ $suite -eq 1 ]; then
	if [ -n "$suite_ko" ] && [ -f "$suite_ko" ]; then
		log "=== the suite on $suite_rel with the DKMS-built $suite_ko"
		out=$(mktemp)
		"$RIG_DIR/vm.sh" --kernel "$suite_rel" --module "$suite_ko" --log "$top/console.log" "${vm_args[@]}" |
			tee "$out" || true
		read -r p f < <(tail -n 1 "$out" | awk '{ print $1 + 0, $3 + 0 }')
		passed=$((passed + p)) failed=$((failed + f))
		rm -f "$out"
	else
		log "no DKMS-built module for $suite_kernel: not booting"
		failed=$((failed + 1))
	fi
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
