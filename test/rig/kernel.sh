#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
# Fetch a Debian kernel (image, headers, kbuild) into the rig cache, ready to boot and to build against.
#
#   kernel.sh [--kdir | --vmlinuz | --moddir] [SERIES | RELEASE]
#
# SERIES (default 6.1) picks the newest ABI the archive has; RELEASE (e.g. 6.1.0-56-amd64) pins one.
# Prints the kernel release, or with --kdir the headers' build dir (for `make -C KDIR M=...`), with --vmlinuz
# the kernel image, with --moddir the directory holding kernel/ and modules.order.
# Sourced, it only defines the kernel_* functions.
#
# Layout: $CACHE/kernels/<release>/debs/*.deb and root/ (the packages extracted side by side, with the
# headers' absolute references rewritten so the tree works where it is).
#
# Adding a series: extend kernel_series_conf (the package name pattern and the image packages); the
# headers/common/kbuild package names come from the headers package's Depends, the compiler from .config.

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# kernel_series_conf SERIES: sets K_SEARCH, the apt-cache search regex of the image package.
kernel_series_conf() {
	case $1 in
	6.1) K_SEARCH='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	# 5.10 (bullseye), 6.12 (bookworm-backports) and sid need their suite in sources.list, and sid splits
	# the image into linux-binary-/linux-modules- (see kernel_image_pkgs).
	*) die "unknown kernel series '$1' (known: 6.1)" ;;
	esac
}

# kernel_image_pkgs RELEASE: the packages that hold the bootable image and its modules.
kernel_image_pkgs() {
	echo "linux-image-$1"
}

kernel_series_of() {
	case $1 in
	6.1.0-*) echo 6.1 ;;
	*) echo "${1%%-*}" ;;
	esac
}

kernel_dir()     { echo "$CACHE/kernels/$1"; }
kernel_kdir()    { echo "$CACHE/kernels/$1/root/usr/src/linux-headers-$1"; }
kernel_moddir() {
	local root="$CACHE/kernels/$1/root"
	if [ -d "$root/usr/lib/modules/$1/kernel" ]; then echo "$root/usr/lib/modules/$1"; else echo "$root/lib/modules/$1"; fi
}
kernel_vmlinuz() {
	local root="$CACHE/kernels/$1/root"
	if [ -f "$root/boot/vmlinuz-$1" ]; then echo "$root/boot/vmlinuz-$1"; else echo "$(kernel_moddir "$1")/vmlinuz"; fi
}

_kernel_search() {
	apt-cache search --names-only "$K_SEARCH" 2>/dev/null | awk '{print $1}' | sort -V
}

