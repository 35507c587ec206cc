#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The starmark CLI end to end on temporary registries: the tour, field rules, state rules, import,
# --json, tokens, key rotation, passphrases, and damaged stores and keys (INTERFACE.md).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

unset STARMARK_TOKEN STARMARK_PASSPHRASE_FILE STARMARK_SERVER
export STARMARK_DB="$T/reg"
export STARMARK_NOW=2024-05-01

# refused WHAT NEEDLE... -- ARGS... : exit 2, stderr names every needle, nothing on stdout, and the
# log did not grow.
refused() {
	local what=$1 needles=() before
	shift
	while [ "$1" != "--" ]; do
		needles+=("$1")
		shift
	done
	shift
	before=$(logsize)
	[ -n "$before" ] || fail "$what: could not read the log size before the command"
	sm "$@"
	expect_rc 2 "$what"
	local n
	for n in "${needles[@]}"; do
		expect_err "$n" "$what"
	done
	expect_empty_out "$what"
	expect_eq "$before" "$(logsize)" "$what: log size must not change"
}

############################################################ init
sm init --scheme CCDS --levels 3 --origin it.example
expect_rc 0 "init"
fp=$(cat "$OUT")
[[ $fp =~ ^[0-9a-f]{64}$ ]] || fail "init: expected a 64-hex root fingerprint alone on stdout, got '$fp'"
expect_eq 1 "$(logsize)" "init: the log holds the first trust bundle"
sm init
expect_rc 2 "init over an existing registry"
sm --json init --db "$T/reg-json" --levels 5
expect_rc 0 "init --json"
expect_json_one "init --json"
expect_json "init --json" 'len(d["root_fingerprint"]) == 64 and d["levels"] == 5'
sm init --db "$T/reg-bad" --levels 0
expect_rc 2 "init --levels 0"

############################################################ issue and show
sm issue --vendor RINNAI --vendor-name "Rinnai Corporation" --product "ガス給湯器 エコジョーズ" \
	--model RUF-E2406SAW --model RUF-E2406AW --level 2 --firmware ">=1.0 <2.0,2.1.0" \
	--category water-heater \
	--registered 2024-04-01 --expires 2027-03-31 --support-end 2029-12 --requirements 1.1 \
	--url https://example.jp/ruf
expect_rc 0 "issue"
id1=$(cat "$OUT")
[[ $id1 =~ ^SM-2024-[0-9]{6}$ ]] || fail "issue: expected the id SM-2024-NNNNNN alone on stdout, got '$id1'"
expect_eq 2 "$(logsize)" "issue appends one entry"

sm --json issue --vendor ACME --vendor-name "Acme Inc" --product "Smart Lock" --model AL-100 --level 3 \
	--firmware 4.2.0 --registered 2024-04-15 --expires 2026-04-14 --support-end 2028-02
expect_rc 0 "issue --json"
expect_json_one "issue --json"
id2=$(jget 'd["id"]')
expect_json "issue --json shape" 'd["level"] == 3 and d["vendor"] == {"code": "ACME", "name": "Acme Inc"} and
	d["models"] == ["AL-100"] and d["firmware"]["covered"] == "4.2.0" and
	d["firmware"]["revoked"] == [] and
	d["support_end"] == "2028-02-29" and d["status"] == "active" and d["history"][0]["event"] == "issue"'
expect_ne "$id1" "$id2" "issue gives a new id"

# global options after the verb, --db=DIR form
sm issue --vendor ACME --vendor-name "Acme Inc" --product "Camera" --model AC-1 --level 1 --firmware "1.0" \
	--registered 2024-04-20 --json --db="$STARMARK_DB"
expect_rc 0 "issue with --json --db= after the verb"
expect_json_one "issue with --json after the verb"
id3=$(jget 'd["id"]')
[[ $id3 =~ ^SM-2024-[0-9]{6}$ ]] || fail "issue --json after the verb: expected an id, got '$id3'"
( unset STARMARK_DB; cd "$T" && "$SM" show "$id3" --db "$T/reg" >/dev/null 2>&1 ) ||
	fail "show with --db after the verb and no STARMARK_DB failed"

sm show "$id1" --json
expect_rc 0 "show --json"
expect_json_one "show --json"
expect_json "show --json has every INTERFACE key" 'all(k in d for k in ["id", "scheme", "level", "vendor",
	"product", "models", "category", "firmware", "registered", "expires", "support_end", "requirements",
	"url", "status", "history"]) and set(d["vendor"]) >= {"code", "name"} and
	set(d["firmware"]) >= {"covered", "revoked"}
	and all(set(h) >= {"event", "at", "reason"} for h in d["history"])'
