#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2317  # the checks are called through check()
# check-install's script in the booted Debian guest (test/install/check-install.sh puts it on the payload
# disk, /mnt/payload, with the packages, the program an unprivileged user builds, and the kernel names).
# Stage 1, on the root filesystem's kernel A: install A's headers and the mrlease packages from local files,
# DKMS builds for A, an RDMA device appearing loads the module (the shipped udev rule), /dev/mrlease has the
# rule's mode, a user builds and runs a program with pkg-config, mrlease-ctl works; then a second kernel B
# (image and headers) makes DKMS build for B. Stage 2, after the reboot into B (or A again where the suite has
# no second kernel): the module was loaded at boot,
# the program runs again; apt purge leaves nothing of mrlease behind. Results go to the second serial port
# as "ok NAME" / "not ok NAME: WHY", then "CHECK-INSTALL-STAGE N NONCE"; the guest powers off.
set -u
P=/mnt/payload
exec 3>/dev/ttyS1
nonce=$(cat $P/nonce)
kernel_a=$(cat $P/kernel-a)
kernel_b=$(cat $P/kernel-b 2>/dev/null || true)
version=$(cat $P/version)
pkgs=(mrlease-dkms libmrlease1 libmrlease-verbs1 libmrlease-dev mrlease-tools mrlease-libfabric mrlease-ucx)
export DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
state=/var/lib/mrlease-check-install
mkdir -p $state

say() { echo "[check-install] $*"; }
ok() { echo "ok $1" >&3; say "ok $1"; }
not_ok() { echo "not ok $1: $2" >&3; say "not ok $1: $2"; }
# check NAME CMD...: one result, CMD's output on the console.
check() {
	local name=$1
	shift
	say "--- $name: $*"
	if "$@"; then ok "$name"; else not_ok "$name" "'$*' failed"; fi
}
finish() {
	echo "CHECK-INSTALL-STAGE $1 $nonce" >&3
	sync
	systemctl poweroff --no-block
	exit 0
}
elapsed() { echo $(($(date +%s) - $1)); }

