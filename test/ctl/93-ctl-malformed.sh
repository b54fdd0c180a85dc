#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Malformed and oversized generic netlink requests, built by hand (ctl-badmsg): wrong attribute types and
# lengths, unknown attributes, attributes a command does not take, broken framing, unknown commands and
# 1 MiB messages are all refused (with an extended-ACK message where a policy or handler refuses them);
# the family keeps working and the configuration is unchanged. Any kernel splat fails the run.
# shellcheck source=test/ctl/lib.sh
. "$(dirname "$0")/bin/ctl-lib.sh"

"$BIN/ctl-badmsg"
run 0 "$CTL" -j stats
echo "malformed ok"
