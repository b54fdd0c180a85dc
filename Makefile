# SPDX-License-Identifier: GPL-2.0
# mrlease top-level targets.
#
# The test rig (test/rig/) fetches its own Debian kernel, builds what it needs against that kernel's headers
# and runs everything inside QEMU; nothing is ever loaded into the host's kernel. Building the module for the
# host (`make module`) uses KDIR / KERNELRELEASE like any out-of-tree module.

PREFIX ?= /usr/local
KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build

.PHONY: all module lib tools install check demo bench style clean

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

# Build module/ and the tests against the rig's kernel, boot it, run the suite. Last line: the summary.
check:
	test/rig/vm.sh

# Boot with the module loaded and run test/demo.sh in the guest instead of the suite.
demo:
	$(MAKE) -C test demo
	test/rig/vm.sh --no-suite --run test/build/demo/demo.sh --bin $(CURDIR)/test/build/demo/mrlease-demo

# Benchmarks print tables (inside the VM); they are not timed tests.
bench:
	$(MAKE) -C test bench
	test/rig/vm.sh --no-suite --no-load --run test/build/bench/run-bench.sh \
		--bin $(CURDIR)/test/build/bench/mrlease-bench

# checkpatch --strict and sparse on module/ (checkpatch comes from linux-source-6.1, kept in the cache).
style:
	test/rig/style.sh

clean:
	rm -rf test/build build
	if [ -d module ]; then $(MAKE) -C module clean KDIR="$$(test/rig/kernel.sh --kdir)"; fi