expect_json "show --json values" 'd["id"] == "'"$id1"'" and d["scheme"] == "CCDS" and d["level"] == 2 and
	d["product"] == "ガス給湯器 エコジョーズ" and d["models"] == ["RUF-E2406SAW", "RUF-E2406AW"] and
	d["category"] == "water-heater" and d["registered"] == "2024-04-01" and
	d["expires"] == "2027-03-31" and d["support_end"] == "2029-12-31" and d["requirements"] == "1.1" and
	d["url"] == "https://example.jp/ruf" and
	d["status"] == "active" and [h["event"] for h in d["history"]] == ["issue"]'
sm show "$id1"
expect_rc 0 "show (text)"
expect_out "$id1" "show (text) names the id"
expect_out "RUF-E2406AW" "show (text) lists the models"

############################################################ lifecycle events
sm amend "$id1" --add-model RUF-E2406SAW-B --add-firmware 3.0.0 --add-firmware "3.1.0" \
	--url https://example.jp/ruf2
expect_rc 0 "amend"
sm --json firmware-revoke "$id1" 1.5.0 1.6.1 --reason "CVE-2024-0001"
expect_rc 0 "firmware-revoke"
expect_json_one "firmware-revoke --json"
expect_json "firmware-revoke result" 'd["firmware"]["revoked"] == ["1.5.0", "1.6.1"] and
	"RUF-E2406SAW-B" in d["models"] and "3.0.0" in d["firmware"]["covered"] and
	"3.1.0" in d["firmware"]["covered"] and d["url"] == "https://example.jp/ruf2" and
	d["history"][-1]["reason"] == "CVE-2024-0001"'
expect_eq 6 "$(logsize)" "two events appended"

sm suspend "$id2" --reason "audit pending"
expect_rc 0 "suspend"
sm --json show "$id2"
expect_json "suspended status" 'd["status"] == "suspended" and d["history"][-1] == {**d["history"][-1],
	"event": "suspend", "reason": "audit pending"}'
sm reinstate "$id2" --reason "audit passed"
expect_rc 0 "reinstate"
sm --json renew "$id2" --expires 2030-01-01 --requirements 2.0
expect_rc 0 "renew"
expect_json "renew result" 'd["status"] == "active" and d["expires"] == "2030-01-01" and
	d["requirements"] == "2.0" and
	[h["event"] for h in d["history"]] == ["issue", "suspend", "reinstate", "renew"]'
sm revoke "$id3" --reason "counterfeit test report"
expect_rc 0 "revoke"
sm --json show "$id3"
expect_json "revoked status" 'd["status"] == "revoked"'
size=$(logsize)
expect_eq 10 "$size" "log size after the trust bundle, 3 issues and 6 events"

############################################################ state rules
refused "suspend a revoked certificate" "revoked" "$id3" -- suspend "$id3" --reason x
refused "reinstate a revoked certificate" "revoked" -- reinstate "$id3" --reason x
refused "renew a revoked certificate" "revoked" -- renew "$id3" --expires 2031-01-01
refused "amend a revoked certificate" "revoked" -- amend "$id3" --add-model Z-1
refused "revoke a revoked certificate" "revoked" -- revoke "$id3" --reason again
refused "reinstate an active certificate" "suspended" -- reinstate "$id1" --reason x
sm suspend "$id2" --reason once
expect_rc 0 "suspend"
refused "suspend a suspended certificate" "suspended" -- suspend "$id2" --reason twice
sm reinstate "$id2" --reason back
expect_rc 0 "reinstate again"
refused "amend with a model already there" "RUF-E2406AW" -- amend "$id1" --add-model RUF-E2406AW
refused "firmware-revoke of a version not covered" "9.9" -- firmware-revoke "$id1" 9.9 --reason x
refused "revoke without a reason" "reason" -- revoke "$id1"
refused "renew without --expires" "expires" -- renew "$id1"
refused "renew to a date before registration" "2020-01-01" -- renew "$id1" --expires 2020-01-01

############################################################ field rules
I=(--vendor-name "Acme Inc" --product P --firmware 1.0)
refused "invalid date" "registered" "2023-02-30" -- issue --vendor ACME "${I[@]}" --model F-1 --level 1 \
	--registered 2023-02-30
refused "invalid expiry date" "expires" "2025-02-29" -- issue --vendor ACME "${I[@]}" --model F-1 --level 1 \
	--expires 2025-02-29
refused "invalid month for support end" "support_end" "2024-13" -- issue --vendor ACME "${I[@]}" --model F-1 \
	--level 1 --support-end 2024-13
refused "date not in YYYY-MM-DD" "registered" "2024-1-01" -- issue --vendor ACME "${I[@]}" --model F-1 \
	--level 1 \
	--registered 2024-1-01
refused "level 0" "level" "0" -- issue --vendor ACME "${I[@]}" --model F-1 --level 0
refused "level 4 of a 3-level scheme" "level" "4" -- issue --vendor ACME "${I[@]}" --model F-1 --level 4
refused "level not a number" "level" "2x" -- issue --vendor ACME "${I[@]}" --model F-1 --level 2x
refused "lower-case vendor code" "vendor" "rinnai" -- issue --vendor rinnai "${I[@]}" --model F-1 --level 1
refused "vendor code of 17 characters" "vendor" "ABCDEFGHIJKLMNOPQ" -- issue --vendor ABCDEFGHIJKLMNOPQ \
	"${I[@]}" --model F-1 --level 1
