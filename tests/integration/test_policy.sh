#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Policies mean what they say (docs/interface-notes.md, "Policies are a floor"): --level and --category
# may raise a policy's level, never lower it; unknown=allow passes no-data answers with a warning;
# a policy must fit the scheme; `policy check` lints one.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

unset STARMARK_TOKEN STARMARK_PASSPHRASE_FILE STARMARK_SERVER
export STARMARK_DB="$T/reg"
export STARMARK_NOW=2026-03-02

sm init --scheme CCDS --levels 3 --origin policy.test
expect_rc 0 "init a 3-level scheme"
sm trust export "$T/trust.cose"
expect_rc 0 "trust export"
export STARMARK_TRUST=$T/trust.cose # the anchor the --offline and --server checks verify against
sm issue --vendor ACME --vendor-name Acme --product "One-star lock" --model L1 --level 1 --firmware ">=1.0" \
	--category lock --expires 2029-12-31
expect_rc 0 "issue a one-star lock"
sm issue --vendor ACME --vendor-name Acme --product "Three-star lock" --model L3 --level 3 --firmware ">=1.0" \
	--category lock --expires 2029-12-31
expect_rc 0 "issue a three-star lock"
sm issue --vendor ACME --vendor-name Acme --product "Sensor" --model S1 --level 1 --firmware ">=1.0" \
	--category sensor --expires 2029-12-31
expect_rc 0 "issue a one-star sensor"

P=$T/homes.json
printf '{"name":"homes","default_level":1,"levels":{"lock":3,"sensor":1},"unknown":"deny"}' >"$P"
L1=(check --vendor ACME --model L1 --firmware 1.0)
OPEN_EARLY=$T/early.json
printf '{"name":"early","levels":{"lock":3,"camera":2},"offline_grace_hours":12,"unknown":"allow"}' >"$OPEN_EARLY"

############################################################ 1. --level raises, never lowers
sm "${L1[@]}" --policy "$P"
expect_rc 1 "a one-star lock under a policy wanting three for locks"
expect_out level_below_policy "the policy's lock level decides"
sm "${L1[@]}" --policy "$P" --level 1
expect_rc 1 "--level 1 does not lower the policy's three stars for locks"
expect_out level_below_policy "--level 1 --policy: still the policy's level"
sm --json "${L1[@]}" --policy "$P" --level 1
expect_json "--level 1 --policy --json: required_level is the policy's" 'd["verdict"] == "deny" and d["required_level"] == 3'
sm check --vendor ACME --model L3 --firmware 1.0 --policy "$P" --level 1
expect_rc 0 "a three-star lock passes with --level 1 under the policy"
sm check --vendor ACME --model S1 --firmware 1.0 --policy "$P" --level 2
expect_rc 1 "--level 2 raises the policy's one star for sensors"
expect_out "level asked" "the reason says the level asked demanded it"

############################################################ 2. the certificate's category counts
sm "${L1[@]}" --policy "$P" --category sensor
expect_rc 1 "--category sensor does not make a one-star lock pass a policy wanting three for locks"
expect_out "lock" "the reason names the lock category that demanded it"
sm --json "${L1[@]}" --policy "$P" --category sensor --level 1
expect_json "--category sensor --level 1 --json" 'd["verdict"] == "deny" and d["required_level"] == 3 and
	any("lock" in r["message"] for r in d["reasons"] if r["code"] == "level_below_policy")'
sm check --vendor ACME --model S1 --firmware 1.0 --policy "$P" --category lock
expect_rc 1 "a one-star sensor asked as a lock needs the lock's level"
expect_out "asked" "the reason says the category asked demanded it"
sm check --vendor ACME --model S1 --firmware 1.0 --policy "$P" --category sensor
expect_rc 0 "a one-star sensor asked as a sensor passes"

############################################################ 4. a policy must fit the scheme
printf '{"name":"too high","levels":{"lock":5}}' >"$T/five.json"
printf '{"name":"too high","default_level":4}' >"$T/four.json"
sm "${L1[@]}" --policy "$T/five.json"
expect_rc 2 "a policy asking level 5 of a 3-level scheme is refused"
expect_err "levels.lock" "the refusal names the field"
expect_err "1..3" "the refusal names the scheme's range"
expect_empty_out "a refused policy answers nothing"
sm check --vendor ACME --model S1 --firmware 1.0 --policy "$T/four.json"
expect_rc 2 "a policy whose default level is 4 of a 3-level scheme is refused"
expect_err "default_level" "the refusal names default_level"
sm --json "${L1[@]}" --policy "$T/five.json"
expect_rc 2 "a policy that does not fit, --json"
expect_json "--json: the error names the field" 'd["error"]["field"] == "levels.lock"'
sm "${L1[@]}" --level 4
expect_rc 2 "--level 4 of a 3-level scheme"
expect_err "1..3" "--level 4: the scheme's range"

