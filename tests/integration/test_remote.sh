#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The CLI against a real starmarkd: --server gives what --db gives, the role matrix, sync and offline checks
# (allow, deny after a revoke, stale within the grace, past it, freeze, rollback), and TLS verification.
set -u
. "$(dirname "$0")/lib.sh"


# One fixed day for the registry, the server and the CLI: events carry the same times on both sides.
export STARMARK_NOW=2026-03-02
DAY0=$(date -u -d 2026-03-02 +%s)
unset STARMARK_SERVER STARMARK_TOKEN STARMARK_DB STARMARK_CACERT
export NO_PROXY='*' no_proxy='*'

SMD_CONF=$T/smd.conf
cat >"$SMD_CONF" <<'EOF'
snapshot_seconds = 1
refresh_seconds = 1
admin_rate_per_minute = 100000
admin_burst = 10000
EOF

trap 'stop_server; rm -rf "$T"' EXIT

# normalise JSON on stdin: drop what differs between two registries or is signed per server
norm() {
	"$PY" -c 'import json,sys
drop = {"produced_at", "next_update", "statement"}
unsigned = {"scheme_ref", "requirements", "url", "history"}  # check --server shows the signed facts only
def strip(v, cert=False):
	if isinstance(v, dict):
		return {k: strip(x, k == "certificate" and "verdict" in v) for k, x in v.items()
			if k not in drop and not (cert and k in unsigned)}
	if isinstance(v, list):
		return [strip(x) for x in v]
	return v
t = sys.stdin.read()
print(json.dumps(strip(json.loads(t)), sort_keys=True) if t.strip() else "")'
}

# same WHAT ARGS... — the verb on the local twin (--db $LOCAL) and through the server: same exit code and JSON
same() {
	local what=$1
	shift
	sm --db "$LOCAL" --json "$@"
	local rc_db=$RC out_db
	out_db=$(norm <"$OUT")
	sm --server "$URL" --token "$ISSUER" --json "$@"
	CHECKS=$((CHECKS + 1))
	[ "$RC" = "$rc_db" ] || fail "$what: exit $rc_db with --db, $RC with --server; stderr: $(show_err)"
	local out_srv
	out_srv=$(norm <"$OUT")
	CHECKS=$((CHECKS + 1))
	[ "$out_db" = "$out_srv" ] || fail "$what: --db printed ${out_db:0:300}, --server printed ${out_srv:0:300}"
}

# same_read WHAT ARGS... — a read on the server's own registry, with --db and through the server (text output too)
same_read() {
	local what=$1
	shift
	sm --db "$REG" "$@"
	local rc_db=$RC out_db
	out_db=$(cat "$OUT")
	sm --server "$URL" "$@"
	CHECKS=$((CHECKS + 1))
	[ "$RC" = "$rc_db" ] || fail "$what: exit $rc_db with --db, $RC with --server; stderr: $(show_err)"
	CHECKS=$((CHECKS + 1))
	[ "$out_db" = "$(cat "$OUT")" ] || fail "$what: --db printed '${out_db:0:300}', --server printed '$(show_out)'"
}

REG=$T/reg
LOCAL=$T/local
sm --db "$REG" init --origin registry.test
expect_rc 0 "init the server's registry"
sm --db "$LOCAL" init --origin registry.test
expect_rc 0 "init the local twin"
sm --db "$REG" token create --role issuer --name ci-issuer
ISSUER=$(cat "$OUT")
sm --db "$REG" token create --role auditor --name ci-auditor
AUDITOR=$(cat "$OUT")
expect_ne "" "$AUDITOR" "auditor token"
sm --db "$REG" trust export "$T/trust.cose"
expect_rc 0 "trust export (the provisioned bundle)"
# the anchor a gateway keeps apart from what it downloads (its /etc or firmware): every answer of the
# server and the cache below is verified against it; the cases without one unset it
export STARMARK_TRUST=$T/trust.cose

start_server "$REG"
# the first start: no checkpoint file yet, and its start line says so rather than "size 0 agrees"
CHECKS=$((CHECKS + 1))
grep -q 'quick check: .*no checkpoint saved yet' "$T/smd.err" ||
	fail "starmarkd's first start: expected 'no checkpoint saved yet', got: $(grep 'quick check' "$T/smd.err")"
