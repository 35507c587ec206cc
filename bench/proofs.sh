#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Log root, inclusion and consistency proof medians at 1,000,000 entries against 1,000 entries (target <= 2x).
#
# Environment:
#   STARMARK_BIN    the starmark binary; BENCH_PROOFS_BIN the bench_proofs binary
#                   (default: build both in SM_BENCH_BUILD, Release)
#   SM_BENCH_BUILD  build directory (default ${TMPDIR:-/tmp}/starmark-bench-build)
#   BENCH_SMALL     entries of the small log (default 1000); BENCH_LARGE of the large one (default 1000000)
#   BENCH_CHUNK     rows per import of the large registry (default 100000; each import is one transaction)
#   BENCH_CALLS     timed calls per operation and registry (default 20000)
#   BENCH_TARGET    the largest allowed large/small ratio of medians (default 2)
#   SM_BENCH_LARGE  an existing registry to use as the large one (its log size is what is measured)
#   SM_BENCH_KEEP   if set, a directory name: the large registry built here is moved there afterwards
#
# Both registries are timed by one process, in alternating batches, so noise falls on both alike.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
. "$here/lib.sh"
small=${BENCH_SMALL:-1000}
large=${BENCH_LARGE:-1000000}
chunk=${BENCH_CHUNK:-100000}
calls=${BENCH_CALLS:-20000}
target=${BENCH_TARGET:-2}
py=/usr/bin/python3

if [[ -z "${STARMARK_BIN:-}" || -z "${BENCH_PROOFS_BIN:-}" ]]; then
	build=${SM_BENCH_BUILD:-${TMPDIR:-/tmp}/starmark-bench-build}
	release_build "$build" starmark-cli bench_proofs
	STARMARK_BIN=${STARMARK_BIN:-$build/cli/starmark}
	BENCH_PROOFS_BIN=${BENCH_PROOFS_BIN:-$build/bench/bench_proofs}
fi
sm=$STARMARK_BIN

work=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-proofs.XXXXXX")
trap 'rm -rf "$work"' EXIT
export STARMARK_NOW=2025-06-01

# A registry in $1 whose log holds $2 entries: the first trust bundle and $2 - 1 certificates,
# imported $chunk rows at a time.
make_registry() {
	local dir=$1 want=$2 done=1 part=0 rows
	"$sm" --db "$dir" init --scheme CCDS --levels 3 --origin bench.local >/dev/null 2>&1
	while ((done < want)); do
		rows=$((want - done < chunk ? want - done : chunk))
		"$py" "$here/gen_csv.py" "$rows" "p$$x$part" "$work/chunk.csv"
		if ! "$sm" --db "$dir" import "$work/chunk.csv" 2>"$work/import.err"; then
			cat "$work/import.err" >&2
			echo "RESULT proofs 0 FAIL"
			exit 1
		fi
		done=$((done + rows))
		part=$((part + 1))
		echo "proofs: $dir: $done of $want entries" >&2
	done
	rm -f "$work/chunk.csv"
}

make_registry "$work/small" "$small"
if [[ -n "${SM_BENCH_LARGE:-}" ]]; then
	large_dir=$SM_BENCH_LARGE
else
	large_dir=$work/large
	t0=$(date +%s)
	make_registry "$large_dir" "$large"
	echo "proofs: built the large registry in $(($(date +%s) - t0)) s" >&2
fi

"$BENCH_PROOFS_BIN" "$work/small" "$large_dir" "$calls" >"$work/out"

if [[ -n "${SM_BENCH_KEEP:-}" && -z "${SM_BENCH_LARGE:-}" ]]; then
	rm -rf "$SM_BENCH_KEEP"
	mv "$large_dir" "$SM_BENCH_KEEP"
	echo "proofs: large registry kept in $SM_BENCH_KEEP" >&2
fi

awk -v target="$target" '
	/^SIZES/ { printf "log sizes      %d and %d entries\n", $2, $3 }
	/^MEDIAN/ {
		printf "%-14s %8.1f us at small, %8.1f us at large, ratio %.3f\n", $2, $3 / 1000, $4 / 1000, $5
		if ($5 > worst) worst = $5
		n++
	}
	END {
		if (n != 3) { print "RESULT proofs 0 FAIL"; exit 1 }
		printf "ratio          %.3f (worst of the three; target <= %s)\n", worst, target
		printf "RESULT proofs %.3f %s\n", worst, (worst <= target) ? "PASS" : "FAIL"
		if (worst > target) exit 1
	}' "$work/out"
