#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# SPDX-License-Identifier: GPL-2.0
# The stock-kernel matrix: for each Debian kernel series, fetch it (kernel.sh), build module/ against its
# headers with -Werror in a copy of the tree (build/matrix/<release>/, so runs against other kernels never
# touch module/'s own objects), then boot it and run the whole VM suite on that .ko (vm.sh --module).
#
#   matrix.sh [--kernels "SERIES..."] [--build-only] [--log-dir DIR] [-- VM.SH-OPTIONS...]
#
#   --kernels     the series to run (default: "5.10 6.1 6.12 7.x"); releases work too
#   --build-only  only build (also what happens for series in MATRIX_BUILD_ONLY, e.g. "7.x")
#   --log-dir     where each kernel's console log goes (default build/matrix/<release>/console.log)
# A guest that panics before the first test is booted once more (the panic is reported either way).
# Prints a table (also written to build/matrix/summary.md) and, last, "N passed, N failed[, N skipped]" over
# all kernels (a build counts as one test). Exit status 0 if nothing failed.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=kernel.sh
. "$RIG_DIR/kernel.sh"

kernels="5.10 6.1 6.12 7.x" build_only=0 log_dir="" vm_args=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernels) kernels=$2; shift ;;
	--build-only) build_only=1 ;;
	--log-dir) log_dir=$(realpath -m "$2"); shift ;;
	--) shift; vm_args=("$@"); break ;;
	-h|--help) sed -n '/^#   matrix.sh/,/^# all kernels/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "matrix.sh: unknown option '$1' (see --help)" ;;
	esac
	shift
done

out=$REPO_ROOT/build/matrix
mkdir -p "$out"
"$RIG_DIR/deps.sh" >&2 || die "installing dependencies failed"

# build_copy REL DIR: build module/ against REL in DIR (a copy of module/ and uapi/ with kept objects).
# In a git tree only the tracked files are copied: CI builds module/ in place for 6.1 while this runs, and
# a file kbuild is writing or removing there must not be copied (nor fail tar).
build_copy() {
	local rel=$1 dir=$2
	mkdir -p "$dir"
	if git -C "$REPO_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$REPO_ROOT" ls-files -z module uapi VERSION | tar -C "$REPO_ROOT" --null -T - -cf - |
			tar -C "$dir" -xf -
	else
		tar -C "$REPO_ROOT" -cf - --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' \
			--exclude='*.mod.c' --exclude=modules.order --exclude=Module.symvers --exclude='*.have' \
			--exclude=compat-have.h module uapi VERSION | tar -C "$dir" -xf -
	fi
	(cd "$dir/module" && kernel_make "$rel" -j"$(nproc)" -C "$dir/module" KDIR="$(kernel_kdir "$rel")" MRLEASE_WERROR=1)
}

total_p=0 total_f=0 total_s=0 rows=()
start_all=$(date +%s)
for k in $kernels; do
	t0=$(date +%s)
	if ! rel=$(kernel_resolve "$k"); then
		rows+=("| $k | - | fetch failed | - | - |")
		total_f=$((total_f + 1))
		continue
	fi
	t1=$(date +%s)
	dir=$out/$rel
	log "=== $k: $rel: building module/ in $dir"
	if build_copy "$rel" "$dir" >"$dir.build.log" 2>&1; then
		build="ok"
		total_p=$((total_p + 1))
	else
		build="FAILED"
		total_f=$((total_f + 1))
		grep -E 'error|warning' "$dir.build.log" | head -n 20 >&2 || tail -n 20 "$dir.build.log" >&2
	fi
	t2=$(date +%s)
	build+=" ($((t2 - t1)) s; fetch $((t1 - t0)) s)"
	suite="-" boot="-"
	case " ${MATRIX_BUILD_ONLY:-} " in *" $k "*|*" $rel "*) only=1 ;; *) only=$build_only ;; esac
	if [ "$only" -eq 0 ] && [ "${build%% *}" = ok ]; then
		clog=${log_dir:+$log_dir/$rel.console.log}
		clog=${clog:-$dir/console.log}
		mkdir -p "$(dirname "$clog")"
		for try in 1 2; do
			log "=== $k: $rel: booting, the whole suite (console: $clog)"
			t3=$(date +%s)
			"$RIG_DIR/vm.sh" --kernel "$rel" --module "$dir/module/mrlease.ko" --log "$clog" "${vm_args[@]}" \
				>"$dir.vm.log" 2>&1 || true
			t4=$(date +%s)
			summary=$(tail -n 1 "$dir.vm.log")
			grep -v '^ok ' "$dir.vm.log" | tail -n 60 >&2
			panic=$(grep -m 1 '^guest kernel panicked' "$dir.vm.log" || true)
			if [ "$panic" = "guest kernel panicked before the tests" ] && [ $try -eq 1 ]; then
				warn "$rel panicked at boot (console kept as $clog.panic); booting once more"
				cp "$clog" "$clog.panic"
				continue
			fi
			if [ -n "$panic" ]; then
				boot="PANIC: ${panic#guest kernel }"
			elif grep -q '^guest did not finish' "$dir.vm.log"; then
				boot="did not finish"
			else
				boot=ok
			fi
			break
		done
		if [ "$try" -eq 2 ]; then boot+=" (2nd boot; the 1st panicked: $clog.panic)"; fi
		suite="$summary ($((t4 - t3)) s)"
		read -r p f s < <(echo "$summary" | awk '{
			for (i = 1; i < NF; i++) { v = $i + 0; w = $(i + 1); sub(/,$/, "", w)
				if (w == "passed") p = v; else if (w == "failed") f = v; else if (w == "skipped") s = v }
			print p + 0, f + 0, s + 0 }')
		total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
	elif [ "$only" -eq 1 ]; then
		boot="not booted (build only)"
	fi
	rows+=("| $k | $rel | $build | $boot | $suite |")
done

{
	echo "Stock-kernel matrix, $(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - start_all)) s in all:"
	echo
	echo "| series | release | build (-Werror) | boot | suite |"
	echo "|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} | tee "$out/summary.md"
summary="$total_p passed, $total_f failed"
[ "$total_s" -eq 0 ] || summary+=", $total_s skipped"
echo "$summary"
[ "$total_f" -eq 0 ]
