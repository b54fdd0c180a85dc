# SPDX-License-Identifier: GPL-2.0
# mrlease top-level targets.
#
# The test rig (test/rig/) fetches its own Debian kernel, builds what it needs against that kernel's headers
# and runs everything inside QEMU; nothing is ever loaded into the host's kernel. Building the module for the
# host (`make module`) uses KDIR / KERNELRELEASE like any out-of-tree module.

PREFIX ?= /usr/local
KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build

# `make dkms-install` copies what DKMS builds from (dkms.conf, module/, uapi/) to DKMSDIR, where `dkms install`
# finds it: then `dkms install mrlease/$(DKMS_VERSION)` builds and installs it for the running kernel (and
# AUTOINSTALL rebuilds it for each new kernel).
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
DKMSDIR ?= $(DESTDIR)/usr/src/mrlease-$(DKMS_VERSION)

.PHONY: all module lib tools install dkms-install deb check-quick check check-matrix check-dkms check-install check-debug check-race demo demo-rdma bench \
	style clean

all: module lib tools

module:
	$(MAKE) -C module KDIR=$(KDIR)

lib:
	$(MAKE) -C lib

tools: lib
	$(MAKE) -C tools

install: lib tools
	$(MAKE) -C lib install PREFIX=$(PREFIX)
	$(MAKE) -C tools install PREFIX=$(PREFIX)