refused "vendor code starting with '-'" "vendor" "-ACME" -- issue --vendor=-ACME "${I[@]}" --model F-1 \
	--level 1
refused "empty vendor code" "vendor" -- issue --vendor "" "${I[@]}" --model F-1 --level 1
refused "model with a control character" "model" "BAD" "MODEL" -- issue --vendor ACME "${I[@]}" \
	--model $'BAD\x07MODEL' --level 1
long65=$(printf 'M%.0s' {1..65})
refused "model of 65 bytes" "model" "65" -- issue --vendor ACME "${I[@]}" --model "$long65" --level 1
refused "model of 22 kana = 66 bytes" "model" "66" -- issue --vendor ACME "${I[@]}" \
	--model "$(printf 'モ%.0s' {1..22})" --level 1
refused "empty model" "model" -- issue --vendor ACME "${I[@]}" --model "" --level 1
refused "product of 201 bytes" "product" "201" -- issue --vendor ACME --vendor-name A \
	--product "$(printf 'p%.0s' {1..201})" --firmware 1.0 --model F-1 --level 1
refused "product not UTF-8" "product" -- issue --vendor ACME --vendor-name A --product $'bad\xff\xfe' \
	--firmware 1.0 --model F-1 --level 1
refused "firmware range upside down" "firmware" ">=2.0 <1.0" -- issue --vendor ACME "${I[@]:0:4}" \
	--firmware ">=2.0 <1.0" --model F-1 --level 1
refused "empty firmware spec" "firmware" -- issue --vendor ACME "${I[@]:0:4}" --firmware "" --model F-1 \
	--level 1
refused "expiry before registration" "2024-03-01" -- issue --vendor ACME "${I[@]}" --model F-1 --level 1 \
	--registered 2024-04-01 --expires 2024-03-01
refused "amend with a control character in a model" "model" -- amend "$id1" --add-model $'Q\x1b[31m'
refused "amend with a bad firmware spec" "firmware" ">=3 <2" -- amend "$id1" --add-firmware ">=3 <2"
refused "unknown id (show)" "SM-2099-999999" -- show SM-2099-999999
refused "unknown id (suspend)" "SM-2099-999999" -- suspend SM-2099-999999 --reason x
refused "unknown id (log proof)" "SM-2099-999999" -- log proof SM-2099-999999
refused "missing required option" "vendor-name" -- issue --vendor ACME --product P --model F-1 --level 1 \
	--firmware 1.0
refused "unknown option" "--colour" -- list --colour red
refused "unknown verb" "frobnicate" -- frobnicate
refused "option of another event" "expires" -- suspend "$id1" --reason x --expires 2030-01-01
refused "list --status not a status" "bogus" -- list --status bogus
refused "list --model without --vendor" "vendor" -- list --model RUF-E2406AW
# the root rotates too (signed by the old root and the new one): on a copy, so that what follows is unchanged
cp -a "$T/reg" "$T/rootrot"
STARMARK_DB="$T/rootrot" sm keys rotate root
expect_rc 0 "keys rotate root (on a copy of the registry)"
STARMARK_DB="$T/rootrot" sm log verify
expect_rc 0 "log verify after a root rotation"
refused "keys rotate of no role" "wizard" -- keys rotate wizard
STARMARK_NOW=garbage sm list
expect_rc 2 "STARMARK_NOW=garbage"
expect_err "STARMARK_NOW" "STARMARK_NOW=garbage names the variable"
# the boundaries that must pass
sm issue --vendor ABCDEFGHIJKLMNOP "${I[@]}" --model "$(printf 'M%.0s' {1..64})" --level 1 \
	--registered 2024-02-29
expect_rc 0 "16-character vendor code, 64-byte model and 2024-02-29 are valid"

############################################################ list, search, export
size=$(logsize)
sm --json list
expect_rc 0 "list --json"
expect_json_one "list --json"
expect_json "list --json shape" 'd["total"] == 4 and len(d["certificates"]) == 4 and
	all("id" in c and "status" in c for c in d["certificates"])'
sm --json list --vendor ACME
expect_json "list --vendor ACME" 'd["total"] == 2 and
	sorted(c["id"] for c in d["certificates"]) == sorted(["'"$id2"'", "'"$id3"'"])'
