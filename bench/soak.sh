#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The soak (issue 11): starmarkd for SOAK_MINUTES (default 30) under a mixed load, on loopback:
#   - reads of GET /v1/check at half the capacity measured first (wrk -t2 -c64, 10 s), from bench_latency,
#     a constant-rate generator, one run a minute: that minute's p50/p99 and errors;
#   - admin writes through the API (the CLI with --server: issue, then suspend/reinstate), one a second;
#   - a gateway's sync (`starmark sync`) every 15 s, and a label rendered by the admin API every 2 s.
# Sampled every minute: starmarkd's private anonymous memory (RssAnon), threads, open files.
# Targets: 0 errors anywhere; private anonymous memory flat within 10% (last sample against the one after
# the first minute, the warm-up); p99 stable (the last third's median p99 within 2x the first third's, or under
# 2 ms). Prints one line a minute and RESULT soak_* lines; exit 1 on a FAIL.
#
# Environment: SOAK_MINUTES, N (certificates, default 20000), BUILD (a Release build dir, made if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
. bench/lib.sh
BUILD=${BUILD:-/tmp/sm-bench-build}
MIN=${SOAK_MINUTES:-30}
N=${N:-20000}
release_build "$BUILD" starmark-cli starmarkd bench_latency
S=$BUILD/cli/starmark
D=$BUILD/server/starmarkd
T=$(mktemp -d /tmp/sm-soak-XXXXXX)
pids=()
SPID=""
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
REG=$T/reg
FP=$($S --db "$REG" init --scheme CCDS --levels 3 --origin soak.local 2>/dev/null | grep -E '^[0-9a-f]{64}$')
/usr/bin/python3 bench/gen_csv.py "$N" soak "$T/certs.csv" >/dev/null
$S --db "$REG" import "$T/certs.csv" >/dev/null 2>&1
TOKEN=$($S --db "$REG" token create --role issuer --name soak)
printf 'db = %s\nlisten = 127.0.0.1:0\nthreads = 2\naccess_log = off\nadmin_rate_per_minute = 600\nadmin_burst = 60\n' "$REG" > "$T/sm.conf"
$D --config "$T/sm.conf" >"$T/sm.out" 2>"$T/sm.err" &
SPID=$!
for _ in $(seq 600); do grep -q listening "$T/sm.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T/sm.out")
URL=http://127.0.0.1:$PORT
for _ in $(seq 600); do curl -s "$URL/metrics" | grep -q '^starmark_statements_backlog 0$' && break; sleep 1; done
ROW=$(sed -n 2p "$T/certs.csv")
VENDOR=${ROW%%,*}
MODEL=$(echo "$ROW" | cut -d, -f4 | cut -d';' -f1)
Q="/v1/check?vendor=$VENDOR&model=$MODEL&firmware=1.5"
curl -sf "$URL$Q" >/dev/null || { echo "no answer at $Q"; exit 1; }
wrk -t2 -c64 -d2s "$URL$Q" >/dev/null
CAP=$(wrk -t2 -c64 -d10s "$URL$Q" | sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p')
HALF=$(awk -v a="$CAP" 'BEGIN { printf "%d", a / 2 }')
echo "capacity $CAP req/s; reads at $HALF req/s for $MIN minutes; $N certificates"

# the writers: each counts its failures in a file
export STARMARK_TRUST=$FP
( n=0; while :; do
	id=$($S --server "$URL" --token "$TOKEN" issue --vendor SOAK --vendor-name Soak --product "P$n" --model "SK-$n" \
		--level 2 --firmware '>=1.0 <2.0' --registered 2026-01-01 --expires 2030-01-01 2>>"$T/w.err") || echo x >> "$T/w.fail"
	[ -n "${id:-}" ] && { $S --server "$URL" --token "$TOKEN" suspend "$id" --reason soak >/dev/null 2>>"$T/w.err" || echo x >> "$T/w.fail"
		$S --server "$URL" --token "$TOKEN" reinstate "$id" --reason soak >/dev/null 2>>"$T/w.err" || echo x >> "$T/w.fail"; }
	n=$((n + 1)); echo "$id" > "$T/last_id"; sleep 1; done ) &
pids+=($!)
( while :; do $S sync --server "$URL" --cache "$T/gw" >/dev/null 2>>"$T/s.err" || echo x >> "$T/s.fail"; sleep 15; done ) &
pids+=($!)
( while :; do id=$(cat "$T/last_id" 2>/dev/null || true)
	if [ -n "$id" ]; then curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL/v1/admin/labels/$id.png" || echo x >> "$T/l.fail"; fi
	sleep 2; done ) &
pids+=($!)

anon() { awk '/^RssAnon/ { print $2 }' "/proc/$SPID/status"; }
# failures a writer counted (0 when it never failed: no file)
fails() { if [ -f "$T/$1.fail" ]; then wc -l < "$T/$1.fail"; else echo 0; fi; }
: > "$T/p99"
errors=0
for m in $(seq "$MIN"); do
	out=$("$BUILD/bench/bench_latency" 127.0.0.1 "$PORT" "$Q" "$HALF" 60 64 || true)
	e=$(echo "$out" | sed -n 's/.* errors \([0-9]*\) .*/\1/p')
	p99=$(echo "$out" | sed -n 's/.* p99 \([0-9.]*\) ms.*/\1/p')
	p50=$(echo "$out" | sed -n 's/.* p50 \([0-9.]*\) ms.*/\1/p')
	errors=$((errors + ${e:-1}))
	echo "${p99:-999}" >> "$T/p99"
	a=$(anon)
	[ "$m" = 1 ] && a1=$a
	printf 'minute %2d: p50 %s ms p99 %s ms read errors %s; anon %d KiB; threads %s; fds %s; writes failed %d, syncs failed %d, labels failed %d\n' \
		"$m" "$p50" "$p99" "${e:-?}" "$a" "$(awk '/^Threads/ { print $2 }' /proc/$SPID/status)" "$(ls /proc/$SPID/fd | wc -l)" \
		"$(fails w)" "$(fails s)" "$(fails l)"
done
other=$(cat "$T"/*.fail 2>/dev/null | wc -l || true)
[ -s "$T/w.err" ] && { echo "write errors:"; sort "$T/w.err" | uniq -c | head -5; }
a_end=$(anon)
kill -0 "$SPID" || { echo "starmarkd died"; exit 1; }
total=$((errors + other))
fails=0
[ "$total" = 0 ] && V=PASS || { V=FAIL; fails=1; }
echo "RESULT soak_errors $total $V (reads $errors, other $other)"
R=$(awk -v a="$a_end" -v b="$a1" 'BEGIN { printf "%.3f", a / b }')
awk -v r="$R" 'BEGIN { exit !(r <= 1.10 && r >= 0.90) }' && V=PASS || { V=FAIL; fails=1; }
echo "RESULT soak_anon_ratio $R $V (anon $a1 KiB after minute 1, $a_end KiB at the end)"
third=$(( MIN / 3 > 0 ? MIN / 3 : 1 ))
P=$(/usr/bin/python3 - "$T/p99" "$third" <<'PY'
import statistics, sys
v = [float(x) for x in open(sys.argv[1]) if x.strip()]
k = int(sys.argv[2])
a, b = statistics.median(v[:k]), statistics.median(v[-k:])
print(f"{b / a if a else 0:.2f} {a:.3f} {b:.3f}")
PY
)
read -r PR PA PB <<<"$P"
awk -v r="$PR" -v b="$PB" 'BEGIN { exit !(r <= 2.0 || b < 2.0) }' && V=PASS || { V=FAIL; fails=1; }
echo "RESULT soak_p99_ratio $PR $V (median p99 first third $PA ms, last third $PB ms)"
exit $fails
