#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Kernel style gate for module/: checkpatch.pl --strict (taken from Debian's linux-source-6.1 package into
# the cache, never into the repo) and sparse (C=2) against the rig's default kernel headers.
#
#   style.sh [checkpatch|sparse]   (default: both)
set -euo pipefail
# shellcheck source=test/rig/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

checkpatch_dir() {
	local dir="$CACHE/checkpatch" deb
	if [ ! -x "$dir/scripts/checkpatch.pl" ]; then
		rig_lock checkpatch
		if [ ! -x "$dir/scripts/checkpatch.pl" ]; then
			log "fetching checkpatch.pl from linux-source-6.1"
			mkdir -p "$dir/deb"
			(cd "$dir/deb" && { apt-get download linux-source-6.1 >&2 ||
				{ apt_update_once; apt-get download linux-source-6.1 >&2; }; })
			deb=$(ls "$dir"/deb/linux-source-6.1_*.deb | tail -n1)
			dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards '*usr/src/linux-source-6.1.tar.xz' |
				tar -xJ -C "$dir" --strip-components=1 --wildcards \
					'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
					'*/scripts/const_structs.checkpatch'
			rm -rf "$dir/deb"
		fi
	fi
	echo "$dir"
}

run_checkpatch() {
	local dir
	need_pkgs perl
	dir=$(checkpatch_dir)
	log "checkpatch --strict module/"
	(cd "$REPO_ROOT" && "$dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
		--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES -f $(git ls-files 'module/*.[ch]' uapi/))
}

run_sparse() {
	local kdir
	need_pkgs sparse
	kdir=$("$RIG_DIR/kernel.sh" --kdir)
	log "sparse (C=2) module/"
	make -s -C "$REPO_ROOT/module" KDIR="$kdir" MRLEASE_WERROR=1 sparse 2>&1 | tee /dev/stderr | { ! grep -q 'warning:\|error:'; }
}

case ${1:-all} in
checkpatch) run_checkpatch ;;
sparse) run_sparse ;;
all) run_checkpatch; run_sparse ;;
*) die "usage: style.sh [checkpatch|sparse]" ;;
esac
