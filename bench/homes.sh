#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Re-checking an estate offline: 10,000 homes of 20 devices against a synced snapshot of 100,000 certificates,
# with `starmark home check DIR --offline`, against the same 200,000 single-device checks made in one process by
# sm_cache_check (bench_homes). Targets: the estate at >= 0.5x the reference's rate, and under 10 s.
#
# Environment:
#   STARMARK_BIN, STARMARKD_BIN, BENCH_HOMES_BIN  the binaries (default: a Release build in SM_BENCH_BUILD)
#   SM_BENCH_BUILD  build directory (default ${TMPDIR:-/tmp}/starmark-bench-build)
#   BENCH_CERTS     certificates in the registry (default 100000)
#   BENCH_HOMES     homes (default 10000); BENCH_DEVICES devices per home (default 20)
#   BENCH_RUNS      timed runs of each side, alternating (default 3; the best of each counts)
#   SM_BENCH_KEEP   if set, the work directory (registry, cache, estate) is kept and named at the end
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
. "$here/lib.sh"
certs=${BENCH_CERTS:-100000}
homes=${BENCH_HOMES:-10000}
devices=${BENCH_DEVICES:-20}
runs=${BENCH_RUNS:-3}
py=/usr/bin/python3

if [[ -z "${STARMARK_BIN:-}" || -z "${STARMARKD_BIN:-}" || -z "${BENCH_HOMES_BIN:-}" ]]; then
	build=${SM_BENCH_BUILD:-${TMPDIR:-/tmp}/starmark-bench-build}
	release_build "$build" starmark-cli starmarkd bench_homes
	STARMARK_BIN=${STARMARK_BIN:-$build/cli/starmark}
	STARMARKD_BIN=${STARMARKD_BIN:-$build/server/starmarkd}
	BENCH_HOMES_BIN=${BENCH_HOMES_BIN:-$build/bench/bench_homes}
fi
sm=$STARMARK_BIN

work=$(mktemp -d "${TMPDIR:-/tmp}/sm-bench-homes.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "${SM_BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT
export STARMARK_NOW=2025-06-01 STARMARK_DB=$work/reg NO_PROXY='*' no_proxy='*'

echo "registry of $certs certificates ..."
"$sm" init --origin bench.homes >/dev/null 2>&1
"$py" "$here/gen_csv.py" "$certs" "h$$" "$work/in.csv"
"$sm" import "$work/in.csv" >/dev/null
"$sm" trust export "$work/trust.cose" 2>/dev/null
export STARMARK_TRUST=$work/trust.cose

echo "a gateway's cache: sync from starmarkd ..."
"$STARMARKD_BIN" --db "$STARMARK_DB" --listen 127.0.0.1:0 >"$work/smd.out" 2>"$work/smd.err" &
pid=$!
for _ in $(seq 600); do grep -q '^listening on' "$work/smd.out" && break; sleep 0.1; done
url=http://$(sed -n 's/^listening on //p' "$work/smd.out")
# the refresher signs the import's statements first; the snapshot carries every certificate anyway
for _ in $(seq 600); do
	"$sm" --server "$url" sync --cache "$work/cache" >/dev/null 2>&1 && break
	sleep 0.5
done
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
snap=$(ls -l "$work/cache/$(cat "$work/cache/CURRENT")/snapshot.cose" | awk '{print $5}')
echo "snapshot: $snap bytes"

echo "an estate of $homes homes of $devices devices ..."
"$sm" --json export --format jsonl >"$work/all.jsonl" 2>/dev/null || "$sm" export --format jsonl >"$work/all.jsonl"
"$py" - "$work/all.jsonl" "$work/estate" "$work/devices.tsv" "$homes" "$devices" <<'PY'
import json, os, random, sys
src, out, tsv, homes, per = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
certs = [json.loads(l) for l in open(src, encoding="utf-8") if l.strip()]
rnd = random.Random(7)
os.makedirs(out)
with open(tsv, "w", encoding="utf-8") as t:
    for h in range(homes):
        devs = []
        for d in range(per):
            c = rnd.choice(certs)
            fw = c["firmware"]["covered"].replace(">=", "").split(" ")[0].split(",")[0]
            if rnd.random() < 0.1:
                fw = "0.1"  # one in ten below the covered range
            dev = {"id": "d%d" % d, "room": "room %d" % (d % 6), "vendor": c["vendor"]["code"],
                   "model": c["models"][0], "firmware": fw, "planned": True, "installed": True}
            devs.append(dev)
            t.write("%s\t%s\t%s\t\n" % (dev["vendor"], dev["model"], dev["firmware"]))
        json.dump({"home": "h%05d" % h, "name": "Home %d" % h, "devices": devs},
                  open(os.path.join(out, "h%05d.json" % h), "w", encoding="utf-8"))
PY
ndev=$(wc -l <"$work/devices.tsv")

best_ref=
best_est=
for run in $(seq "$runs"); do
	read -r n t_ref a w d u < <("$BENCH_HOMES_BIN" "$work/cache" "$STARMARK_TRUST" "$work/devices.tsv")
	s=$(date +%s.%N)
	"$sm" --json home check "$work/estate" --offline --cache "$work/cache" >"$work/estate.json" || true
	t_est=$(echo "$(date +%s.%N) - $s" | bc -l)
	printf 'run %d: reference %d checks in %.3f s (%d allow, %d warn, %d deny, %d unknown); estate %.3f s\n' \
		"$run" "$n" "$t_ref" "$a" "$w" "$d" "$u" "$t_est"
	[ -z "$best_ref" ] || (($(echo "$t_ref < $best_ref" | bc -l))) && best_ref=$t_ref
	[ -z "$best_est" ] || (($(echo "$t_est < $best_est" | bc -l))) && best_est=$t_est
done
"$py" - "$work/estate.json" "$homes" <<'PY'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
assert d["summary"]["homes"] == int(sys.argv[2]), d["summary"]
print("estate summary:", d["summary"])
PY
ratio=$(echo "$best_ref / $best_est" | bc -l)
printf 'estate %d homes x %d devices (%d checks): %.3f s; reference %.3f s; rate ratio %.2f (target >= 0.5), under 10 s: %s\n' \
	"$homes" "$devices" "$ndev" "$best_est" "$best_ref" "$ratio" "$( (($(echo "$best_est < 10" | bc -l))) && echo yes || echo NO)"
if (($(echo "$ratio >= 0.5 && $best_est < 10" | bc -l))); then
	printf 'RESULT homes %.2f PASS\n' "$ratio"
else
	printf 'RESULT homes %.2f FAIL\n' "$ratio"
	exit 1
fi
