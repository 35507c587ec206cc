#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A home checked against fixed answers (tests/tools/home_report_driver, home_stub.c): its JSON view
# against a golden file, and its hand-over report as PDF read back by poppler (pdfinfo, pdftotext,
# pdftoppm) in both languages: A4, every device's model, the home's level in stars, the evidence, and a
# home of 200 devices over several pages with the table's header and "n / N" on each.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DRIVER=${HOME_REPORT_DRIVER:?set HOME_REPORT_DRIVER to tests/tools/home_report_driver}
DATA="$SM_SOURCE_DIR/tests/data/home"

# sanitizer builds: cairo's PDF subsetting leak is matched with whole stacks (tests/lsan.supp)
export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

# the JSON view (`home check --json`) of the sample home, as it was before the report existed
"$DRIVER" "$DATA/home.json" --json >"$OUT" 2>"$ERR"
RC=$?
expect_rc 0 "the sample home checks"
CHECKS=$((CHECKS + 1))
diff -u "$DATA/home_check.json" "$OUT" >"$T/diff" || fail "the JSON view changed: $(head -c 1500 "$T/diff")"

for tool in pdfinfo pdftotext pdftoppm; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (poppler-utils: scripts/setup.sh)"; finish; }
done

# report HOME FILE ARGS... — write the report; exit code in $RC
report() {
	local home=$1 file=$2
	shift 2
	"$DRIVER" "$home" --report "$file" "$@" >"$OUT" 2>"$ERR"
	RC=$?
}

# pdf_text FILE — the text in content order, its lines joined: a value wrapped in a table cell is whole again
pdf_text() { pdftotext -raw "$1" - | tr -d '\n'; }

pages() { pdfinfo "$1" | sed -n 's/^Pages: *//p'; }

