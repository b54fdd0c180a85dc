#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
# Install everything the rig and the build need on a fresh Debian 12 machine. Idempotent and quick when all
# is present; vm.sh calls it before anything else.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

need_pkgs \
	qemu-system-x86 busybox-static ndctl e2fsprogs xfsprogs util-linux iproute2 \
	build-essential gcc-12 libelf-dev bc flex bison cpio kmod zstd xz-utils pkg-config \
	jq sparse libmnl-dev \
	libibverbs-dev ibverbs-providers libfabric-dev libucx-dev mpich libmpich-dev \
	debhelper dh-dkms lintian fakeroot
