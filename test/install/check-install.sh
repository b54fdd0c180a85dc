#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/../rig
# SPDX-License-Identifier: GPL-2.0
# make check-install: mrlease installed the way a user installs it, on a booted Debian system. The root
# filesystem (rootfs.sh, cached) boots under QEMU on its own Debian kernel with the NVDIMMs and the vIOMMU and
# no network; the packages, the kernel headers and a second kernel come from local files on a payload disk;
# guest.sh installs, checks, installs the second kernel; the guest reboots into it (the host takes the new
# kernel and initrd out of the guest's disk with debugfs, as a boot loader would), checks the module came up
# by itself, purges and checks nothing is left. Each check is one test of the last line,
# "N passed, N failed".
#
#   check-install.sh [--suite bookworm|trixie] [--debs DIR] [--timeout SECS] [--keep]
#
#   --suite    the Debian release to install on (default bookworm; its second kernel is bookworm-backports')
#   --debs     the .debs to install (default: make deb, then build/deb)
#   --timeout  per boot (default 1500 s)
#   --keep     keep the run directory ($CACHE/install/run-SUITE) and its disk images
set -uo pipefail
# shellcheck source=../rig/lib.sh
. "$(dirname "$0")/../rig/lib.sh"

suite=bookworm debs="" timeout=1500 keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--suite) suite=$2; shift ;;
	--debs) debs=$(realpath "$2"); shift ;;
	--timeout) timeout=$2; shift ;;
	--keep) keep=1 ;;
	-h|--help) sed -n '/^#   check-install.sh/,/^#   --keep/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "check-install.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
fatal() { printf '[install] error: %s\n' "$*" >&2; echo "0 passed, 1 failed"; exit 1; }
say() { printf '[install] %s\n' "$*" >&2; }

"$RIG_DIR/deps.sh" >&2 || fatal "installing dependencies failed"
need_pkgs qemu-system-x86 e2fsprogs debootstrap >&2
dir=$("$REPO_ROOT/test/install/rootfs.sh" --suite "$suite") || fatal "the $suite root filesystem could not be built"
if [ -z "$debs" ]; then
	make --no-print-directory -C "$REPO_ROOT" deb >"$CACHE/install/make-deb.log" 2>&1 ||
		{ tail -n 30 "$CACHE/install/make-deb.log" >&2; fatal "make deb failed"; }
	debs=$REPO_ROOT/build/deb
