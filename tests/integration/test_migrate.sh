# SPDX-License-Identifier: Apache-2.0
# Migration (issue 11): a scheme's published list, in the shape of CCDS's, moves in with its own
# registration numbers (scheme_ref), its revoked and suspended rows with their reasons and dates; then
# export -> import into a fresh registry reproduces every certificate field by field, CSV and JSONL.
# With STARMARK_OLD_BIN (a starmark built before scheme_ref), a registry it made still verifies, reads and
# migrates.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

unset STARMARK_TOKEN STARMARK_PASSPHRASE_FILE STARMARK_SERVER STARMARK_DB
export STARMARK_NOW=2025-04-01

# CCDS's list gives its registration number, the company, the product, the model numbers, the level as
# stars, the dates; a certificate withdrawn or suspended says so with the date and why.
cat >"$T/ccds.csv" <<'EOF'
scheme_ref,vendor,vendor_name,product,models,level,firmware,registered,expires,status,status_reason,status_date,firmware_revoked,firmware_revoked_reason,firmware_revoked_date
CCDS-IoT-2022-0001,RINNAI,リンナイ株式会社,"無線LAN対応リモコン, 新型",MC-301V;MC-302V,★★,>=1.0 <2.0,2022-03-01,2026-02-28,active,,,,,
CCDS-IoT-2022-0002,SECOM,セコム株式会社,ホームセキュリティ コントローラ,HS-9,★★★,>=3.0,2022-04-15,2027-04-14,revoked,脆弱性が修正されなかったため,2023-11-30,,,
CCDS-IoT-2022-0003,ACME,アクメ株式会社,スマートロック,SL-100;SL-200,★,>=1.0 <3.0,2022-05-20,2025-05-19,suspended,調査中,2024-08-01,1.5,CVE-2024-0001,2024-02-10
CCDS-IoT-2023-0004,=CMD,=1+1,=HYPERLINK(x),-M-1,Lv.2,1.0,2023-01-10,,active,,,,,
CCDS-IoT-2023-0005,IRIS,アイリスオーヤマ,ネットワークカメラ,IC-1,2,>=1.0,2023-02-01,2024-01-31,expired,,,,,
EOF
# (=CMD is not a vendor code: that row is refused, naming the line and column)

sm init --db "$T/a" --scheme CCDS --levels 3 --origin a.example
expect_rc 0 "init a"
sm import "$T/ccds.csv" --db "$T/a"
expect_rc 2 "a bad vendor code refuses the whole file"
expect_err "ccds.csv:5: vendor" "the bad row named by line and column"
sed -i 's/^CCDS-IoT-2023-0004,=CMD,/CCDS-IoT-2023-0004,CMD,/' "$T/ccds.csv"
sm import "$T/ccds.csv" --db "$T/a"
expect_rc 0 "import the scheme's list"
expect_err "ccds.csv:5: warning: vendor_name '=1+1' starts with '='" "a formula cell is warned about"
expect_err "ccds.csv:5: warning: models" "every formula cell is warned about"
# the summary is one line (it used to break after ".."), a range per year (not SM-2022-000001 .. SM-2023-000005:
# SM-2022-000004 is none of them)
CHECKS=$((CHECKS + 1))
grep -qx 'imported 5 of 5 rows: SM-2022-000001 .. SM-2022-000003, SM-2023-000004 .. SM-2023-000005' "$ERR" ||
	fail "the import summary on one line, a range per year: $(show_err)"

sm --json show SM-2022-000002 --db "$T/a"
expect_rc 0 "show the revoked one"
expect_eq "CCDS-IoT-2022-0002" "$(jget 'd["scheme_ref"]')" "scheme_ref kept"
expect_eq "revoked" "$(jget 'd["status"]')" "status revoked"
expect_eq '["issue", "revoke"]' "$(jget '[h["event"] for h in d["history"]]')" "history of the revoked one"
expect_eq '["2022-04-15T00:00:00Z", "2023-11-30T00:00:00Z"]' "$(jget '[h["at"] for h in d["history"]]')" \
	"the history is dated by the list, not by the import"
expect_eq "脆弱性が修正されなかったため" "$(jget 'd["history"][1]["reason"]')" "the reason kept"
sm --json show SM-2022-000003 --db "$T/a"
expect_eq "suspended" "$(jget 'd["status"]')" "status suspended"
expect_eq '["1.5"]' "$(jget 'd["firmware"]["revoked"]')" "revoked firmware kept"
expect_eq '["issue", "firmware-revoke", "suspend"]' "$(jget '[h["event"] for h in d["history"]]')" "its history"
sm --json show SM-2023-000005 --db "$T/a"
expect_eq "expired" "$(jget 'd["status"]')" "an expired row"
# the scheme's number is searchable, in any width
sm --json search "ccds-iot-2022-0003" --db "$T/a"
expect_eq '["SM-2022-000003"]' "$(jget '[c["id"] for c in d["certificates"]]')" "search by scheme_ref"
sm --json search "ＣＣＤＳ－ＩｏＴ－２０２２－０００１" --db "$T/a"
expect_eq '["SM-2022-000001"]' "$(jget '[c["id"] for c in d["certificates"]]')" "search by full-width scheme_ref"
sm show SM-2022-000001 --db "$T/a"
expect_out "scheme ref    CCDS-IoT-2022-0001" "show prints scheme_ref"
sm log verify --db "$T/a"
expect_rc 0 "log verify after a migration"