sm --json list --status revoked
expect_json "list --status revoked" '[c["id"] for c in d["certificates"]] == ["'"$id3"'"] and d["total"] == 1'
sm --json list --level 2
expect_json "list --level 2" '[c["id"] for c in d["certificates"]] == ["'"$id1"'"]'
sm --json list --vendor RINNAI --model RUF-E2406SAW-B
expect_json "list --vendor --model (an amended model)" '[c["id"] for c in d["certificates"]] == ["'"$id1"'"]'
sm list --vendor RINNAI
expect_rc 0 "list (text)"
expect_out "$id1" "list (text) shows the id"
sm --json search "給湯器"
expect_rc 0 "search (Japanese)"
expect_json "search 給湯器" '[c["id"] for c in d["certificates"]] == ["'"$id1"'"] and d["total"] == 1'
sm --json search "smart lock"
expect_json "search is case-insensitive" '[c["id"] for c in d["certificates"]] == ["'"$id2"'"]'
sm --json search "nothing-like-this"
expect_json "search without hits" 'd["total"] == 0 and d["certificates"] == []'

sm export
expect_rc 0 "export (jsonl)"
"$PY" - "$OUT" "$id1" "$id3" <<'EOF' || fail "export jsonl: see above"
import json, sys
lines = [l for l in open(sys.argv[1], encoding="utf-8").read().split("\n") if l]
docs = [json.loads(l) for l in lines]
ids = [d["id"] for d in docs]
if len(docs) != 4 or sys.argv[2] not in ids:
    sys.exit("export jsonl: expected 4 records including %s, got %r" % (sys.argv[2], ids))
st = {d["id"]: d["status"] for d in docs}
if st[sys.argv[3]] != "revoked":
    sys.exit("export jsonl: expected %s revoked, got %r" % (sys.argv[3], st))
EOF
sm export --format csv --out "$T/export.csv"
expect_rc 0 "export --format csv --out"
hdr=$(head -n 1 "$T/export.csv")
for col in vendor vendor_name product models level firmware registered expires support_end; do
	case ",$hdr," in *",$col,"*) ;; *) fail "export csv: header lacks '$col': $hdr" ;; esac
done
expect_eq 5 "$(wc -l <"$T/export.csv" | tr -d ' ')" "export csv: a header and 4 rows"
grep -q 'RUF-E2406SAW;RUF-E2406AW;RUF-E2406SAW-B' "$T/export.csv" ||
	fail "export csv: models joined by ';' not found"
sm export --format xml
expect_rc 2 "export --format xml"
sm export --out "$T/no/such/dir/x.jsonl"
expect_rc 4 "export to an unwritable path is an I/O failure"
expect_eq "$size" "$(logsize)" "list/search/export change nothing"

# the CSV an export writes can be imported into a new registry
sm --db "$T/reg-rt" init
sm --db "$T/reg-rt" import "$T/export.csv" --skip-bad
expect_rc 0 "import of an 'export --format csv' file"
sm --db "$T/reg-rt" export --format jsonl --out "$T/export-rt.jsonl"
sm --db "$T/reg-rt" import "$T/reg-rt-missing.csv"
expect_rc 2 "import of a file that does not exist"
expect_err "reg-rt-missing.csv" "import of a missing file names it"

############################################################ import
cat >"$T/bad.csv" <<'EOF'
registered,vendor,vendor_name,product,models,level,firmware,expires
2024-01-10,PANA,"Pana ""Home"" Co., Ltd.",Heat pump,HP-1;HP-2,1,">=1.0 <2.0, 2.5",2026-01-09
2024-01-10,PANA,Pana,Heat pump 2,HP-3,7,1.0,
2024-01-11,PANA,Pana,Heat pump 3,HP-4,2,1.0,2027-01-10
2023-02-30,PANA,Pana,Heat pump 4,HP-5,1,1.0,
2024-01-12,pana,Pana,Heat pump 5,HP-6,1,1.0,
EOF
size=$(logsize)
sm import "$T/bad.csv"
expect_rc 2 "import with bad rows"
expect_err "bad.csv:3:" "import reports line 3 (level 7)"
expect_err "bad.csv:5:" "import reports line 5 (2023-02-30)"
expect_err "2023-02-30" "import names the bad date"
expect_err "bad.csv:6:" "import reports line 6 (vendor pana)"
grep -qE 'bad\.csv:(2|4):' "$ERR" && fail "import: good lines 2 and 4 reported as bad: $(show_err)"
expect_eq "$size" "$(logsize)" "import with bad rows imports nothing"
sm --json import "$T/bad.csv"
expect_rc 2 "import --json with bad rows"
expect_json_one "import --json"
expect_json "import --json report" 'd["imported"] == 0 and d["bad"] == 3 and
	[e["line"] for e in d["errors"]] == [3, 5, 6] and d["errors"][0]["field"] == "level"'
sm --json import "$T/bad.csv" --skip-bad
expect_rc 0 "import --skip-bad"
expect_json "import --skip-bad report" 'd["rows"] == 5 and d["imported"] == 2 and d["bad"] == 3'
expect_eq $((size + 2)) "$(logsize)" "import --skip-bad appends the 2 good rows"
sm --json list --vendor PANA
expect_json "imported rows" 'd["total"] == 2 and sorted(m for c in d["certificates"] for m in c["models"]) ==
	["HP-1", "HP-2", "HP-4"] and
	any(c["vendor"]["name"] == "Pana \"Home\" Co., Ltd." for c in d["certificates"])'

