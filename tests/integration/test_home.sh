#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# home check on a real registry: the local registry, a real starmarkd (signed statements) and a synced cache
# give the same verdicts; an on-site check with an unauthorised device; retrofits; a revocation followed by a
# sync changes the home's verdict; bad documents are refused naming device and field; an estate with --since.
set -u
. "$(dirname "$0")/lib.sh"

unset STARMARK_SERVER STARMARK_TOKEN STARMARK_CACERT STARMARK_TRUST
export STARMARK_NOW=2026-03-02 NO_PROXY='*' no_proxy='*'
SMD_CONF=$T/smd.conf
printf 'snapshot_seconds = 1\nrefresh_seconds = 1\nadmin_rate_per_minute = 100000\nadmin_burst = 10000\n' >"$SMD_CONF"
trap 'stop_server; rm -rf "$T"' EXIT

export STARMARK_DB=$T/reg
sm init --origin home.test
sm issue --vendor SECOM --vendor-name "セコム株式会社" --product "スマートロック" --model SL-100 --level 3 \
	--firmware ">=3.0 <4.0" --category lock --support-end 2031-03
LOCK=$(cat "$OUT")
sm issue --vendor PANA --vendor-name "パナソニック" --product "エアコン無線アダプタ" --model CZ-T100 --level 2 \
	--firmware ">=2.1" --category air-conditioner --support-end 2026-06
sm issue --vendor CHEAP --vendor-name Cheap --product Camera --model C1 --level 1 --firmware 1.0 --category camera
sm trust export "$T/trust.cose"
sm token create --role issuer --name ops
TOKEN=$(cat "$OUT")

cat >"$T/policy.json" <<'EOF'
{"name": "グランドタワー標準", "default_level": 1, "levels": {"lock": 3, "camera": 2}, "unknown": "deny",
 "support_warn_days": 180}
EOF
# the design, and the installer's record of what was found on site: one unauthorised camera
cat >"$T/design.json" <<'EOF'
{"home": "tower-1203", "name": "グランドタワー 1203号室",
 "devices": [
  {"id": "lock", "room": "玄関", "category": "lock", "vendor": "SECOM", "model": "SL-100", "firmware": "3.2", "planned": true, "installed": false},
  {"id": "ac", "room": "リビング", "category": "air-conditioner", "vendor": "PANA", "model": "CZ-T100", "firmware": "2.4", "planned": true, "installed": false}
 ]}
EOF
sed -e 's/"installed": false/"installed": true/' "$T/design.json" | "$PY" -c 'import json,sys
d = json.load(sys.stdin)
d["devices"].append({"id": "cam", "room": "玄関", "category": "camera", "vendor": "CHEAP", "model": "C1",
                     "firmware": "1.0", "planned": False, "installed": True})
print(json.dumps(d, ensure_ascii=False))' >"$T/site.json"

