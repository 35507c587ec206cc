#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crash test: kill -9 bulk imports at random moments; the log must verify and every import be all or nothing.
#
# Run on purpose (not in CI): tests/crash_import.sh
# Environment:
#   STARMARK_BIN    the starmark binary (default: build one in SM_CRASH_BUILD, Release)
#   SM_CRASH_BUILD  build directory (default ${TMPDIR:-/tmp}/starmark-crash-build)
#   CRASH_RUNS      imports to kill (default 20)
#   CRASH_ROWS      rows per import (default 20000)
#   CRASH_SEED      seed of bash's $RANDOM, to repeat a run (default: the process id)
#
# A first import runs to its end to measure the typical duration D; then each run imports a fresh
# file of new models in the background, kills it with SIGKILL after a random 0..1.5 D (so that
# some finish, and some die in the commit), and checks:
#   - `starmark log verify` exits 0;
#   - the number of certificates is the sum of the rows of the imports that reported success,
#     plus, for a killed import, either all of its rows (it had committed before the kill) or none.
# Exits 1 on any failure, after the summary.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
. "$src/bench/lib.sh"
runs=${CRASH_RUNS:-20}
rows=${CRASH_ROWS:-20000}
RANDOM=${CRASH_SEED:-$$}
py=/usr/bin/python3

if [[ -z "${STARMARK_BIN:-}" ]]; then
	build=${SM_CRASH_BUILD:-${TMPDIR:-/tmp}/starmark-crash-build}
	release_build "$build" starmark-cli
	STARMARK_BIN=$build/cli/starmark
fi
sm=$STARMARK_BIN

work=$(mktemp -d "${TMPDIR:-/tmp}/sm-crash.XXXXXX")
pid=
cleanup() {
	if [[ -n "$pid" ]]; then
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
export STARMARK_NOW=2025-06-01
reg=$work/reg

# The number of certificates in the registry.
count() {
	"$sm" --db "$reg" list --json --limit 1 | "$py" -c 'import json, sys; print(json.load(sys.stdin)["total"])'
}

"$sm" --db "$reg" init --scheme CCDS --levels 3 --origin crash.local >/dev/null 2>&1

# The calibration import, run to its end.
"$py" "$src/bench/gen_csv.py" "$rows" "crash$$-0" "$work/in.csv"
t0=$(date +%s%N)
"$sm" --db "$reg" import "$work/in.csv" 2>/dev/null
t1=$(date +%s%N)
dur_ms=$(((t1 - t0) / 1000000))
expected=$rows
echo "crash: calibration import of $rows rows took $dur_ms ms; killing at random in 0..$((dur_ms * 15 / 10)) ms"

completed=0 killed=0 committed_killed=0 failures=0
for ((i = 1; i <= runs; i++)); do
	got=
	"$py" "$src/bench/gen_csv.py" "$rows" "crash$$-$i" "$work/in.csv"
	delay_ms=$((RANDOM * 32768 + RANDOM))
	delay_ms=$((delay_ms % (dur_ms * 15 / 10 + 1)))
	"$sm" --db "$reg" import "$work/in.csv" 2>"$work/import.err" &
	pid=$!
	sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -9 "$pid" 2>/dev/null || true
	if wait "$pid" 2>/dev/null; then
		rc=0
	else
		rc=$?
	fi
	pid=
	if ((rc == 0)); then
		outcome="completed"
		completed=$((completed + 1))
		expected=$((expected + rows))
	elif ((rc == 137)); then
		outcome="killed"
		killed=$((killed + 1))
	else
		outcome="failed with exit $rc: $(head -c 300 "$work/import.err")"
		failures=$((failures + 1))
	fi

	verdict="log verify ok"
	if ! "$sm" --db "$reg" log verify >"$work/verify.out" 2>&1; then
		verdict="LOG VERIFY FAILED: $(head -c 300 "$work/verify.out")"
		failures=$((failures + 1))
	fi
	if ! got=$(count 2>"$work/count.err"); then
		verdict="$verdict; CANNOT COUNT: $(head -c 300 "$work/count.err")"
		failures=$((failures + 1))
	elif ((got == expected)); then
		:
	elif ((rc != 0 && got == expected + rows)); then
		# killed after its commit, before it could report: all of it is there, which is allowed
		outcome="$outcome (after its commit)"
		committed_killed=$((committed_killed + 1))
		expected=$got
	else
		verdict="$verdict; COUNT $got, expected $expected (or $((expected + rows)) if it had committed)"
		failures=$((failures + 1))
	fi
	printf 'run %2d: kill after %5d ms: %s; %s; %d certificates\n' "$i" "$delay_ms" "$outcome" "$verdict" \
		"${got:-0}"
done

echo "crash: $runs runs: $completed completed, $killed killed ($committed_killed of them after the commit)," \
	"$failures failures; $expected certificates"
if ((failures)); then
	echo "crash: FAIL"
	exit 1
fi
echo "crash: PASS"