# rows of several years: their ids are not one run, and the summary gives no range that would say so
cat >"$T/years.csv" <<'EOF'
vendor,vendor_name,product,models,level,firmware,registered
YEARS,Years,Thing,Y-1,1,1.0,2023-05-01
YEARS,Years,Thing,Y-2,1,1.0,2021-05-01
YEARS,Years,Thing,Y-3,1,1.0,2023-06-01
EOF
sm import "$T/years.csv"
expect_rc 0 "import of rows of 2021 and 2023"
CHECKS=$((CHECKS + 1))
grep -qE '^imported 3 of 3 rows: SM-2023-[0-9]{6}, SM-2021-[0-9]{6}, SM-2023-[0-9]{6}$' "$ERR" ||
	fail "import of several years: expected each id apart (no range spans years), got: $(show_err)"
cat >"$T/one-year.csv" <<'EOF'
vendor,vendor_name,product,models,level,firmware,registered
ONEYR,One Year,Thing,O-1,1,1.0,2024-03-01
ONEYR,One Year,Thing,O-2,1,1.0,2024-03-02
EOF
sm import "$T/one-year.csv"
expect_rc 0 "import of two rows of one year"
CHECKS=$((CHECKS + 1))
grep -qE '^imported 2 of 2 rows: SM-2024-[0-9]{6} \.\. SM-2024-[0-9]{6}$' "$ERR" ||
	fail "import of one year: expected 'imported 2 of 2 rows: FIRST .. LAST', got: $(show_err)"

size=$(logsize)
cat >"$T/dup.csv" <<'EOF'
vendor,vendor_name,product,models,level,firmware,registered
DUPE,Dupe,Thing,D-1,1,1.0,2024-02-01
DUPE,Dupe,Thing,D-1,1,1.0,2024-02-01
EOF
sm import "$T/dup.csv"
expect_rc 2 "import of a file with a duplicate row"
expect_err "dup.csv:3:" "the duplicate row's line is reported"
expect_err "duplicate" "the message says duplicate"
expect_eq "$size" "$(logsize)" "duplicate rows import nothing"
# a row that repeats a certificate already in the registry (line 2 of bad.csv, imported above)
head -n 2 "$T/bad.csv" >"$T/again.csv"
sm import "$T/again.csv"
expect_rc 2 "import of a row already in the registry"
expect_err "again.csv:2:" "the repeated row's line is reported"
expect_err "HP-1" "the repeated row's model is named"
expect_eq "$size" "$(logsize)" "a repeated row imports nothing"
sm issue --vendor PANA --vendor-name Pana --product X --model HP-4 --level 1 --firmware 1.0 \
	--registered 2024-01-11
expect_rc 2 "issue of a vendor/model/date already certified"
expect_err "HP-4" "issue of a duplicate names the model"
expect_eq "$size" "$(logsize)" "a duplicate issue changes nothing"

cat >"$T/malformed.csv" <<'EOF'
vendor,vendor_name,product,models,level,firmware,registered
MAL,Mal,Thing,M-1,1,1.0,2024-02-01
MAL,Mal,Thing,M-2,1,1.0
MAL,"Mal,Thing,M-3,1,1.0,2024-02-01
EOF
sm import "$T/malformed.csv"
expect_rc 2 "import of malformed CSV rows"
expect_err "malformed.csv:3:" "a short row is reported with its line"
expect_err "malformed.csv:4:" "an unterminated quote is reported with its line"
printf 'vendor,vendor_name,product,models,level,firmware\nMAL,Mal,Thing,M-1,1,1.0\n' >"$T/nocol.csv"
sm import "$T/nocol.csv"
expect_rc 2 "import without the registered column"
expect_err "registered" "the missing column is named"
printf 'vendor,vendor_name,product,models,level,firmware,registered,colour\n' >"$T/extracol.csv"
sm import "$T/extracol.csv"
expect_rc 2 "import with an unknown column"
expect_err "colour" "the unknown column is named"
: >"$T/empty.csv"
sm import "$T/empty.csv"
expect_rc 2 "import of an empty file"
expect_eq "$size" "$(logsize)" "failed imports change nothing"

jl='{"vendor":{"code":"JSON","name":"Json"},"registered":"2024-03-01","firmware":{"covered":"1.0"},'
{
	echo "$jl"'"product":"温水器","models":["J-1","J-2"],"level":2}'
	echo "$jl"'"product":"温水器 2","models":["J-3"],"level":9}'
	echo '{not json'
} >"$T/in.jsonl"
sm import "$T/in.jsonl"
expect_rc 2 "import jsonl with bad lines"
expect_err "in.jsonl:2:" "jsonl: line 2 (level 9) reported"
expect_err "in.jsonl:3:" "jsonl: line 3 (not JSON) reported"
expect_eq "$size" "$(logsize)" "import jsonl with bad lines imports nothing"
sm import "$T/in.jsonl" --skip-bad
expect_rc 0 "import jsonl --skip-bad"
expect_eq $((size + 1)) "$(logsize)" "import jsonl --skip-bad appends the good line"

