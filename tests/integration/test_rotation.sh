#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A gateway's lifetime of key rotations, end to end: root, issuer, status and log keys rotated in turn,
# the root three times, with starmarkd running throughout. Gateways provisioned with bundle v1, with
# only the root fingerprint `init` printed, and with the newest export all sync and allow; a label
# printed before the first rotation and one printed after the last both verify with the newest export.
set -u
. "$(dirname "$0")/lib.sh"

unset STARMARK_SERVER STARMARK_TOKEN STARMARK_DB STARMARK_CACERT STARMARK_TRUST STARMARK_NOW
export NO_PROXY='*' no_proxy='*'
SMD_CONF=$T/smd.conf
printf 'snapshot_seconds = 1\nrefresh_seconds = 1\nadmin_rate_per_minute = 100000\nadmin_burst = 10000\n' >"$SMD_CONF"
trap 'stop_server; rm -rf "$T"' EXIT

REG=$T/reg
export STARMARK_DB=$REG
sm init --origin rotation.test
expect_rc 0 "init"
FP1=$(head -n 1 "$OUT")
expect_eq 64 "${#FP1}" "init prints the root key's fingerprint"
sm issue --vendor ACME --vendor-name "Acme" --product "Lock" --model L-1 --level 3 --firmware ">=1.0" --category lock
A=$(cat "$OUT")
sm trust export "$T/trust-v1.cose"
expect_rc 0 "export bundle v1"
sm label "$A" --format png --out "$T/label-before.png"
expect_rc 0 "a label printed before any rotation"
sm token create --role issuer --name ops
TOKEN=$(cat "$OUT")

start_server "$REG"
FIRST_PID=$SMD_PID

# sync GATEWAY ANCHOR — one sync of that gateway's cache, provisioned with ANCHOR; retried while the
# server is still signing its first snapshot after a rotation
gw_sync() {
	for _ in $(seq 40); do
		sm --server "$URL" --trust "$2" sync --cache "$T/gw-$1"
		[ "$RC" = 0 ] && return
		sleep 0.25
	done
}

gw_sync v1 "$T/trust-v1.cose"
expect_rc 0 "gateway with bundle v1: first sync"
gw_sync fp "$FP1"
expect_rc 0 "gateway with the root fingerprint only: first sync"

# every role in turn, the root three times; between rotations the server signs events with the new keys
n=0
for role in root issuer status root log root; do
	n=$((n + 1))
	sm keys rotate "$role"
	expect_rc 0 "keys rotate $role (rotation $n) with starmarkd running"
	sm --server "$URL" --token "$TOKEN" amend "$A" --support-end "2031-0$n"
	expect_rc 0 "an event through the running server after rotating $role"
	# the bundle-v1 gateway follows every step; the fingerprint gateway only syncs at the end
	gw_sync v1 "$T/trust-v1.cose"
	expect_rc 0 "gateway v1 syncs after rotating $role"
done
sm trust show --json
expect_json "seven bundles, three roots later" 'd["version"] == 7'
kill -0 "$FIRST_PID" 2>/dev/null || fail "starmarkd stopped during the rotations"
expect_eq "$FIRST_PID" "$SMD_PID" "the same starmarkd served throughout"
grep -q "keys rotated: now serving trust bundle version 7" "$T/smd.err" || fail "starmarkd did not report picking up version 7: $(tail -3 "$T/smd.err")"

# after the last rotation: a new certificate through the server, a label of it, the newest export
sm --server "$URL" --token "$TOKEN" issue --vendor ACME --vendor-name "Acme" --product "Heater" --model W-1 --level 2 \
	--firmware ">=2.0" --category water-heater
expect_rc 0 "issue through the server after the last rotation"
B=$(cat "$OUT")
sm label "$B" --format png --out "$T/label-after.png"
expect_rc 0 "a label printed after the last rotation"
sm trust export "$T/trust-new.cose"
expect_rc 0 "export the newest bundle"
sm trust export "$T/trust-chain.cbor" --chain
expect_rc 0 "export the whole chain"

gw_sync new "$T/trust-new.cose"
expect_rc 0 "gateway with the newest export: sync"
sm --server "$URL" --trust "$FP1" --json sync --cache "$T/gw-fp"
expect_rc 0 "gateway with the root fingerprint: sync after three root rotations"
expect_schema sync "sync --json"
expect_json "the fingerprint gateway followed the chain to version 7" 'd["trust_version"] == 7 and d["trust_changed"]' 
for gw in v1:"$T/trust-v1.cose" fp:"$FP1" new:"$T/trust-new.cose"; do
	name=${gw%%:*}
	anchor=${gw#*:}
	gw_sync "$name" "$anchor"
	expect_rc 0 "gateway $name: sync after three root rotations"
	# until the snapshot has the certificate issued last (the server rebuilds it each second)
	for _ in $(seq 40); do
		sm check --offline --cache "$T/gw-$name" --trust "$anchor" --vendor ACME --model W-1 --firmware 2.1
		[ "$RC" = 0 ] && break
		sleep 0.25
		gw_sync "$name" "$anchor"
	done
	expect_rc 0 "gateway $name: allow for the certificate issued after the rotations"
	sm check --offline --cache "$T/gw-$name" --trust "$anchor" --vendor ACME --model L-1 --firmware 1.2
	expect_rc 0 "gateway $name: allow for the certificate issued before them"
	sm --server "$URL" --trust "$anchor" check --vendor ACME --model L-1 --firmware 1.2
	expect_rc 0 "gateway $name: check --server follows the chain too"
	expect_err "statement verified" "gateway $name: the server's statement verified"
	sm --server "$URL" --trust "$anchor" --json trust show
	expect_rc 0 "gateway $name: trust show --server"
	expect_json "gateway $name: trust show reaches version 7" 'd["version"] == 7'
done

# a gateway provisioned with the newest export long after: the chain file, the bundle, the fingerprint
sm --server "$URL" --trust "$T/trust-chain.cbor" sync --cache "$T/gw-chain"
expect_rc 0 "gateway provisioned with the exported chain"

# the labels, offline, with nothing but the newest export (the retired issuer key keeps its validity)
for l in before after; do
	sm label verify --image "$T/label-$l.png" --trust "$T/trust-new.cose"
	expect_out "GENUINE" "the label printed $l the rotations is genuine with the newest export"
	sm label verify --image "$T/label-$l.png" --trust "$T/trust-chain.cbor"
	expect_out "GENUINE" "the label printed $l the rotations is genuine with the exported chain"
done

# what was signed by retired keys still verifies: the whole log, from scratch
sm log verify
expect_rc 0 "log verify after every rotation"
expect_out "7 trust bundles" "log verify counts the seven bundles"
stop_server
finish
