#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
# check-symbols.sh LIB.so SYMFILE: the library exports exactly the functions listed in SYMFILE, each at
# the version node of its stanza, and nothing else (hidden visibility and `local: *` must hide the rest).
set -eu
lib=$1 map=$2

# "name version" for every global of the map, from its stanzas.
want=$(awk '
	/^[A-Za-z0-9_.]+[ \t]*\{/ { node = $1; sub(/\{.*/, "", node); next }
	/global:/ { g = 1; next }
	/local:/ { g = 0; next }
	/^\}/ { g = 0; next }
	g && /;/ { s = $1; sub(/;.*/, "", s); print s, node }' "$map" | LC_ALL=C sort)
nodes=$(awk '/^[A-Za-z0-9_.]+[ \t]*\{/ { n = $1; sub(/\{.*/, "", n); print n }' "$map")

# Dynamic symbols the library defines, without the version nodes themselves (type A).
have=$(nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' |
	sed -n 's/^\([^@]*\)@@\{0,1\}\(.*\)$/\1 \2/p' | LC_ALL=C sort)
unversioned=$(nm -D --defined-only "$lib" | awk '$2 != "A" && $3 !~ /@/ { print $3 }')

rc=0
if [ -n "$unversioned" ]; then
	echo "$lib: unversioned exports: $unversioned" >&2
	rc=1
fi
if [ "$want" != "$have" ]; then
	echo "$lib: exports differ from $map (< map, > library):" >&2
	diff <(echo "$want") <(echo "$have") >&2 || true
	rc=1
fi
for n in $nodes; do
	nm -D --defined-only "$lib" | grep -q " A $n\$" || { echo "$lib: no version node $n" >&2; rc=1; }
done
[ $rc -ne 0 ] || echo "$lib: $(echo "$want" | wc -l) symbols, all in $map"
exit $rc