dkms-install:
	install -d $(DKMSDIR)/module/compat $(DKMSDIR)/uapi/linux
	install -m 0644 dkms.conf VERSION $(DKMSDIR)/
	install -m 0644 module/Kbuild module/Makefile $(filter-out module/compat-have.h,$(wildcard module/*.h)) \
		$(filter-out %.mod.c module/race.c,$(wildcard module/*.c)) $(DKMSDIR)/module/
	install -m 0644 module/compat/Kbuild.include module/compat/*.c $(DKMSDIR)/module/compat/
	install -m 0644 uapi/linux/mrlease.h $(DKMSDIR)/uapi/linux/

# Debian packages (debian/): mrlease-dkms, libmrlease1, libmrlease-verbs1, libmrlease-dev, mrlease-tools, built
# by dpkg-buildpackage from a copy of the tracked files in build/deb/ (the .debs land there), then lintian,
# which must report no error and no warning. Needs debhelper, dh-dkms, lintian (test/rig/deps.sh installs them).
DEB_DIR := build/deb
deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/mrlease-$(DKMS_VERSION)
	git ls-files -z | xargs -0 tar -cf - | tar -C $(DEB_DIR)/mrlease-$(DKMS_VERSION) -xf -
	cd $(DEB_DIR)/mrlease-$(DKMS_VERSION) && dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning --display-info $(DEB_DIR)/mrlease_$(DKMS_VERSION)_*.changes

# No VM, no root, under a minute: library headers/symbols/names/man pages, the CLI and its --help, the test
# programs, checkpatch and sparse (test/rig/quick.sh). CI runs it first.
check-quick:
	test/rig/quick.sh

# Build module/ and the tests against the rig's kernel, boot it, run the suite. Last line: the summary.
check:
	test/rig/vm.sh

# The stock-kernel matrix: build module/ against Debian's 5.10, 6.1, 6.12 and 7.x (-Werror), boot each and
# run the whole suite (test/rig/matrix.sh; MATRIX_BUILD_ONLY="7.x" makes a series build-only).
check-matrix:
	test/rig/matrix.sh

# dkms add/build against each matrix kernel's headers, then the suite on the .ko DKMS built for 6.1.
check-dkms:
	test/rig/dkms.sh

# mrlease installed as a user installs it: a debootstrap Debian root filesystem (cached) boots under QEMU on
# its own kernel; the packages (make deb), the headers and a second kernel come from local files; DKMS builds in
# the guest, the udev rule loads the module, a user builds with pkg-config, the guest reboots into the second
# kernel, apt purge leaves nothing (test/install/check-install.sh; INSTALL_SUITE=trixie for Debian 13).
INSTALL_SUITE ?= bookworm
check-install:
	test/install/check-install.sh --suite $(INSTALL_SUITE)

# The whole suite on the debug kernel (KASAN, lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_VM, DEBUG_LIST, kmemleak,
# fault injection), then rmmod and kmemleak scans; any splat or leak fails. The kernel is built from Debian's
# linux-source-6.1 with test/debug/debug.config on first use (~30-40 min on 2 cores) and cached in
# $$MRLEASE_CACHE/debug-kernel. MRLEASE_STRESS_SECS / MRLEASE_FUZZ_SECS (default 60 each) size the stress and
# fuzz tests.
check-debug:
	test/debug/check-debug.sh

# The adversarial lane on the debug kernel: mrlease.ko built with MRLEASE_RACE_WINDOWS=1 and loaded with
# race_window_us (MRLEASE_RACE_WINDOW_US, default 2000) so that lifecycle races open wide; the hostile-user
# tests, trinity as uid 65534 against /dev/mrlease (MRLEASE_TRINITY_SECS, 45) and the stress test
# (MRLEASE_STRESS_SECS, 90), then rmmod and kmemleak; any splat fails (test/debug/check-race.sh).
check-race:
	test/debug/check-race.sh

# Boot with the module loaded and run test/demo.sh in the guest instead of the suite.
DEMO_LOG ?= $(or $(MRLEASE_CACHE),/var/cache/mrlease)/vm/demo-console.log
demo:
	$(MAKE) -C test demo
	@status=0; test/rig/vm.sh --no-suite --run test/build/demo/demo.sh \
		--bin $(CURDIR)/test/build/demo/mrlease-demo --log $(DEMO_LOG) || status=$$?; \
	echo; echo "What happened in the VM:"; sed -n 's/^demo.sh: \(\[\)/\1/p' $(DEMO_LOG); exit $$status

# The same story with RDMA (issue 13), on the 7.x kernel, whose rxe has on-demand paging: an RDMA WRITE stream
# lands in a DAX file through an ODP MR of libmrlease-verbs while another user punches a hole into it
# (test/demo/mrlease-demo-rdma.c). On a kernel without ODP (DEMO_RDMA_KERNEL=6.1) it says why and skips.
DEMO_RDMA_KERNEL ?= 7.x
DEMO_RDMA_LOG ?= $(or $(MRLEASE_CACHE),/var/cache/mrlease)/vm/demo-rdma-console.log
demo-rdma:
	$(MAKE) -C test demo-rdma
	@status=0; test/rig/vm.sh --kernel $(DEMO_RDMA_KERNEL) --no-suite --timeout 300 \
		--run test/build/demo/mrlease-demo-rdma --log $(DEMO_RDMA_LOG) || status=$$?; \
	echo; echo "What happened in the VM:"; sed -n 's/^mrlease-demo-rdma: \(\[\)/\1/p' $(DEMO_RDMA_LOG); exit $$status

# Benchmarks print tables (inside the VM); they are not timed tests.
BENCH_LOG ?= $(or $(MRLEASE_CACHE),/var/cache/mrlease)/vm/bench-console.log
bench:
	$(MAKE) -C test bench
	@status=0; test/rig/vm.sh --no-suite --no-load --test-timeout 1800 --timeout 2400 \
		--run test/build/bench/run-bench.sh \
		--bin $(CURDIR)/test/build/bench/mrlease-bench --log $(BENCH_LOG) || status=$$?; \
	echo; sed -n 's/^run-bench.sh: //p' $(BENCH_LOG); exit $$status

# checkpatch --strict and sparse on module/ (checkpatch comes from linux-source-6.1, kept in the cache).
style:
	test/rig/style.sh

clean:
	rm -rf test/build build
	if [ -d module ]; then $(MAKE) -C module clean KDIR="$$(test/rig/kernel.sh --kdir)"; fi