sm home check "$T/design.json" --policy "$T/policy.json"
expect_rc 0 "the design meets the policy"
expect_out "the design's devices were checked" "nothing installed: the design is what is judged"
expect_out "level 2" "the design's level: the weakest planned device"
# the table pads by terminal columns, not bytes: after 玄関 (4 columns) and リビング (8) the vendors line up
cols=$("$PY" -c 'import sys, unicodedata
width = lambda s: sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
at = [width(l[:l.index(v)]) for l in open(sys.argv[1], encoding="utf-8") for v in (" SECOM ", " PANA ") if v in l]
print(len(at), len(set(at)), at)' "$OUT")
expect_eq "2 1" "$(echo "$cols" | cut -d' ' -f1-2)" "home check: rooms 玄関 and リビング padded to one column (the vendors' columns: $cols)"
sm --json home check "$T/site.json" --policy "$T/policy.json"
expect_rc 1 "on site: an unauthorised camera of level 1 under a policy of 2 for cameras"
expect_schema home_check "home check --json"
expect_json "on site: the verdict, level, unplanned device, support outlook and evidence" \
	'd["verdict"] == "deny" and d["level"] == 1 and d["unplanned"] == ["cam"] and d["missing"] == [] and
	 d["support_end"] == "2026-06-30" and d["support_warnings"] == ["ac"] and d["checkpoint"]["size"] >= 4 and
	 {a["action"] for a in d["actions"]} >= {"approve_or_remove", "replace", "plan_replacement"} and
	 all(x["statement"] for x in d["devices"])'
LOCAL_JSON=$(cat "$OUT")

# the hand-over report: A4, both languages, every device's model and the home's level, the evidence
sm home check "$T/site.json" --policy "$T/policy.json" --report "$T/handover.pdf"
expect_rc 1 "the on-site check with a report (the verdict is still the exit code)"
pdftotext -layout "$T/handover.pdf" "$T/handover.txt" 2>/dev/null || fail "pdftotext could not read the report"
for m in SL-100 CZ-T100 C1 tower-1203; do
	CHECKS=$((CHECKS + 1))
	grep -q -- "$m" "$T/handover.txt" || fail "the Japanese report names $m"
done
sm home check "$T/design.json" --policy "$T/policy.json" --report "$T/design.html" --lang en
expect_rc 0 "a design report in English, HTML"
CHECKS=$((CHECKS + 1))
grep -q "★★" "$T/design.html" && grep -q "CZ-T100" "$T/design.html" || fail "the HTML report has the level in stars and the models"
sm home check "$T/site.json" --report "$T/no/such/dir/r.pdf"
expect_rc 4 "a report path that cannot be written"
[ -e "$T/no/such/dir/r.pdf" ] && fail "a partial report was left"
sm home check "$T/site.json" --report "$T/r.docx"
expect_rc 2 "a report of another format"

# retrofits: may a device join this home, and what does its level become
sm home check "$T/design.json" --policy "$T/policy.json" --add "SECOM:SL-100@3.5/lock#door2=勝手口"
expect_rc 0 "a certified lock may join"
expect_out "retrofit door2: may join this home" "retrofit: the answer in words"
sm --json home check "$T/design.json" --policy "$T/policy.json" --add "CHEAP:C1@1.0/sensor"
expect_rc 1 "a level-1 camera may not join, even named a sensor: its own category counts"
expect_json "retrofit: may_join false, levels before and after" \
	'd["retrofit"]["may_join"] is False and d["retrofit"]["level_before"] == 2 and d["retrofit"]["level_after"] == 1 and d["design"]'
sm --json home check "$T/design.json" --policy "$T/policy.json" --add "SECOM:SL-100@3.5/lock#door2"
expect_json "a retrofit to a design is judged with the design: the level does not jump" \
	'd["design"] and d["retrofit"]["level_before"] == 2 and d["retrofit"]["level_after"] == 2 and d["retrofit"]["may_join"]'
sm home check "$T/design.json" --add "$(printf 'SECOM:SL-100@3.5#d3=\033[31mroom')"
expect_rc 2 "a room with a control character"
sm home check "$T/design.json" --add "SECOM:SL-100"
expect_rc 2 "a malformed --add"
expect_err "VENDOR:MODEL@FIRMWARE" "a malformed --add: the syntax is shown"

# the same home through a real server (signed statements) and from a synced cache: the same verdicts
start_server "$STARMARK_DB"
export STARMARK_TRUST=$T/trust.cose
norm() { "$PY" -c 'import json,sys
d = json.loads(sys.argv[1])
print(json.dumps([d["verdict"], d["level"], d["missing"], d["unplanned"], d["support_end"],
                  [(x["id"], x["verdict"], [r["code"] for r in x["reasons"]]) for x in d["devices"]]]))' "$1"; }
sm --server "$URL" --json home check "$T/site.json" --policy "$T/policy.json"
expect_rc 1 "home check --server"
expect_eq "$(norm "$LOCAL_JSON")" "$(norm "$(cat "$OUT")")" "home check --server gives the local registry's verdicts"
for _ in $(seq 40); do
	sm --server "$URL" sync --cache "$T/gw"
	[ "$RC" = 0 ] && break
	sleep 0.25
done
expect_rc 0 "sync the housing company's cache"
sm --json home check "$T/site.json" --policy "$T/policy.json" --offline --cache "$T/gw"
expect_rc 1 "home check --offline"
expect_eq "$(norm "$LOCAL_JSON")" "$(norm "$(cat "$OUT")")" "home check --offline gives the local registry's verdicts"
STARMARK_TRUST= sm home check "$T/site.json" --offline --cache "$T/gw"
expect_rc 3 "home check --offline without a trust anchor: unknown"

# a revocation followed by a sync changes the home's verdict (the camera removed, the rest allowed first)
sm home check "$T/site.json" --policy "$T/policy.json" --add "SECOM:SL-100@3.5#x" >/dev/null
"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
d["devices"] = [x for x in d["devices"] if x["id"] != "cam"]
json.dump(d, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)' "$T/site.json" "$T/fixed.json"
sm home check "$T/fixed.json" --policy "$T/policy.json" --offline --cache "$T/gw"
expect_rc 0 "without the camera the home is allowed (with the support warning)"
sm --server "$URL" --token "$TOKEN" revoke "$LOCK" --reason "key cloning attack"
expect_rc 0 "revoke the lock's certificate"
for _ in $(seq 40); do
	sm --server "$URL" sync --cache "$T/gw"
	sm home check "$T/fixed.json" --policy "$T/policy.json" --offline --cache "$T/gw"
	[ "$RC" = 1 ] && break
	sleep 0.25
done
expect_rc 1 "after the revocation and a sync the home is denied"
expect_out "revoked" "the lock's reason: revoked"

# bad documents: exit 2, the device and the field named, nothing written
printf '{"home":"h","devices":[{"id":"d1","vendor":"SECOM","model":"SL-100","firmware":"3.2","planned":true,"installed":"yes"}]}' >"$T/bad.json"
sm home check "$T/bad.json"
expect_rc 2 "a device field of the wrong type"
expect_err "devices[0] (d1): installed must be true or false" "the message names the device and the field"
sm --json home check "$T/bad.json"
expect_json "--json: the error names the field" 'd["error"]["field"] == "devices[0].installed"'
printf '{"home":"h","devices":[' >"$T/deep.json"; printf '[%.0s' $(seq 20) >>"$T/deep.json"
sm home check "$T/deep.json"
expect_rc 2 "nested too deep"
sm home check "$T/nothing.json"
expect_rc_in "2 4" "a missing file"

# an estate: every home of a directory, one line each, the verdicts that changed since the last run
mkdir "$T/estate"
cp "$T/site.json" "$T/estate/1203.json"
sed 's/tower-1203/tower-1204/' "$T/fixed.json" >"$T/estate/1204.json"
sed 's/tower-1203/tower-1205/; s/"SL-100"/"NOPE-1"/' "$T/design.json" >"$T/estate/1205.json"
sm home check "$T/estate" --policy "$T/policy.json" --since "$T/estate.state"
expect_rc 1 "the estate: the worst home decides the exit code"
expect_out "3 homes:" "the estate: a summary line"
sm --json home check "$T/estate" --policy "$T/policy.json" --since "$T/estate.state"
expect_json "a second run: nothing changed" 'd["summary"]["homes"] == 3 and d["changed"] == []'
sm --server "$URL" --token "$TOKEN" issue --vendor SECOM --vendor-name "セコム株式会社" --product "新型ロック" \
	--model NOPE-1 --level 3 --firmware ">=3.0" --category lock
expect_rc 0 "the model tower-1205 planned is certified now"
sm --json home check "$T/estate" --policy "$T/policy.json" --since "$T/estate.state"
expect_json "after that: the home that changed is listed" \
	'[c["home"] for c in d["changed"]] == ["tower-1205"] and d["changed"][0]["was"] == "deny" and d["changed"][0]["now"] == "warn"'
cp "$T/bad.json" "$T/estate/9999.json"
sum=$(md5sum <"$T/estate.state")
sm home check "$T/estate" --policy "$T/policy.json" --since "$T/estate.state"
expect_rc 2 "a bad document in the estate: refused before anything is checked"
expect_eq "$sum" "$(md5sum <"$T/estate.state")" "a refused estate run writes no state"

stop_server
finish
