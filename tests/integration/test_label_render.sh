#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `starmark label` end to end: every format read back by independent tools (zbarimg, rsvg-convert,
# pdftoppm, pdfinfo, Python), the printed size, --ec, refusals, and A4 sheets.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in zbarimg rsvg-convert pdftoppm pdfinfo; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 0; }
done

# sanitizer builds: tests/lsan.supp (fontconfig, cairo's PDF subsetting; set by tests/integration/CMakeLists.txt)
# matches cairo's PDF leak only with whole stacks
export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

unset STARMARK_TOKEN STARMARK_PASSPHRASE_FILE STARMARK_SERVER
export STARMARK_DB="$T/reg"
export STARMARK_NOW=2024-05-01

# decode FILE — the codes zbarimg finds, one a line
decode() { zbarimg --quiet --raw "$1" 2>/dev/null; }

# png_facts FILE CODE_MM — "dpi=N code_px=W want_px=X module_px=M modules=K" read by Python alone:
# chunks and CRCs, the pHYs resolution, the pixels (zlib), the code's ink box plus its quiet zone.
png_facts() {
	"$PY" - "$1" "$2" <<'PYEOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
off, chunks, idat = 8, {}, b""
while off < len(data):
    n, = struct.unpack(">I", data[off:off + 4])
    kind, body = data[off + 4:off + 8], data[off + 8:off + 8 + n]
    crc, = struct.unpack(">I", data[off + 8 + n:off + 12 + n])
    assert zlib.crc32(kind + body) & 0xffffffff == crc, "bad CRC in %r" % kind
    chunks[kind] = body
    if kind == b"IDAT":
        idat += body
    off += 12 + n
w, h, depth, ctype = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
ppx, ppy, unit = struct.unpack(">IIB", chunks[b"pHYs"])
assert unit == 1 and ppx == ppy, "pHYs %r" % ((ppx, ppy, unit),)
dpi = round(ppx * 0.0254)
assert depth == 2 and ctype == 0, "expected 2-bit grey, got depth %d type %d" % (depth, ctype)
raw, row = zlib.decompress(idat), (w + 3) // 4
assert len(raw) == h * (row + 1), "%d bytes of scanlines, want %d" % (len(raw), h * (row + 1))
def dark(x, y):
    line = raw[y * (row + 1):(y + 1) * (row + 1)]
    assert line[0] == 0
    return (line[1 + x // 4] >> (6 - 2 * (x % 4))) & 3 < 2  # grey 0..3: black, dark grey
cols = [any(dark(x, y) for y in range(h)) for x in range(w)]
x0 = cols.index(True)
x1, clean = x0, 0
for x in range(x0, w):  # the code ends where a gap of clean columns begins (the text is beyond)
    if cols[x]:
        x1, clean = x + 1, 0
    else:
        clean += 1
        if clean > dpi / 25.4 * 1.0:
            break
# the text beside the code is drawn, not copied: a bug repeated each module band's first pixel row
# across the whole width and cut strokes off small text (hyphens of the registration number)
text_rows = {raw[y * (row + 1) + 1 + (x1 + 3) // 4:(y + 1) * (row + 1)] for y in range(h)}
assert len(text_rows) >= 0.45 * h, "the text area has %d distinct rows of %d: rows copied over it?" % (len(text_rows), h)
rows = [y for y in range(h) if any(dark(x, y) for x in range(x0, x1))]
y0, y1 = rows[0], rows[-1] + 1
fx = x0
while dark(fx, y0):
    fx += 1
module = (fx - x0) / 7.0  # the finder pattern is 7 modules wide
modules = round((x1 - x0) / module)
want = float(sys.argv[2]) * dpi / 25.4
assert fx - x0 == 7 * round(module), "a module of %.2f px is not whole pixels" % module
code = (x1 - x0) + 8 * module
print("dpi=%d code_px=%.1f height_px=%.1f want_px=%.1f module_px=%.2f modules=%d" %
      (dpi, code, (y1 - y0) + 8 * module, want, module, modules))
PYEOF
}

# within WANT GOT TOL
within() { "$PY" -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - float(sys.argv[2])) <= float(sys.argv[3]) else 1)' "$@"; }

fact() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

############################################################ a registry with two certificates
sm init --scheme CCDS --levels 3 --origin registry.example.jp
expect_rc 0 "init"
sm issue --vendor RINNAI --vendor-name "Rinnai Corporation" --product "ガス給湯器 エコジョーズ" \
	--model RUF-E2406SAW --model RUF-E2406AW --level 2 --firmware ">=1.0 <2.0" --registered 2024-04-01 \
	--expires 2027-03-31
expect_rc 0 "issue"
id1=$(cat "$OUT")
sm issue --vendor ACME --vendor-name "Acme Inc" --product "Smart Lock" --model AL-100 --level 3 \
	--firmware 4.2.0 --registered 2024-04-15
expect_rc 0 "issue 2"
id2=$(cat "$OUT")
long_model=WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW-MMMMM # 64 bytes
sm issue --vendor ACME --vendor-name "Acme Inc" --product "Camera" --model "$long_model" --level 1 \
	--firmware 1.0 --registered 2024-04-20
expect_rc 0 "issue 3 (a long model number)"
id3=$(cat "$OUT")

############################################################ PNG
sm --json label "$id1" --format png --out "$T/a.png"
expect_rc 0 "label png"
expect_json "label png --json" 'd["format"] == "png" and d["id"] == "'"$id1"'" and d["model"] == "RUF-E2406SAW"'
url1=$(jget 'd["url"]')
[[ $url1 =~ ^HTTPS://REGISTRY\.EXAMPLE\.JP/L/[A-Z2-7]+$ ]] || fail "label: expected an upper-case label URL, got '$url1'"
expect_eq "$url1" "$(decode "$T/a.png")" "zbarimg reads the PNG's exact URL"

facts=$(png_facts "$T/a.png" 20)
expect_eq 300 "$(fact dpi "$facts")" "the PNG's pHYs says 300 dpi ($facts)"
within "$(fact want_px "$facts")" "$(fact code_px "$facts")" "$(($(fact modules "$facts") + 8))" ||
	fail "PNG: the code with its quiet zone should be 20 mm = $(fact want_px "$facts") px within a pixel a module: $facts"
within "$(fact code_px "$facts")" "$(fact height_px "$facts")" 0.01 ||
	fail "PNG: the code should be as tall as wide: $facts"
m_modules=$(fact modules "$facts")
((m_modules <= 49)) || fail "a real label URL should stay at QR version 8 (49 modules) or below at M, got $m_modules modules"

sm label "$id1" --out "$T/b.png" --size-mm 30 --dpi 600 --model RUF-E2406AW
expect_rc 0 "label png 30 mm 600 dpi"
facts=$(png_facts "$T/b.png" 30)
expect_eq 600 "$(fact dpi "$facts")" "pHYs says 600 dpi"
within "$(fact want_px "$facts")" "$(fact code_px "$facts")" "$(($(fact modules "$facts") + 8))" ||
	fail "PNG 30 mm at 600 dpi: expected $(fact want_px "$facts") px within a pixel a module: $facts"
sm --json label "$id1" --model RUF-E2406AW --format zpl --out "$T/ignored.zpl"
url1b=$(jget 'd["url"]')
expect_eq "$url1b" "$(decode "$T/b.png")" "the second model's label carries its own URL"
expect_ne "$url1" "$url1b" "two models, two URLs"

############################################################ --ec H: a bigger version, still the same URL
sm label "$id1" --ec H --out "$T/h.png"
expect_rc 0 "label --ec H"
expect_eq "$url1" "$(decode "$T/h.png")" "zbarimg reads the --ec H code"
h_modules=$(fact modules "$(png_facts "$T/h.png" 20)")
((h_modules > m_modules)) || fail "--ec H should make a bigger version: $h_modules modules, M had $m_modules"
sm label "$id1" --ec X --out "$T/x.png"
expect_rc 2 "--ec X"
expect_err "--ec must be L, M, Q or H" "--ec X"

############################################################ SVG and PDF through Debian's rasterisers
sm label "$id1" --format svg --out "$T/a.svg"
expect_rc 0 "label svg"
grep -q 'width="55mm" height="24mm"' "$T/a.svg" || fail "SVG: expected width=\"55mm\" height=\"24mm\""
rsvg-convert -d 300 -p 300 -o "$T/svg.png" "$T/a.svg" || fail "rsvg-convert failed"
expect_eq "$url1" "$(decode "$T/svg.png")" "zbarimg reads the SVG rasterised by rsvg-convert"

sm label "$id1" --out "$T/a.pdf"
expect_rc 0 "label pdf (format from the extension)"
expect_eq "155.906 x 68.0315 pts" "$(pdfinfo "$T/a.pdf" | sed -n 's/^Page size: *//p')" "PDF page is 55 x 24 mm"
pdftoppm -r 300 -png -singlefile "$T/a.pdf" "$T/pdf" || fail "pdftoppm failed"
expect_eq "$url1" "$(decode "$T/pdf.png")" "zbarimg reads the PDF rasterised by pdftoppm"

############################################################ ZPL
sm label "$id2" --format zpl --dpi 203 --out "$T/a.zpl"
expect_rc 0 "label zpl"
sm --json label "$id2" --format png --out "$T/c.png"
url2=$(jget 'd["url"]')
"$PY" - "$T/a.zpl" "$url2" <<'PYEOF' || fail "ZPL checks"
import re, sys
z, url = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2]
assert z.startswith("^XA") and z.rstrip().endswith("^XZ"), "not framed by ^XA ... ^XZ"
assert z.count("^XA") == 1 and z.count("^XZ") == 1, "one label per format"
bq = re.findall(r"\^BQN,2,(\d+)\^FD(.*?)\^FS", z)
assert len(bq) == 1, "expected one ^BQ field, got %r" % bq
assert bq[0][1] == "MA," + url, "QR field data %r is not MA,<url>" % bq[0][1][:60]
assert 1 <= int(bq[0][0]) <= 10
assert "^FDLv.3 ***^FS" in z and "^FDAL-100^FS" in z, "stars and model as printer text"
assert "^PW" in z and "^LL" in z
PYEOF

############################################################ refusals
rm -f "$T/long.png"
sm --json label "$id3" --out "$T/long.png"
expect_rc 0 "a 64-byte model number prints (two lines, a wider label)"
expect_eq "$(jget 'd["url"]')" "$(decode "$T/long.png")" "zbarimg reads the long model's label"
rm -f "$T/long.png"
sm label "$id3" --out "$T/long.png" --size-mm 10 --dpi 150
expect_rc 2 "a code that gets less than a dot a module"
expect_err "needs at least" "the refusal says why"
[ ! -e "$T/long.png" ] || fail "a refused label must not leave a file"
sm label SM-2024-999999 --out "$T/none.png"
expect_rc 2 "unknown certificate"
sm label "$id1" --model NOPE --out "$T/none.png"
expect_rc 2 "unknown model"
expect_err "NOPE" "unknown model named"
sm label "$id1" --format gif --out "$T/a.gif"
expect_rc 2 "--format gif"
sm label "$id1" --size-mm 5 --out "$T/a.png"
expect_rc 2 "--size-mm 5"
expect_err "--size-mm" "--size-mm named"
sm label "$id1" --format zpl --dpi 250 --out "$T/a.zpl"
expect_rc 2 "ZPL at 250 dpi"
expect_err "250" "the dpi named"
sm label
expect_rc 2 "label without an id"

############################################################ sheets
sm label sheet "$id1" "$id2" --per-id 4 --out "$T/sheet.pdf"
expect_rc 0 "label sheet"
expect_eq "595.276 x 841.89 pts (A4)" "$(pdfinfo "$T/sheet.pdf" | sed -n 's/^Page size: *//p')" "sheet is A4"
pdftoppm -r 300 -png -f 1 -l 1 -singlefile "$T/sheet.pdf" "$T/sheet" || fail "pdftoppm sheet failed"
decode "$T/sheet.png" | sort >"$T/sheet.codes"
printf '%s\n' "$url1" "$url1" "$url1" "$url1" "$url2" "$url2" "$url2" "$url2" | sort >"$T/sheet.want"
cmp -s "$T/sheet.want" "$T/sheet.codes" ||
	fail "sheet page 1: expected each URL 4 times, zbarimg read: $(tr '\n' ' ' <"$T/sheet.codes" | head -c 400)"

sm --json label sheet "$id2" --per-id 61 --out "$T/sheet61.pdf"
expect_rc 0 "label sheet of 61"
expect_json "sheet --json" 'd["labels"] == 61 and d["format"] == "pdf"'
expect_eq 3 "$(pdfinfo "$T/sheet61.pdf" | sed -n 's/^Pages: *//p')" "30 labels a page: 61 make 3 pages"
sm label sheet "$id1" "$id3" --out "$T/bad.pdf" --size-mm 10 --dpi 150
expect_rc 2 "a sheet with a label that does not fit"
expect_err "labels[1]" "the failing label is named by its place"
sm label sheet "$id1"
expect_rc 2 "sheet without --out"
sm label sheet "$id1" --per-id 0 --out "$T/x.pdf"
expect_rc 2 "--per-id 0"

############################################################ many labels, one file per certificate
mkdir -p "$T/many"
sm --json label "$id1" "$id2" --out-dir "$T/many"
expect_rc 0 "label ID ID --out-dir"
expect_json "label --out-dir --json" 'd["labels"] == 2 and d["format"] == "png" and d["bytes"] > 2000'
for id in "$id1" "$id2"; do
	[ -s "$T/many/$id.png" ] || fail "label --out-dir: no $id.png"
	got=$(decode "$T/many/$id.png")
	sm label verify "$got"
	expect_rc 0 "the batch label of $id verifies offline"
	grep -q "$id" "$OUT" || fail "label verify of $id's batch label should name $id: $(cat "$OUT")"
done
mkdir -p "$T/one"
sm label "$id1" --out-dir "$T/one"
expect_rc 0 "label ID --out-dir, one id"
expect_err "wrote 1 label to $T/one/" "one label written: in the singular"
sm label "$id1" "$id2" --out-dir "$T/many" --format zpl
expect_rc 0 "label --out-dir --format zpl"
grep -q '^\^XA' "$T/many/$id2.zpl" || fail "label --out-dir --format zpl: $id2.zpl is not ZPL"
mkdir -p "$T/many2"
# the label that does not fit comes last, after others have rendered on the other processor
sm label "$id1" "$id2" "$id3" --out-dir "$T/many2" --size-mm 10 --dpi 150
expect_rc 2 "a batch with a label that does not fit"
expect_err "labels[2] ($id3)" "the failing label is named by its place and id"
sm label "$id1" SM-2024-999999 --out-dir "$T/many2"
expect_rc 2 "a batch with an unknown id"
[ -z "$(ls -A "$T/many2")" ] || fail "a failed batch should write nothing, found: $(ls -A "$T/many2" | tr '\n' ' ')"
sm label "$id1" "$id2" "$id1" --out-dir "$T/many2"
expect_rc 2 "an id given twice"
expect_err "$id1 is given twice" "the repeated id is named"
mkdir "$T/many2/.$id2.png.partial"  # a file that cannot be written, even by root
sm label "$id1" "$id2" --out-dir "$T/many2"
expect_rc 4 "a label file that cannot be written"
expect_err "cannot write $T/many2/.$id2.png.partial" "the file that failed is named"
rmdir "$T/many2/.$id2.png.partial"
[ -z "$(ls -A "$T/many2")" ] || fail "a batch that failed to write should leave nothing, found: $(ls -A "$T/many2" | tr '\n' ' ')"
sm label "$id1" --out-dir "$T/nowhere"
expect_rc 2 "--out-dir that does not exist"
expect_err "not a directory" "--out-dir named"
sm label "$id1" "$id2" --out-dir "$T/many" --model RUF-E2406AW
expect_rc 2 "--model with several ids"
sm label "$id1" --out "$T/x.png" --out-dir "$T/many"
expect_rc 2 "--out and --out-dir"

finish