############################################################ 5. policy check FILE [--trust FILE]
STARMARK_TRUST= sm policy check "$P" --db "$T/no-registry"
expect_rc 0 "policy check without a scheme"
expect_out "homes" "policy check: the name"
expect_out "lock" "policy check: the categories"
expect_out "★★★" "policy check: the levels"
expect_out "not checked" "policy check without a scheme says it did not check the levels"
STARMARK_TRUST= sm policy check "$P"
expect_rc 0 "policy check against the local registry"
expect_out "CCDS" "policy check: the scheme"
expect_out "fits" "policy check: it fits"
sm policy check "$T/five.json"
expect_rc 2 "policy check: level 5 of the local 3-level scheme"
expect_err "levels.lock" "policy check: the field that does not fit"
expect_err "1..3" "policy check: the scheme's range"
STARMARK_TRUST= sm policy check "$T/five.json" --db "$T/no-registry"
expect_rc 0 "policy check: level 5 is a level, with no scheme to check it against"
sm policy check "$T/four.json" --db "$T/no-registry" --trust "$T/trust.cose"
expect_rc 2 "policy check --trust: default level 4 of a 3-level scheme"
expect_err "default_level" "policy check --trust: the field"
sm policy check "$P" --db "$T/no-registry" --trust "$T/trust.cose"
expect_rc 0 "policy check --trust: fits"
expect_out "trust bundle" "policy check --trust: the scheme came from the bundle"
sm --json policy check "$OPEN_EARLY" --trust "$T/trust.cose"
expect_rc 0 "policy check --json"
expect_json_one "policy check --json: one document"
expect_json "policy check --json" 'd["policy"]["name"] == "early" and d["policy"]["levels"] == {"lock": 3, "camera": 2} and
	d["policy"]["unknown"] == "allow" and d["policy"]["offline_grace_hours"] == 12 and
	d["policy"]["default_level"] == 1 and d["policy"]["support_warn_days"] == 180 and
	d["policy"]["deny_after_support_end"] is True and
	d["scheme"] == {"name": "CCDS", "levels": 3, "source": "trust"}'
STARMARK_TRUST= sm --json policy check "$P" --db "$T/no-registry"
expect_json "policy check --json without a scheme" 'd["scheme"] is None'
sm --json policy check "$T/five.json"
expect_rc 2 "policy check --json that does not fit"
expect_json "policy check --json: the error names the field" 'd["error"]["field"] == "levels.lock"'

printf '{"levels":{"lock":0}}' >"$T/bad-level.json"
sm policy check "$T/bad-level.json"
expect_rc 2 "policy check: a level 0"
expect_err "levels.lock" "policy check: a bad level names its field"
expect_err "bad-level.json" "policy check: the message names the file"
printf '{"unknown":"maybe"}' >"$T/bad-unknown.json"
sm policy check "$T/bad-unknown.json"
expect_rc 2 "policy check: unknown is deny or allow"
expect_err "unknown" "policy check: the field"
printf '{"name":"x",' >"$T/bad-json.json"
sm policy check "$T/bad-json.json"
expect_rc 2 "policy check: not JSON"
expect_err "line 1" "policy check: where the JSON breaks"
sm policy check "$T/missing.json"
expect_rc 2 "policy check: no such file"
sm policy check "$P" --trust "$P"
expect_rc 2 "policy check: --trust that is not a trust bundle"
expect_err "homes.json" "policy check: the bad bundle is named"
sm policy check
expect_rc 2 "policy check without a file"
sm policy frobnicate "$P"
expect_rc 2 "policy: an unknown subcommand"
sm policy list "$P"
expect_rc 2 "policy list takes no file"
sm policy check "$P" "$P"
expect_rc 2 "policy check with two files"

############################################################ 3. unknown: allow passes no-data answers, with a warning
OPEN=$T/open.json
printf '{"name":"fail-open homes","levels":{"lock":3},"offline_grace_hours":24,"unknown":"allow"}' >"$OPEN"
CLOSED=$T/closed.json
printf '{"name":"fail-closed homes","levels":{"lock":3},"offline_grace_hours":24,"unknown":"deny"}' >"$CLOSED"
S1=(check --vendor ACME --model S1 --firmware 1.0)

sm "${S1[@]}" --offline --cache "$T/no-cache" --policy "$CLOSED"
expect_rc 3 "no cache under unknown=deny: unknown"
expect_out no_data "no cache: the cause"
expect_out fails_closed "no cache under unknown=deny: fails_closed"
sm "${S1[@]}" --offline --cache "$T/no-cache" --policy "$OPEN"
expect_rc 0 "no cache under unknown=allow: a pass"
expect_out warn "no cache under unknown=allow: warn"
expect_out no_data "no cache under unknown=allow: the cause is kept"
expect_out unknown_allowed "no cache under unknown=allow: unknown_allowed"
expect_err "warning:" "no cache under unknown=allow: the warning on stderr"
expect_err "fail-open homes" "the warning names the policy"
sm --json "${S1[@]}" --offline --cache "$T/no-cache" --policy "$OPEN"
expect_rc 0 "no cache under unknown=allow --json"
expect_json_one "no cache under unknown=allow --json: one document"
expect_json "no cache under unknown=allow --json" 'd["verdict"] == "warn" and d["certificate"] is None and
	[r["code"] for r in d["reasons"]] == ["no_data", "unknown_allowed"] and d["required_level"] == 1'