grep -q 'checkpoint of size 0' "$T/smd.err" && fail "starmarkd's first start speaks of a checkpoint of size 0: $(grep 'quick check' "$T/smd.err")"

# ---- the role matrix ----
ISSUE=(issue --vendor ACME --vendor-name "Acme Corp" --product "Smart Lock" --model L-100 --level 3
	--firmware ">=1.0 <2.0" --category lock --expires 2028-12-31 --support-end 2030-06)
sm --server "$URL" "${ISSUE[@]}"
expect_rc 2 "issue without a token"
expect_err "bearer token" "issue without a token: the server's message"
sm --server "$URL" --token "$AUDITOR" "${ISSUE[@]}"
expect_rc 2 "issue with an auditor token"
expect_err "auditor" "issue with an auditor token: the server's message"
STARMARK_TOKEN=not-a-token sm --server "$URL" revoke SM-2026-000001 --reason x
expect_rc 2 "revoke with an unknown token from the environment"
sm --server http://127.0.0.1:1 --token "$ISSUER" show SM-2026-000001
expect_rc 4 "a server that does not answer"
expect_err "127.0.0.1:1" "the connection failure names the URL"
sm --server ftp://127.0.0.1/ show SM-2026-000001
expect_rc 2 "a server URL of another scheme"
sm --server "$URL" import "$T/none.csv"
expect_rc 2 "import refuses --server"
grep -q "$ISSUER" "$T/smd.err" && fail "the server's log shows a token"

# ---- the same verbs, --db on a twin registry and --server: same JSON, same exit codes ----
same "issue" "${ISSUE[@]}"
same "issue a second" issue --vendor ACME --vendor-name "Acme Corp" --product "給湯器" --model WH-1 --model WH-1B \
	--level 2 --firmware ">=2.0" --category water-heater --requirements 2025
same "issue a third" issue --vendor BETA --vendor-name Beta --product Sensor --model S1 --level 1 --firmware 1.0.0
same "issue with a bad level" issue --vendor ACME --vendor-name A --product P --model X --level 7 --firmware 1
same "issue with a bad vendor" issue --vendor "acme co" --vendor-name A --product P --model X --level 1 --firmware 1
same "amend" amend SM-2026-000001 --add-model L-100B --add-firmware ">=2.0 <2.1" --support-end 2031-01-31
same "firmware-revoke" firmware-revoke SM-2026-000001 1.5 1.6 --reason "CVE-2026-0001"
same "suspend" suspend SM-2026-000002 --reason "under review"
same "suspend twice" suspend SM-2026-000002 --reason again
same "reinstate" reinstate SM-2026-000002 --reason "review passed"
same "renew" renew SM-2026-000002 --expires 2029-03-31 --requirements 2026
same "revoke" revoke SM-2026-000003 --reason withdrawn
same "reinstate a revoked one" reinstate SM-2026-000003 --reason no
same "amend an unknown id" amend SM-2026-999999 --url https://example.com
same "show" show SM-2026-000001
same "show unknown" show SM-2026-424242
same "list" list
same "list by vendor and level" list --vendor ACME --level 2
same "list by status" list --status revoked
same "list by model" list --vendor ACME --model WH-1B
same "list paged" list --limit 1 --offset 1
same "search" search 給湯器
same "search nothing" search nothing-like-this
same "check allow" check --vendor ACME --model L-100 --firmware 1.4
same "check revoked firmware" check --vendor ACME --model L-100 --firmware 1.5
same "check unknown model" check --vendor ACME --model NOPE --firmware 1.0
sm --server "$URL" --json check --vendor ACME --model L-100 --firmware 1.4
expect_eq "[]" "$(jget 'sorted(k for k in d["certificate"] if k in ("scheme_ref", "requirements", "url", "history"))')" \
	"check --server --json: the certificate is the statement's signed facts (no unsigned history or url)"
same "check level" check --vendor ACME --model WH-1 --firmware 2.1 --level 3

# reads on the server's own registry: text output too
same_read "show (text)" show SM-2026-000001
same_read "list (text)" list
same_read "search (text)" search Sensor
same_read "check (text)" check --vendor ACME --model L-100 --firmware 1.4
same_read "trust show" trust show
same_read "trust show --json" --json trust show
same_read "log checkpoint" log checkpoint
same_read "log entries" --json log entries --from 1 --count 3

