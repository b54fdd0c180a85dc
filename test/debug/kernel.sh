#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
# Build (once) and cache the mrlease debug kernel: Debian's linux-source-6.1 with test/debug/debug.config
# merged onto x86_64_defconfig + kvm_guest.config (KASAN, lockdep, kmemleak, fault injection, and everything
# the rig needs built in).
#
#   kernel.sh [--release | --kdir | --vmlinuz | --key | --check]
#
# Prints the kernel release (default), the build tree (for `make -C KDIR M=...`), the image, or the cache
# key; --check prints the release only if it is already built (exit 1 otherwise) and never builds.
# The first build takes ~30-40 min on 2 cores (nice -n 19, -j$(nproc)); the build log is kept in
# $CACHE/debug-kernel/build/KEY.log. Sourced, it only defines the debug_kernel_* functions.
#
# The result is laid out like a kernel that test/rig/kernel.sh fetched, so the whole rig takes it as
# `--kernel RELEASE` (vm.sh --kernel debug resolves it through here):
#   $CACHE/kernels/RELEASE/root/boot/vmlinuz-RELEASE
#   $CACHE/kernels/RELEASE/root/lib/modules/RELEASE/{modules.builtin,...}   (nothing but built-ins)
#   $CACHE/kernels/RELEASE/root/usr/src/linux-headers-RELEASE -> $CACHE/debug-kernel/build/KEY (O= tree)
# RELEASE is 6.1.SUB-mrlease-debug-KEY8 and KEY a hash of the source package version, the compiler, the
# fragment and this recipe: changing any of them builds a new kernel next to the old ones.
# Environment: MRLEASE_DEBUG_JOBS (default nproc), MRLEASE_DEBUG_SRC_VERSION (pin a linux-source-6.1 version).

# shellcheck source=../rig/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../rig/lib.sh"

DEBUG_FRAGMENT=$REPO_ROOT/test/debug/debug.config
DEBUG_BASE=(x86_64_defconfig kvm_guest.config)
DEBUG_SRC_PKG=linux-source-6.1
# Bump when the recipe below changes in a way that changes the result.
DEBUG_RECIPE=1
DEBUG_CACHE=$CACHE/debug-kernel

