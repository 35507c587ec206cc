# SPDX-License-Identifier: Apache-2.0
# starmarkd over real sockets: every endpoint and error code, the admin role matrix, caching
# headers, and signed answers (statements, snapshot, checkpoint) verified independently in Python.
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smcheck import BIN, SERVER, Server, check, cli, finish  # noqa: E402

NOW = "2026-11-21"


def b64(s):
    return base64.b64decode(s)


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify_cose(data, keys_by_kid, content_type):
    """COSE_Sign1 by one of keys_by_kid (kid hex -> raw pubkey); returns the payload."""
    obj = cbor2.loads(data)
    if isinstance(obj, cbor2.CBORTag):
        assert obj.tag == 18
        obj = obj.value
    prot, unprot, payload, sig = obj
    hdr = cbor2.loads(prot)
    assert hdr[1] == -8 and hdr[3] == content_type, hdr
    key = keys_by_kid[hdr[4].hex()]
    tbs = cbor2.dumps(["Signature1", prot, b"", payload])
    Ed25519PublicKey.from_public_bytes(key).verify(sig, tbs)
    return cbor2.loads(payload)


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "reg")
    cli(db, "init", "--scheme", "CCDS", "--levels", "3", "--origin", "registry.example.jp")
    cid = cli(db, "issue", "--vendor", "RINNAI", "--vendor-name", "リンナイ株式会社", "--product", "無線LAN対応リモコン",
              "--model", "MC-301V", "--model", "MC-302V", "--level", "2", "--firmware", ">=1.0.0 <2.0,2.0.1",
              "--category", "water-heater", "--registered", "2021-01-22", "--expires", "2027-01-21",
              "--support-end", "2030-12").strip()
    issuer_tok = cli(db, "token", "create", "--role", "issuer", "--name", "ci").strip()
    auditor_tok = cli(db, "token", "create", "--role", "auditor", "--name", "audit").strip()
    trust = json.loads(cli(db, "--json", "trust", "show"))
    status_keys = {k["kid"]: b64(k["public_key"]) for k in trust["keys"] if k["role"] == "status"}

    s = Server(db)
    try:
        st, h, body = s.req("GET", "/healthz")
        check(st == 200 and json.loads(body)["status"] == "ok", "healthz", 200, (st, body))

        # check: verdict, reasons, certificate, a statement that verifies with the status key
        q = "/v1/check?vendor=RINNAI&model=MC-301V&firmware=1.4.2&category=water-heater"
        st, h, body = s.req("GET", q)
        j = json.loads(body)
        check(st == 200 and j["verdict"] == "allow", "check allow", "allow", (st, j.get("verdict")))
        check(j["certificate"]["id"] == cid, "check names the certificate", cid, j["certificate"]["id"])
        check("etag" in h and h.get("cache-control", "").startswith("public, max-age="), "check is cacheable", None, h)
        stmt = verify_cose(b64url(j["statement"]), status_keys, 65002)
        check(stmt[1][0] == cid and stmt[1][2] == 0, "statement: id and status active", cid, stmt[1][:3])
        check(stmt[3] - stmt[2] == 86400, "statement: next_update a day after produced_at", 86400, stmt[3] - stmt[2])
        # conditional GET
        st2, h2, body2 = s.req("GET", q, headers={"If-None-Match": h["etag"]})
        check(st2 == 304 and body2 == b"", "If-None-Match gives 304", 304, st2)
        # HEAD: headers only
        st3, h3, body3 = s.req("HEAD", q)
        check(st3 == 200 and body3 == b"" and int(h3.get("content-length", -1)) == len(body), "HEAD: headers only",
              len(body), (st3, h3.get("content-length"), len(body3)))

        # revocation is visible to the next query, with a re-produced statement
        st, h, body = s.req("POST", f"/v1/admin/certs/{cid}/events", {"event": "firmware-revoke", "versions": ["1.4.2"],
                            "reason": "CVE-2026-1234"}, {"Authorization": "Bearer " + issuer_tok})
        check(st == 200 and json.loads(body)["firmware"]["revoked"] == ["1.4.2"], "admin firmware-revoke", 200, (st, body[:200]))
        st, h, body = s.req("GET", q)
        j = json.loads(body)
        check(j["verdict"] == "deny" and j["reasons"][0]["code"] == "firmware_revoked", "deny after revoke",
              "deny/firmware_revoked", (j["verdict"], j["reasons"]))
        stmt = verify_cose(b64url(j["statement"]), status_keys, 65002)
        check(stmt[1][8] == ["1.4.2"], "the statement shows the revoked firmware", ["1.4.2"], stmt[1][8])

        # query parameter rules: 400 naming the parameter
        for path, field in [("/v1/check?vendor=RINNAI&vendor=X&model=M&firmware=1", "vendor"),
                            ("/v1/check?vendor=RINNAI&model=M%00X&firmware=1", "model"),
                            ("/v1/check?vendor=RINNAI&model=%FF%FE&firmware=1", "model"),
                            ("/v1/check?vendor=RINNAI&model=M&firmware=1&colour=red", "colour"),
                            ("/v1/check?vendor=RINNAI&model=M", "firmware"),
                            ("/v1/check?vendor=rinnai&model=M&firmware=1", "vendor"),
                            ("/v1/check?vendor=RINNAI&model=M&firmware=1&level=7", "level"),
                            # a malformed escape is refused by the guard before routing
                            ("/v1/check?vendor=RINNAI&model=M%2&firmware=1", "target")]:
            st, h, body = s.req("GET", path)
            e = json.loads(body).get("error", {})
            check(st == 400 and e.get("field") == field, f"400 naming {field} for {path}", (400, field), (st, e))
        # unknown model: deny, no certificate
        st, h, body = s.req("GET", "/v1/check?vendor=RINNAI&model=NOPE&firmware=1")
        j = json.loads(body)
        check(st == 200 and j["verdict"] == "deny" and j["certificate"] is None and j["statement"] is None,
              "unknown model: deny without certificate", "deny", j)

        # a change made by another process on the same store (the CLI) reaches answers within the
        # maintenance poll (100 ms): no cached answer outlives it
        q2 = "/v1/check?vendor=PANA&model=CZ-T100&firmware=2.5"
        st, h, body = s.req("GET", q2)
        check(json.loads(body)["verdict"] == "deny", "a model not yet certified: deny", "deny", body[:120])
        cli(db, "issue", "--vendor", "PANA", "--vendor-name", "Panasonic", "--product", "Adapter", "--model", "CZ-T100",
            "--level", "2", "--firmware", ">=2.1", "--registered", "2022-07-15")
        verdict = None
        for _ in range(30):
            time.sleep(0.1)
            verdict = json.loads(s.req("GET", q2)[2])["verdict"]
            if verdict == "allow":
                break
        check(verdict == "allow", "an issue by the CLI is visible to the server within 3 s", "allow", verdict)

        # policies are a floor (docs/interface-notes.md): /v1/check answers under the default policy,
        # level 1 for every category, so category= changes nothing here (there is no category level
        # to raise or lower); level= raises the required level and never lowers it. A one-star lock:
        lock = {"vendor": {"code": "ACME", "name": "Acme"}, "product": "Lock", "models": ["L-1"], "level": 1,
                "firmware": {"covered": ">=1.0"}, "registered": "2024-01-10", "category": "lock"}
        st, h, b = s.req("POST", "/v1/admin/certs", lock, {"Authorization": "Bearer " + issuer_tok})
        check(st == 201, "issue a one-star lock", 201, (st, b[:200]))

        def lock_check(params):
            st, h, b = s.req("GET", "/v1/check?vendor=ACME&model=L-1&firmware=1.0" + params)
            j = json.loads(b)
            return st, j.get("verdict"), j.get("required_level"), [r["code"] for r in j.get("reasons", [])], j

        st, v, req, codes, j = lock_check("")
        check((st, v, req) == (200, "allow", 1), "one-star lock, no parameters: allow at the default policy's 1",
              (200, "allow", 1), (st, v, req))
        for params in ["&category=sensor", "&category=lock", "&level=1", "&level=1&category=sensor"]:
            st, v, req, codes, j = lock_check(params)
            check((st, v, req) == (200, "allow", 1), f"one-star lock with {params}: allow, 1 required",
                  (200, "allow", 1), (st, v, req, codes))
        for level in (2, 3):
            st, v, req, codes, j = lock_check(f"&level={level}&category=sensor")
            why = [r["message"] for r in j.get("reasons", []) if r["code"] == "level_below_policy"]
            check((st, v, req) == (200, "deny", level) and why and "level asked" in why[0],
                  f"one-star lock with level={level}&category=sensor: level= raises it to {level}",
                  (200, "deny", level, "level asked"), (st, v, req, why))
        st, v, req, codes, j = lock_check("&level=4")
        check(st == 400 and j.get("error", {}).get("field") == "level", "level=4 of a 3-level scheme: 400 naming level",
              400, (st, j))
        st, h, b = s.req("GET", "/v1/check?vendor=RINNAI&model=MC-301V&firmware=1.4.2&level=1&category=sensor")
        j = json.loads(b)
        check(j["required_level"] == 1 and j["certificate"]["level"] == 2, "level=1 on a two-star certificate: 1 required",
              1, j.get("required_level"))

        # certificates
        st, h, body = s.req("GET", f"/v1/certs/{cid}")
        check(st == 200 and json.loads(body)["id"] == cid, "GET cert", 200, st)
        st, h, body = s.req("GET", "/v1/certs/SM-2021-999999")
        check(st == 404 and json.loads(body)["error"]["code"] == "not_found", "unknown cert 404", 404, st)
        st, h, body = s.req("GET", "/v1/certs?q=%E3%83%AA%E3%83%B3%E3%83%8A%E3%82%A4")
        check(st == 200 and json.loads(body)["total"] == 1, "search by Japanese text", 1, body[:200])
        st, h, body = s.req("GET", "/v1/certs?level=3")
        check(st == 200 and json.loads(body)["total"] == 0, "filter by level", 0, body[:100])
        st, h, body = s.req("GET", "/v1/certs?page=0")
        check(st == 400, "page 0 refused", 400, st)

        # trust
        st, h, body = s.req("GET", "/v1/trust.json")
        check(st == 200 and json.loads(body) == trust, "trust.json equals trust show --json", trust, body[:200])
        st, h, tb = s.req("GET", "/v1/trust")
        root = b64(trust["root"]["public_key"])
        bundle = verify_cose(tb, {trust["root"]["kid"]: root}, 65001)
        check(h.get("content-type") == "application/cose" and bundle[1] == trust["version"], "trust bundle verifies with the root",
              trust["version"], bundle.get(1))

        # the log: checkpoint signed by the log key, entries, proofs
        st, h, cp = s.req("GET", "/v1/log/checkpoint")
        lines = cp.decode().split("\n")
        check(st == 200 and lines[0] == "registry.example.jp", "checkpoint origin", "registry.example.jp", lines[0])
        size = int(lines[1])
        name, kid_hex, keyb = trust["log_vkey"].split("+", 2)
        pub = b64(keyb)[1:]
        sigline = [l for l in lines if l.startswith("\u2014 ")][0]
        sig = b64(sigline.split(" ")[2])
        body_text = "\n".join(lines[:3]) + "\n"
        Ed25519PublicKey.from_public_bytes(pub).verify(sig[4:], body_text.encode())
        check(True, "checkpoint signature verifies")
        st, h, body = s.req("GET", f"/v1/log/entries?start=0&count={size}")
        entries = [b64(e["data"]) for e in json.loads(body)["entries"]]
        check(len(entries) == size, "entries", size, len(entries))

        def mth(leaves):
            if len(leaves) == 1:
                return hashlib.sha256(b"\x00" + leaves[0]).digest()
            k = 1
            while k * 2 < len(leaves):
                k *= 2
            return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()
        check(base64.b64encode(mth(entries)).decode() == lines[2], "root of the entries equals the checkpoint", lines[2], None)
        st, h, body = s.req("GET", f"/v1/log/proof/inclusion?index=1&size={size}")
        j = json.loads(body)
        check(st == 200 and j["root"] == lines[2] and len(j["proof"]) >= 1, "inclusion proof", None, j)
        st, h, body = s.req("GET", f"/v1/log/proof/consistency?from=2&to={size}")
        check(st == 200 and "proof" in json.loads(body), "consistency proof", 200, st)
        st, h, body = s.req("GET", f"/v1/log/proof/inclusion?index={size}&size={size}")
        check(st == 400, "inclusion of a missing entry: 400", 400, (st, body))
        st, h, body = s.req("GET", "/v1/log/proof/consistency?from=1")
        check(st == 400 and json.loads(body)["error"]["field"] == "to", "consistency without to", 400, body)

        # the snapshot: application/cose, verifies, ETag/304
        st, h, snap = s.req("GET", "/v1/snapshot")
        check(st == 200 and h.get("content-type") == "application/cose", "snapshot served", 200, (st, h))
        if st == 200:
            sp = verify_cose(snap, status_keys, 65003)
            check(sp[1] >= 1 and len(sp[8]) == 1 and sp[8][0][0] == cid, "snapshot holds the certificate", cid, sp.get(8))
            st2, _, b2 = s.req("GET", "/v1/snapshot", headers={"If-None-Match": h["etag"]})
            check(st2 == 304 and b2 == b"", "snapshot If-None-Match gives 304", 304, st2)

        # admin role matrix: no token 401, bad token 401, auditor may not change (403), issuer may
        body = {"vendor": {"code": "PANA", "name": "Panasonic"}, "product": "Adapter", "models": ["CZ-T200"], "level": 2,
                "firmware": {"covered": ">=2.1"}, "registered": "2022-07-15", "category": "air-conditioner"}
        st, h, b = s.req("POST", "/v1/admin/certs", body)
        check(st == 401 and h.get("www-authenticate") == "Bearer", "admin without a token: 401", 401, st)
        st, h, b = s.req("POST", "/v1/admin/certs", body, {"Authorization": "Bearer smt_wrong"})
        check(st == 401, "admin with a wrong token: 401", 401, st)
        st, h, b = s.req("POST", "/v1/admin/certs", body, {"Authorization": "Bearer " + auditor_tok})
        check(st == 403, "auditor may not issue: 403", 403, (st, b))
        st, h, b = s.req("POST", "/v1/admin/certs", body, {"Authorization": "Bearer " + issuer_tok})
        new = json.loads(b)
        check(st == 201 and h.get("location") == "/v1/certs/" + new.get("id", ""), "issuer issues: 201 + Location", 201, (st, b[:200]))
        st, h, b = s.req("POST", "/v1/admin/certs", body, {"Authorization": "Bearer " + issuer_tok})
        check(st == 409, "duplicate issue: 409", 409, (st, b))
        bad = dict(body, level=9)
        st, h, b = s.req("POST", "/v1/admin/certs", bad, {"Authorization": "Bearer " + issuer_tok})
        check(st == 400 and json.loads(b)["error"]["field"] == "level", "bad level: 400 naming it", 400, b)
        st, h, b = s.req("POST", "/v1/admin/certs", b'{"vendor": ', {"Authorization": "Bearer " + issuer_tok,
                                                                      "Content-Type": "application/json"})
        check(st == 400, "malformed JSON: 400", 400, st)
        st, h, b = s.req("POST", "/v1/admin/certs", b"x=1", {"Authorization": "Bearer " + issuer_tok, "Content-Type": "text/plain"})
        check(st == 415, "not JSON: 415", 415, st)
        st, h, b = s.req("POST", f"/v1/admin/certs/{cid}/events", {"event": "suspend"}, {"Authorization": "Bearer " + issuer_tok})
        check(st == 400 and json.loads(b)["error"]["field"] == "reason", "suspend without reason: 400", 400, b)
        st, h, b = s.req("POST", f"/v1/admin/certs/{cid}/events", {"event": "reinstate", "reason": "x"},
                         {"Authorization": "Bearer " + issuer_tok})
        check(st == 409, "reinstate an active certificate: 409", 409, (st, b))
        st, h, b = s.req("POST", f"/v1/admin/certs/{cid}/events", {"event": "suspend", "reason": "x", "versions": ["1"]},
                         {"Authorization": "Bearer " + issuer_tok})
        check(st == 400 and json.loads(b)["error"]["field"] == "versions", "suspend with versions: 400", 400, b)
        st, h, b = s.req("GET", "/v1/check?vendor=RINNAI&model=MC-301V&firmware=1.4.2", headers={"Authorization": "Bearer x"})
        check(st == 200, "public routes ignore tokens", 200, st)

        # methods and unknown paths
        st, h, b = s.req("POST", "/v1/check", b"{}", {"Content-Type": "application/json"})
        check(st == 405 and "GET" in h.get("allow", ""), "POST on a GET route: 405 with Allow", 405, (st, h.get("allow")))
        st, h, b = s.req("GET", "/v1/admin/certs")
        check(st == 405, "GET on a POST route: 405", 405, st)
        st, h, b = s.req("GET", "/nope")
        check(st == 404, "unknown path: 404", 404, st)

        # the certificate page, in both languages
        st, h, b = s.req("GET", f"/c/{cid}", headers={"Accept-Language": "ja,en;q=0.5"})
        page = b.decode()
        check(st == 200 and h.get("content-language") == "ja" and "有効" in page and "リンナイ株式会社" in page,
              "certificate page in Japanese", "ja page", page[:300])
        st, h, b = s.req("GET", f"/c/{cid}", headers={"Accept-Language": "en-GB,en;q=0.9"})
        check(st == 200 and h.get("content-language") == "en" and "ACTIVE" in b.decode(), "certificate page in English",
              "en page", b[:300])

        # a label that does not even decode: the page says NOT GENUINE in words, not a JSON error
        st, h, b = s.req("GET", "/L/AAAAAAAAAAAAAAAA", headers={"Accept-Language": "en"})
        check(st == 404 and h.get("content-type", "").startswith("text/html") and "NOT GENUINE" in b.decode(),
              "an unreadable label token gets the not-genuine page (404: no certificate there)", "html NOT GENUINE",
              (st, b[:200]))
        # the page takes ?lang= alone; its refusals are pages too
        st, h, b = s.req("GET", f"/c/{cid}?lang=en", headers={"Accept-Language": "ja"})
        check(st == 200 and h.get("content-language") == "en" and "vary" not in h and 'href="/?lang=en"' in b.decode(),
              "?lang=en overrides Accept-Language, no Vary, the back link keeps it", "en", (st, h.get("content-language")))
        for path, status in ((f"/c/{cid}?lang=fr", 400), (f"/c/{cid}?x=1", 400), ("/c/SM-2020-999999", 404),
                             ("/c/not-an-id", 400)):
            st, h, b = s.req("GET", path, headers={"Accept-Language": "ja"})
            check(st == status and h.get("content-type", "").startswith("text/html") and 'href="/?lang=ja"' in b.decode(),
                  f"{path}: an HTML page ({status}) in Japanese with the way back", status, (st, b[:200]))

        # metrics
        st, h, b = s.req("GET", "/metrics")
        m = b.decode()
        check(st == 200 and 'starmark_http_requests_total{route="check",status="200"' in m and
              "starmark_http_request_duration_seconds_bucket" in m and "starmark_log_size" in m, "metrics",
              "counters and histogram", m[:400])
        produced = re.search(r"^starmark_statements_produced_total (\d+)$", m, re.M)
        backlog = re.search(r"^starmark_statements_backlog ([01])$", m, re.M)
        check(produced is not None and backlog is not None and backlog.group(1) == "0",
              "metrics: statements the refresher signed, no backlog",
              "starmark_statements_produced_total N, starmark_statements_backlog 0",
              (produced and produced.group(0), backlog and backlog.group(0)))
    finally:
        rc, err = s.stop()
    check(rc == 0 and "stopped" in err, "SIGTERM stops cleanly", 0, (rc, err[-300:]))
    check("smt_" not in err and issuer_tok not in err, "the access log never shows a token", None, None)
    check("req=" in err and "route=check" in err, "one log line per request with an id", None, err[:300])

    # keys rotated by the CLI while starmarkd runs: it goes on serving, picks up the new bundle and
    # keys at once (never signing with a retired key), and serves every bundle version
    s = Server(db)
    try:
        before = s.req("GET", "/v1/trust.json")[2]
        cli(db, "keys", "rotate", "issuer")
        cli(db, "keys", "rotate", "status")
        st, h, b = s.req("POST", f"/v1/admin/certs/{cid}/events", {"event": "suspend", "reason": "after rotation"},
                         {"Authorization": "Bearer " + issuer_tok})
        check(st == 200, "a running server signs with the rotated issuer key at once", 200, (st, b[:200]))
        version = None
        for _ in range(50):
            version = json.loads(s.req("GET", "/v1/trust.json")[2]).get("version")
            if version == json.loads(before)["version"] + 2:
                break
            time.sleep(0.1)
        check(version == json.loads(before)["version"] + 2, "the running server serves the rotated bundle", None, version)
        check(s.p.poll() is None, "a rotation does not stop starmarkd", None, s.p.poll())
        st, h, chain = s.req("GET", "/v1/trust/chain?from=1")
        check(st == 200 and h.get("content-type") == "application/cbor" and chain[:1] == bytes([0x80 + version]),
              "GET /v1/trust/chain?from=1: every version, as a CBOR array", version, (st, chain[:4]))
        st, h, one = s.req("GET", "/v1/trust/1")
        check(st == 200 and h.get("content-type") == "application/cose" and "immutable" in h.get("cache-control", ""),
              "GET /v1/trust/1: the first bundle, immutable", 200, (st, h.get("cache-control")))
        st, h, cur = s.req("GET", "/v1/trust")
        st2, h2, same = s.req("GET", f"/v1/trust/{version}")
        check(st2 == 200 and same == cur, "GET /v1/trust/{newest} is GET /v1/trust", None, st2)
        for bad in ("0", "99", "01", "x", "-1"):
            st, h, b = s.req("GET", "/v1/trust/" + bad)
            check(st == 404, "GET /v1/trust/%s: 404" % bad, 404, st)
        st, h, b = s.req("GET", f"/v1/trust/chain?from={version + 1}")
        check(st == 200 and b == bytes([0x80]), "a chain from past the newest is empty", None, (st, b[:4]))
        st, h, b = s.req("GET", "/v1/trust/chain?from=0")
        check(st == 400, "GET /v1/trust/chain?from=0: 400", 400, st)
    finally:
        s.stop()
    out = cli(db, "log", "verify")
    check(out.startswith("ok:"), "log verify after rotations under a running server", "ok", out)

    # a spoofed server (a mirror, a man in the middle) answering allow without a signed statement:
    # the CLI must not believe it (unknown, exit 3)
    import http.server
    import threading

    anchor = os.path.join(tmp, "anchor.cose")
    cli(db, "trust", "export", anchor)
    chain_file = os.path.join(tmp, "chain.cbor")
    cli(db, "trust", "export", chain_file, "--chain")
    with open(chain_file, "rb") as f:
        real_chain = f.read()

    class Fake(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/v1/trust/chain"):  # the registry's real bundles: only the answer is forged
                self.send_response(200)
                self.send_header("Content-Type", "application/cbor")
                self.send_header("Content-Length", str(len(real_chain)))
                self.end_headers()
                self.wfile.write(real_chain)
                return
            verdict = "deny" if "model=NOPE" in self.path else "allow"
            body = json.dumps({"verdict": verdict, "required_level": 1, "reasons": [{"code": "certified", "message": "ok"}],
                               "certificate": None, "statement": None, "produced_at": None, "next_update": None}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    fake = http.server.HTTPServer(("127.0.0.1", 0), Fake)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    def fake_check(model, *extra):
        return subprocess.run([BIN, "--server", f"http://127.0.0.1:{fake.server_port}", "check", "--vendor", "RINNAI",
                               "--model", model, "--firmware", "1.5", *extra], capture_output=True, text=True, timeout=20,
                              env=dict(os.environ, STARMARK_NOW=NOW, STARMARK_TRUST=anchor))
    p = fake_check("MC-301V")
    check(p.returncode == 3 and "unknown" in p.stdout and "fails_closed" in p.stdout,
          "an allow without a signed statement is unknown (exit 3)", 3, (p.returncode, p.stdout, p.stderr[-200:]))
    # a policy with "unknown": "allow" lets such an answer pass, with a warning; a deny stays a deny
    open_policy = os.path.join(tmp, "open.json")
    with open(open_policy, "w", encoding="utf-8") as f:
        json.dump({"name": "fail-open", "unknown": "allow"}, f)
    p = fake_check("MC-301V", "--policy", open_policy)
    check(p.returncode == 0 and p.stdout.startswith("warn") and "no_statement" in p.stdout and
          "unknown_allowed" in p.stdout and "warning:" in p.stderr,
          "no signed statement under unknown=allow: warn (exit 0)", 0, (p.returncode, p.stdout, p.stderr[-200:]))
    p = fake_check("NOPE", "--policy", open_policy)
    check(p.returncode == 1 and p.stdout.startswith("deny"), "an unsigned deny under unknown=allow stays a deny (exit 1)",
          1, (p.returncode, p.stdout, p.stderr[-200:]))
    fake.shutdown()

    # refusing to start: a mismatched TLS pair, --check-config
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", os.path.join(tmp, "k1.pem"),
                    "-out", os.path.join(tmp, "c1.pem"), "-subj", "/CN=localhost", "-days", "2"], check=True, capture_output=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", os.path.join(tmp, "k2.pem")], check=True,
                   capture_output=True)
    p = subprocess.run([SERVER, "--db", db, "--listen", "127.0.0.1:0", "--tls-cert", os.path.join(tmp, "c1.pem"),
                        "--tls-key", os.path.join(tmp, "k2.pem")], capture_output=True, text=True, timeout=20)
    check(p.returncode == 2 and "do not match" in p.stderr, "a mismatched TLS pair refuses to start", 2, (p.returncode, p.stderr))
    p = subprocess.run([SERVER, "--db", db, "--listen", "127.0.0.1:0", "--tls-cert", os.path.join(tmp, "missing.pem"),
                        "--tls-key", os.path.join(tmp, "k1.pem")], capture_output=True, text=True, timeout=20)
    check(p.returncode == 2, "a missing TLS certificate refuses to start", 2, (p.returncode, p.stderr))
    conf = os.path.join(tmp, "starmarkd.conf")
    with open(conf, "w") as f:
        f.write(f"# test\ndb = {db}\nlisten = 127.0.0.1:0\nthreads = 2\ncache_seconds = 30\n")
    p = subprocess.run([SERVER, "--config", conf, "--check-config"], capture_output=True, text=True, timeout=20)
    check(p.returncode == 0 and "configuration OK" in p.stdout, "--check-config accepts a good file", 0, (p.returncode, p.stderr))
    with open(conf, "a") as f:
        f.write("colour = red\n")
    p = subprocess.run([SERVER, "--config", conf, "--check-config"], capture_output=True, text=True, timeout=20)
    check(p.returncode == 2 and ":6: unknown key 'colour'" in p.stderr, "--check-config names the bad line", 2,
          (p.returncode, p.stderr))

finish()
