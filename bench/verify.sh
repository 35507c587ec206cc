#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `log verify` of a 100,000-entry registry against the Ed25519 verify rate of `openssl speed` (target 0.5x).
#
# Environment:
#   STARMARK_BIN       the starmark binary (default: build one in SM_BENCH_BUILD, Release)
#   SM_BENCH_BUILD     build directory (default ${TMPDIR:-/tmp}/starmark-bench-build)
#   SM_BENCH_REGISTRY  an existing registry to verify, e.g. the one `SM_BENCH_KEEP=DIR bench/import.sh`
#                      left (it is only read); otherwise one of BENCH_ROWS certificates is built here
#   BENCH_ROWS         certificates of the registry built here (default 100000)
#   BENCH_TARGET       the ratio to reach (default 0.5)
#
# As in import.sh the reference is measured before and after with `-elapsed` (wall-clock rates on
# the same machine) and PASS/FAIL uses that; the CPU-time ratio is printed for information.
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

work=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-verify.XXXXXX")
trap 'rm -rf "$work"' EXIT
export STARMARK_NOW=2025-06-01

if [[ -n "${SM_BENCH_REGISTRY:-}" ]]; then
	reg=$SM_BENCH_REGISTRY
else
	reg=$work/reg
	echo "verify: building a registry of $rows certificates" >&2
	"$py" "$here/gen_csv.py" "$rows" "v$$" "$work/in.csv"
	"$sm" --db "$reg" init --scheme CCDS --levels 3 --origin bench.local >/dev/null 2>&1
	"$sm" --db "$reg" import "$work/in.csv" 2>/dev/null
	rm -f "$work/in.csv"
fi

echo "verify: openssl speed ed25519 (before)" >&2
read -r _ ver1 < <(ossl_rates -elapsed) || true

echo "verify: log verify" >&2
timer=()
if [[ -x /usr/bin/time ]]; then
	timer=(/usr/bin/time -f '%U %S' -o "$work/cpu")
else
	echo "0 0" >"$work/cpu" # no GNU time: the cpu figures read 0
fi
t0=$(date +%s%N)
if ! "${timer[@]}" "$sm" --db "$reg" log verify >"$work/verify.out" 2>&1; then
	cat "$work/verify.out" >&2
	echo "RESULT verify 0 FAIL"
	exit 1
fi
t1=$(date +%s%N)

echo "verify: openssl speed ed25519 (after, and user-time rate)" >&2
read -r _ ver2 < <(ossl_rates -elapsed) || true
read -r _ ver_cpu < <(ossl_rates "") || true

# "ok: N entries, ..."
entries=$(awk '/^ok: / { print $2; exit }' "$work/verify.out")
if [[ -z "$entries" ]]; then
	echo "verify: cannot read the entry count from: $(cat "$work/verify.out")" >&2
	echo "RESULT verify 0 FAIL"
	exit 1
fi

for v in "${ver1:-}" "${ver2:-}" "${ver_cpu:-}"; do
	if ! [[ "$v" =~ ^[0-9]+(\.[0-9]+)?$ && "$v" != 0 ]]; then
		echo "verify: cannot read a rate from openssl speed ed25519 (got '$v')" >&2
		echo "RESULT verify 0 FAIL"
		exit 1
	fi
done
read -r cpu_u cpu_s <"$work/cpu"
awk -v n="$entries" -v ns=$((t1 - t0)) -v v1="$ver1" -v v2="$ver2" -v vc="$ver_cpu" \
	-v cu="$cpu_u" -v cs="$cpu_s" -v target="$target" 'BEGIN {
	wall = ns / 1e9; rate = n / wall; ver = (v1 + v2) / 2; ratio = rate / ver
	cpu = cu + cs; crate = cpu > 0 ? n / cpu : 0
	printf "entries          %d\n", n
	printf "log verify wall  %.2f s  (cpu %.2f s user + %.2f s sys)\n", wall, cu, cs
	printf "verify rate      %.0f entries/s (wall), %.0f entries/cpu-s\n", rate, crate
	printf "openssl verify/s %.0f (wall, mean of %.0f and %.0f), %.0f (user time)\n", ver, v1, v2, vc
	printf "cpu ratio        %.3f (information)\n", crate / vc
	printf "ratio            %.3f (target >= %s)\n", ratio, target
	printf "RESULT verify %.3f %s\n", ratio, (ratio >= target) ? "PASS" : "FAIL"
	if (ratio < target) exit 1
}'
