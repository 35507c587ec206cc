#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# 1,000 PNG labels in-process against `qrencode -t PNG` started 1,000 times for the same texts
# (target: >= 10x faster), and one 1,000-label A4 PDF sheet (target: < 3 s). The labels are of 1,000
# different certificates (a batch of one certificate's labels is one label printed N times), rendered
# as `starmark label --out-dir` does, by sm_label_render_many on every processor; the one-thread
# rate is printed beside it.
#
# Environment:
#   BENCH_LABELS_BIN  the bench_labels binary (default: built in SM_BENCH_BUILD, Release)
#   SM_BENCH_BUILD    build directory (default ${TMPDIR:-/tmp}/starmark-bench-build)
#   BENCH_N           labels (default 1000); BENCH_TARGET the least ratio (default 10);
#   BENCH_SHEET_MAX   the most seconds for the sheet (default 3)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
. "$here/lib.sh"
n=${BENCH_N:-1000}
target=${BENCH_TARGET:-10}
sheet_max=${BENCH_SHEET_MAX:-3}

if [[ -z "${BENCH_LABELS_BIN:-}" ]]; then
	build=${SM_BENCH_BUILD:-${TMPDIR:-/tmp}/starmark-bench-build}
	release_build "$build" bench_labels
	BENCH_LABELS_BIN=$build/bench/bench_labels
fi
command -v qrencode >/dev/null || { echo "labels: qrencode is not installed"; echo "RESULT labels ratio FAIL"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-labels.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$BENCH_LABELS_BIN" urls "$n" >"$work/texts"

now() { date +%s.%N; }

# the reference: one qrencode process per text, as a shell script printing labels would do
t0=$(now)
while IFS= read -r text; do
	qrencode -t PNG -o /dev/null "$text"
done <"$work/texts"
t1=$(now)
ref=$(echo "$t1 - $t0" | bc -l)

read -r ours png_bytes < <("$BENCH_LABELS_BIN" png "$n")
read -r one _ < <("$BENCH_LABELS_BIN" png1 "$n")
read -r sheet sheet_bytes < <("$BENCH_LABELS_BIN" sheet "$n")

ratio=$(echo "$ref / $ours" | bc -l)
printf 'labels: qrencode -t PNG started %d times: %.3f s (%.2f ms each)\n' "$n" "$ref" "$(echo "$ref * 1000 / $n" | bc -l)"
printf 'labels: sm_label_render_many, %d PNG labels of %d certificates (300 dpi, 20 mm code, text), %d processors: %.3f s (%.3f ms each, %d bytes)\n' \
	"$n" "$n" "$(nproc)" "$ours" "$(echo "$ours * 1000 / $n" | bc -l)" "$png_bytes"
printf 'labels: the same on one thread (one sm_label_renderer): %.3f s (%.3f ms each, ratio %.2fx)\n' \
	"$one" "$(echo "$one * 1000 / $n" | bc -l)" "$(echo "$ref / $one" | bc -l)"
printf 'labels: ratio %.2fx (target >= %sx)\n' "$ratio" "$target"
printf 'labels: one A4 PDF sheet of %d labels: %.3f s, %d bytes (target < %s s)\n' "$n" "$sheet" "$sheet_bytes" "$sheet_max"

ok=PASS
if [ "$(echo "$ratio >= $target" | bc -l)" != 1 ]; then
	ok=FAIL
fi
if [ "$(echo "$sheet < $sheet_max" | bc -l)" != 1 ]; then
	echo "labels: the sheet took too long" >&2
	ok=FAIL
fi
echo "RESULT labels ratio $ok"
[ "$ok" = PASS ]
