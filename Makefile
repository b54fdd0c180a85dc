# SPDX-License-Identifier: GPL-2.0
# mrlease top-level targets. The test rig (test/rig/) fetches its own kernel, builds what it needs against
# that kernel's headers and runs everything inside QEMU; nothing is loaded into the host's kernel.

.PHONY: check demo clean

# Build module/ and the tests against the rig's kernel, boot it, run the suite. Last line: the summary.
check:
	test/rig/vm.sh

# Boot with the module loaded and run test/demo.sh in the guest instead of the suite.
demo:
	test/rig/vm.sh --no-suite --run test/demo.sh

clean:
	rm -rf test/build
	if [ -d module ]; then $(MAKE) -C module clean KDIR="$$(test/rig/kernel.sh --kdir)"; fi
