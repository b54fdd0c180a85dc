#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
# check-names.sh LIB.so UAPI-HEADER: every value the uapi header defines has a name, and no two values of
# one kind share it:
#  - in mrlease-names.h, the one table the library, mrlease-ctl, the tests and the demo use: states,
#    reasons, backings, layout states, holds, record types, netlink notifications, record and register
#    flags (by bit);
#  - through LIB.so: mrlease_reason_str() and mrlease_state_str() (none may come back "unknown").
# Builds a small program against LIB.so and runs it on the host: those functions only map numbers to
# strings and never touch the device.
set -eu
lib=$1 uapi=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# The names of the #define'd (or enumerated) constants PREFIX[A-Z_]+ in the uapi, less those in $3.
consts() {
	local prefix=$1 skip=${2:-}
	{
		sed -n "s/^#define \\(${prefix}[A-Z_]*\\)[[:space:]]\\+[0-9_(].*/\\1/p" "$uapi"
		sed -n "s/^[[:space:]]*\\(${prefix}[A-Z_]*\\),.*/\\1/p" "$uapi"
	} | grep -v -x -E "${skip:-^$}" || true
}

{
	echo '#include <stdio.h>'
	echo '#include <string.h>'
	echo '#include "mrlease.h"'
	echo '#include "mrlease-names.h"'
	echo 'static int bad;'
	echo 'static const char *seen[64][256];'
	echo 'static void one(int kind, const char *what, const char *name, const char *s, unsigned int v) {'
	echo '	if (!s || !strcmp(s, "unknown")) { printf("%s: %s (%u) has no name\n", what, name, v); bad = 1; return; }'
	echo '	for (unsigned int i = 0; i < 256; i++)'
	echo '		if (seen[kind][i] && !strcmp(seen[kind][i], s)) { printf("%s: %s shares its name \"%s\"\n", what, name, s); bad = 1; }'
	echo '	if (v < 256) seen[kind][v] = s;'
	echo '}'
	echo 'static unsigned int bit(unsigned long long f) { unsigned int b = 0; while (f > 1) { f >>= 1; b++; } return b; }'
	echo 'int main(void) {'
	kind=0
	# table  prefix  skip  how a value indexes the table
	while read -r table prefix skip index; do
		kind=$((kind + 1))
		for n in $(consts "$prefix" "$skip"); do
			v=$n
			[ "$index" = bit ] && v="bit($n)"
			echo "	one($kind, \"$table\", \"$n\", mrlease_name($table, $v), $v);"
		done
	done <<-'TABLES'
	mrlease_state_names MRLEASE_STATE_ - value
	mrlease_reason_names MRLEASE_REASON_ - value
	mrlease_backing_names MRLEASE_BACKING_ - value
	mrlease_layout_names MRLEASE_LAYOUT_ - value
	mrlease_hold_names MRLEASE_HOLD_ - value
	mrlease_event_names MRLEASE_EVENT_ MRLEASE_EVENT_F_.* value
	mrlease_ntf_names MRLEASE_NTF_ MRLEASE_NTF_UNSPEC|MRLEASE_NTF_MAX|__MRLEASE_NTF_MAX value
	mrlease_event_flag_names MRLEASE_EVENT_F_ - bit
	mrlease_reg_flag_names MRLEASE_REG_ MRLEASE_REG_ALL bit
	TABLES
	for n in $(consts MRLEASE_REASON_); do
		echo "	one(60, \"mrlease_reason_str\", \"$n\", mrlease_reason_str($n), $n);"
	done
	for n in $(consts MRLEASE_STATE_); do
		echo "	one(61, \"mrlease_state_str\", \"$n\", mrlease_state_str($n), $n);"
	done
	echo '	return bad;'
	echo '}'
} >"$dir/names.c"
n=$(grep -c '	one(' "$dir/names.c")
${CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$here" -I"$(dirname "$uapi")/.." -o "$dir/names" \
	"$dir/names.c" "$lib"
LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$dir/names"
echo "$lib: mrlease-names.h and the library name all $n uapi values in $(basename "$uapi")"
