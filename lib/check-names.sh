#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
# check-names.sh LIB.so UAPI-HEADER: mrlease_reason_str() and mrlease_state_str() name every
# MRLEASE_REASON_* and MRLEASE_STATE_* value the uapi header defines (none may come back "unknown"),
# and no two values share a name. Builds a small program against LIB.so and runs it on the host: the
# two functions only map numbers to strings and never touch the device.
set -eu
lib=$1 uapi=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

{
	echo '#include <stdio.h>'
	echo '#include <string.h>'
	echo '#include "mrlease.h"'
	echo 'static int bad;'
	echo 'static void one(const char *what, const char *name, const char *(*fn)(uint32_t), uint32_t v,'
	echo '                const char **seen) {'
	echo '	const char *s = fn(v);'
	echo '	if (!s || !strcmp(s, "unknown")) { printf("%s: %s (%u) has no name\n", what, name, v); bad = 1; }'
	echo '	if (seen[v] && s && !strcmp(seen[v], s)) { printf("%s: %s shares its name\n", what, name); bad = 1; }'
	echo '	seen[v] = s;'
	echo '}'
	echo 'int main(void) {'
	echo '	static const char *reasons[256], *states[256];'
	sed -n 's/^#define \(MRLEASE_REASON_[A-Z_]*\)[[:space:]]\+[0-9].*/\1/p' "$uapi" |
		while read -r n; do echo "	one(\"mrlease_reason_str\", \"$n\", mrlease_reason_str, $n, reasons);"; done
	sed -n 's/^#define \(MRLEASE_STATE_[A-Z_]*\)[[:space:]]\+[0-9].*/\1/p' "$uapi" |
		while read -r n; do echo "	one(\"mrlease_state_str\", \"$n\", mrlease_state_str, $n, states);"; done
	echo '	return bad;'
	echo '}'
} >"$dir/names.c"
n=$(grep -c '	one(' "$dir/names.c")
${CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$(dirname "$0")" -I"$(dirname "$uapi")/.." -o "$dir/names" \
	"$dir/names.c" "$lib"
LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$dir/names"
echo "$lib: names every one of the $n reasons and states in $(basename "$uapi")"