# debug_kernel_src_version: the linux-source-6.1 version to build (the archive's candidate; offline, the
# newest one already extracted).
debug_kernel_src_version() {
	local v
	if [ -n "${MRLEASE_DEBUG_SRC_VERSION:-}" ]; then
		echo "$MRLEASE_DEBUG_SRC_VERSION"
		return 0
	fi
	v=$(apt-cache policy "$DEBUG_SRC_PKG" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		apt_update_once
		v=$(apt-cache policy "$DEBUG_SRC_PKG" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	fi
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		v=$(find "$DEBUG_CACHE/src" -mindepth 2 -maxdepth 2 -name .complete -printf '%h\n' 2>/dev/null |
			xargs -r -n1 basename | sort -V | tail -n1)
		[ -n "$v" ] || die "$DEBUG_SRC_PKG is not in the archive and no source is cached"
		warn "archive has no $DEBUG_SRC_PKG; using cached $v"
	fi
	echo "$v"
}

# debug_kernel_key VERSION: the cache key.
debug_kernel_key() {
	{
		echo "recipe $DEBUG_RECIPE"
		echo "source $DEBUG_SRC_PKG $1"
		echo "base ${DEBUG_BASE[*]}"
		gcc --version | head -n1
		cat "$DEBUG_FRAGMENT"
	} | sha256sum | cut -c1-16
}

# debug_kernel_release VERSION KEY: 6.1.SUB-mrlease-debug-KEY8 (the upstream version of 6.1.SUB-N).
debug_kernel_release() {
	echo "${1%%-*}-mrlease-debug-${2:0:8}"
}

# debug_kernel_source VERSION: download and extract linux-source-6.1=VERSION; prints the tree.
debug_kernel_source() {
	local ver=$1 dir tmp deb
	dir=$DEBUG_CACHE/src/$ver
	if [ ! -f "$dir/.complete" ]; then
		rig_lock "debug-src-$ver"
		if [ ! -f "$dir/.complete" ]; then
			need_pkgs xz-utils
			log "fetching $DEBUG_SRC_PKG $ver into $dir"
			mkdir -p "$DEBUG_CACHE/debs"
			deb=$DEBUG_CACHE/debs/${DEBUG_SRC_PKG}_${ver}_all.deb
			if [ ! -f "$deb" ]; then
				(cd "$DEBUG_CACHE/debs" && apt-get download -q -o APT::Sandbox::User=root \
					"$DEBUG_SRC_PKG=$ver" >&2) || die "apt-get download $DEBUG_SRC_PKG=$ver failed"
			fi
			tmp=$DEBUG_CACHE/src/.tmp-$ver
			rm -rf "$tmp" "$dir"
			mkdir -p "$tmp/deb" "$tmp/tree"
			dpkg-deb -x "$deb" "$tmp/deb"
			tar -C "$tmp/tree" -xf "$tmp"/deb/usr/src/linux-source-*.tar.xz
			mv "$tmp"/tree/linux-source-* "$dir"
			rm -rf "$tmp"
			touch "$dir/.complete"
		fi
	fi
	echo "$dir"
}

# debug_kernel_build: build unless cached; prints the release.
debug_kernel_build() {
	local ver key rel src out kroot jobs start log mismatch
	ver=$(debug_kernel_src_version)
	key=$(debug_kernel_key "$ver")
	rel=$(debug_kernel_release "$ver" "$key")
	kroot=$CACHE/kernels/$rel
	if [ -f "$kroot/.complete" ]; then
		echo "$rel"
		return 0
	fi
	need_pkgs build-essential bc flex bison libelf-dev libssl-dev cpio kmod
	src=$(debug_kernel_source "$ver")
	rig_lock "debug-kernel-$key"
	if [ -f "$kroot/.complete" ]; then
		echo "$rel"
		return 0
	fi
	out=$DEBUG_CACHE/build/$key
	log=$DEBUG_CACHE/build/$key.log
	jobs=${MRLEASE_DEBUG_JOBS:-$(nproc)}
	mkdir -p "$out"
	log "building debug kernel $rel (key $key) in $out, -j$jobs, log $log; the first build takes ~30-40 min"
	start=$(date +%s)
	{
		echo "# $(date -u) $DEBUG_SRC_PKG $ver key $key"
		# merge_config.sh -m only merges; olddefconfig then resolves dependencies.
		make -C "$src" O="$out" "${DEBUG_BASE[0]}" &&
			KCONFIG_CONFIG="$out/.config" "$src/scripts/kconfig/merge_config.sh" -m -O "$out" \
				"$out/.config" "$src/kernel/configs/${DEBUG_BASE[1]}" "$DEBUG_FRAGMENT" &&
			make -C "$src" O="$out" olddefconfig
	} >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "configuring the debug kernel failed (log: $log)"; }
	# Every =y/=m/value the fragment asks for must have survived olddefconfig (a dependency it lacks drops it
	# silently); "is not set" lines are wishes, not requirements.
	mismatch=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$DEBUG_FRAGMENT" | while IFS= read -r line; do
		grep -qxF "$line" "$out/.config" || echo "  $line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$out/.config" || echo unset))"
	done)
	[ -z "$mismatch" ] || die "the debug kernel config lacks options of $DEBUG_FRAGMENT:"$'\n'"$mismatch"
	nice -n 19 make -C "$src" O="$out" -j"$jobs" LOCALVERSION="-${key:0:8}" bzImage modules >>"$log" 2>&1 ||
		{ tail -n 40 "$log" >&2; die "building the debug kernel failed (log: $log)"; }
	[ "$(cat "$out/include/config/kernel.release")" = "$rel" ] ||
		die "built release $(cat "$out/include/config/kernel.release") is not $rel"
	rm -rf "$kroot"
	mkdir -p "$kroot/root/boot" "$kroot/root/usr/src"
	cp "$out/arch/x86/boot/bzImage" "$kroot/root/boot/vmlinuz-$rel"
	cp "$out/.config" "$kroot/root/boot/config-$rel"
	cp "$out/System.map" "$kroot/root/boot/System.map-$rel"
	make -C "$src" O="$out" LOCALVERSION="-${key:0:8}" INSTALL_MOD_PATH="$kroot/root" \
		modules_install >>"$log" 2>&1 || { tail -n 20 "$log" >&2; die "modules_install failed (log: $log)"; }
	# The rig expects a kernel/ directory even when everything is built in.
	mkdir -p "$kroot/root/lib/modules/$rel/kernel"
	rm -f "$kroot/root/lib/modules/$rel/build" "$kroot/root/lib/modules/$rel/source"
	ln -sfn "$out" "$kroot/root/usr/src/linux-headers-$rel"
	echo "$(($(date +%s) - start))" >"$DEBUG_CACHE/build/$key.seconds"
	touch "$kroot/.complete"
	log "debug kernel $rel built in $(($(date +%s) - start))s"
	echo "$rel"
}

# debug_kernel_cached: the release if it is built for the current source/fragment, else fail.
debug_kernel_cached() {
	local ver key rel
	ver=$(debug_kernel_src_version)
	key=$(debug_kernel_key "$ver")
	rel=$(debug_kernel_release "$ver" "$key")
	[ -f "$CACHE/kernels/$rel/.complete" ] || return 1
	echo "$rel"
}

debug_kernel_main() {
	local what=release rel ver
	case ${1:-} in
	--release|"") ;;
	--kdir) what=kdir ;;
	--vmlinuz) what=vmlinuz ;;
	--key) ver=$(debug_kernel_src_version); debug_kernel_key "$ver"; return 0 ;;
	--check) debug_kernel_cached; return ;;
	-h|--help) sed -n '/^#   kernel.sh/,/^# Sourced/s/^# \{0,1\}//p' "$0"; return 0 ;;
	*) die "kernel.sh: unknown argument '$1'" ;;
	esac
	rel=$(debug_kernel_build)
	case $what in
	release) echo "$rel" ;;
	kdir) echo "$CACHE/kernels/$rel/root/usr/src/linux-headers-$rel" ;;
	vmlinuz) echo "$CACHE/kernels/$rel/root/boot/vmlinuz-$rel" ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	debug_kernel_main "$@"
fi
