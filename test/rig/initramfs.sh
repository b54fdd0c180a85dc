#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
# Build the test VM's initramfs (gzip'd newc cpio).
#
#   initramfs.sh --kernel REL --out FILE [--module KO] [--tests DIR] [--run FILE]... [--kmod NAME]...
#                [--bin PATH]... [--rdma]
#
# Guest layout (usr-merged): bash (also as /bin/sh), busybox applets, ndctl, mke2fs, mkfs.xfs, xfs_io,
# fallocate, jq, /sbin/ip, plus each --bin, with their shared libraries; /lib/modules/REL with the kernel modules the VM
# needs (and their dependencies; modules.dep for modprobe), loaded by /init from /lib/mrlease/kmods.order;
# /lib/mrlease/mrlease.ko (--module); /tests (a copy of --tests DIR); /extra/NNN-name (each --run, in order);
# /init and /lib/mrlease/run-suite.sh from test/guest/.
#
# --rdma adds soft-RoCE: the rdma_rxe, ib_uverbs, rdma_ucm (librdmacm's /dev/infiniband/rdma_cm, which
# libfabric's verbs provider needs) and veth modules (and crc32_generic, without which rxe
# cannot checksum), iproute2's rdma tool, MPICH's mpiexec.hydra and hydra_pmi_proxy if the host has them,
# libibverbs' rxe provider (dlopen'ed, so ldd never sees it) with
# its /etc/libibverbs.d entry, and /lib/mrlease/rdma-setup.sh, which /init runs to create veth0/veth1 and
# rxe0 on veth0. It is implied when a test or --run program links libibverbs.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=kernel.sh
. "$RIG_DIR/kernel.sh"

# Modules /init loads; a trailing ? marks ones that not every kernel has as modules (7.x: ext4, xfs and rxe
# call the built-in crc32c/crc32 library instead of the crypto API's crc32c_generic/crc32_generic).
KMODS=(libnvdimm nfit nd_btt nd_pmem dax_pmem dax_pmem_core\? device_dax\?
	jbd2 mbcache crc16 crc32c_generic\? ext4 libcrc32c\? xfs fuse\? zram\?)
BINS=(busybox ndctl daxctl\? mke2fs mkfs.xfs xfs_io fallocate bash jq /sbin/ip\?)

RDMA_KMODS=(crc32_generic\? veth ib_uverbs rdma_rxe rdma_ucm\?)
# MPICH's launcher and the proxy it forks, for 96-mpi-remap (where the host has Debian's mpich).
RDMA_BINS=(rdma mpiexec.hydra\? hydra_pmi_proxy\?)
RDMA_PROVIDERS=(rxe)

rel="" out="" module="" tests="" rdma=0
runs=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) rel=$2; shift ;;
	--out) out=$2; shift ;;
	--module) module=$2; shift ;;
	--tests) tests=$2; shift ;;
	--run) runs+=("$2"); shift ;;
	--kmod) KMODS+=("$2"); shift ;;
	--bin) BINS+=("$2"); shift ;;
	--rdma) rdma=1 ;;
	*) die "initramfs.sh: unknown argument '$1'" ;;
	esac
	shift
done
{ [ -n "$rel" ] && [ -n "$out" ]; } || die "usage: initramfs.sh --kernel REL --out FILE [...]"
moddir=$(kernel_moddir "$rel")
[ -d "$moddir/kernel" ] || die "kernel $rel is not in the cache (run kernel.sh $rel)"

stage=$(mktemp -d "${TMPDIR:-/tmp}/mrlease-initramfs.XXXXXX")
# mktemp makes it 0700; it becomes the guest's /, which every user must reach.
chmod 755 "$stage"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/usr/{bin,sbin,lib,lib64} "$stage"/{dev,proc,sys,tmp,run,mnt,etc,root}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$stage/$d"; done
mkdir -p "$stage/lib/mrlease"

# put SRC [DEST]: copy a file to the same (or the given) path in the guest.
put() {
	local dest=$stage${2:-$1}
	mkdir -p "$(dirname "$dest")"
	cp -L "$1" "$dest"
}

