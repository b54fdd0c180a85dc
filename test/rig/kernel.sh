#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
# Fetch a Debian kernel (image, headers, kbuild) into the rig cache, ready to boot and to build against.
#
#   kernel.sh [--kdir | --vmlinuz | --moddir | --chroot] [SERIES | RELEASE]
#   kernel.sh --make SERIES|RELEASE [MAKE-ARGS...]
#
# SERIES picks the newest ABI the archive has: 6.1 (bookworm, the default), 5.10 (bullseye), 6.12 (bookworm's
# 6.12, built with gcc-12) or 7.x (sid); RELEASE (e.g. 6.1.0-56-amd64) pins one; "debug" is the debug build of
# Debian's 6.1 source (test/debug/kernel.sh: KASAN, lockdep, kmemleak, fault injection; built on first use).
# Prints the kernel release, or with --kdir the headers' build dir (for `make -C KDIR M=...`), with --vmlinuz
# the kernel image, with --moddir the directory holding kernel/ and modules.order, with --chroot the build
# chroot the kernel needs (empty if it builds on the host).
# --make runs make with MAKE-ARGS where that kernel's modules build: on the host, or (when the host cannot
# install the compiler the kernel was built with, e.g. sid's gcc-16) in a debootstrap chroot of the kernel's
# suite under $CACHE/chroot/, with the repository, the kernel's cache directory and the current directory
# bind-mounted at the same paths (a private mount namespace, so nothing stays mounted).
# Sourced, it only defines the kernel_* functions.
#
# Layout: $CACHE/kernels/<release>/debs/*.deb and root/ (the packages extracted side by side, with the
# headers' absolute references rewritten so the tree works where it is); chroot (the build chroot's suite,
# if any). The archive is read through a private apt configuration in $CACHE/apt (its own sources, lists and
# download cache; nothing is installed from it), so the host's apt setup is never touched.
#
# Adding a series: extend kernel_series_conf (the image package name pattern) and, if its suite is new,
# KAPT_SUITES; the headers/common/kbuild package names come from the headers package's Depends, the image and
# module packages from the image package's Depends, the compiler from .config.

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAPT_MIRROR=${MRLEASE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
KAPT_SECURITY=${MRLEASE_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
# "URI SUITE" pairs the kernels are looked up in.
KAPT_SUITES=(
	"$KAPT_MIRROR bookworm" "$KAPT_MIRROR bookworm-updates" "$KAPT_SECURITY bookworm-security"
	"$KAPT_MIRROR bookworm-backports"
	"$KAPT_MIRROR bullseye" "$KAPT_MIRROR bullseye-updates" "$KAPT_SECURITY bullseye-security"
	"$KAPT_MIRROR sid"
)
KAPT_DIR=$CACHE/apt
KAPT_OPTS=(-o "Dir::Etc::SourceList=$KAPT_DIR/sources.list" -o "Dir::Etc::SourceParts=$KAPT_DIR/empty"
	-o "Dir::Etc::Preferences=$KAPT_DIR/empty/none" -o "Dir::Etc::PreferencesParts=$KAPT_DIR/empty"
	-o "Dir::State::Lists=$KAPT_DIR/lists" -o "Dir::State::status=$KAPT_DIR/status"
	-o "Dir::Cache=$KAPT_DIR/cache" -o "APT::Sandbox::User=root" -o "Acquire::Languages=none")

kapt_cache() { apt-cache "${KAPT_OPTS[@]}" "$@"; }
kapt_get() { apt-get "${KAPT_OPTS[@]}" "$@"; }

_kapt_updated=
# kapt_update [--if-stale]: refresh the private lists (with --if-stale: only when they are missing, older than
# a day or for other sources). Serialised with other runs; a failed refresh keeps the old lists.
kapt_update() {
	local want stale=1
	[ -z "$_kapt_updated" ] || return 0
	# shellcheck disable=SC2086  # "URI SUITE": two words
	want=$(for s in "${KAPT_SUITES[@]}"; do
		printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' ${s}
	done)
	if [ "${1:-}" = --if-stale ] && [ "$(cat "$KAPT_DIR/sources.list" 2>/dev/null)" = "$want" ] &&
		[ -n "$(find "$KAPT_DIR/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
		stale=0
	fi
	[ $stale -eq 1 ] || return 0
	mkdir -p "$KAPT_DIR"/{empty,lists/partial,cache/archives/partial} "$CACHE/locks"
	(
		flock 9
		printf '%s\n' "$want" >"$KAPT_DIR/sources.list.tmp"
		mv "$KAPT_DIR/sources.list.tmp" "$KAPT_DIR/sources.list"
		: >>"$KAPT_DIR/status"
		log "apt-get update (kernel archive: ${KAPT_SUITES[*]##* })"
		kapt_get update -qq >&2 || warn "apt-get update of the kernel archive failed; using older lists"
	) 9>"$CACHE/locks/apt.lock"
	_kapt_updated=1
}

# kernel_series_conf SERIES: sets K_SEARCH, the apt-cache search regex of the image package.
kernel_series_conf() {
	case $1 in
	6.1) K_SEARCH='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	5.10) K_SEARCH='^linux-image-5\.10\.0-[0-9]+-amd64$' ;;
	# bookworm's own 6.12 (+deb12, gcc-12), not trixie's (+deb13, gcc-14).
	6.12) K_SEARCH='^linux-image-6\.12\.[0-9]+\+deb12(\.[0-9]+)?-amd64$' ;;
	7.x|sid) K_SEARCH='^linux-image-7\.[0-9]+\.[0-9]+\+deb[0-9]+(\.[0-9]+)?-amd64$' ;;
	[0-9].[0-9]|[0-9].[0-9][0-9])
		K_SEARCH="^linux-image-${1//./\\.}\.[0-9]+\+deb[0-9]+(\.[0-9]+)?-amd64\$" ;;
	*) die "unknown kernel series '$1' (known: 5.10 6.1 6.12 7.x)" ;;
	esac
}

