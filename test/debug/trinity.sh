#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Debian's trinity syscall fuzzer against /dev/mrlease as an unprivileged user (uid 65534), for
# $MRLEASE_TRINITY_SECS seconds (default 60), in the guest only: check-race.sh puts trinity and setpriv
# into the VM's initramfs (vm.sh --bin). Never run this on a machine you care about.
#
# trinity's victim list is a directory of eight device nodes of /dev/mrlease, so that it opens several
# contexts (with random open and fcntl flags) and fuzzes them with the syscalls that reach the device:
# ioctl (64-bit and compat), mmap/munmap/mremap/madvise/mprotect/msync of its mappings, read/readv/pread64,
# write, poll/ppoll/select, fcntl (O_ASYNC, F_SETOWN), dup/dup3, lseek, close. trinity cannot know
# mrlease's ioctl numbers, and Debian's 1.9+git20230109 loses the child in nearly every ioctl it
# prepares (with nothing but pipes too), so its ioctls are a handful a minute and end before the handshake;
# the structure-aware fuzzer (98-fuzz) covers what lies behind it. $MRLEASE_TRINITY_CHILDREN (default 4)
# processes; $MRLEASE_TRINITY_SEED makes it repeatable; $MRLEASE_TRINITY_SYSCALLS (comma-separated) fuzzes
# other syscalls.
#
# Passes if trinity ran syscalls and stopped only because time was up (it stops by itself, and exits 1,
# when the kernel becomes tainted: a WARN, a BUG), and every context was released afterwards (mrlease's
# module refcount back to what it was). Prints trinity's count: "Ran N syscalls". Exit 4 (skip) without
# trinity in the guest.
set -uo pipefail

secs=${MRLEASE_TRINITY_SECS:-60}
children=${MRLEASE_TRINITY_CHILDREN:-4}
uid=65534

info() { echo "# $*"; }
fail() {
	echo "FAIL: $*"
	exit 1
}
skip() {
	echo "SKIP: $*"
	exit 4
}

# Full paths: busybox's timeout would run its own setpriv applet (no --reuid) before the one in $PATH.
trinity=$(command -v trinity) || skip "no trinity in this VM (check-race.sh adds it)"
setpriv=$(command -v setpriv) || skip "no setpriv in this VM"
[ -c /dev/mrlease ] || fail "/dev/mrlease missing: mrlease.ko is not loaded"
refcnt0=$(cat /sys/module/mrlease/refcnt)

work=$(mktemp -d /tmp/trinity.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
mkdir "$work/victims" "$work/cwd"
# Nodes of the same device rather than symlinks: trinity walks the victim directory with nftw(FTW_MOUNT),
# which leaves out anything on another filesystem, /dev's included.
IFS=: read -r major minor </sys/class/misc/mrlease/dev
for i in 0 1 2 3 4 5 6 7; do
	mknod -m 0666 "$work/victims/mrlease$i" c "$major" "$minor" || fail "mknod"
done
chown "$uid:$uid" "$work/cwd"

args=(-q -l off --stats -C "$children" --enable-fds=pseudo -V "$work/victims")
[ -z "${MRLEASE_TRINITY_SEED:-}" ] || args+=(-s "$MRLEASE_TRINITY_SEED")
syscalls="ioctl mmap munmap mremap madvise mprotect msync read readv pread64 write poll ppoll select fcntl dup dup3"
syscalls+=" lseek close"
IFS=", " read -r -a scs <<<"${MRLEASE_TRINITY_SYSCALLS:-$syscalls}"
for sc in "${scs[@]}"; do
	args+=(-c "$sc")
done
info "trinity ${args[*]} as uid $uid for ${secs}s (module refcount $refcnt0)"

# SIGINT is trinity's "stop and print the counts"; KILL if it does not stop within 60 s of that.
out=$work/out
start=$(date +%s)
(cd "$work/cwd" && exec timeout -s INT -k 60 "$secs" \
	"$setpriv" --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all "$trinity" "${args[@]}") \
	</dev/null >"$out" 2>&1
rc=$?
took=$(($(date +%s) - start))
cat "$out"

ran=$(sed -n 's/.*Ran \([0-9]*\) syscalls\. Successes: \([0-9]*\) *Failures: \([0-9]*\).*/\1 \2 \3/p' "$out" | tail -n 1)
[ -n "$ran" ] || fail "trinity printed no syscall count (exit $rc after ${took}s)"
read -r n ok bad <<<"$ran"
info "trinity: ran $n syscalls in ${took}s ($ok succeeded, $bad failed), exit $rc"
grep -q 'kernel became tainted' "$out" && fail "trinity stopped: the kernel became tainted"
[ "$rc" -eq 0 ] || fail "trinity exited $rc"
[ "$n" -gt 0 ] || fail "trinity ran no syscall"

# Every context trinity opened must be gone with it (fput may be deferred a little).
for _ in $(seq 50); do
	[ "$(cat /sys/module/mrlease/refcnt)" = "$refcnt0" ] && exit 0
	sleep 0.2
done
fail "mrlease refcount $(cat /sys/module/mrlease/refcnt) after trinity, $refcnt0 before: a context was not released"
