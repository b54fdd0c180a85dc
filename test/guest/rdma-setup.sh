#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Soft-RoCE for the tests (run by /init when the initramfs was built with --rdma): a veth pair, veth0
# 10.11.0.1/24 and veth1 10.11.0.2/24, and the rxe device rxe0 on veth0. Tests use two QPs on rxe0: rxe
# loops packets for its own address back inside the driver. Exit status 0 once rxe0's port is ACTIVE and
# its uverbs device node exists.
#
# /bin/sh is bash here, but busybox's ip knows no veth: call iproute2 by path.
IP=/sbin/ip
RDMA=/usr/bin/rdma
RXE=rxe0

fail() { echo "rdma-setup: $*"; exit 1; }

# librdmacm (libfabric's verbs provider) resolves the host's own name: without it in /etc/hosts every
# fi_getinfo() with hints fails with -ENODATA.
hostname mrlease-guest
printf '127.0.0.1 localhost\n10.11.0.1 mrlease-guest\n' >/etc/hosts

$IP link set lo up || fail "ip link set lo up"
$IP link add veth0 type veth peer name veth1 || fail "ip link add veth0 type veth"
$IP addr add 10.11.0.1/24 dev veth0 || fail "ip addr add veth0"
$IP addr add 10.11.0.2/24 dev veth1 || fail "ip addr add veth1"
$IP link set veth0 up || fail "ip link set veth0 up"
$IP link set veth1 up || fail "ip link set veth1 up"
$RDMA link add $RXE type rxe netdev veth0 || fail "rdma link add $RXE type rxe netdev veth0"

# The port goes ACTIVE once the netdev has carrier; the device node comes from devtmpfs.
n=0
while [ $n -lt 50 ]; do
	state=$(cat /sys/class/infiniband/$RXE/ports/1/state 2>/dev/null)
	uverbs=$(ls /sys/class/infiniband/$RXE/device/infiniband_verbs 2>/dev/null ||
		ls -d /sys/class/infiniband_verbs/uverbs* 2>/dev/null)
	case $state in
	*ACTIVE*) [ -n "$uverbs" ] && [ -e "/dev/infiniband/${uverbs##*/}" ] && break ;;
	esac
	sleep 0.1
	n=$((n + 1))
done
case $state in
*ACTIVE*) ;;
*) fail "$RXE port state '${state:-missing}' after 5 s" ;;
esac
[ -e "/dev/infiniband/${uverbs##*/}" ] || fail "no /dev/infiniband/${uverbs##*/} for $RXE"
echo "rdma-setup: $($RDMA link show $RXE/1 2>&1), /dev/infiniband/${uverbs##*/}"