fi
version=$(cat "$REPO_ROOT/VERSION")
packages=()
for f in "$debs"/*_"$version"_*.deb; do
	case $f in *-dbgsym_*) ;; *) [ -f "$f" ] && packages+=("$f") ;; esac
done
[ ${#packages[@]} -ge 5 ] || fatal "no mrlease $version packages in $debs (make deb)"
kernel_a=$(cat "$dir/kernel-a")
kernel_b=$(cat "$dir/kernel-b" 2>/dev/null || true)

run=$CACHE/install/run-$suite
rm -rf "$run"
mkdir -p "$run/payload/debs"
[ $keep -eq 1 ] || trap 'rm -rf "$run"' EXIT
cp "${packages[@]}" "$run/payload/debs/"
cp -al "$dir/debs-a" "$run/payload/"
[ ! -d "$dir/debs-b" ] || cp -al "$dir/debs-b" "$run/payload/"
cp "$REPO_ROOT"/test/install/{guest.sh,lease-hello.c,rdma-at-boot.service} "$run/payload/"
echo "$kernel_a" >"$run/payload/kernel-a"
[ -z "$kernel_b" ] || echo "$kernel_b" >"$run/payload/kernel-b"
echo "$version" >"$run/payload/version"
nonce=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
echo "$nonce" >"$run/payload/nonce"
mkfs.ext4 -q -F -L payload -d "$run/payload" "$run/payload.img" "$(($(du -sm "$run/payload" | cut -f1) + 64))M" ||
	fatal "making the payload disk failed"
cp --sparse=always "$dir/base.img" "$run/root.img"
truncate -s 512M "$run/nvdimm0.img" "$run/nvdimm1.img"

passed=0 failed=0
# boot STAGE VMLINUZ INITRD: one boot; adds its results to the counts; fails if the stage did not finish.
boot() {
	local stage=$1 console=$run/console-$1.log results=$run/results-$1 t0 qrc=0
	: >"$results"
	t0=$(date +%s)
	say "boot $stage: $(basename "$2") (console: $console)"
	# cache=unsafe: the disk is thrown away after the run, so dpkg's fsyncs need not reach the host's disk.
	timeout -k 10 "$timeout" qemu-system-x86_64 \
		-machine "q35,nvdimm=on,kernel-irqchip=split" -accel tcg -cpu max,la57=off -smp 2 -m "2G,slots=4,maxmem=8G" \
		-object "memory-backend-file,id=nvm0,share=on,mem-path=$run/nvdimm0.img,size=512M,align=2M" \
		-device "nvdimm,id=nvdimm0,memdev=nvm0" \
		-object "memory-backend-file,id=nvm1,share=on,mem-path=$run/nvdimm1.img,size=512M,align=2M" \
		-device "nvdimm,id=nvdimm1,memdev=nvm1" \
		-device "intel-iommu,intremap=on,caching-mode=on" \
		-drive "file=$run/root.img,if=virtio,format=raw,cache=unsafe" \
		-drive "file=$run/payload.img,if=virtio,format=raw,readonly=on,cache=unsafe" \
		-nodefaults -nographic -no-reboot -monitor none \
		-serial "file:$console" -serial "file:$results" \
		-kernel "$2" -initrd "$3" \
		-append "root=/dev/vda rw console=ttyS0 intel_iommu=on no_timer_check panic=-1 systemd.show_status=0" \
		</dev/null >"$run/qemu-$stage.out" 2>&1 || qrc=$?
	say "boot $stage took $(($(date +%s) - t0)) s (qemu exit status $qrc)"
	tr -d '\r' <"$results" | grep -E '^(not )?ok ' >&2
	passed=$((passed + $(tr -d '\r' <"$results" | grep -c '^ok '))) 
	failed=$((failed + $(tr -d '\r' <"$results" | grep -c '^not ok ')))
	if grep -E -q 'BUG:|Oops|Call Trace:|KASAN|UBSAN' "$console"; then
		say "boot $stage: a kernel splat on the console:"
		grep -E -B5 -A30 'BUG:|Oops|Call Trace:|KASAN|UBSAN' "$console" | head -n 80 >&2
		failed=$((failed + 1))
	fi
	if ! tr -d '\r' <"$results" | grep -qx "CHECK-INSTALL-STAGE $stage $nonce"; then
		say "boot $stage did not finish; the console's end:"
		tail -n 40 "$console" >&2
		failed=$((failed + 1))
		return 1
	fi
}
# From the guest's disk, as its boot loader would read it.
from_disk() {
	debugfs -R "dump $1 $2" "$run/root.img" >/dev/null 2>&1 && [ -s "$2" ]
}

# Stage 2 boots the second kernel, or the first again where the suite has none.
kernel_2=${kernel_b:-$kernel_a}
if boot 1 "$dir/root/boot/vmlinuz-$kernel_a" "$dir/root/boot/initrd.img-$kernel_a"; then
	if from_disk "/boot/vmlinuz-$kernel_2" "$run/vmlinuz-2" && from_disk "/boot/initrd.img-$kernel_2" "$run/initrd-2"
	then
		boot 2 "$run/vmlinuz-2" "$run/initrd-2"
	else
		say "kernel $kernel_2 is not on the guest's disk after stage 1"
		failed=$((failed + 1))
	fi
fi
[ $keep -eq 0 ] || say "kept $run"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