# kernel_newest SERIES: the release of the newest image package the archive offers for SERIES.
kernel_newest() {
	local pkgs pkg
	kernel_series_conf "$1"
	pkgs=$(_kernel_search)
	if [ -z "$pkgs" ]; then
		apt_update_once
		pkgs=$(_kernel_search)
	fi
	for pkg in $(echo "$pkgs" | sort -rV); do
		if pkg_has_candidate "$pkg"; then
			pkg=${pkg#linux-image-}
			echo "$pkg"
			return 0
		fi
	done
	# Offline: fall back to the newest release already in the cache.
	pkg=$(find "$CACHE/kernels" -mindepth 2 -maxdepth 2 -name .complete -printf '%h\n' 2>/dev/null |
		xargs -r -n1 basename | grep -E "^${1//./\\.}[.-]" | sort -V | tail -n1)
	[ -n "$pkg" ] || die "no linux-image package for series $1 in the archive"
	warn "archive has no $1 kernel; using cached $pkg"
	echo "$pkg"
}

# _apt_download PKG VERSION: the exact version if the archive still has it, else the candidate.
_apt_download() {
	if [ -n "$2" ] && apt-cache madison "$1" 2>/dev/null | awk -F' *\\| *' '{print $2}' | grep -qxF "$2"; then
		apt-get download -q -o APT::Sandbox::User=root "$1=$2" >&2
	else
		[ -z "$2" ] || warn "$1 $2 not in the archive; using the candidate version"
		apt-get download -q -o APT::Sandbox::User=root "$1" >&2
	fi
}

# Make the extracted headers usable in place: the flavour Makefile includes the common one by absolute path
# and /lib/modules/<rel>/{build,source} are absolute links into /usr/src.
_kernel_fixup() {
	local root=$1 rel=$2 link target mk
	mk="$root/usr/src/linux-headers-$rel/Makefile"
	# shellcheck disable=SC2016  # $(...) is make syntax, written literally into the Makefile
	sed -i 's|^include /usr/src/|include $(dir $(lastword $(MAKEFILE_LIST)))../|' "$mk"
	grep -q '^include /' "$mk" && die "cannot rewrite $mk"
	find "$root" -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
		target=$(readlink "$link")
		[ -e "$root$target" ] || continue
		ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$root$target")" "$link"
	done
}

# Build a trivial module against KDIR: proves the compiler, kbuild and headers fit together.
_kernel_smoke_build() {
	local kdir=$1 tmp rc=0
	tmp=$(mktemp -d)
	printf '%s\n' '#include <linux/module.h>' 'static int __init s_init(void) { return 0; }' \
		'static void __exit s_exit(void) { }' 'module_init(s_init);' 'module_exit(s_exit);' \
		'MODULE_LICENSE("GPL");' >"$tmp/smoke.c"
	echo 'obj-m := smoke.o' >"$tmp/Kbuild"
	make -s -C "$kdir" M="$tmp" modules >"$tmp/log" 2>&1 || rc=$?
	[ -f "$tmp/smoke.ko" ] || rc=1
	[ $rc -eq 0 ] || { cat "$tmp/log" >&2; rm -rf "$tmp"; die "test module build against $kdir failed"; }
	rm -rf "$tmp"
}

# kernel_need_compiler RELEASE: install the gcc-N the kernel was built with (from CONFIG_CC_VERSION_TEXT).
kernel_need_compiler() {
	local cc
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(gcc-[0-9]*\) .*/\1/p' "$(kernel_kdir "$1")/.config")
	[ -z "$cc" ] || need_pkgs "$cc"
}

# kernel_fetch RELEASE: download and extract RELEASE unless the cache already has it.
kernel_fetch() {
	local rel=$1 dir hdr ver deps p tmp rdeps
	dir=$(kernel_dir "$rel")
	[ -f "$dir/.complete" ] && return 0
	need_pkgs make
	rig_lock "kernel-$rel"
	[ -f "$dir/.complete" ] && return 0
	log "fetching kernel $rel into $dir"
	mkdir -p "$dir/debs"
	hdr="linux-headers-$rel"
	pkg_has_candidate "$hdr" || apt_update_once
	pkg_has_candidate "$hdr" || die "$hdr is not in the archive"
	ver=$(apt-cache policy "$hdr" | sed -n 's/^ *Candidate: //p')
	# The flavour headers depend on the common headers (= ver) and on the kbuild tools (>= ver).
	deps=$(apt-cache show "$hdr=$ver" | sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed -n 's/^ *\(linux-headers-[^ ]*-common\|linux-kbuild-[^ ]*\).*/\1/p')
	(
		cd "$dir/debs"
		rm -f ./*.deb
		for p in $(kernel_image_pkgs "$rel") "$hdr" $deps; do
			_apt_download "$p" "$ver"
		done
	) || die "download of kernel $rel failed"
	tmp="$dir/root.tmp"
	rm -rf "$tmp" "$dir/root"
	mkdir -p "$tmp"
	for p in "$dir"/debs/*.deb; do
		dpkg-deb -x "$p" "$tmp"
	done
	_kernel_fixup "$tmp" "$rel"
	# The headers and kbuild tools are extracted, not installed: install what their programs need.
	mapfile -t rdeps < <(for p in "$dir"/debs/linux-{headers,kbuild}-*.deb; do dpkg-deb -f "$p" Depends; done |
		tr ',' '\n' | sed 's/^ *//; s/[ |].*//' | grep -v -e '^linux-' -e '^$' | sort -u)
	[ ${#rdeps[@]} -eq 0 ] || need_pkgs "${rdeps[@]}"
	mv "$tmp" "$dir/root"
	[ -f "$(kernel_vmlinuz "$rel")" ] || die "no vmlinuz in the $rel packages"
	kernel_need_compiler "$rel"
	_kernel_smoke_build "$(kernel_kdir "$rel")"
	touch "$dir/.complete"
}

# kernel_resolve SERIES|RELEASE: print the release, fetching it if needed.
kernel_resolve() {
	local rel
	case $1 in
	*-*) rel=$1 ;;
	*) rel=$(kernel_newest "$1") ;;
	esac
	kernel_fetch "$rel"
	kernel_need_compiler "$rel"
	echo "$rel"
}

kernel_main() {
	local what=release arg rel
	case ${1:-} in
	--kdir) what=kdir; shift ;;
	--vmlinuz) what=vmlinuz; shift ;;
	--moddir) what=moddir; shift ;;
	--release) shift ;;
	-h|--help) sed -n '/^#   kernel.sh/,/^# Sourced/s/^# \{0,1\}//p' "$0"; return 0 ;;
	esac
	arg=${1:-6.1}
	rel=$(kernel_resolve "$arg")
	case $what in
	release) echo "$rel" ;;
	kdir) kernel_kdir "$rel" ;;
	vmlinuz) kernel_vmlinuz "$rel" ;;
	moddir) kernel_moddir "$rel" ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	kernel_main "$@"
fi
