# SPDX-License-Identifier: Apache-2.0
# Search with width and kana folding through the real CLI and starmarkd; a registry whose index was built
# with the first fold; the open-data downloads /v1/certs.csv and /v1/certs.jsonl against `starmark export`.
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smcheck import BIN, Server, check, cli, finish  # noqa: E402

NOW = "2026-11-21"

FORMS = ["ｾｺﾑ", "セコム", "せこむ", "ＳＥＣＯＭ", "secom", "SeCoM"]


def ids_of(db, *args):
    return [c["id"] for c in json.loads(cli(db, "--json", *args))["certificates"]]


def api_ids(s, query):
    st, h, b = s.req("GET", "/v1/certs?" + urllib.parse.urlencode(query))
    return st, [c["id"] for c in json.loads(b)["certificates"]] if st == 200 else b


def export(db, fmt):
    return subprocess.run([BIN, "--db", db, "export", "--format", fmt], capture_output=True, check=True,
                          env=dict(os.environ, STARMARK_NOW=NOW)).stdout


def without_grams(db, out):
    """A copy of the registry as a starmark before the fold's version existed could leave it: no
    search_fold in meta and an index missing what the first fold never wrote (here: all of it)."""
    shutil.copytree(db, out)
    os.remove(os.path.join(out, "data.mdb"))
    os.remove(os.path.join(out, "lock.mdb"))
    dump = subprocess.run(["mdb_dump", "-a", db], capture_output=True, check=True).stdout.decode("latin-1")  # hex pairs
    kept, skip_db, skip_value = [], False, False
    for line in dump.split("\n"):
        if line.startswith("database="):
            skip_db = line == "database=grams"
        if skip_db and line.startswith(" "):
            continue
        if line.startswith(" ") and skip_value:
            skip_value = False
            continue
        # a data line of meta: a key line, then its value line
        if line.startswith(" ") and line.strip() == b"search_fold".hex():
            skip_value = True
            continue
        kept.append(line)
    subprocess.run(["mdb_load", "-f", "/dev/stdin", out], input="\n".join(kept).encode("latin-1"),
                   check=True, capture_output=True)


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "reg")
    cli(db, "init", "--scheme", "CCDS", "--levels", "3", "--origin", "registry.example.jp")
    secom = cli(db, "issue", "--vendor", "SECOM", "--vendor-name", "セコム株式会社", "--product", "ホームセキュリティ　コントローラ",
                "--model", "HS-10", "--level", "2", "--firmware", ">=1.0", "--category", "lock",
                "--registered", "2024-04-01").strip()
    rinnai = cli(db, "issue", "--vendor", "RINNAI", "--vendor-name", "リンナイ株式会社", "--product", "給湯器リモコン",
                 "--model", "MC-301V", "--level", "1", "--firmware", "1.0", "--registered", "2024-05-01").strip()
    halfwidth = cli(db, "issue", "--vendor", "PANA", "--vendor-name", "ﾊﾟﾅｿﾆｯｸ", "--product", "ｴｱｺﾝ \"Eolia\", 無線",
                    "--model", "CS-X1", "--level", "3", "--firmware", "2.0", "--registered", "2024-06-01").strip()
    cli(db, "suspend", rinnai, "--reason", "vulnerability under review")

    # the CLI: search and list --q, each form of the company
    for q in FORMS:
        got = ids_of(db, "search", q)
        check(got == [secom], f"starmark search {q!r} finds the SECOM certificate", [secom], got)
        got = ids_of(db, "list", "--q", q)
        check(got == [secom], f"starmark list --q {q!r}", [secom], got)
    got = ids_of(db, "search", "パナソニック")
    check(got == [halfwidth], "full-width katakana finds a half-width vendor name", [halfwidth], got)
    got = ids_of(db, "search", "ぱなそにっく")
    check(got == [halfwidth], "hiragana finds a half-width vendor name", [halfwidth], got)
    got = ids_of(db, "search", "ｺﾝﾄﾛｰﾗ")
    check(got == [secom], "half-width katakana finds a product name", [secom], got)
    got = ids_of(db, "search", "hs‐10")
    check(got == [secom], "a model number with a Unicode hyphen", [secom], got)
    p = subprocess.run([BIN, "--db", db, "search", "ｾｺﾑ"], capture_output=True, text=True,
                       env=dict(os.environ, STARMARK_NOW=NOW))
    check(p.returncode == 0 and secom in p.stdout, "starmark search (text) lists the certificate", secom, p.stdout)

    # a registry indexed by an older fold: read-only verbs scan, the server's write open rebuilds
    old = os.path.join(tmp, "old")
    without_grams(db, old)
    got = ids_of(old, "search", "ｾｺﾑ")
    check(got == [secom], "old index, read-only search: found by the scan", [secom], got)
    s = Server(old)
    try:
        for q in FORMS:
            st, got = api_ids(s, {"q": q})
            check(st == 200 and got == [secom], f"old index rebuilt at the server's open: /v1/certs?q={q}", [secom], got)
    finally:
        s.stop()
    meta = subprocess.run(["mdb_dump", "-p", "-s", "meta", old], capture_output=True, check=True).stdout.decode("latin-1")
    check(" search_fold\n \\00\\00\\00\\00\\00\\00\\00\\02\n" in meta, "the rebuilt store records fold 2", "search_fold 2",
          meta[-300:])
    grams = subprocess.run(["mdb_stat", "-s", "grams", old], capture_output=True, check=True, text=True).stdout
    check("Entries: 0" not in grams, "the rebuilt store has an index again", "entries", grams)

    s = Server(db)
    try:
        # the API, each form
        for q in FORMS:
            st, got = api_ids(s, {"q": q})
            check(st == 200 and got == [secom], f"GET /v1/certs?q={q}", [secom], (st, got))

        # the downloads: the whole list, as `starmark export` writes it
        for fmt, ctype in (("csv", "text/csv; charset=utf-8"), ("jsonl", "application/jsonl; charset=utf-8")):
            want = export(db, fmt)
            st, h, b = s.req("GET", f"/v1/certs.{fmt}")
            check(st == 200 and b == want, f"/v1/certs.{fmt} is exactly `starmark export --format {fmt}`", want[:200],
                  (st, b[:200]))
            check(h.get("content-type", "").startswith(ctype), f"/v1/certs.{fmt} content type", ctype, h.get("content-type"))
            check(h.get("content-disposition") == f'attachment; filename="starmark-certificates.{fmt}"',
                  f"/v1/certs.{fmt} is a download", "attachment", h.get("content-disposition"))
            check(h.get("cache-control", "").startswith("public, max-age=") and h.get("etag", "").startswith('"'),
                  f"/v1/certs.{fmt} is cacheable", "public + ETag", (h.get("cache-control"), h.get("etag")))
            st2, h2, b2 = s.req("GET", f"/v1/certs.{fmt}", headers={"If-None-Match": h["etag"]})
            check(st2 == 304 and b2 == b"", f"/v1/certs.{fmt}: 304 for its ETag", 304, (st2, b2[:50]))
            st3, h3, b3 = s.req("HEAD", f"/v1/certs.{fmt}")
            check(st3 == 200 and b3 == b"" and h3.get("etag") == h["etag"], f"HEAD /v1/certs.{fmt}", "headers only",
                  (st3, h3.get("etag")))

        # filters, as /v1/certs takes them
        st, h, b = s.req("GET", "/v1/certs.jsonl?q=" + urllib.parse.quote("せこむ"))
        rows = [json.loads(x) for x in b.decode().splitlines()]
        check(st == 200 and [r["id"] for r in rows] == [secom], "/v1/certs.jsonl?q=せこむ: the search's certificates",
              [secom], (st, b[:200]))
        shown = json.loads(cli(db, "--json", "show", secom))
        check(rows and rows[0] == shown, "a JSONL line is the certificate as `show --json` prints it", shown, rows[:1])
        st, h, b = s.req("GET", "/v1/certs.csv?status=suspended")
        lines = b.decode().split("\r\n")
        check(st == 200 and len(lines) == 3 and lines[1].startswith(rinnai + ",suspended,") and lines[2] == "",
              "/v1/certs.csv?status=suspended: the header and one row", [rinnai], lines)
        st, h, b = s.req("GET", "/v1/certs.csv?vendor=PANA&level=3")
        text = b.decode()
        check(st == 200 and halfwidth in text and '"ｴｱｺﾝ ""Eolia"", 無線"' in text and secom not in text,
              "/v1/certs.csv?vendor=PANA&level=3, a quoted product", halfwidth, text)
        # the category filter alone (the search page's filter): the same certificates as /v1/certs
        st, got = api_ids(s, {"category": "lock"})
        check(st == 200 and got == [secom], "/v1/certs?category=lock", [secom], (st, got))
        for fmt in ("csv", "jsonl"):
            st, h, b = s.req("GET", f"/v1/certs.{fmt}?category=lock")
            text = b.decode()
            check(st == 200 and secom in text and rinnai not in text and halfwidth not in text,
                  f"/v1/certs.{fmt}?category=lock: the lock alone", [secom], (st, text[:400]))
        st, h, b = s.req("GET", "/v1/certs.jsonl?category=sensor")
        check(st == 200 and b == b"", "/v1/certs.jsonl?category=sensor: nothing", b"", (st, b[:200]))
        st, h, b = s.req("GET", "/v1/certs.csv?q=zzzz")
        check(st == 200 and b.decode().count("\r\n") == 1, "no match: the header alone", 1, b)
        # refused as /v1/certs refuses
        for path, field in (("/v1/certs.csv?page=2", "page"), ("/v1/certs.jsonl?model=HS-10", "vendor"),
                            ("/v1/certs.csv?status=gone", "status"), ("/v1/certs.jsonl?level=x", "level")):
            st, h, b = s.req("GET", path)
            err = json.loads(b).get("error", {}) if st == 400 else {}
            check(st == 400 and err.get("field") == field and "content-disposition" not in h,
                  f"{path}: 400 naming {field}, not a download", (400, field), (st, b[:200]))
        st, h, b = s.req("POST", "/v1/certs.csv", b"x", {"Content-Type": "text/csv"})
        check(st == 405 and h.get("allow") == "GET, HEAD", "POST /v1/certs.csv: 405", 405, (st, h.get("allow")))

        # a change shows in the next download (the answer cache is keyed by the registry's generation)
        st, h, before = s.req("GET", "/v1/certs.csv")
        token = cli(db, "token", "create", "--role", "issuer", "--name", "t1").strip()
        st, h, b = s.req("POST", f"/v1/admin/certs/{secom}/events", {"event": "revoke", "reason": "withdrawn"},
                         {"Authorization": f"Bearer {token}"})
        check(st == 200, "revoke through the admin API", 200, (st, b[:200]))
        st, h, after = s.req("GET", "/v1/certs.csv")
        check(st == 200 and after != before and f"{secom},revoked,".encode() in after,
              "the download after a change shows it", "revoked", after[:300])
        check(after == export(db, "csv"), "and is still what `starmark export` writes", "same bytes", after[:200])

        # a level the scheme does not have is a mistake everywhere (as issue and check say), not an empty list
        for path in ("/v1/certs?level=5", "/v1/certs.csv?level=4", "/v1/certs?q=secom&level=9"):
            st, h, b = s.req("GET", path)
            err = json.loads(b).get("error", {}) if st == 400 else {}
            check(st == 400 and err.get("field") == "level", f"{path} is refused naming level", 400, (st, b[:200]))
        cli(db, "list", "--level", "7", expect=2)
        cli(db, "list", "--level", "3")
    finally:
        s.stop()

finish()