# through a starmarkd: a synced cache that goes stale, then expires
SMD=${STARMARKD_BIN:-$(dirname "$SM")/../server/starmarkd}
[ -x "$SMD" ] || { echo "FAIL: starmarkd not found at $SMD (set STARMARKD_BIN)" >&2; exit 1; }
export NO_PROXY='*' no_proxy='*'
DAY0=$(date -u -d "$STARMARK_NOW" +%s)
printf 'snapshot_seconds = 1\nrefresh_seconds = 1\n' >"$T/smd.conf"
SMD_PID=
"$SMD" --db "$STARMARK_DB" --listen 127.0.0.1:0 --config "$T/smd.conf" >"$T/smd.out" 2>"$T/smd.err" &
SMD_PID=$!
trap 'kill -TERM "$SMD_PID" 2>/dev/null; wait "$SMD_PID" 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do
	grep -q '^listening on' "$T/smd.out" && break
	sleep 0.05
done
PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/smd.out")
[ -n "$PORT" ] || { echo "FAIL: starmarkd did not start: $(cat "$T/smd.err")" >&2; exit 1; }
URL=http://127.0.0.1:$PORT
CACHE=$T/cache
for _ in $(seq 40); do
	sm --server "$URL" --json sync --cache "$CACHE" --trust "$T/trust.cose"
	[ "$RC" = 0 ] && [ "$(jget 'd["snapshot_log_size"] == d["log_size"]')" = true ] && break
	sleep 0.25
done
expect_rc 0 "sync a cache"
sm "${S1[@]}" --offline --cache "$CACHE" --policy "$OPEN"
expect_rc 0 "a fresh cache: allow"
expect_out allow "a fresh cache: allow"

STARMARK_NOW=$((DAY0 + 3 * 86400)) sm "${S1[@]}" --offline --cache "$CACHE" --policy "$CLOSED"
expect_rc 3 "past the grace under unknown=deny: unknown"
expect_out stale_data "past the grace: stale_data"
expect_out fails_closed "past the grace under unknown=deny: fails_closed"
STARMARK_NOW=$((DAY0 + 3 * 86400)) sm "${S1[@]}" --offline --cache "$CACHE" --policy "$OPEN"
expect_rc 0 "past the grace under unknown=allow: a pass"
expect_out warn "past the grace under unknown=allow: warn"
expect_out stale_data "past the grace under unknown=allow: the cause is kept"
expect_out unknown_allowed "past the grace under unknown=allow: unknown_allowed"
expect_err "warning:" "past the grace under unknown=allow: the warning on stderr"

STARMARK_NOW=$((DAY0 + 30 * 86400)) sm "${S1[@]}" --offline --cache "$CACHE" --policy "$CLOSED"
expect_rc 3 "an expired snapshot under unknown=deny: unknown"
expect_out snapshot_expired "an expired snapshot: snapshot_expired"
expect_out fails_closed "an expired snapshot under unknown=deny: fails_closed"
STARMARK_NOW=$((DAY0 + 30 * 86400)) sm --json "${S1[@]}" --offline --cache "$CACHE" --policy "$OPEN"
expect_rc 0 "an expired snapshot under unknown=allow: a pass"
expect_json "an expired snapshot under unknown=allow --json" 'd["verdict"] == "warn" and
	[r["code"] for r in d["reasons"]] == ["snapshot_expired", "unknown_allowed"]'
expect_err "warning:" "an expired snapshot under unknown=allow: the warning on stderr"

# 4 again: a policy that does not fit is refused offline and through the server, before any answer
sm "${S1[@]}" --offline --cache "$CACHE" --policy "$T/five.json"
expect_rc 2 "--offline: a policy asking level 5 of a 3-level scheme"
expect_err "levels.lock" "--offline: the refusal names the field"
expect_empty_out "--offline: a refused policy answers nothing"
sm "${S1[@]}" --offline --cache "$CACHE" --level 4
expect_rc 2 "--offline: --level 4 of a 3-level scheme"
sm --server "$URL" "${S1[@]}" --trust "$T/trust.cose" --policy "$T/four.json"
expect_rc 2 "--server: a policy whose default level is 4 of a 3-level scheme"
expect_err "default_level" "--server: the refusal names the field"
expect_err "1..3" "--server: the refusal names the scheme's range"
expect_empty_out "--server: a refused policy answers nothing"
sm --server "$URL" "${S1[@]}" --trust "$T/trust.cose" --policy "$P"
expect_rc 0 "--server: a policy that fits answers"
sm --server "$URL" "${S1[@]}" --level 4
expect_rc 2 "--server: --level 4 of a 3-level scheme"

finish