# check --server verifies the signed statement
sm --server "$URL" check --vendor ACME --model L-100 --firmware 1.4 --trust "$T/trust.cose"
expect_rc 0 "check --server allow"
expect_err "statement verified: SM-2026-000001" "check --server verifies the statement"
sm --server "$URL" check --vendor BETA --model S1 --firmware 1.0.0
expect_rc 1 "check --server on a revoked certificate"
sm --db "$LOCAL" trust export "$T/other-trust.cose"
sm --server "$URL" check --vendor ACME --model L-100 --firmware 1.4 --trust "$T/other-trust.cose"
expect_rc 1 "check --server pinned to another registry's root"
expect_err "do not follow from your trust anchor" "another root: the trust bundle is refused"
# no anchor: the server's own bundle is not taken as one (no trust on first use)
STARMARK_TRUST= sm --server "$URL" check --vendor ACME --model L-100 --firmware 1.4
expect_rc 3 "check --server without a trust anchor: unknown"
expect_out no_trust_anchor "check --server without a trust anchor: the reason"
expect_err "no trust anchor" "check --server without a trust anchor: the message"
STARMARK_TRUST= sm --server "$URL" trust show
expect_rc 3 "trust show --server without an anchor is shown, not verified"
expect_err "NOT VERIFIED" "trust show without an anchor: says so"
STARMARK_TRUST= sm --server "$URL" trust export "$T/tofu.cose"
expect_rc 3 "trust export --server without an anchor writes nothing"
[ -e "$T/tofu.cose" ] && fail "trust export without an anchor wrote a file"
printf '{"name":"strict","default_level":3,"offline_grace_hours":1,"unknown":"deny"}' >"$T/strict.json"
sm --server "$URL" check --vendor ACME --model WH-1 --firmware 2.1 --policy "$T/strict.json"
expect_rc 1 "check --server with a policy (level 3 required; judged from the statement)"
expect_out "level_below_policy" "the policy's level decides"

# ---- sync and offline checks ----
CACHE=$T/cache
sync_current() { # sync until the cached snapshot reflects the whole log (the server rebuilds it each second)
	for _ in $(seq 40); do
		sm --server "$URL" --json sync --cache "$CACHE" --trust "$T/trust.cose"
		[ "$RC" = 0 ] && [ "$(jget 'd["snapshot_log_size"] == d["log_size"]')" = true ] && return 0
		sleep 0.25
	done
	fail "sync never got a snapshot of the whole log: exit $RC; stderr: $(show_err); stdout: $(show_out)"
}
sm check --offline --cache "$CACHE" --vendor ACME --model L-100 --firmware 1.4
expect_rc 3 "check --offline before any sync"
expect_err "starmark sync" "no cache: the message says to sync"
STARMARK_TRUST= sm --server "$URL" sync --cache "$CACHE"
expect_rc 2 "sync without --trust"
sm --server "$URL" sync --cache "$CACHE" --trust "$T/other-trust.cose"
expect_rc 1 "sync with another registry's trust bundle"
sync_current
V1=$(jget 'd["version"]')
sm --server "$URL" --json sync --cache "$CACHE" --trust "$T/trust.cose"
expect_rc 0 "sync again"
expect_eq false "$(jget 'd["changed"]')" "sync again: 304, nothing to do"
sm check --offline --cache "$CACHE" --trust "$T/trust.cose" --vendor ACME --model L-100 --firmware 1.4
expect_rc 0 "check --offline: allow"
expect_out allow "check --offline: allow"
sm --json check --offline --cache "$CACHE" --vendor ACME --model L-100 --firmware 1.6
expect_rc 1 "check --offline: revoked firmware"
expect_eq deny "$(jget 'd["verdict"]')" "check --offline --json: deny"

cp -a "$CACHE" "$T/cache-before-revoke"
stop_server
cp -a "$REG" "$T/reg-old" # a registry as it was: its snapshots will be older than the cache's
start_server "$REG"
CHECKS=$((CHECKS + 1))
grep 'quick check' "$T/smd.err" | tail -n 1 | grep -q 'the saved checkpoint of size [1-9][0-9]* agrees' ||
	fail "starmarkd's second start: expected the saved checkpoint to agree, got: $(grep 'quick check' "$T/smd.err" | tail -n 1)"
