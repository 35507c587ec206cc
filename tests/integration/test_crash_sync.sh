#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crash test of a gateway's sync: kill -9 at random moments of 20 syncs while the registry keeps changing.
# After each kill the cache answers offline from one consistent generation (its snapshot verifies with
# its trust chain, and is the version its generation was written for), and the next sync succeeds.
# CRASH_SYNC_RUNS (default 20) and CRASH_SEED (default: the process id) repeat or lengthen a run.
set -u
. "$(dirname "$0")/lib.sh"

unset STARMARK_SERVER STARMARK_TOKEN STARMARK_CACERT STARMARK_NOW
export NO_PROXY='*' no_proxy='*'
RUNS=${CRASH_SYNC_RUNS:-20}
RANDOM=${CRASH_SEED:-$$}
SMD_CONF=$T/smd.conf
printf 'snapshot_seconds = 1\nrefresh_seconds = 1\nadmin_rate_per_minute = 1000000\nadmin_burst = 100000\n' >"$SMD_CONF"
trap 'stop_server; kill "$WRITER" 2>/dev/null; rm -rf "$T"' EXIT
WRITER=

export STARMARK_DB=$T/reg
sm init --origin crash.test
expect_rc 0 "init"
# a few thousand certificates, so that a snapshot takes a while to download and write
"$PY" - "$T/list.csv" <<'EOF'
import sys
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("vendor,vendor_name,product,models,level,firmware,registered\n")
    for i in range(4000):
        f.write("V%d,Vendor %d,Product %d,M-%d,%d,>=1.0,2024-01-01\n" % (i % 50, i % 50, i, i, 1 + i % 3))
EOF
sm import "$T/list.csv"
expect_rc 0 "import 4000 certificates"
sm issue --vendor ACME --vendor-name Acme --product Lock --model L-1 --level 3 --firmware ">=1.0"
expect_rc 0 "the certificate the checks ask about"
sm trust export "$T/trust.cose"
export STARMARK_TRUST=$T/trust.cose
sm token create --role issuer --name crash
TOKEN=$(cat "$OUT")
start_server "$STARMARK_DB"

# the registry keeps changing: a new certificate every few tenths of a second, and keys rotate
(
	i=0
	while :; do
		i=$((i + 1))
		"$SM" --server "$URL" --token "$TOKEN" issue --vendor W --vendor-name W --product P --model "W-$i" --level 1 \
			--firmware 1.0 >/dev/null 2>&1
		sleep 0.2
	done
) &
WRITER=$!

CACHE=$T/gw
# consistent — the generation in force: its snapshot is the version its name was written for, and the
# offline check answers from it
consistent() {
	local what=$1
	[ -f "$CACHE/CURRENT" ] || return 0 # never synced yet: nothing to answer from
	local gen
	gen=$(cat "$CACHE/CURRENT")
	CHECKS=$((CHECKS + 1))
	[ -f "$CACHE/$gen/snapshot.cose" ] && [ -f "$CACHE/$gen/trust.chain" ] && [ -f "$CACHE/$gen/checkpoint" ] ||
		fail "$what: the generation $gen in force is not whole: $(ls "$CACHE/$gen" 2>&1 | tr '\n' ' ')"
	local v
	v=$("$PY" -c 'import cbor2,sys
c = cbor2.loads(open(sys.argv[1], "rb").read())
c = c.value if hasattr(c, "value") else c
print(cbor2.loads(c[2])[1])' "$CACHE/$gen/snapshot.cose" 2>&1)
	expect_eq "$v" "$(echo "$gen" | cut -d- -f2)" "$what: the snapshot in $gen is the version it was written for"
	sm check --offline --cache "$CACHE" --vendor ACME --model L-1 --firmware 1.2
	expect_rc 0 "$what: the offline check answers allow"
}

killed=0
for run in $(seq "$RUNS"); do
	[ $((run % 7)) = 0 ] && { "$SM" keys rotate status >/dev/null 2>&1 || fail "rotate status"; }
	"$SM" --server "$URL" sync --cache "$CACHE" >"$T/sync.out" 2>"$T/sync.err" &
	pid=$!
	# a random moment within the first 150 ms (a sync of this registry takes about that long)
	sleep "0.$(printf '%03d' $((RANDOM % 150)))"
	if kill -9 "$pid" 2>/dev/null; then
		killed=$((killed + 1))
	fi
	wait "$pid" 2>/dev/null
	consistent "run $run, after the kill"
	sm --server "$URL" sync --cache "$CACHE"
	expect_rc 0 "run $run: the next sync succeeds"
	consistent "run $run, after the next sync"
done
[ "$killed" -gt 0 ] || fail "no sync was killed while running: the test did not test anything"
ls -a "$CACHE" | grep -q '^\.g-' && fail "a sync left a temporary generation behind: $(ls -a "$CACHE" | tr '\n' ' ')"
echo "test_crash_sync: $RUNS syncs, $killed killed mid-way"
finish
