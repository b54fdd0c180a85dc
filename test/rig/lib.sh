# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the QEMU test rig. Source it; it sets nothing but variables and functions.

# shellcheck disable=SC2034  # variables are used by the scripts that source this file
RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$RIG_DIR/../.." && pwd)
CACHE=${MRLEASE_CACHE:-/var/cache/mrlease}

log()  { printf '[rig] %s\n' "$*" >&2; }
warn() { printf '[rig] warning: %s\n' "$*" >&2; }
die()  { printf '[rig] error: %s\n' "$*" >&2; exit 1; }

# Run the rest of the script under an exclusive lock on $CACHE/locks/NAME, so that two runs sharing the cache
# do not download or extract into the same directory at once. The lock is released when the script exits.
rig_lock() {
	local fd
	mkdir -p "$CACHE/locks"
	exec {fd}>"$CACHE/locks/$1.lock"
	flock "$fd"
}

_apt_updated=
apt_update_once() {
	[ -n "$_apt_updated" ] && return 0
	log "apt-get update"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
	_apt_updated=1
}

pkg_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

pkg_has_candidate() {
	local cand
	cand=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	[ -n "$cand" ] && [ "$cand" != "(none)" ]
}

# need_pkgs PKG...: apt-get install whatever is missing; runs apt-get update first only if some package is
# unknown to apt (fresh machine) or the install fails.
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		pkg_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}) and not root: install them first"
	for p in "${missing[@]}"; do
		pkg_has_candidate "$p" || { apt_update_once; break; }
	done
	log "apt-get install ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
		[ -z "$_apt_updated" ] || die "apt-get install ${missing[*]} failed"
		apt_update_once
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
			die "apt-get install ${missing[*]} failed"
	fi
}
