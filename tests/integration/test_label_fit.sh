#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every model number the contract allows (1 to 64 bytes of printable UTF-8) prints on a label whose
# code two independent readers (zbarimg, ZXingReader) decode at 203 and 300 dpi, in PNG and in SVG and
# PDF sheets rasterised by rsvg-convert and pdftoppm, to a text `label verify` finds genuine; the
# modules are whole pixels at 203, 300 and 600 dpi; a sheet of 100 labels stays under 1 MB (held to
# 500 KB); an output
# name that contradicts the format is refused.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$PY" -c "import PIL" 2>/dev/null || { echo "SKIP: python3-pil is not installed (scripts/setup.sh)"; exit 0; }
for tool in zbarimg ZXingReader rsvg-convert pdftoppm; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup.sh)"; exit 0; }
done
export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
unset STARMARK_TOKEN STARMARK_PASSPHRASE_FILE STARMARK_SERVER
export STARMARK_DB="$T/reg"
export STARMARK_NOW=2024-05-01

# codes IMAGE — what each reader finds, one text a line, sorted: "zbar TEXT" and "zxing TEXT" lines.
# Both look for QR codes only: zbar's 1-D decoders read the bars of a line of condensed capitals (64 'W'
# at 203 dpi) as an Interleaved 2 of 5 "748833".
codes() {
	zbarimg --quiet --raw -Sdisable -Sqrcode.enable "$1" 2>/dev/null | sed 's/^/zbar /'
	ZXingReader -1 -format QRCode "$1" 2>/dev/null | sed -n 's/^[^ ]* QRCode "\(.*\)"$/zxing \1/p'
}

