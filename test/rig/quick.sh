#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
# `make check-quick`: what breaks before any kernel boots, in seconds, without a VM. .ci/run runs it first.
#  - lib: the public headers compile alone (C99/C11/GNU17, C++11/C++17), the exported symbols match the
#    version script, every uapi value has a name, every exported function has a groff-clean man page;
#  - tools: mrlease-ctl builds with -Werror, and its --help and -V work without the module;
#  - one version number (VERSION) in dkms.conf, the .pc files and mrlease-ctl -V;
#  - the suite's programs, the demo and the benchmark build (-Werror) into test/build, where the VM lanes
#    find them: a uapi change that breaks one fails here, not after a boot;
#  - module: checkpatch --strict and sparse (test/rig/style.sh; the rig's 6.1 headers, fetched once).
# Each step is one test; the last line is "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT" || exit 1

passed=0 failed=0
step() {
	local name=$1 out t0=$SECONDS
	shift
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "ok $((passed + failed)) $name ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1))
		echo "not ok $((passed + failed)) $name"
		printf '%s\n' "$out" | tail -n 30 | sed 's/^/    /'
	fi
}

ctl_help() {
	local ctl=build/tools/mrlease-ctl
	"$ctl" --help | grep -q '^Usage: mrlease-ctl' &&
		"$ctl" -V | grep -q 'mrlease-ctl' &&
		for cmd in lease stats config monitor hold; do
			"$ctl" "$cmd" --help >/dev/null || { echo "mrlease-ctl $cmd --help failed"; return 1; }
		done
}

# dkms.conf must carry VERSION (DKMS reads it as text); the module, the .pc files and mrlease-ctl read VERSION.
one_version() {
	local v d
	v=$(cat VERSION)
	d=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
	[ "$v" = "$d" ] || { echo "VERSION is $v, dkms.conf says $d"; return 1; }
	d=$(sed -n '1s/^mrlease (\([^)]*\)).*/\1/p' debian/changelog)
	[ "$v" = "$d" ] || { echo "VERSION is $v, debian/changelog says $d"; return 1; }
	grep -qx "Version: $v" build/lib/libmrlease.pc || { echo "libmrlease.pc is not $v"; return 1; }
	build/tools/mrlease-ctl -V | grep -q "^mrlease-ctl $v " || { echo "mrlease-ctl -V is not $v"; return 1; }
}

step "lib: headers, symbols, names, man pages" make --no-print-directory -C lib check
step "tools: mrlease-ctl builds" make --no-print-directory -C tools
step "tools: mrlease-ctl --help, -V, each command's --help" ctl_help
step "one version number: VERSION, dkms.conf, debian/changelog, the .pc files, mrlease-ctl -V" one_version
step "tests: the suite's programs, demo and bench build" make --no-print-directory -C test all -j"$(nproc)"
step "module: checkpatch --strict, sparse" test/rig/style.sh
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