# Shared libraries of ELF files, via ldd (LD_LIBRARY_PATH lets it find libraries shipped with the tests).
declare -A LIBS=()
add_libs() {
	local f=$1 line lib
	file_is_elf "$f" || return 0
	while read -r line; do
		case $line in
		*"=> not found"*) warn "$f: ${line%% *} not found; it will fail in the guest" ;;
		*"=> /"*) lib=${line#*=> }; LIBS[${lib%% (*}]=1 ;;
		/*) LIBS[${line%% (*}]=1 ;;
		esac
	done < <(ldd "$f" 2>/dev/null || true)
}
file_is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# Does any test or --run program link libibverbs? Then the guest needs soft-RoCE.
uses_ibverbs() {
	local f
	for f in "$@"; do
		file_is_elf "$f" || continue
		LD_LIBRARY_PATH="${tests:+$tests/lib}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$f" 2>/dev/null |
			grep -q 'libibverbs\.so' && return 0
	done
	return 1
}
if [ $rdma -eq 0 ]; then
	progs=("${runs[@]}")
	[ -z "$tests" ] || [ ! -d "$tests" ] || mapfile -t -O ${#progs[@]} progs < <(find "$tests" -type f -perm -u+x)
	if uses_ibverbs "${progs[@]}"; then
		log "a test program links libibverbs: adding soft-RoCE (--rdma)"
		rdma=1
	fi
fi
if [ $rdma -eq 1 ]; then
	KMODS+=("${RDMA_KMODS[@]}")
	BINS+=("${RDMA_BINS[@]}")
fi

# --- programs
for b in "${BINS[@]}"; do
	optional=
	[[ $b == *\? ]] && { optional=1; b=${b%\?}; }
	path=$(command -v "$b" 2>/dev/null || true)
	if [ -z "$path" ]; then
		[ -n "$optional" ] || die "$b not found on the host (run test/rig/deps.sh)"
		continue
	fi
	put "$path"
	add_libs "$path"
done
# /bin/sh is bash: Debian's busybox sh runs its own applets before $PATH (its mke2fs, fallocate and ip
# would shadow the real ones). Busybox applets fill in whatever is not a real program above.
ln -s bash "$stage/usr/bin/sh"
while read -r applet; do
	[ -e "$stage/$applet" ] || [ -L "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
done < <(busybox --list-full)
ln -sf mke2fs "$stage/usr/sbin/mkfs.ext4"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
printf 'root:x:0:\n' >"$stage/etc/group"
ln -s /proc/mounts "$stage/etc/mtab"

# --- kernel modules, dependencies first
declare -A KO=() BUILTIN=() SEEN=()
while IFS= read -r f; do
	n=${f##*/}; n=${n%%.ko*}; KO[${n//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko*')
while IFS= read -r f; do
	n=${f##*/}; n=${n%%.ko*}; BUILTIN[${n//-/_}]=1
done <"$moddir/modules.builtin"
order=()
visit() {
	local name=${1//-/_} optional=$2 dep
	[ -z "${SEEN[$name]:-}" ] || return 0
	SEEN[$name]=1
	[ -z "${BUILTIN[$name]:-}" ] || return 0
	if [ -z "${KO[$name]:-}" ]; then
		[ -n "$optional" ] || die "kernel $rel has no module $name"
		return 0
	fi
	for dep in $(modinfo -F depends "${KO[$name]}" | tr ',' ' '); do
		visit "$dep" ""
	done
	order+=("$name")
}
for m in "${KMODS[@]}"; do
	if [[ $m == *\? ]]; then visit "${m%\?}" 1; else visit "$m" ""; fi
done
gmoddir=/lib/modules/$rel
: >"$stage/lib/mrlease/kmods.order"
for name in "${order[@]}"; do
	src=${KO[$name]}
	rpath=${src#"$moddir/"}
	dest=$stage$gmoddir/${rpath%%.ko*}.ko
	mkdir -p "$(dirname "$dest")"
	# busybox insmod cannot read compressed modules.
	case $src in
	*.ko.xz) xz -dc "$src" >"$dest" ;;
	*.ko.zst) zstd -qdc "$src" >"$dest" ;;
	*.ko.gz) gzip -dc "$src" >"$dest" ;;
	*) cp "$src" "$dest" ;;
	esac
	echo "${dest#"$stage"}" >>"$stage/lib/mrlease/kmods.order"
done
# (A kernel with everything built in, like test/debug/kernel.sh's, has no module to copy.)
mkdir -p "$stage$gmoddir"
cp "$moddir"/modules.{order,builtin,builtin.modinfo} "$stage$gmoddir/"
depmod -b "$stage" "$rel"

# --- mrlease, tests, extra programs, the guest scripts
if [ -n "$module" ]; then
	[ -f "$module" ] || die "module $module not found"
	cp "$module" "$stage/lib/mrlease/mrlease.ko"
fi
if [ -n "$tests" ]; then
	[ -d "$tests" ] || die "tests directory $tests not found"
	mkdir -p "$stage/tests"
	cp -a "$tests/." "$stage/tests/"
	while IFS= read -r -d '' f; do
		LD_LIBRARY_PATH="$tests/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" add_libs "$f"
	done < <(find "$tests" -type f -print0)
fi
i=0
for f in "${runs[@]}"; do
	[ -f "$f" ] || die "--run $f: no such file"
	i=$((i + 1))
	mkdir -p "$stage/extra"
	dest=$stage/extra/$(printf '%03d' "$i")-${f##*/}
	cp "$f" "$dest"
	chmod +x "$dest"
	add_libs "$f"
done
# libibverbs dlopen()s the provider named by /etc/libibverbs.d/NAME.driver from its provider directory.
if [ $rdma -eq 1 ]; then
	for p in "${RDMA_PROVIDERS[@]}"; do
		drv=/etc/libibverbs.d/$p.driver
		[ -f "$drv" ] || die "$drv not found (run test/rig/deps.sh: ibverbs-providers)"
		put "$drv"
		so=$(find /usr/lib /lib -path "*/libibverbs/lib$p-rdmav*.so" 2>/dev/null | head -n 1)
		[ -n "$so" ] || die "libibverbs provider lib$p-rdmav*.so not found"
		put "$so"
		add_libs "$so"
	done
	cp "$REPO_ROOT/test/guest/rdma-setup.sh" "$stage/lib/mrlease/rdma-setup.sh"
	chmod +x "$stage/lib/mrlease/rdma-setup.sh"
fi
for lib in "${!LIBS[@]}"; do
	put "$lib"
done
cp "$REPO_ROOT/test/guest/init" "$stage/init"
cp "$REPO_ROOT/test/guest/run-suite.sh" "$stage/lib/mrlease/run-suite.sh"
chmod +x "$stage/init" "$stage/lib/mrlease/run-suite.sh"

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$out.tmp"
mv "$out.tmp" "$out"
log "initramfs $out: $(du -h "$out" | cut -f1), modules: ${order[*]}"
