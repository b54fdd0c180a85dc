#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/../rig
# SPDX-License-Identifier: GPL-2.0
# The Debian system make check-install boots: a debootstrap root filesystem of SUITE with its own kernel,
# DKMS, a compiler and the libraries mrlease's packages depend on, but no mrlease and no kernel headers; and
# the local .deb files the guest installs offline: the headers of the root filesystem's kernel (debs-a/) and
# a second kernel, image and headers, as a user would add it (debs-b/: bookworm-backports' kernel on
# bookworm). Kept in $CACHE/install/SUITE/ and rebuilt when this script changes; the guest never changes it
# (check-install.sh boots a copy of base.img).
#
#   rootfs.sh [--suite bookworm|trixie]      prints the directory
set -euo pipefail
# shellcheck source=../rig/lib.sh
. "$(dirname "$0")/../rig/lib.sh"
# shellcheck source=../rig/kernel.sh
. "$RIG_DIR/kernel.sh"

suite=bookworm
while [ $# -gt 0 ]; do
	case $1 in
	--suite) suite=$2; shift ;;
	-h|--help) sed -n '/^#   rootfs.sh/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "rootfs.sh: unknown option '$1' (see --help)" ;;
	esac
	shift
done
case $suite in
bookworm) second="-t bookworm-backports linux-image-amd64 linux-headers-amd64" ;;
trixie) second="" ;;
*) die "rootfs.sh: suite '$suite' is not one check-install knows (bookworm, trixie)" ;;
esac

dir=$CACHE/install/$suite
stamp=$(sha256sum <"$0" | cut -c1-16)
if [ -f "$dir/base.img" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$dir"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "building the $suite root filesystem needs root"
need_pkgs debootstrap e2fsprogs
mkdir -p "$CACHE/install"
rig_lock "install-$suite"
root=$dir/root
rm -rf "$dir"
mkdir -p "$dir"
# What mrlease's packages need that a user would already have or get from the archive: dkms and a compiler
# (mrlease-dkms), pkg-config and libibverbs-dev (libmrlease-dev), the libraries the tools and the libfabric
# and UCX integrations link, and iproute2's rdma for the soft-RoCE device that makes udev load the module.
pkgs=systemd-sysv,udev,kmod,initramfs-tools,dkms,build-essential,pkgconf,libibverbs-dev,ibverbs-providers
pkgs+=,iproute2,libmnl0,libfabric1,libucx0,dwarves,linux-image-amd64,zstd,xz-utils
log "debootstrap $suite into $root (a few minutes)"
debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" "$KAPT_MIRROR" >"$dir/debootstrap.log" 2>&1 ||
	{ tail -n 30 "$dir/debootstrap.log" >&2; die "debootstrap $suite failed"; }
in_root() { kernel_chroot_exec "$root" -- "$@"; }
rel=$(basename "$(ls -d "$root"/lib/modules/*)")
log "$suite's kernel: $rel"

# The local files: downloaded by the root filesystem's own apt, so they are the archive's, with their
# dependencies, then taken out of its cache.
apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' \
	>"$root/etc/apt/apt.conf.d/99mrlease-host" || true
if [ "$suite" = bookworm ]; then
	echo "deb $KAPT_MIRROR bookworm-backports main" >"$root/etc/apt/sources.list.d/backports.list"
fi
in_root apt-get update -qq >&2
fetch_debs() {
	local to=$1
	shift
	rm -f "$root"/var/cache/apt/archives/*.deb
	# shellcheck disable=SC2068  # the second kernel's apt arguments split on purpose
	in_root apt-get install -d -y -qq --no-install-recommends $@ >&2
	mkdir -p "$dir/$to"
	mv "$root"/var/cache/apt/archives/*.deb "$dir/$to/"
}
fetch_debs debs-a "linux-headers-$rel"
[ -z "$second" ] || fetch_debs debs-b "$second"

# Offline from here: no sources, no lists; apt knows only what is installed and the local files.
rm -rf "$root"/etc/apt/sources.list.d/* "$root"/var/lib/apt/lists/* "$root/etc/apt/apt.conf.d/99mrlease-host"
: >"$root/etc/apt/sources.list"
in_root apt-get clean
echo mrlease-guest >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tmrlease-guest\n' >"$root/etc/hosts"
printf '/dev/vda\t/\text4\tdefaults\t0\t1\n' >"$root/etc/fstab"
in_root passwd -d root >/dev/null
# Nothing periodic: the guest runs one script and powers off.
for t in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer; do
	in_root systemctl mask "$t" >/dev/null 2>&1 || true
done
# The test's entry point: run the script on the second disk (check-install.sh's payload), if there is one.
cat >"$root/etc/systemd/system/mrlease-payload.service" <<'UNIT'
[Unit]
Description=check-install: run the payload disk's script
ConditionPathExists=/dev/vdb
After=local-fs.target systemd-udev-settle.service systemd-udevd.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'mkdir -p /mnt/payload && mount -o ro /dev/vdb /mnt/payload && exec /bin/bash /mnt/payload/guest.sh'
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
UNIT
in_root systemctl enable mrlease-payload.service >/dev/null 2>&1
echo "$rel" >"$dir/kernel-a"
[ ! -d "$dir/debs-b" ] || basename "$(ls "$dir"/debs-b/linux-image-[0-9]*.deb)" |
	sed 's/^linux-image-\(.*\)_[^_]*_[^_]*\.deb$/\1/; s/-unsigned$//' >"$dir/kernel-b"
log "making base.img"
mkfs.ext4 -q -F -L mrl-root -d "$root" "$dir/base.img" 6G
echo "$stamp" >"$dir/stamp"
echo "$dir"