# kernel_image_pkgs RELEASE: the packages that hold the bootable image and its modules (sid splits the image
# package into linux-binary-, linux-modules- and linux-base- (modules.builtin, System.map), and makes
# linux-image- an empty dependency package).
kernel_image_pkgs() {
	local split
	split=$(kapt_cache show "linux-image-$1" 2>/dev/null | sed -n '1,/^$/s/^Depends: //p' | tr ',' '\n' |
		sed -n "s/^ *\(linux-\(binary\|modules\|base\)-$1\)\( .*\)\{0,1\}\$/\1/p" | sort -u)
	if [ -n "$split" ]; then echo "$split"; else echo "linux-image-$1"; fi
}

kernel_series_of() {
	case $1 in
	5.10.0-*) echo 5.10 ;;
	6.1.0-*) echo 6.1 ;;
	6.12.*) echo 6.12 ;;
	7.*) echo 7.x ;;
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
	kapt_cache search --names-only "$K_SEARCH" 2>/dev/null | awk '{print $1}' | sort -V
}

# kernel_newest SERIES: the release of the newest image package the archive offers for SERIES.
kernel_newest() {
	local pkgs pkg
	kernel_series_conf "$1"
	kapt_update --if-stale
	pkgs=$(_kernel_search)
	if [ -z "$pkgs" ]; then
		kapt_update
		pkgs=$(_kernel_search)
	fi
	for pkg in $(echo "$pkgs" | sort -rV); do
		pkg=${pkg#linux-image-}
		if [ -n "$(kernel_image_pkgs "$pkg")" ] && _kernel_candidate "linux-headers-$pkg" >/dev/null; then
			echo "$pkg"
			return 0
		fi
	done
	# Offline: fall back to the newest release already in the cache.
	pkg=$(find "$CACHE/kernels" -mindepth 2 -maxdepth 2 -name .complete -printf '%h\n' 2>/dev/null |
		xargs -r -n1 basename | while read -r r; do [ "$(kernel_series_of "$r")" = "$1" ] && echo "$r"; done |
		sort -V | tail -n1)
	[ -n "$pkg" ] || die "no linux-image package for series $1 in the archive"
	warn "archive has no $1 kernel; using cached $pkg"
	echo "$pkg"
}

_kernel_candidate() {
	local cand
	cand=$(kapt_cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	[ -n "$cand" ] && [ "$cand" != "(none)" ] && echo "$cand"
}

# _apt_download PKG VERSION: the exact version if the archive still has it, else the candidate.
_apt_download() {
	if [ -n "$2" ] && kapt_cache madison "$1" 2>/dev/null | awk -F' *\\| *' '{print $2}' | grep -qxF "$2"; then
		kapt_get download -q "$1=$2" >&2
	else
		[ -z "$2" ] || warn "$1 $2 not in the archive; using the candidate version"
		kapt_get download -q "$1" >&2
	fi
}

# Make the extracted headers usable in place: the flavour Makefile includes the common one by absolute path
# and /lib/modules/<rel>/{build,source} are absolute links into /usr/src.
_kernel_fixup() {
	local root=$1 rel=$2 link target mk
	mk="$root/usr/src/linux-headers-$rel/Makefile"
	# shellcheck disable=SC2016  # $(...) is make syntax, written literally into the Makefile
	# 7.x also names its own directory as KBUILD_OUTPUT.
	sed -i -e 's|^include /usr/src/|include $(dir $(lastword $(MAKEFILE_LIST)))../|' \
		-e 's|^KBUILD_OUTPUT *:\{0,1\}= */usr/src/|KBUILD_OUTPUT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))/../|' "$mk"
	grep -q '/usr/src/' "$mk" && die "cannot rewrite $mk"
	find "$root" -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
		target=$(readlink "$link")
		[ -e "$root$target" ] || continue
		ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$root$target")" "$link"
	done
}

# Build a trivial module against RELEASE's headers: proves the compiler, kbuild and headers fit together.
_kernel_smoke_build() {
	local rel=$1 tmp rc=0
	tmp=$(mktemp -d "$(kernel_dir "$rel")/smoke.XXXXXX")
	printf '%s\n' '#include <linux/module.h>' 'static int __init s_init(void) { return 0; }' \
		'static void __exit s_exit(void) { }' 'module_init(s_init);' 'module_exit(s_exit);' \
		'MODULE_LICENSE("GPL");' >"$tmp/smoke.c"
	echo 'obj-m := smoke.o' >"$tmp/Kbuild"
	(cd "$tmp" && kernel_make "$rel" -s -C "$(kernel_kdir "$rel")" M="$tmp" modules) >"$tmp/log" 2>&1 || rc=$?
	[ -f "$tmp/smoke.ko" ] || rc=1
	[ $rc -eq 0 ] || { cat "$tmp/log" >&2; rm -rf "$tmp"; die "test module build against $(kernel_kdir "$rel") failed"; }
	rm -rf "$tmp"
}

# kernel_cc RELEASE: the gcc-N package the kernel was built with (from CONFIG_CC_VERSION_TEXT).
kernel_cc() {
	sed -n 's/^CONFIG_CC_VERSION_TEXT="\([a-z0-9_]*-linux-gnu-\)\{0,1\}\(gcc-[0-9]*\) .*/\2/p' "$(kernel_kdir "$1")/.config"
}

# kernel_need_compiler RELEASE: install the gcc-N the kernel was built with, where its modules build.
kernel_need_compiler() {
	local cc suite
	cc=$(kernel_cc "$1")
	[ -n "$cc" ] || return 0
	suite=$(kernel_chroot_suite "$1")
	if [ -n "$suite" ]; then kernel_chroot_need "$suite" "$cc"; else need_pkgs "$cc"; fi
}

# --- build chroots, for kernels whose compiler (and kbuild tools' libraries) the host does not have

kernel_chroot_suite() { cat "$(kernel_dir "$1")/chroot" 2>/dev/null || true; }
kernel_chroot_root() { echo "$CACHE/chroot/$1"; }

# kernel_chroot_exec ROOT [DIR...] -- CMD...: run CMD in the chroot ROOT, in the current directory, with
# each DIR (and /dev, /proc) mounted at the same path inside; the mounts live in a private mount namespace.
kernel_chroot_exec() {
	local root=$1 binds=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do binds+=("$(realpath -m "$1")"); shift; done
	shift
	# shellcheck disable=SC2016  # expanded by the inner shell
	unshare --mount --propagation private -- /bin/bash -c '
		set -e
		root=$1 n=$2 cwd=$3
		shift 3
		for ((i = 0; i < n; i++)); do
			d=$1
			shift
			[ -d "$d" ] || continue
			mkdir -p "$root$d"
			mount --bind "$d" "$root$d"
		done
		mount --rbind /dev "$root/dev"
		mount -t proc proc "$root/proc"
		cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
		[ -d "$root$cwd" ] || cwd=/
		exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
			DEBIAN_FRONTEND=noninteractive /bin/sh -c '\''cd "$0" && exec "$@"'\'' "$cwd" "$@"
	' _ "$root" ${#binds[@]} "$PWD" "${binds[@]}" "$@"
}

# kernel_chroot_need SUITE PKG...: create the build chroot of SUITE if needed, install PKGs missing in it.
kernel_chroot_need() {
	local suite=$1 root missing=() p
	shift
	root=$(kernel_chroot_root "$suite")
	if [ -f "$root/.complete" ]; then
		[ $# -gt 0 ] || return 0
		# shellcheck disable=SC2016  # a dpkg-query format
		mapfile -t missing < <(kernel_chroot_exec "$root" -- dpkg-query -W -f='${Package} ${db:Status-Status}\n' \
			"$@" 2>/dev/null | awk '$2 == "installed" { print $1 }' | sort -u | comm -13 - <(printf '%s\n' "$@" | sort -u))
		[ ${#missing[@]} -gt 0 ] || return 0
	fi
	[ "$(id -u)" -eq 0 ] || die "the $suite build chroot needs root"
	need_pkgs debootstrap
	mkdir -p "$CACHE/locks" "$CACHE/chroot"
	(
		flock 9
		if [ ! -f "$root/.complete" ]; then
			if [ ! -f "$root/.debootstrapped" ]; then
				log "creating the $suite build chroot in $root (debootstrap; takes a few minutes)"
				rm -rf "$root"
				debootstrap --variant=minbase --include=make,kmod,xz-utils,zstd "$suite" "$root" "$KAPT_MIRROR" \
					>"$CACHE/chroot/$suite.log" 2>&1 ||
					{ tail -n 30 "$CACHE/chroot/$suite.log" >&2; die "debootstrap $suite failed"; }
				touch "$root/.debootstrapped"
			fi
			# The host's apt settings for this archive (a mirror whose Release files may be past their
			# Valid-Until, a proxy) apply in the chroot too.
			apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' \
				>"$root/etc/apt/apt.conf.d/99mrlease-host" || true
			kernel_chroot_exec "$root" -- apt-get update -qq >&2 || die "apt-get update in the $suite chroot failed"
			touch "$root/.complete"
		fi
		[ $# -eq 0 ] || {
			log "installing in the $suite chroot: $*"
			kernel_chroot_exec "$root" -- apt-get install -y -qq --no-install-recommends "$@" >&2 || {
				kernel_chroot_exec "$root" -- apt-get update -qq >&2
				kernel_chroot_exec "$root" -- apt-get install -y -qq --no-install-recommends "$@" >&2
			} || die "installing $* in the $suite chroot failed"
		}
	) 9>"$CACHE/locks/chroot-$suite.lock" || exit 1
}

# kernel_make RELEASE MAKE-ARGS...: make, where RELEASE's modules build. $KERNEL_MAKE_BINDS (paths separated
# by spaces) are mounted in the chroot too.
kernel_make() {
	local rel=$1 suite
	shift
	suite=$(kernel_chroot_suite "$rel")
	if [ -z "$suite" ]; then
		make "$@"
		return
	fi
	# shellcheck disable=SC2086  # word splitting of the list intended
	kernel_chroot_exec "$(kernel_chroot_root "$suite")" "$REPO_ROOT" "$(kernel_dir "$rel")" "$PWD" \
		${KERNEL_MAKE_BINDS:-} -- make "$@"
}

# _kernel_suite PKG: the suite the archive offers PKG's candidate from (e.g. sid).
_kernel_suite() {
	kapt_cache madison "$1" 2>/dev/null | awk -F' *\\| *' -v v="$2" '$2 == v { split($3, a, " "); print a[2]; exit }' |
		sed 's|/.*||'
}

# Is RELEASE in the cache, with its headers intact (a `make mrproper` in them, e.g. by an old dkms, removes
# the generated ones)?
_kernel_cached() {
	[ -f "$(kernel_dir "$1")/.complete" ] && [ -f "$(kernel_kdir "$1")/include/generated/autoconf.h" ]
}

# kernel_fetch RELEASE: download and extract RELEASE unless the cache already has it.
kernel_fetch() {
	local rel=$1 dir hdr ver deps p tmp rdeps cc suite host_rdeps=()
	dir=$(kernel_dir "$rel")
	_kernel_cached "$rel" && return 0
	need_pkgs make
	rig_lock "kernel-$rel"
	_kernel_cached "$rel" && return 0
	log "fetching kernel $rel into $dir"
	mkdir -p "$dir/debs"
	hdr="linux-headers-$rel"
	kapt_update --if-stale
	_kernel_candidate "$hdr" >/dev/null || kapt_update
	ver=$(_kernel_candidate "$hdr") || die "$hdr is not in the archive"
	# The flavour headers depend on the common headers (= ver) and on the kbuild tools (>= ver).
	deps=$(kapt_cache show "$hdr=$ver" | sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed -n 's/^ *\(linux-headers-[^ ]*-common\|linux-kbuild-[^ ]*\).*/\1/p')
	(
		cd "$dir/debs"
		rm -f ./*.deb
		for p in $(kernel_image_pkgs "$rel") "$hdr" $deps; do
			_apt_download "$p" "$ver" || { kapt_update; _apt_download "$p" "$ver"; }
		done
	) || die "download of kernel $rel failed"
	tmp="$dir/root.tmp"
	rm -rf "$tmp" "$dir/root" "$dir/chroot"
	mkdir -p "$tmp"
	for p in "$dir"/debs/*.deb; do
		dpkg-deb -x "$p" "$tmp"
	done
	_kernel_fixup "$tmp" "$rel"
	mv "$tmp" "$dir/root"
	[ -f "$(kernel_vmlinuz "$rel")" ] || die "no vmlinuz in the $rel packages"
	# The compiler decides where modules build: the host if its apt has that gcc-N, else a chroot of the
	# kernel's suite (there the headers' tools find the libraries they were linked against, too).
	cc=$(kernel_cc "$rel")
	if [ -n "$cc" ] && ! pkg_has_candidate "$cc"; then
		apt_update_once
		if ! pkg_has_candidate "$cc"; then
			# The chroot is of the release itself (bullseye, not bullseye-security).
			suite=$(_kernel_suite "$hdr" "$ver")
			suite=${suite%%-*}
			[ -n "$suite" ] || die "$cc is not installable here and the suite of $hdr is unknown"
			log "$rel was built with $cc, which the host lacks: its modules build in a $suite chroot"
			echo "$suite" >"$dir/chroot"
		fi
	fi
	# The headers and kbuild tools are extracted, not installed: install what their programs need.
	mapfile -t rdeps < <(for p in "$dir"/debs/linux-{headers,kbuild}-*.deb; do dpkg-deb -f "$p" Depends; done |
		tr ',' '\n' | sed 's/^ *//; s/[ |].*//' | grep -v -e '^linux-' -e '^$' | sort -u)
	suite=$(kernel_chroot_suite "$rel")
	if [ -n "$suite" ]; then
		kernel_chroot_need "$suite" "${rdeps[@]}"
	else
		# Old kbuild tools may name libraries the host no longer has (5.10: libssl1.1, only for sign-file).
		for p in "${rdeps[@]}"; do
			if pkg_installed "$p" || pkg_has_candidate "$p"; then host_rdeps+=("$p"); else
				warn "$rel: the host has no $p (needed by some kbuild tool); not installing it"; fi
		done
		[ ${#host_rdeps[@]} -eq 0 ] || need_pkgs "${host_rdeps[@]}"
	fi
	kernel_need_compiler "$rel"
	_kernel_smoke_build "$rel"
	touch "$dir/.complete"
}

# kernel_resolve SERIES|RELEASE: print the release, fetching it if needed.
kernel_resolve() {
	local rel
	case $1 in
	# The KASAN/lockdep/kmemleak build of test/debug/kernel.sh (built once, cached).
	debug) rel=$("$REPO_ROOT/test/debug/kernel.sh") || die "no debug kernel" ;;
	*-*) rel=$1 ;;
	*) rel=$(kernel_newest "$1") ;;
	esac
	kernel_fetch "$rel"
	kernel_need_compiler "$rel"
	echo "$rel"
}

kernel_main() {
	local what=release arg rel suite
	case ${1:-} in
	--kdir) what=kdir; shift ;;
	--vmlinuz) what=vmlinuz; shift ;;
	--moddir) what=moddir; shift ;;
	--chroot) what=chroot; shift ;;
	--make)
		[ $# -ge 2 ] || die "usage: kernel.sh --make SERIES|RELEASE [MAKE-ARGS...]"
		rel=$(kernel_resolve "$2")
		shift 2
		kernel_make "$rel" "$@"
		return
		;;
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
	chroot) suite=$(kernel_chroot_suite "$rel"); [ -z "$suite" ] || kernel_chroot_root "$suite" ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	kernel_main "$@"
fi