############################################################ check
sm check --vendor RINNAI --model RUF-E2406AW --firmware 1.2.0
expect_rc 0 "check allow"
expect_out "allow" "check allow prints allow"
sm --json check --vendor RINNAI --model RUF-E2406AW --firmware 1.5.0
expect_rc 1 "check of a revoked firmware"
expect_json_one "check --json"
expect_json "check --json deny" 'd["verdict"] == "deny" and
	"firmware_revoked" in [r["code"] for r in d["reasons"]] and d["certificate"]["id"] == "'"$id1"'" and
	all(k in d for k in ["statement", "produced_at", "next_update"])'
sm check --vendor RINNAI --model RUF-E2406AW --firmware 2.2.0
expect_rc 1 "check of a firmware not covered"
sm check --vendor ACME --model AC-1 --firmware 1.0
expect_rc 1 "check of a revoked certificate"
sm check --vendor RINNAI --model RUF-E2406AW --firmware 1.2.0 --level 3
expect_rc 1 "check with a level above the certificate's"
STARMARK_NOW=2028-02-01 sm check --vendor ACME --model AL-100 --firmware 4.2.0
expect_rc 0 "check with support ending soon is a warn, exit 0"
expect_out "warn" "check prints warn"
expect_err "2028-02-29" "the warning goes to stderr"
STARMARK_NOW=2028-01-01 sm --json show "$id1"
expect_json "status after the expiry date" 'd["status"] == "expired"'
refused "check with a lower-case vendor" "vendor" "acme" -- check --vendor acme --model X --firmware 1.0

############################################################ log and trust
size=$(logsize)
sm log checkpoint
expect_rc 0 "log checkpoint"
expect_eq "it.example" "$(sed -n 1p "$OUT")" "checkpoint origin line"
[[ $(sed -n 3p "$OUT") =~ ^[A-Za-z0-9+/]{43}=$ ]] ||
	fail "checkpoint line 3: expected a base64 root, got '$(sed -n 3p "$OUT")'"
expect_eq "" "$(sed -n 4p "$OUT")" "checkpoint line 4 is blank"
[[ $(sed -n 5p "$OUT") =~ ^—\ it\.example\ [A-Za-z0-9+/]{91}=$ ]] ||
	fail "checkpoint line 5: expected '— it.example <base64 of 68 bytes>', got '$(sed -n 5p "$OUT")'"
sm --json log entries --count 100000
expect_rc 0 "log entries --json"
expect_json_one "log entries --json"
expect_json "log entries count" 'len(d["entries"]) == '"$size"' and
	[e["index"] for e in d["entries"]] == list(range('"$size"'))'
sm --json log entries --from 2 --count 3
expect_json "log entries --from 2 --count 3" '[e["index"] for e in d["entries"]] == [2, 3, 4]'
sm log entries --count 100001
expect_rc 2 "log entries --count above the cap"
sm log entries --from -1
expect_rc 2 "log entries --from -1"
sm --json log proof "$id1"
expect_rc 0 "log proof --json"
expect_json_one "log proof --json"
expect_json "log proof shape" 'd["tree_size"] == '"$size"' and
	d["checkpoint"].splitlines()[2] == d["root"] and
	[p["event"] for p in d["proofs"]] == ["issue", "amend", "firmware-revoke"] and
	all(len(p["proof"]) > 0 for p in d["proofs"])'
sm --json log verify
expect_rc 0 "log verify"
expect_json "log verify --json" 'd["ok"] is True and d["entries"] == '"$size"' and d["trust_bundles"] == 1'
sm log verify
expect_rc 0 "log verify (text)"
expect_out ", 1 trust bundle, 0 published policies;" "log verify: one trust bundle in the singular"
grep -qE '(^|[^0-9])1 [a-z ]*(bundles|policies|entries|certificates)\b' "$OUT" && fail "log verify: a plural after 1: $(show_out)"
sm log bogus
expect_rc 2 "log bogus"

sm --json trust show
expect_rc 0 "trust show --json"
expect_json_one "trust show --json"
expect_json "trust show shape" 'd["version"] == 1 and len(d["root"]["kid"]) == 16 and
	sorted(k["role"] for k in d["keys"]) == ["issuer", "log", "status"] and
	all(k["not_after"] is None and len(k["kid"]) == 16 for k in d["keys"]) and
	d["log_vkey"].startswith("it.example+")'