# ---- export -> import into fresh registries: the same certificates, field by field ----
sm export --format csv --db "$T/a" --out "$T/a.csv"
expect_rc 0 "export csv"
sm export --format jsonl --db "$T/a" --out "$T/a.jsonl"
expect_rc 0 "export jsonl"
CHECKS=$((CHECKS + 1))
grep -q ",'=1+1,'=HYPERLINK(x),'-M-1," "$T/a.csv" || fail "export neutralises formula cells: $(grep CMD "$T/a.csv")"
for fmt in csv jsonl; do
	sm init --db "$T/b-$fmt" --scheme CCDS --levels 3 --origin b.example
	STARMARK_NOW=2025-04-02 sm import "$T/a.$fmt" --db "$T/b-$fmt"
	expect_rc 0 "import the $fmt export"
	CHECKS=$((CHECKS + 1))
	grep -q "warning" "$ERR" && fail "$fmt: an export imports without warnings: $(show_err)"
	sm export --format "$fmt" --db "$T/b-$fmt" --out "$T/b.$fmt"
	CHECKS=$((CHECKS + 1))
	cmp -s "$T/a.$fmt" "$T/b.$fmt" || fail "$fmt: the export of the migrated registry differs: $(diff "$T/a.$fmt" "$T/b.$fmt" | head -5)"
	sm export --format jsonl --db "$T/b-$fmt" --out "$T/b.jsonl"
	"$PY" - "$T/a.jsonl" "$T/b.jsonl" <<'EOF' || fail "$fmt: certificates differ field by field"
import json, sys
def load(p):
    out = {}
    for line in open(p, encoding="utf-8"):
        c = json.loads(line)
        for h in c["history"]:
            del h["log_index"]  # the new log is another log
        out[c["id"]] = c
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys(), (sorted(a), sorted(b))
for k in a:
    for f in a[k]:
        assert a[k][f] == b[k][f], (k, f, a[k][f], b[k][f])
EOF
	sm log verify --db "$T/b-$fmt"
	expect_rc 0 "$fmt: log verify of the migrated registry"
	# the counter moved past the kept ids
	sm --json issue --db "$T/b-$fmt" --vendor NEW --vendor-name New --product P --model N-1 --level 1 --firmware 1.0 \
		--registered 2025-03-01 --scheme-ref R-1
	expect_rc 0 "$fmt: issue after the migration"
	expect_eq "SM-2025-000006" "$(jget 'd["id"]')" "$fmt: the next id follows the kept ones"
	expect_eq "R-1" "$(jget 'd["scheme_ref"]')" "$fmt: issue --scheme-ref"
done

# ---- refusals name the row and the column; nothing is written ----
printf 'id,vendor,vendor_name,product,models,level,firmware,registered\nCCDS-1,A,A,P,M,1,1.0,2022-01-01\nSM-2022-000002,A,A,P,M2,1,1.0,2022-01-01\n' >"$T/ids.csv"
sm import "$T/ids.csv" --db "$T/a"
expect_rc 2 "ids of another form or used"
expect_err "ids.csv:2: id 'CCDS-1' is not an id of this registry" "a foreign id named"
expect_err "ids.csv:3: id SM-2022-000002: its serial is used already" "a used id named"

# ---- a registry of the release before scheme_ref ----
if [ -n "${STARMARK_OLD_BIN:-}" ] && [ -x "$STARMARK_OLD_BIN" ]; then
	O=$STARMARK_OLD_BIN
	"$O" init --db "$T/old" --scheme CCDS --levels 3 --origin old.example >/dev/null 2>&1
	"$O" issue --db "$T/old" --vendor OLD --vendor-name Old --product P --model O-1 --level 2 --firmware '>=1.0' \
		--registered 2024-01-01 >/dev/null 2>&1
	"$O" firmware-revoke --db "$T/old" SM-2024-000001 1.2 --reason CVE >/dev/null 2>&1
	"$O" revoke --db "$T/old" SM-2024-000001 --reason gone >/dev/null 2>&1
	sm log verify --db "$T/old"
	expect_rc 0 "an old registry verifies"
	sm --json show SM-2024-000001 --db "$T/old"
	expect_eq "revoked" "$(jget 'd["status"]')" "an old registry reads"
	expect_eq "null" "$(jget 'd["scheme_ref"]')" "no scheme_ref in an old record"
	sm issue --db "$T/old" --vendor OLD --vendor-name Old --product P --model O-2 --level 1 --firmware 1.0
	expect_rc 0 "the new binary writes to an old registry"
	sm log verify --db "$T/old"
	expect_rc 0 "and it still verifies"
	sm export --format jsonl --db "$T/old" --out "$T/old.jsonl"
	sm init --db "$T/old2" --scheme CCDS --levels 3 --origin old2.example
	sm import "$T/old.jsonl" --db "$T/old2"
	expect_rc 0 "an old registry migrates"
fi

echo "test_migrate: $CHECKS checks, $FAILS failures"
[ "$FAILS" = 0 ]