sm --server "$URL" --token "$ISSUER" revoke SM-2026-000001 --reason "key extraction"
expect_rc 0 "revoke on the server"
sync_current
V2=$(jget 'd["version"]')
[ "$V2" -gt "$V1" ] || fail "sync after the revoke: snapshot version $V2, not above $V1"
sm check --offline --cache "$CACHE" --vendor ACME --model L-100 --firmware 1.4
expect_rc 1 "check --offline after the revoke: deny"
expect_out revoked "check --offline after the revoke: the reason"
sm --server "$URL" --token "$ISSUER" amend SM-2026-000002 --url https://acme.example/wh1
sync_current
V3=$(jget 'd["version"]')
# what a snapshot does not carry is left out of an offline answer, not printed as null ("none")
sm --json check --offline --cache "$CACHE" --vendor ACME --model WH-1 --firmware 2.1
expect_rc 0 "check --offline of the amended certificate"
expect_eq "SM-2026-000002 []" "$(jget 'd["certificate"]["id"] + " " + str(sorted(k for k in d["certificate"] if k in ("url", "requirements", "history", "scheme_ref")))')" \
	"check --offline --json: url, requirements, history and scheme_ref are left out (the snapshot does not carry them)"
sm --server "$URL" --json show SM-2026-000002
expect_eq "https://acme.example/wh1 True" "$(jget 'd["url"] + " " + str(all(k in d for k in ("requirements", "history", "scheme_ref")))')" \
	"show --server --json: the whole record, url included"

# the cache pinned to old data: an older, validly signed snapshot copied over the newer one is refused
# offline, and the next sync does not believe it either (no side file says "unchanged")
GEN=$CACHE/$(cat "$CACHE/CURRENT")
cp "$T/cache-before-revoke/$(cat "$T/cache-before-revoke/CURRENT")/snapshot.cose" "$GEN/snapshot.cose"
sm check --offline --cache "$CACHE" --vendor ACME --model L-100 --firmware 1.4
expect_rc 3 "an older snapshot planted in the cache: unknown, not the old allow"
expect_out rollback "the planted snapshot is refused as a rollback"
sm --server "$URL" --json sync --cache "$CACHE"
expect_rc 0 "sync over a planted older snapshot"
expect_eq "$V3" "$(jget 'd["version"]')" "sync replaces the planted snapshot with the newest"
expect_err "not used" "sync says the planted cache was not used"
sm check --offline --cache "$CACHE" --vendor ACME --model L-100 --firmware 1.4
expect_rc 1 "after that sync the offline check answers from the newest data again"

# freeze: past next_update, the server still serves the same snapshot: sync says so
STARMARK_NOW=$((DAY0 + 3 * 3600)) sm --server "$URL" sync --cache "$CACHE"
expect_rc 0 "sync past next_update, before the expiry"
expect_out frozen "sync reports a frozen snapshot, not just unchanged"
expect_err "frozen" "sync warns of the freeze"

# no anchor, or the cache of another registry under our anchor: nothing is believed
STARMARK_TRUST= sm check --offline --cache "$CACHE" --vendor ACME --model L-100 --firmware 1.4
expect_rc 3 "check --offline without a trust anchor: unknown"
expect_out no_trust_anchor "check --offline without a trust anchor: the reason"

# stale within the grace (72 h by default): warn; past it: unknown; past the snapshot's expiry: unknown
STARMARK_NOW=$((DAY0 + 3 * 3600)) sm check --offline --cache "$CACHE" --vendor ACME --model WH-1 --firmware 2.1
expect_rc 0 "check --offline 3 h later: warn exits 0"
expect_out warn "check --offline 3 h later: warn"
expect_err "warning:" "warn: the warning on stderr"
STARMARK_NOW=$((DAY0 + 5 * 86400)) sm check --offline --cache "$CACHE" --vendor ACME --model WH-1 --firmware 2.1
expect_rc 3 "check --offline 5 days later: unknown"
expect_out stale_data "past the grace: stale_data"
printf '{"name":"long","default_level":1,"offline_grace_hours":2400,"unknown":"deny"}' >"$T/long.json"
STARMARK_NOW=$((DAY0 + 30 * 86400)) sm check --offline --cache "$CACHE" --policy "$T/long.json" --vendor ACME \
	--model WH-1 --firmware 2.1