# The mode and owner the shipped udev rule gives /dev/mrlease (README: "Who may use /dev/mrlease").
dev_mode_ok() {
	local got
	got=$(stat -c '%a %U %G' /dev/mrlease) || return 1
	say "/dev/mrlease: $got"
	[ "$got" = "666 root root" ]
}
module_from_dkms() {
	local path
	path=$(modinfo -n mrlease) || return 1
	say "modinfo -n mrlease: $path; version $(modinfo -F version mrlease)"
	# Compressed where the kernel's own modules are (Debian's 6.12: .ko.xz).
	case $path in "/lib/modules/$(uname -r)/updates/dkms/mrlease.ko"|*/updates/dkms/mrlease.ko.[xgz]*) ;; *) return 1 ;; esac
	case $path in "/lib/modules/$(uname -r)/"*) ;; *) return 1 ;; esac
	[ "$(modinfo -F version mrlease)" = "$version" ]
}
module_loaded() {
	[ -d /sys/module/mrlease ] && [ "$(cat /sys/module/mrlease/version)" = "$version" ] && [ -c /dev/mrlease ]
}
ctl_versions() {
	local out
	out=$(mrlease-ctl -V) || return 1
	say "$out"
	grep -qx "mrlease-ctl $version .*" <<<"$out" && grep -qx "module $version.*" <<<"$out"
}
# Soft-RoCE on a veth pair: the RDMA device whose appearance makes the shipped udev rule load mrlease.
rdma_device() {
	ip link add veth0 type veth peer name veth1 && ip link set veth0 up && ip link set veth1 up &&
		rdma link add rxe0 type rxe netdev veth0 && udevadm settle -t 60
}
user_program() {
	# shellcheck disable=SC2016  # expanded by the user's shell
	runuser -u mrluser -- sh -c 'cd && cc -Wall -Wextra -o lease-hello "$1"/lease-hello.c \
		$(pkg-config --cflags --libs libmrlease) && ./lease-hello' sh "$P"
}
verbs_pc() {
	runuser -u mrluser -- sh -c 'pkg-config --modversion libmrlease libmrlease-verbs' | tee /dev/stderr |
		grep -qx "$version"
}
dkms_installed_for() {
	dkms status mrlease
	dkms status -m mrlease -v "$version" -k "$1" | grep ': installed' >/dev/null &&
		compgen -G "/lib/modules/$1/updates/dkms/mrlease.ko*" >/dev/null
}
# Files the system has that it had before the packages were installed: nothing of mrlease.
nothing_left() {
	local left
	# (mrlease-payload.service is this test's own entry point, not the packages'.)
	left=$(find / -xdev \( -path /proc -o -path /sys -o -path /mnt -o -path "$state" -o -path /home \) -prune -o \
		-iname '*mrlease*' ! -name mrlease-payload.service -print)
	[ -z "$left" ] || { say "left behind: $left"; return 1; }
	left=$(dpkg -l | awk '$2 ~ /mrlease/ { print $1, $2 }')
	[ -z "$left" ] || { say "dpkg still knows: $left"; return 1; }
	left=$(grep -l mrlease /lib/modules/*/modules.dep 2>/dev/null)
	[ -z "$left" ] || { say "modules.dep still lists mrlease: $left"; return 1; }
	[ -z "$(dkms status mrlease)" ] || { say "dkms status: $(dkms status mrlease)"; return 1; }
}
# Every file the purge should have taken back: compare the tree with the list taken before the install,
# leaving out what the second kernel and running the system add (logs, caches, the shadow files' backups
# /etc/*- that useradd and userdel write).
file_list() {
	find / -xdev \( -path /proc -o -path /sys -o -path /mnt -o -path /tmp -o -path /var/tmp -o -path /run \
		-o -path /var/log -o -path /var/cache -o -path /var/lib/apt -o -path /var/lib/dpkg \
		-o -path /var/lib/systemd -o -path /var/lib/dkms -o -path /home -o -path /root -o -path $state \
		-o -path /boot -o -path '/lib/modules/*' -o -path '/usr/lib/modules/*' -o -path '/usr/src/linux-*' \
		-o -path '/var/lib/initramfs-tools' -o -path /etc/ld.so.cache -o -path /var/lib/ucf \
		-o -path '/etc/*-' \) -prune -o -print |
		sort
}
tree_as_before() {
	local extra
	local pkgs_b=() d
	for d in "$P"/debs-b/*.deb; do [ -f "$d" ] && pkgs_b+=("$(dpkg-deb -f "$d" Package)"); done
	extra=$(file_list | comm -13 "$state/before.list" - |
		comm -23 - <(dpkg -L "${pkgs_b[@]}" 2>/dev/null | sort -u))
	[ -z "$extra" ] || { say "new since before the install: $extra"; return 1; }
}

say "running on $(uname -r); kernel A $kernel_a, kernel B ${kernel_b:-none}"
if [ ! -f "$state/stage1" ]; then
	touch "$state/stage1"
	[ "$(uname -r)" = "$kernel_a" ] || { not_ok stage "stage 1 booted $(uname -r), not $kernel_a"; finish 1; }
	# The second kernel's initramfs with only what this machine needs (most modules would take ~10 minutes
	# under TCG): an administrator's choice, made before the packages come.
	echo MODULES=dep >/etc/initramfs-tools/conf.d/check-install
	t=$(date +%s)
	check headers-a apt-get install -y -q --no-install-recommends $P/debs-a/*.deb
	file_list >$state/before.list
	t=$(date +%s)
	check install apt-get install -y -q --no-install-recommends $P/debs/*.deb
	say "apt-get install of the packages (DKMS build for $kernel_a included): $(elapsed "$t") s"
	check dkms-built-a dkms_installed_for "$kernel_a"
	check modinfo-a module_from_dkms
	check not-loaded-without-rdma test ! -d /sys/module/mrlease
	check rdma-device rdma_device
	check module-loaded module_loaded
	check dev-mode dev_mode_ok
	check ctl-version ctl_versions
	check ctl-stats mrlease-ctl stats
	check ctl-json sh -c 'mrlease-ctl -j config show | grep -q "break"'
	useradd -m mrluser
	check user-builds-and-runs user_program
	check user-pc-files verbs_pc
	check ctl-lease-show mrlease-ctl lease show
	if [ -n "$kernel_b" ]; then
		t=$(date +%s)
		check install-kernel-b apt-get install -y -q --no-install-recommends $P/debs-b/*.deb
		say "apt-get install of kernel $kernel_b (DKMS build included): $(elapsed "$t") s"
		check dkms-built-b dkms_installed_for "$kernel_b"
		check modules-dep-b grep -q 'updates/dkms/mrlease.ko' "/lib/modules/$kernel_b/modules.dep"
	fi
	# At the next boot, soft-RoCE comes up before anyone asks for mrlease: only the udev rule can load it.
	cp $P/rdma-at-boot.service /etc/systemd/system/ && systemctl enable rdma-at-boot.service
	finish 1
fi

# Stage 2: after the reboot, into the second kernel if there is one (else the same kernel again).
boot_kernel=${kernel_b:-$kernel_a}
if [ "$(uname -r)" = "$boot_kernel" ]; then
	check reboot-rdma-device test -d /sys/class/infiniband/rxe0
	check loaded-at-boot module_loaded
	check reboot-modinfo module_from_dkms
	check reboot-dev-mode dev_mode_ok
	check reboot-user-runs runuser -u mrluser -- sh -c 'cd && ./lease-hello'
	check rmmod rmmod mrlease
	t=$(date +%s)
	check purge apt-get purge -y -q "${pkgs[@]}"
	say "apt-get purge: $(elapsed "$t") s"
	userdel -r mrluser 2>/dev/null
	# The test's own soft-RoCE unit goes too: what is left must be the packages' doing.
	systemctl disable rdma-at-boot.service 2>/dev/null
	rm -f /etc/systemd/system/rdma-at-boot.service
	check nothing-left nothing_left
	check tree-as-before tree_as_before
	finish 2
fi
not_ok stage "stage 2 booted $(uname -r), not $boot_kernel"
finish 2