old_issuer=$(jget '[k["kid"] for k in d["keys"] if k["role"] == "issuer"][0]')
sm trust export "$T/trust.cose"
expect_rc 0 "trust export"
[ "$(head -c 1 "$T/trust.cose" | od -An -tx1 | tr -d ' ')" = "d2" ] ||
	fail "trust export: expected COSE_Sign1 (tag 18: d2), got $(head -c 4 "$T/trust.cose" | od -An -tx1)"
sm trust export "$T/no/such/dir/t.cose"
expect_rc 4 "trust export to an unwritable path"

############################################################ tokens
sm token create --role issuer --name ci-bot
expect_rc 0 "token create"
tok=$(cat "$OUT")
expect_eq 1 "$(wc -l <"$OUT" | tr -d ' ')" "token create prints one line"
[[ $tok =~ ^[A-Za-z0-9_-]{20,}$ ]] || fail "token create: expected the token alone on stdout, got '$tok'"
sm token create --role auditor --name auditor-1
expect_rc 0 "token create auditor"
refused "token create with a name in use" "ci-bot" -- token create --role issuer --name ci-bot
refused "token create with an unknown role" "admin" -- token create --role admin --name x
sm --json token list
expect_rc 0 "token list --json"
expect_json "token list" 'sorted((t["name"], t["role"]) for t in d["tokens"]) ==
	[("auditor-1", "auditor"), ("ci-bot", "issuer")]'
grep -qF -- "$tok" "$OUT" && fail "token list shows the token itself"
grep -rqF -- "$tok" "$T/reg" && fail "the token is stored in clear in the registry"
sm token revoke ci-bot
expect_rc 0 "token revoke"
refused "token revoke of an unknown name" "ci-bot" -- token revoke ci-bot
sm --json token list
expect_json "token list after revoke" '[t["name"] for t in d["tokens"]] == ["auditor-1"]'

############################################################ key rotation
n_before=$(logsize)
STARMARK_NOW=2024-06-01 sm --json keys rotate issuer
expect_rc 0 "keys rotate issuer"
expect_json_one "keys rotate --json"
new_issuer=$(jget 'd["kid"]')
expect_ne "$old_issuer" "$new_issuer" "rotation gives a new issuer kid"
expect_eq $((n_before + 1)) "$(logsize)" "rotation appends a trust bundle"
STARMARK_NOW=2024-06-02 sm issue --vendor ROT --vendor-name Rot --product After --model R-1 --level 1 \
	--firmware 1.0
expect_rc 0 "issue after rotation"
id_rot=$(cat "$OUT")
STARMARK_NOW=2024-06-03 sm keys rotate log
expect_rc 0 "keys rotate log"
sm --json trust show
expect_json "trust show after rotation" 'd["version"] == 3 and
	[k["not_after"] is not None for k in d["keys"] if k["kid"] == "'"$old_issuer"'"] == [True] and
	[k["not_after"] for k in d["keys"] if k["kid"] == "'"$new_issuer"'"] == [None] and
	len([k for k in d["keys"] if k["role"] == "log"]) == 2'
sm --json log verify
expect_rc 0 "log verify after rotations"
expect_json "log verify after rotations" 'd["ok"] is True and d["trust_bundles"] == 3'
sm --json log proof "$id1"
expect_rc 0 "log proof of an event signed by the old key"
sm --json log proof "$id_rot"
expect_rc 0 "log proof of an event signed by the new key"
sm --json log entries --count 100000
"$PY" - "$OUT" "$old_issuer" "$new_issuer" <<'EOF' || fail "kids of the events around the rotation: see above"
import base64, json, sys
entries = json.load(open(sys.argv[1]))["entries"]
def kid(e):
    b = base64.b64decode(e["data"])
    # tag 18 (d2), array of 4 (84), bstr header; the protected map ends with 4: bstr(8) = 04 48 <8 bytes>
    i = b.index(b"\x04\x48")
    return b[i + 2:i + 10].hex()
kids = [kid(e) for e in entries]
if kids[1] != sys.argv[2] or kids[-2] != sys.argv[3]:
    sys.exit("expected entry 1 signed by %s and the last issue by %s, got %r"
             % (sys.argv[2], sys.argv[3], kids))
EOF

############################################################ passphrase-protected keys
export STARMARK_DB="$T/preg"
printf 'correct horse battery staple\n' >"$T/pass"
printf 'wrong passphrase\n' >"$T/wrong"
: >"$T/emptypass"
chmod 600 "$T/pass" "$T/wrong" "$T/emptypass"
sm init --passphrase-file "$T/pass"
expect_rc 0 "init --passphrase-file"
sm log checkpoint
expect_rc 2 "log checkpoint of a protected registry without the passphrase"
expect_err "passphrase" "log checkpoint names the missing passphrase"
SM_LOG_PASS="$T/pass"
grep -q "ENCRYPTED" "$T"/preg/keys/issuer-*.key ||
	fail "with a passphrase, the key files must be encrypted PEM"
refused "issue without the passphrase" "passphrase" -- issue --vendor PP --vendor-name P --product P \
	--model P-1 --level 1 --firmware 1.0