expect_rc 3 "check --offline past the snapshot's expiry, even with a long grace"
expect_out snapshot_expired "past the expiry: snapshot_expired"

# freeze: a snapshot past its expiry is refused and the cache kept
SUM=$(md5sum <"$CACHE/$(cat "$CACHE/CURRENT")/snapshot.cose")
STARMARK_NOW=$((DAY0 + 30 * 86400)) sm --server "$URL" sync --cache "$CACHE" --trust "$T/trust.cose"
expect_rc 1 "sync 30 days later (freeze)"
expect_err "expired" "freeze: the message"
expect_eq "$SUM" "$(md5sum <"$CACHE/$(cat "$CACHE/CURRENT")/snapshot.cose")" "freeze: the cached snapshot is kept"

# a change the snapshot does not have yet (rebuilt every snapshot_seconds, here an hour): sync names the
# kept snapshot's own log size and says the registry's newer entries come with the next snapshot; a first
# sync names the anchor the trust came from, not a "version 0"
stop_server
SMD_CONF_KEPT=$SMD_CONF
SMD_CONF=$T/smd-slow.conf
sed 's/^snapshot_seconds = 1$/snapshot_seconds = 3600/' "$SMD_CONF_KEPT" >"$SMD_CONF"
start_server "$REG"
SMD_CONF=$SMD_CONF_KEPT
sm --server "$URL" --token "$ISSUER" amend SM-2026-000002 --add-model WH-1C
expect_rc 0 "amend while the snapshot is an hour from its rebuild"
sm --server "$URL" sync --cache "$T/cache-slow" --trust "$T/trust.cose"
expect_rc 0 "first sync, the snapshot older than the log"
expect_err "trust bundle version 1, from your anchor" "first sync: the trust bundle came from the anchor"
grep -q "followed from version 0" "$ERR" && fail "first sync speaks of a trust bundle version 0: $(show_err)"
SNAP_SIZE=$(sed -n 's/^snapshot version [0-9]*: [0-9]* certificates\{0,1\} as of log size \([0-9]*\),.*/\1/p' "$OUT")
[ -n "$SNAP_SIZE" ] || fail "sync: expected 'snapshot version V: N certificates as of log size S', got: $(show_out)"
expect_out "the registry has 1 newer entry (its log is at size $((${SNAP_SIZE:-0} + 1))); the next snapshot brings it" \
	"sync: the amend is in the log, not yet in the snapshot kept"
sm --server "$URL" --json sync --cache "$T/cache-slow" --trust "$T/trust.cose"
expect_json "sync --json: the snapshot's log size and the checkpoint's" \
	"d['snapshot_log_size'] == ${SNAP_SIZE:-0} and d['log_size'] == ${SNAP_SIZE:-0} + 1"

# rollback: the registry as it was before, served over TLS, offers an older snapshot
stop_server
openssl req -x509 -newkey ed25519 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 2>/dev/null || fail "openssl could not make a test certificate"
start_server "$T/reg-old" --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
URL=https://127.0.0.1:$PORT
sm --server "$URL" show SM-2026-000001
expect_rc 4 "TLS without the test CA: the peer is not verified"
sm --server "$URL" --cacert "$T/tls.crt" show SM-2026-000001
expect_rc 0 "TLS with --cacert"
expect_out active "the old registry still shows the certificate active"
STARMARK_CACERT=$T/tls.crt sm --server "$URL" sync --cache "$CACHE" --trust "$T/trust.cose"
expect_rc 1 "sync from a registry with an older snapshot (rollback)"
expect_err "rollback" "rollback: the message"
sm check --offline --cache "$CACHE" --vendor ACME --model L-100 --firmware 1.4
expect_rc 1 "after the refused rollback the cache still says deny"
stop_server

[ "$V3" -gt "$V2" ] || fail "snapshot versions grow: $V2 then $V3"
echo "test_remote: $CHECKS checks, $FAILS failures"
[ "$FAILS" = 0 ]