# expect_models HOME TEXTFILE WHAT — every device's model of HOME is in the text
expect_models() {
	CHECKS=$((CHECKS + 1))
	local missing
	missing=$("$PY" -c 'import json,sys
h = json.load(open(sys.argv[1], encoding="utf-8"))
t = open(sys.argv[2], encoding="utf-8").read()
print(" ".join(d["model"] for d in h["devices"] if d["model"] not in t))' "$1" "$2")
	[ -z "$missing" ] || fail "$3: models not found in the PDF's text: $(echo "$missing" | head -c 300)"
}

# expect_clean_margins PDF WHAT — every page has ink, none of it in the outer 7 mm (half the margin): nothing
# spills off the page or out of the table
expect_clean_margins() {
	CHECKS=$((CHECKS + 1))
	rm -f "$T"/page-*.pgm
	pdftoppm -gray -r 40 "$1" "$T/page" || { fail "$2: pdftoppm could not rasterise it"; return; }
	local r
	r=$("$PY" -c 'import glob,sys
bad = []
files = sorted(glob.glob(sys.argv[1] + "/page-*.pgm"))
for f in files:
    d = open(f, "rb").read()
    parts = d.split(maxsplit=4)
    w, h, px = int(parts[1]), int(parts[2]), parts[4][-(int(parts[1]) * int(parts[2])):]
    band = round(7 / 25.4 * 40)
    ink = sum(1 for b in px if b < 128)
    edge = sum(1 for y in range(h) for x in range(w)
               if (x < band or x >= w - band or y < band or y >= h - band) and px[y * w + x] < 128)
    if ink < 200 or edge:
        bad.append("%s: %d dark pixels, %d in the outer band" % (f.rsplit("/", 1)[1], ink, edge))
print("no pages" if not files else "; ".join(bad))' "$T")
	[ -z "$r" ] || fail "$2: $r"
}

# --- the sample home: every verdict, missing and unplanned devices, the evidence ---
for lang in ja en; do
	pdf="$T/home-$lang.pdf"
	report "$DATA/home.json" "$pdf" --lang "$lang"
	expect_rc 0 "the $lang report of the sample home"
	[ -f "$pdf" ] || { fail "no $lang report written"; continue; }
	CHECKS=$((CHECKS + 1))
	pdfinfo "$pdf" | grep -q '^Page size: *595.28 x 841.89 pts (A4)' ||
		fail "the $lang report is not A4: $(pdfinfo "$pdf" | grep 'Page size')"
	CHECKS=$((CHECKS + 1))
	pdffonts "$pdf" 2>/dev/null | grep -q 'BIZUDGothic-Regular' || fail "the $lang report does not embed BIZ UDGothic"
	pdf_text "$pdf" >"$T/text"
	expect_models "$DATA/home.json" "$T/text" "the $lang report of the sample home"
	expect_clean_margins "$pdf" "the $lang report of the sample home"
	for s in "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" "4242" "GM-2024-0703" "グランメゾン武蔵小杉" "★★★" "★★☆"; do
		CHECKS=$((CHECKS + 1))
		grep -qF -- "$s" "$T/text" || fail "the $lang report should show '$s'"
	done
done
# phrases of running text: compared without white space, since a line may break at any space
nows() { tr -d ' \n'; }
for s in "引き渡し報告書" "住戸のレベル" "不可" "注意" "不明" "可" "誰でも後日、この日に登録簿が何を示していたかを証明できます" \
	"ファームウェア（1.0）を認証の対象のバージョン（>=2.0）に更新してください"; do
	CHECKS=$((CHECKS + 1))
	grep -qF -- "$(nows <<<"$s")" <(pdf_text "$T/home-ja.pdf" | nows) || fail "the Japanese report should show '$s'"
done
for s in "Hand-over report" "The home's level" "allowed" "warning" "denied" "unknown" \
	"anyone can later prove what the registry said on that day" "update the firmware (1.0) to a covered version"; do
	CHECKS=$((CHECKS + 1))
	grep -qF -- "$(nows <<<"$s")" <(pdf_text "$T/home-en.pdf" | nows) || fail "the English report should show '$s'"
done

# --- a home of 200 devices: several pages, the header and the page number on each, every model ---
"$PY" - "$T/big.json" <<'PYEOF'
import json, sys
rooms = ["リビング・ダイニング・キッチン", "主寝室（ウォークインクローゼット付き）", "玄関", "洋室（北）", "浴室"]
cats = ["lock", "camera", "sensor", "aircon", "water-heater"]
devs = [{"id": "dev-%03d" % i, "room": rooms[i % 5], "category": cats[i % 5], "vendor": "VENDOR%d" % (i % 7),
         "model": "MD-%04d-%s" % (i, "L3" if i % 3 else "L2"), "firmware": "2.%d" % (i % 10),
         "planned": True, "installed": True} for i in range(200)]
json.dump({"home": "BIG-200", "name": "大規模マンション 共用部と全住戸の機器", "devices": devs},
          open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)
PYEOF
for lang in ja en; do
	pdf="$T/big-$lang.pdf"
	report "$T/big.json" "$pdf" --lang "$lang"
	expect_rc 0 "the $lang report of 200 devices"
	[ -f "$pdf" ] || { fail "no $lang report of 200 devices written"; continue; }
	n=$(pages "$pdf")
	CHECKS=$((CHECKS + 1))
	[ "${n:-0}" -gt 1 ] || fail "200 devices should take more than one page, took ${n:-?}"
	# the fonts are subset to the glyphs used (Noto CJK's CFF was embedded nearly whole: about 1 MB)
	CHECKS=$((CHECKS + 1))
	[ "$(stat -c %s "$pdf")" -lt 300000 ] || fail "the $lang report of 200 devices is $(stat -c %s "$pdf") bytes, not under 300 KB"
	pdf_text "$pdf" >"$T/text"
	expect_models "$T/big.json" "$T/text" "the $lang report of 200 devices"
	CHECKS=$((CHECKS + 1))
	grep -qF "★★☆" "$T/text" || fail "the $lang report should show the home's level ★★☆"
	[ "$lang" = ja ] && header="判定と理由" || header="Verdict and reason"
	[ "$lang" = ja ] && level="レベル2" || level="level 2"
	CHECKS=$((CHECKS + 1))
	grep -qF "$level" "$T/text" || fail "the $lang report should say the home's level in words ($level)"
	for ((p = 1; p <= ${n:-0}; p++)); do
		pdftotext -raw -f "$p" -l "$p" "$pdf" "$T/page.txt"
		CHECKS=$((CHECKS + 1))
		grep -qF "$p / $n" "$T/page.txt" || fail "page $p of the $lang report should be numbered '$p / $n'"
		# the table runs over every page but the last ones (the actions and the evidence follow it)
		if grep -q 'dev-' "$T/page.txt"; then
			CHECKS=$((CHECKS + 1))
			grep -qF "$header" "$T/page.txt" || fail "page $p of the $lang report should repeat the table's header"
		fi
	done
	expect_clean_margins "$pdf" "the $lang report of 200 devices"
done

# what cannot be written leaves nothing
mkdir "$T/ro" "$T/ro/r.pdf"
report "$DATA/home.json" "$T/ro/r.pdf"
expect_rc 1 "a report over a directory"
expect_err "cannot write $T/ro/r.pdf" "the report's path is named"
CHECKS=$((CHECKS + 1))
[ "$(ls -A "$T/ro")" = "r.pdf" ] || fail "a report that could not be written should leave nothing, found: $(ls -A "$T/ro" | tr '\n' ' ')"
report "$DATA/home.json" "$T/r.docx"
expect_rc 1 "a report of another format"
expect_err "must be a .html or a .pdf file" "the extension is explained"

finish