refused "issue with a wrong passphrase" "wrong passphrase" -- --passphrase-file "$T/wrong" issue --vendor PP \
	--vendor-name P --product P --model P-1 --level 1 --firmware 1.0
refused "keys rotate with a wrong passphrase" "wrong passphrase" -- keys rotate issuer \
	--passphrase-file "$T/wrong"
refused "an empty passphrase file" "empty" -- issue --passphrase-file "$T/emptypass" --vendor PP \
	--vendor-name P --product P --model P-1 --level 1 --firmware 1.0
sm issue --passphrase-file "$T/nopass" --vendor PP --vendor-name P --product P --model P-1 --level 1 \
	--firmware 1.0
expect_rc_in "2 4" "a passphrase file that does not exist"
expect_err "nopass" "a missing passphrase file is named"
STARMARK_PASSPHRASE_FILE="$T/pass" sm issue --vendor PP --vendor-name P --product P --model P-1 --level 1 \
	--firmware 1.0
expect_rc 0 "issue with STARMARK_PASSPHRASE_FILE"
sm issue --passphrase-file "$T/pass" --vendor PP --vendor-name P --product P --model P-2 --level 1 \
	--firmware 1.0
expect_rc 0 "issue with the right passphrase"
sm log verify
expect_rc 0 "log verify needs no passphrase"

unset SM_LOG_PASS

############################################################ damaged stores and keys
export STARMARK_DB="$T/reg"
damaged() { # WHAT DIR — every verb fails with a message, exit 2 or 4, no signal
	local what=$1 dir=$2 v
	for v in "show $id1" "list" "log verify" "log checkpoint" "trust show" \
		"issue --vendor DMG --vendor-name D --product D --model D-1 --level 1 --firmware 1.0"; do
		# shellcheck disable=SC2086
		sm --db "$dir" $v
		expect_rc_in "2 4" "$what: '$v'"
		[ -s "$ERR" ] || fail "$what: '$v' printed no message"
		grep -q "^starmark: " "$ERR" ||
			fail "$what: '$v': expected a 'starmark: ...' message, got $(show_err)"
	done
}
cp -a "$T/reg" "$T/half"
truncate -s $(($(stat -c %s "$T/half/data.mdb") / 2)) "$T/half/data.mdb"
damaged "data.mdb truncated to half" "$T/half"
expect_err "data.mdb" "truncation: the message names the file"
cp -a "$T/reg" "$T/head"
head -c 4096 /dev/urandom | dd of="$T/head/data.mdb" bs=4096 count=1 conv=notrunc status=none
damaged "first 4 KiB of data.mdb random" "$T/head"
cp -a "$T/reg" "$T/zero"
: >"$T/zero/data.mdb"
damaged "data.mdb empty" "$T/zero"
cp -a "$T/reg" "$T/nodata"
rm "$T/nodata/data.mdb"
damaged "data.mdb missing" "$T/nodata"
sm --db "$T/nowhere" list
expect_rc 2 "a registry dir that does not exist"
expect_err "init" "a missing registry suggests init"

cur_issuer=$(basename "$(echo "$T"/reg/keys/issuer-"$new_issuer"*)")
cp -a "$T/reg" "$T/nokey"
rm "$T/nokey/keys/$cur_issuer"
size=$(STARMARK_DB="$T/nokey" logsize)
sm --db "$T/nokey" issue --vendor NK --vendor-name N --product N --model N-1 --level 1 --firmware 1.0
expect_rc_in "2 4" "issue without the issuer key file"
expect_err "$cur_issuer" "a missing key file is named"
expect_eq "$size" "$(STARMARK_DB="$T/nokey" logsize)" "a failed issue changes nothing"
sm --db "$T/nokey" show "$id1"
expect_rc 0 "reading needs no issuer key"
cp -a "$T/reg" "$T/badkey"
echo "not a key" >"$T/badkey/keys/$cur_issuer"
sm --db "$T/badkey" issue --vendor NK --vendor-name N --product N --model N-1 --level 1 --firmware 1.0
expect_rc_in "2 4" "issue with a garbage key file"
expect_err "$cur_issuer" "a garbage key file is named"
cp -a "$T/reg" "$T/swapkey"
cp "$(ls "$T"/swapkey/keys/issuer-"$old_issuer"*)" "$T/swapkey/keys/$cur_issuer"
sm --db "$T/swapkey" issue --vendor NK --vendor-name N --product N --model N-1 --level 1 --firmware 1.0
expect_rc_in "2 4" "issue with another key under the issuer key's name"
expect_err "$cur_issuer" "a wrong key file is named"
cp -a "$T/reg" "$T/nolog"
rm "$T"/nolog/keys/log-*
sm --db "$T/nolog" log checkpoint
expect_rc_in "2 4" "checkpoint without the log key"
expect_err "log-" "the missing log key file is named"

finish