# cells IMAGE DIR — crop each label of a rasterised sheet into DIR and print the crops' names. A label
# is a box of paper: its cut line is ink on all four edges, and the 4 mm gutter between labels is blank.
# ZXingReader (zxing-cpp 1.4) is given a sheet a label at a time: on a page with a grid of more than
# about 4 codes of one size it reads few or none (none of 8 codes at 4 pixels a module; all 8 of the same
# crop scaled to 3/4; every code of any row or column alone). Its QR detector keeps the 256 finder-pattern
# triples nearest a right isosceles triangle, scored in absolute pixels, and a grid of equal codes makes
# thousands of such triples across neighbouring codes: a reader limit, not the labels' (each code has its
# 4-module quiet zone, whole pixels a module, and reads alone and in any row or column of a sheet).
cells() {
	"$PY" - "$1" "$2" <<'PYEOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("L")
ink = im.point(lambda v: 255 if v < 250 else 0)
def runs(flags, at=0):
    out, start = [], None
    for i, f in enumerate(list(flags) + [0]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((at + start, at + i))
            start = None
    return out
stem = sys.argv[1].rsplit("/", 1)[-1].rsplit(".", 1)[0]
for r, (y0, y1) in enumerate(runs(ink.getprojection()[1])):
    for c, (x0, x1) in enumerate(runs(ink.crop((0, y0, im.width, y1)).getprojection()[0])):
        name = "%s/%s-r%dc%d.png" % (sys.argv[2], stem, r, c)
        im.crop((x0 - 8, y0 - 8, x1 + 8, y1 + 8)).save(name)
        print(name)
PYEOF
}

sm init --scheme CCDS --levels 3 --origin registry.example.jp
expect_rc 0 "init"

# The model numbers: every length of a realistic ASCII model 1..64 bytes is too slow to print at two
# resolutions in four ways; a spread with the edges (24 fits version 8, 25 does not), the widest ASCII
# (64 'W'), two-byte and three-byte UTF-8 (32 Cyrillic, 21 kanji: 64 and 63 bytes).
models=$("$PY" - <<'PYEOF'
base = "RUF-E2406SAW-8ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-ABCDEFGHJKLMNPQRSTUVW"
out = [base[:n] for n in (1, 7, 16, 24, 25, 30, 41, 48, 63, 64)]
out += ["W" * 64, "\u0428" * 32, "\u9f8d" * 21, "M-" * 31 + "WW"]
for m in out:
    assert 1 <= len(m.encode()) <= 64, m
    print(m)
PYEOF
)
ids=()
n=0
while IFS= read -r m; do
	n=$((n + 1))
	sm issue --vendor ACME --vendor-name "Acme" --product "ガス給湯器 エコジョーズ $n号" --model "$m" \
		--level $((n % 3 + 1)) --firmware 1.0 --registered 2024-04-15
	expect_rc 0 "issue a certificate of model '$m'"
	ids+=("$(cat "$OUT")")
done <<<"$models"
((${#ids[@]} == 14)) || fail "expected 14 certificates, got ${#ids[@]}"

# verify TEXT WHAT — `label verify` finds the text genuine and in force
verify() {
	sm label verify "$1"
	expect_rc 0 "$2: label verify of the decoded text"
}

############################################################ PNG labels at 203 and 300 dpi
declare -A url
for id in "${ids[@]}"; do
	for dpi in 203 300; do
		sm --json label "$id" --dpi "$dpi" --out "$T/$id-$dpi.png"
		expect_rc 0 "label $id at $dpi dpi"
		url[$id]=$(jget 'd["url"]')
		got=$(codes "$T/$id-$dpi.png")
		expect_eq "$(printf 'zbar %s\nzxing %s' "${url[$id]}" "${url[$id]}")" "$got" "$id at $dpi dpi: both readers read its URL"
	done
	verify "$(codes "$T/$id-300.png" | sed -n 's/^zxing //p')" "$id (ZXingReader)"
done
# the assertions can fail: a text altered by one character is not genuine
first=${url[${ids[0]}]}
bad=${first:0:40}$([ "${first:40:1}" = A ] && echo B || echo A)${first:41}
sm label verify "$bad"
expect_rc_in "1 2" "an altered label text is not genuine"

# the version: 8 at M while the model allows it (24 ASCII bytes here), larger past it, never below M
"$PY" - "$STARMARK_BIN" "${url[${ids[2]}]}" "${url[${ids[4]}]}" "${url[${ids[9]}]}" <<'PYEOF' || fail "QR versions"
import subprocess, sys
def version(text):
    # qrencode (libqrencode's own tool) as the oracle of the version a text needs at M
    svg = subprocess.run(["qrencode", "-l", "M", "-t", "ASCII", "-m", "0", "-o", "-", text],
                         capture_output=True, text=True, check=True).stdout
    return (len(svg.splitlines()) - 17) // 4
v16, v25, v64 = (version(t) for t in sys.argv[2:])
assert v16 <= 8, "a 16-byte model number should stay at version 8, got %d" % v16
assert v25 >= 8 and v64 <= 11, "versions %d (25 bytes), %d (64 bytes)" % (v25, v64)
print("versions at M: 16 bytes %d, 25 bytes %d, 64 bytes %d" % (v16, v25, v64))
PYEOF

############################################################ whole dots at 203, 300 and 600 dpi
for dpi in 203 300 600; do
	for id in "${ids[3]}" "${ids[9]}"; do
		sm label "$id" --dpi "$dpi" --out "$T/dots.png"
		"$PY" - "$T/dots.png" "$dpi" <<'PYEOF' || fail "$id at $dpi dpi: modules are not whole pixels"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
off, idat, hdr = 8, b"", None
while off < len(data):
    n, = struct.unpack(">I", data[off:off + 4])
    kind, body = data[off + 4:off + 8], data[off + 8:off + 8 + n]
    if kind == b"IHDR":
        hdr = body
    if kind == b"IDAT":
        idat += body
    off += 12 + n
w, h = struct.unpack(">II", hdr[:8])
raw, row = zlib.decompress(idat), (w + 3) // 4
def dark(x, y):
    return (raw[y * (row + 1) + 1 + x // 4] >> (6 - 2 * (x % 4))) & 3 < 2
# the finder pattern at the top left: its outer ring is 7 modules, its core 3, both whole pixels
left = int(22.5 * int(sys.argv[2]) / 25.4)  # the code's square ends 22 mm from the left edge
y0 = next(y for y in range(h) if any(dark(x, y) for x in range(left)))
x0 = next(x for x in range(left) if dark(x, y0))
finder = 0
while dark(x0 + finder, y0):
    finder += 1
ring = 0
while dark(x0, y0 + ring):
    ring += 1
m = finder / 7
# along the finder's middle row: dark m, light m, dark 3m, light m, dark m
mid = y0 + int(3.5 * m)
runs, x, cur = [], x0, None
while len(runs) < 6 and x < w:
    d = dark(x, mid)
    if d != cur:
        runs.append(0)
        cur = d
    runs[-1] += 1
    x += 1
assert finder % 7 == 0 and ring == finder, "finder %d x %d px" % (finder, ring)
m = finder // 7
assert runs[:5] == [m, m, 3 * m, m, m], "finder row runs %r, want %r" % (runs[:5], [m, m, 3 * m, m, m])
# quiet zone: 4 modules of paper left of and above the code
assert x0 >= 4 * m and not any(dark(x, y) for x in range(x0 - 4 * m, x0) for y in range(y0, y0 + finder))
assert not any(dark(x, y) for x in range(x0, x0 + finder) for y in range(y0 - 4 * m, y0))
print("%s dpi: %d px a module" % (sys.argv[2], m))
PYEOF
	done
done

############################################################ SVG and PDF sheets, rasterised
want=$(for id in "${ids[@]}"; do printf '%s\n' "${url[$id]}"; done | sort)
for dpi in 203 300; do
	sm label sheet "${ids[@]}" --format svg --dpi "$dpi" --out "$T/sheet-$dpi.svg"
	expect_rc 0 "SVG sheet laid out for $dpi dpi"
	rsvg-convert -d "$dpi" -p "$dpi" -b white -o "$T/svg-$dpi.png" "$T/sheet-$dpi.svg" || fail "rsvg-convert"
	sm label sheet "${ids[@]}" --dpi "$dpi" --out "$T/sheet-$dpi.pdf"
	expect_rc 0 "PDF sheet laid out for $dpi dpi"
	rm -f "$T"/pdf-"$dpi"-*.png
	pdftoppm -r "$dpi" -gray -png "$T/sheet-$dpi.pdf" "$T/pdf-$dpi" || fail "pdftoppm"
	for kind in svg pdf; do
		rm -rf "$T/cells" && mkdir "$T/cells"
		crops=$(for f in "$T/$kind-$dpi"*.png; do cells "$f" "$T/cells"; done)
		got=$(for f in "$T/$kind-$dpi"*.png; do codes "$f"; done | sed -n 's/^zbar //p' | sort)
		expect_eq "$want" "$got" "$kind sheet at $dpi dpi read by zbar: every label's URL once"
		# shellcheck disable=SC2086 # one crop name a word
		got=$(ZXingReader -1 -format QRCode $crops 2>/dev/null | sed -n 's/^[^ ]* QRCode "\(.*\)"$/\1/p' | sort)
		expect_eq "$want" "$got" "$kind sheet at $dpi dpi read by ZXingReader a label at a time: every URL once"
		all=$got
	done
done
for t in $(head -3 <<<"$all"); do verify "$t" "a code of the PDF sheet"; done

############################################################ a sheet of 100 labels stays under 1 MB
# 100 distinct certificates (distinct codes, Japanese product names), model numbers of every length
# 1..64 bytes, ASCII and kanji
"$PY" - >"$T/many.csv" <<'PYEOF'
print("vendor,vendor_name,product,models,level,firmware,registered")
kana = "アイウエオカキクケコサシスセソタチツテトナニヌネノ"
base = "RUF-E2406SAW-8ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-ABCDEFGHJKLMNPQRSTUVW"
for i in range(100):
    model = ("%02d" % i + base)[:1 + i % 64] if i % 4 else ("%02d" % i + "\u9f8d" * 20)[:2 + i % 21]
    print('ACME,Acme,"%s給湯器 %d型",%s,%d,1.0,2024-04-15' % (kana[i % 25] * 3, i, model, i % 3 + 1))
PYEOF
sm --json import "$T/many.csv"
expect_rc 0 "import 100 certificates"
mapfile -t many < <("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
first = int(d["first_id"].rsplit("-", 1)[1])
print("\n".join("SM-2024-%06d" % (first + i) for i in range(d["imported"])))' "$OUT")
((${#many[@]} == 100)) || fail "expected 100 imported certificates, got ${#many[@]}"
for fmt in pdf svg; do
	sm --json label sheet "${many[@]}" --out "$T/hundred.$fmt"
	expect_rc 0 "a $fmt sheet of 100 labels"
	bytes=$(stat -c %s "$T/hundred.$fmt")
	echo "a $fmt sheet of 100 labels: $bytes bytes"
	# the issue's limit is 1 MB; held to half of it, so that a font or a code that bloats shows here
	((bytes < 500000)) || fail "a $fmt sheet of 100 labels should be under 500 KB (the limit is 1 MB), is $bytes bytes"
done
mkdir "$T/hundred"
sm --json label "${many[@]}" --out-dir "$T/hundred"
expect_rc 0 "100 PNG labels"
echo "100 PNG labels, one file each (a sheet is PDF or SVG): $(jget 'd["bytes"]') bytes"

############################################################ an output name that contradicts the format
for args in "--format pdf --out $T/x.png" "--format png --out $T/x.pdf" "--format svg --out $T/x.PDF"; do
	rm -f "$T"/x.*
	sm label "${ids[0]}" $args
	expect_rc 2 "label $args"
	expect_err "names a" "label $args: the refusal names both formats"
	[ -z "$(ls "$T"/x.* 2>/dev/null)" ] || fail "label $args: a refused label must leave no file"
done
sm label sheet "${ids[0]}" --format pdf --out "$T/x.png"
expect_rc 2 "label sheet --format pdf --out x.png"
expect_err "'$T/x.png' names a png file but --format is pdf" "the sheet refusal names both"
sm label sheet "${ids[0]}" --out "$T/x.png"
expect_rc 2 "label sheet --out x.png (a sheet is PDF or SVG)"
sm label sheet "${ids[0]}" --out "$T/x.svg"
expect_rc 0 "label sheet --out x.svg: the extension chooses SVG"
head -c 200 "$T/x.svg" | grep -q '<svg' || fail "label sheet --out x.svg should write an SVG"
sm label "${ids[0]}" --out "$T/x.svg"
expect_rc 0 "label --out x.svg: the extension chooses SVG"
sm label "${ids[0]}" --format pdf --out "$T/x.bin"
expect_rc 0 "an extension that names no format is the user's"

finish
