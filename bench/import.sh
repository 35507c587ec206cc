#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bulk import of 100,000 certificates against the Ed25519 signing rate of `openssl speed` (target 0.5x).
#
# Environment:
#   STARMARK_BIN    the starmark binary (default: build one in SM_BENCH_BUILD, Release)
#   SM_BENCH_BUILD  build directory (default ${TMPDIR:-/tmp}/starmark-bench-build)
#   BENCH_ROWS      rows to import (default 100000)
#   BENCH_TARGET    the ratio to reach (default 0.5)
#   SM_BENCH_KEEP   if set, a directory name: the registry is moved there afterwards (verify.sh reuses it)
#
# The reference is measured in the same run, before and after the import, with `-elapsed`, so that
# both sides are wall-clock rates on the same (shared, noisy) machine; PASS/FAIL uses that ratio.
# The CPU-time ratio (import user+sys vs openssl's default user-time rate) is printed too.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
. "$here/lib.sh"
rows=${BENCH_ROWS:-100000}
target=${BENCH_TARGET:-0.5}
py=/usr/bin/python3

if [[ -z "${STARMARK_BIN:-}" ]]; then
	build=${SM_BENCH_BUILD:-${TMPDIR:-/tmp}/starmark-bench-build}
	release_build "$build" starmark-cli
	STARMARK_BIN=$build/cli/starmark
fi
sm=$STARMARK_BIN

work=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-import.XXXXXX")
trap 'rm -rf "$work"' EXIT
export STARMARK_NOW=2025-06-01


echo "import: generating $rows rows" >&2
"$py" "$here/gen_csv.py" "$rows" "b$$" "$work/in.csv"
"$sm" --db "$work/reg" init --scheme CCDS --levels 3 --origin bench.local >/dev/null 2>&1

echo "import: openssl speed ed25519 (before)" >&2
read -r sign1 _ < <(ossl_rates -elapsed) || true

echo "import: importing" >&2
timer=()
if [[ -x /usr/bin/time ]]; then
	timer=(/usr/bin/time -f '%U %S' -o "$work/cpu")
else
	echo "0 0" >"$work/cpu" # no GNU time: the cpu figures read 0
fi
t0=$(date +%s%N)
"${timer[@]}" "$sm" --db "$work/reg" import "$work/in.csv" 2>"$work/import.err" || {
	cat "$work/import.err" >&2
	echo "RESULT import 0 FAIL"
	exit 1
}
t1=$(date +%s%N)

echo "import: openssl speed ed25519 (after, and user-time rate)" >&2
read -r sign2 _ < <(ossl_rates -elapsed) || true
read -r sign_cpu _ < <(ossl_rates "") || true

total=$("$sm" --db "$work/reg" list --json --limit 1 | "$py" -c 'import json,sys; print(json.load(sys.stdin)["total"])')
if [[ "$total" != "$rows" ]]; then
	echo "import: expected $rows certificates after the import, found $total" >&2
	echo "RESULT import 0 FAIL"
	exit 1
fi

if [[ -n "${SM_BENCH_KEEP:-}" ]]; then
	rm -rf "$SM_BENCH_KEEP"
	mv "$work/reg" "$SM_BENCH_KEEP"
	echo "import: registry kept in $SM_BENCH_KEEP" >&2
fi

for v in "${sign1:-}" "${sign2:-}" "${sign_cpu:-}"; do
	if ! [[ "$v" =~ ^[0-9]+(\.[0-9]+)?$ && "$v" != 0 ]]; then
		echo "import: cannot read a rate from openssl speed ed25519 (got '$v')" >&2
		echo "RESULT import 0 FAIL"
		exit 1
	fi
done
read -r cpu_u cpu_s <"$work/cpu"
awk -v rows="$rows" -v ns=$((t1 - t0)) -v s1="$sign1" -v s2="$sign2" -v sc="$sign_cpu" \
	-v cu="$cpu_u" -v cs="$cpu_s" -v target="$target" 'BEGIN {
	wall = ns / 1e9; rate = rows / wall; sign = (s1 + s2) / 2; ratio = rate / sign
	cpu = cu + cs; crate = cpu > 0 ? rows / cpu : 0
	printf "rows           %d\n", rows
	printf "import wall    %.2f s  (cpu %.2f s user + %.2f s sys)\n", wall, cu, cs
	printf "import rate    %.0f certs/s (wall), %.0f certs/cpu-s\n", rate, crate
	printf "openssl sign/s %.0f (wall, mean of %.0f and %.0f), %.0f (user time)\n", sign, s1, s2, sc
	printf "cpu ratio      %.3f (information)\n", crate / sc
	printf "ratio          %.3f (target >= %s)\n", ratio, target
	printf "RESULT import %.3f %s\n", ratio, (ratio >= target) ? "PASS" : "FAIL"
	if (ratio < target) exit 1
}'

