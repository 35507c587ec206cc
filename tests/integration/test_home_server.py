# SPDX-License-Identifier: Apache-2.0
# POST /v1/home/check and the published policies on a real starmarkd: the same answers as the CLI on the
# same registry, statements and checkpoints that verify, bad documents named by device and field, the
# caps, nothing stored, a revocation seen at once; policies published, listed, read and withdrawn locally
# and through the admin API (role matrix), and the log that proves them.
import base64
import copy
import json
import os
import re
import subprocess
import sys
import tempfile

import cbor2
import jsonschema
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smcheck  # noqa: E402
from smcheck import BIN, check, finish  # noqa: E402

SRC = os.environ.get("SM_SOURCE_DIR", ".")
SCHEMA = json.load(open(os.path.join(SRC, "schema/starmark.schema.json"), encoding="utf-8"))
NOW = "2026-11-21"


def shape(name, doc, what):
    v = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": SCHEMA["$defs"]})
    errors = [f"{e.message} at {list(e.absolute_path)}" for e in v.iter_errors(doc)]
    check(not errors, f"{what}: a {name} document", [], errors[:3])


def run(*args, env=None):
    e = dict(os.environ, STARMARK_NOW=NOW)
    e.pop("STARMARK_SERVER", None)
    e.pop("STARMARK_TOKEN", None)
    e.update(env or {})
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=e, timeout=60)


def cli(db, *args, expect=0):
    p = run("--db", db, *args)
    if p.returncode != expect:
        sys.exit(f"starmark {' '.join(args)}: exit {p.returncode}, expected {expect}: {p.stderr}")
    return p.stdout


class Server(smcheck.Server):
    timeout = 30  # a home of a thousand devices

    def __init__(self, db, conf):
        super().__init__(db, "--config", conf, now=NOW)

    def home(self, doc, headers=None):
        st, h, b = self.req("POST", "/v1/home/check", doc, headers)
        try:
            return st, h, json.loads(b)
        except ValueError:
            return st, h, {"raw": b[:200]}

    def log_size(self):
        return json.loads(self.req("GET", "/healthz")[2])["log_size"]


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify_statement(text, status_keys):
    """A base64url COSE_Sign1 statement (content type 65002) by one of the status keys; its payload."""
    obj = cbor2.loads(b64url(text))
    if isinstance(obj, cbor2.CBORTag):
        obj = obj.value
    prot, _, payload, sig = obj
    hdr = cbor2.loads(prot)
    assert hdr[1] == -8 and hdr[3] == 65002, hdr
    Ed25519PublicKey.from_public_bytes(status_keys[hdr[4].hex()]).verify(sig, cbor2.dumps(["Signature1", prot, b"", payload]))
    return cbor2.loads(payload)


def verify_note(note, vkey):
    """A C2SP signed note by the log key; its (size, root)."""
    name, _, keyb = vkey.split("+", 2)
    pub = base64.b64decode(keyb)[1:]
    lines = note.split("\n")
    sig = base64.b64decode([l for l in lines if l.startswith("\u2014 " + name + " ")][0].split(" ")[2])
    Ed25519PublicKey.from_public_bytes(pub).verify(sig[4:], ("\n".join(lines[:3]) + "\n").encode())
    return int(lines[1]), lines[2]


def sock_rest(head):
    """What came after the head (the error body may come in the same read)."""
    return head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""


def verdicts(doc):
    return {d["id"]: (d["verdict"], [r["code"] for r in d["reasons"]]) for d in doc.get("devices", [])}


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "reg")
    cli(db, "init", "--scheme", "CCDS", "--levels", "3", "--origin", "registry.example.jp")
    heater = cli(db, "issue", "--vendor", "RINNAI", "--vendor-name", "リンナイ株式会社", "--product", "無線LAN対応リモコン",
                 "--model", "MC-301V", "--level", "2", "--firmware", ">=1.0.0 <2.0", "--category", "water-heater",
                 "--registered", "2021-01-22", "--expires", "2027-01-21", "--support-end", "2030-12").strip()
    lock = cli(db, "issue", "--vendor", "ACME", "--vendor-name", "Acme", "--product", "Smart lock", "--model", "L-1",
               "--level", "3", "--firmware", ">=1.0", "--category", "lock", "--registered", "2024-01-10").strip()
    cli(db, "issue", "--vendor", "PANA", "--vendor-name", "Panasonic", "--product", "Sensor", "--model", "S-1",
        "--level", "1", "--firmware", ">=2.0", "--category", "sensor", "--registered", "2022-07-15")
    issuer = cli(db, "token", "create", "--role", "issuer", "--name", "ci").strip()
    auditor = cli(db, "token", "create", "--role", "auditor", "--name", "audit").strip()
    anchor = os.path.join(tmp, "trust.cose")
    cli(db, "trust", "export", anchor)
    trust = json.loads(cli(db, "--json", "trust", "show"))
    status_keys = {k["kid"]: base64.b64decode(k["public_key"]) for k in trust["keys"] if k["role"] == "status"}

    home = {"home": "estate-7-101", "name": "7-101",
            "policy": {"name": "homes 2026", "default_level": 1, "levels": {"lock": 3, "water-heater": 2}},
            "devices": [
                {"id": "heater", "room": "kitchen", "category": "water-heater", "vendor": "RINNAI", "model": "MC-301V",
                 "firmware": "1.5", "planned": True, "installed": True},
                {"id": "lock", "room": "entrance", "category": "lock", "vendor": "ACME", "model": "L-1",
                 "firmware": "1.2", "planned": True, "installed": True},
                {"id": "sensor", "category": "sensor", "vendor": "PANA", "model": "S-1", "firmware": "1.9",
                 "planned": True, "installed": True},
                {"id": "camera", "category": "camera", "vendor": "ACME", "model": "CAM-9", "firmware": "1.0",
                 "planned": True, "installed": False},
            ]}
    home_file = os.path.join(tmp, "home.json")

    def write_home(doc):
        with open(home_file, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)

    def local(*args, env=None):
        """`starmark --json ... home check` on the registry itself (exit, document)."""
        p = run("--db", db, "--json", "home", "check", home_file, *args, env=env)
        return p.returncode, json.loads(p.stdout) if p.stdout.strip() else {}

    conf = os.path.join(tmp, "smd.conf")
    with open(conf, "w") as f:
        f.write("home_rate_per_minute = 100000\nhome_burst = 10000\nadmin_rate_per_minute = 100000\nadmin_burst = 10000\n")
    s = Server(db, conf)
    try:
        # ---- the answer: as the CLI gives it on the same registry, byte for byte ----
        write_home(home)
        size0 = s.log_size()
        st, h, doc = s.home(home)
        check(st == 200 and h.get("content-type") == "application/json" and h.get("cache-control") == "no-store",
              "POST /v1/home/check: 200, JSON, not cached", 200, (st, h.get("content-type"), h.get("cache-control")))
        shape("home_check", doc, "POST /v1/home/check")
        check(doc.get("verdict") == "deny" and doc.get("level") == 0, "the home: deny, level 0 (a sensor below its "
              "firmware coverage is not certified)", ("deny", 0), (doc.get("verdict"), doc.get("level")))
        got = {k: v[0] for k, v in verdicts(doc).items()}
        want = {"heater": "allow", "lock": "allow", "sensor": "deny", "camera": "deny"}
        check(got == want and "firmware_not_covered" in verdicts(doc)["sensor"][1], "every device's verdict", want, got)
        check(doc.get("missing") == ["camera"] and doc.get("unplanned") == [], "missing and unplanned",
              (["camera"], []), (doc.get("missing"), doc.get("unplanned")))
        rc, ldoc = local()
        check(rc == 1, "starmark home check of the same home: exit 1 (deny)", 1, rc)
        check(ldoc == doc, "the CLI's --json document equals the server's answer (statements and checkpoint too)",
              json.dumps(ldoc, ensure_ascii=False)[:600], json.dumps(doc, ensure_ascii=False)[:600])

        # statements verify with the status key and are about the device's certificate
        for d in doc["devices"]:
            if d["certificate"]:
                try:
                    payload = verify_statement(d["statement"], status_keys)
                    ok = payload[1][0] == d["certificate"]["id"]
                except Exception as e:  # noqa: BLE001 - any failure is the finding
                    ok, payload = False, repr(e)
                check(ok, f"device {d['id']}: its statement verifies and names {d['certificate']['id']}", True, payload)
            else:
                check(d["statement"] is None, f"device {d['id']}: no certificate, no statement", None, d["statement"])
        # the checkpoint: the log's own, signed by the log key, the state the answers reflect
        cp = doc["checkpoint"]
        size, root = verify_note(cp["note"], trust["log_vkey"])
        served = s.req("GET", "/v1/log/checkpoint")[2].decode()
        check((size, root) == (cp["size"], cp["root"]) == (size0, served.split("\n")[2]),
              "the checkpoint note verifies and is the log's state", (size0, cp["root"]), (size, root))

        # the statement verifies through the CLI too (check --server --trust re-checks it)
        p = run("--server", s.url, "--trust", anchor, "check", "--vendor", "ACME", "--model", "L-1", "--firmware", "1.2")
        check(p.returncode == 0, "check --server --trust of the lock verifies its statement", 0, (p.returncode, p.stderr))

        # --server: the CLI checks the same home through the server, verified against the anchor
        p = run("--server", s.url, "--trust", anchor, "--json", "home", "check", home_file)
        sdoc = json.loads(p.stdout) if p.stdout.strip() else {}
        check(p.returncode == 1 and verdicts(sdoc) == verdicts(doc) and sdoc.get("level") == doc["level"] and
              sdoc.get("verdict") == doc["verdict"], "starmark --server home check agrees with the POST answer",
              (1, verdicts(doc)), (p.returncode, verdicts(sdoc), p.stderr[-300:]))
        check([d["statement"] for d in sdoc.get("devices", [])] == [d["statement"] for d in doc["devices"]] and
              sdoc.get("checkpoint") == doc["checkpoint"], "... with the same statements and checkpoint", None,
              sdoc.get("checkpoint"))

        # without a policy of its own the home is checked under the default policy (level 1 everywhere)
        bare = copy.deepcopy(home)
        del bare["policy"]
        bare["devices"] = bare["devices"][:2]
        st, h, d2 = s.home(bare)
        check(st == 200 and d2["verdict"] == "allow" and d2["level"] == 2 and
              all(x["required_level"] == 1 for x in d2["devices"]), "no policy: the default one", ("allow", 2),
              (st, d2.get("verdict"), d2.get("level")))
        # a stricter policy of the home's own: the two-star heater fails a three-star demand
        strict = copy.deepcopy(bare)
        strict["policy"] = {"name": "strict", "levels": {"water-heater": 3}}
        st, h, d3 = s.home(strict)
        check(st == 200 and verdicts(d3)["heater"][0] == "deny" and "level_below_policy" in verdicts(d3)["heater"][1],
              "the home's own policy applies", "deny/level_below_policy", verdicts(d3).get("heater"))

        # ---- a retrofit asked about: added by the registry as `home check --add` adds it, the same answer ----
        def retrofit(doc_, **params):
            from urllib.parse import urlencode
            st_, h_, b_ = s.req("POST", "/v1/home/check?" + urlencode(params), doc_)
            return st_, json.loads(b_)
        write_home(bare)
        st, rdoc = retrofit(bare, vendor="ACME", model="L-1", firmware="1.2", category="lock")
        shape("home_check", rdoc, "POST /v1/home/check with a retrofit")
        check(st == 200 and rdoc.get("retrofit") == {"devices": ["retrofit-3"], "may_join": True, "verdict": "allow",
                                                     "level_before": 2, "level_after": 2},
              "a retrofit that may join: its answer", "may_join", (st, rdoc.get("retrofit")))
        rc, ldoc = local("--add", "ACME:L-1@1.2/lock")
        check(rc == 0 and ldoc == rdoc, "home check --add gives the same document as the server", rdoc.get("retrofit"),
              (rc, ldoc.get("retrofit")))
        st, rdoc = retrofit(bare, vendor="PANA", model="S-1", firmware="1.9", room="寝室")
        r_dev = [d for d in rdoc.get("devices", []) if d["id"] == "retrofit-3"]
        check(st == 200 and rdoc["retrofit"]["may_join"] is False and rdoc["retrofit"]["verdict"] == "deny" and
              (rdoc["retrofit"]["level_before"], rdoc["retrofit"]["level_after"]) == (2, 0) and r_dev and
              r_dev[0]["room"] == "寝室", "a retrofit that may not join lowers the home to 0", ("deny", 2, 0),
              (st, rdoc.get("retrofit")))
        st, rdoc = retrofit(bare, vendor="ACME", model="X#1=2@3/4", firmware="1.0")
        r_dev = [d for d in rdoc.get("devices", []) if d["id"] == "retrofit-3"]
        check(st == 200 and r_dev and r_dev[0]["model"] == "X#1=2@3/4" and rdoc["retrofit"]["verdict"] in
              ("deny", "unknown"), "any model number can be asked (parts, not the --add syntax)", "X#1=2@3/4",
              (st, r_dev))
        st, e = retrofit(bare, vendor="ACME", model="L-1")
        check(st == 400 and e["error"]["field"] == "add" and "firmware" in e["error"]["message"],
              "a retrofit without its firmware: 400", 400, (st, e))
        st, e = retrofit(bare, vendor="ACME", model="L-1", firmware="1.2", id="heater")
        check(st == 409 and "heater" in e["error"]["message"], "a retrofit under an id the home has: 409", 409, (st, e))
        st, e = retrofit(bare, add="ACME:L-1@1.2")
        check(st == 400 and e["error"]["code"] == "unknown_parameter", "an unknown parameter: 400", 400, (st, e))

        # ---- bad documents: 400 naming the device and the field; nothing is checked ----
        def bad(mutate, field, words, status=400):
            doc_ = copy.deepcopy(home)
            mutate(doc_)
            st, h, e = s.home(doc_)
            err = e.get("error", {})
            check(st == status and err.get("field") == field and words in err.get("message", ""),
                  f"bad home: {status} naming {field} ({words})", (status, field, words), (st, err))

        bad(lambda d: d["devices"][1].update(vendor="acme"), "devices[1].vendor", "devices[1] (lock)")
        bad(lambda d: d["devices"][2].pop("firmware"), "devices[2].firmware", "devices[2] (sensor): firmware is required")
        bad(lambda d: d["devices"][0].update(colour="red"), "devices[0].colour", "unknown key 'colour'")
        bad(lambda d: d["devices"][3].update(planned="yes"), "devices[3].planned", "devices[3] (camera)")
        bad(lambda d: d["devices"][3].update(id="heater"), "devices", "heater")
        bad(lambda d: d["devices"][0].update(model="M\u0001"), "devices[0].model", "devices[0] (heater)")
        bad(lambda d: d.pop("home"), "home", "required")
        bad(lambda d: d["policy"]["levels"].update(lock=4), "policy.levels.lock", "not a level of this scheme")
        bad(lambda d: d["policy"].update(unknown="maybe"), "policy.unknown", "policy")
        st, h, e = s.home(b'{"home": "x", "devices": [', {"Content-Type": "application/json"})
        check(st == 400 and e["error"]["field"] == "home" and "not valid JSON" in e["error"]["message"],
              "not JSON: 400", 400, (st, e))
        st, h, e = s.home(json.dumps(home).encode(), {"Content-Type": "text/plain"})
        check(st == 415 and e["error"]["code"] == "unsupported_media_type", "another content type: 415", 415, (st, e))
        st, h, e = s.home(b"home=x", {"Content-Type": "application/x-www-form-urlencoded"})
        check(st == 415, "a form: 415 (the guard)", 415, st)
        st, h, b = s.req("POST", "/v1/home/check?policy=x", home)
        check(st == 400 and json.loads(b)["error"]["field"] == "policy", "a query parameter: 400 naming it", 400, (st, b))
        st, h, b = s.req("GET", "/v1/home/check")
        check(st == 405 and h.get("allow") == "POST", "GET /v1/home/check: 405, Allow: POST", (405, "POST"),
              (st, h.get("allow")))

        # ---- the caps: 1000 devices (far over the 64 KiB public body cap) pass; 1001 and 1 MiB + 1 do not ----
        many = {"home": "tower", "devices": [{"id": f"d-{i}", "vendor": "ACME", "model": "L-1", "firmware": "1.2",
                                              "category": "lock", "room": "r" * 40, "planned": True, "installed": True}
                                             for i in range(1000)]}
        body = json.dumps(many).encode()
        st, h, d4 = s.home(body, {"Content-Type": "application/json"})
        check(len(body) > 65536 and st == 200 and len(d4.get("devices", [])) == 1000 and d4.get("verdict") == "allow" and
              d4.get("level") == 3, "1000 devices in a body over 64 KiB: answered", (200, 1000, "allow"),
              (len(body), st, len(d4.get("devices", [])), d4.get("verdict")))
        many["devices"].append(dict(many["devices"][0], id="d-1000"))
        st, h, e = s.home(many)
        check(st == 413 and e.get("error", {}).get("field") == "devices", "1001 devices: 413 naming devices", 413, (st, e))
        # over the cap: refused by its head alone, before a byte of the body (a raw request: the body is not sent)
        import socket
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as sock:
            sock.sendall(b"POST /v1/home/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1048577\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        check(answer.startswith(b"HTTP/1.1 413 ") and b"payload_too_large" in answer + sock_rest(answer),
              "1 MiB + 1: 413", "413 payload_too_large", answer[:200])
        big = json.dumps(home).encode()
        at_cap = big[:-1] + b',"x":"' + b"a" * (1048576 - len(big) - 7) + b'"}'
        check(len(at_cap) == 1048576, "the body at the cap is 1 MiB", 1048576, len(at_cap))
        st, h, e = s.home(at_cap, {"Content-Type": "application/json"})
        check(st == 400 and e.get("error", {}).get("field") == "x", "exactly 1 MiB reaches the parser (400: unknown key x)",
              400, (st, e))

        # ---- nothing was stored by any of it ----
        check(s.log_size() == size0, "POST /v1/home/check stores nothing: the log size is unchanged", size0, s.log_size())

        # ---- a revocation through the admin API changes the home's verdict at once ----
        ok_home = copy.deepcopy(home)
        ok_home["devices"] = ok_home["devices"][:2]
        st, h, before = s.home(ok_home)
        check(before["verdict"] == "allow" and before["level"] == 2, "before the revocation: allow, level 2", "allow",
              before["verdict"])
        st, h, b = s.req("POST", f"/v1/admin/certs/{lock}/events", {"event": "revoke", "reason": "key extraction"},
                         {"Authorization": "Bearer " + issuer})
        check(st == 200, "revoke the lock through the admin API", 200, (st, b[:200]))
        st, h, after = s.home(ok_home)
        check(after["verdict"] == "deny" and after["level"] == 0 and verdicts(after)["lock"][0] == "deny" and
              "revoked" in verdicts(after)["lock"][1], "after it: the home is denied, the lock revoked",
              ("deny", 0, "revoked"), (after["verdict"], after["level"], verdicts(after).get("lock")))
        check(after["checkpoint"]["size"] == size0 + 1, "the answer's checkpoint includes the revocation", size0 + 1,
              after["checkpoint"]["size"])
        payload = verify_statement(next(d for d in after["devices"] if d["id"] == "lock")["statement"], status_keys)
        check(payload[1][2] == 2, "the lock's statement says revoked", 2, payload[1][2])
        write_home(ok_home)
        rc, ldoc = local()
        check(rc == 1 and ldoc == after, "the CLI agrees after the revocation", (1, after["verdict"]), (rc, ldoc.get("verdict")))

        # ---- published policies: locally (the CLI on the server's registry) and through the admin API ----
        pol_a = os.path.join(tmp, "a.json")
        with open(pol_a, "w", encoding="utf-8") as f:
            json.dump({"name": "積水 homes", "default_level": 1, "levels": {"lock": 3}, "unknown": "deny"}, f,
                      ensure_ascii=False)
        p = run("--db", db, "--json", "policy", "publish", pol_a)
        pub = json.loads(p.stdout) if p.returncode == 0 else {}
        check(p.returncode == 0 and pub.get("name") == "積水 homes" and pub.get("log_index") == size0 + 1,
              "policy publish (local): the entry that published it", (0, size0 + 1), (p.returncode, pub, p.stderr))
        shape("policy_published", pub, "policy publish --json")
        st, h, b = s.req("GET", "/v1/policies")
        lst = json.loads(b)
        shape("policy_list", lst, "GET /v1/policies")
        check(st == 200 and [x["name"] for x in lst["policies"]] == ["積水 homes"] and lst["policies"][0] == pub,
              "GET /v1/policies lists what the CLI published", [pub], lst)
        check("etag" in h and h.get("cache-control", "").startswith("public, max-age="), "GET /v1/policies is cacheable",
              None, h)
        st2, _, _ = s.req("GET", "/v1/policies", headers={"If-None-Match": h.get("etag", "")})
        check(st2 == 304, "GET /v1/policies: If-None-Match gives 304", 304, st2)
        st, h, b = s.req("GET", "/v1/policies/%E7%A9%8D%E6%B0%B4%20homes")
        got = json.loads(b)
        shape("policy", got, "GET /v1/policies/{name}")
        check(st == 200 and got == {k: v for k, v in pub.items() if k not in ("published_at", "log_index")} and
              h.get("last-modified") == "Sat, 21 Nov 2026 00:00:00 GMT" and "etag" in h,
              "GET /v1/policies/{name}: the policy document, Last-Modified, ETag", pub, (st, got, h))
        st, h, b = s.req("GET", "/v1/policies/nope")
        e = json.loads(b).get("error", {})
        check(st == 404 and e.get("field") == "name" and "nope" in e.get("message", ""), "an unknown policy: 404 naming it",
              404, (st, e))
        # the policy as published is usable as it is: home check --policy with the served document
        served = os.path.join(tmp, "served.json")
        with open(served, "wb") as f:
            f.write(s.req("GET", "/v1/policies/%E7%A9%8D%E6%B0%B4%20homes")[2])
        write_home(bare)
        rc, d5 = local("--policy", served)
        levels = [x["required_level"] for x in d5.get("devices", [])]
        check(rc == 1 and levels == [1, 3], "a served policy works as home check --policy (the lock is revoked: exit 1)",
              (1, [1, 3]), (rc, levels))

        # through the admin API: the role matrix first
        pol_b = {"name": "estates", "default_level": 2, "levels": {"sensor": 1}}
        for hdrs, want_st, what in [({}, 401, "no token"), ({"Authorization": "Bearer smt_wrong"}, 401, "a wrong token"),
                                    ({"Authorization": "Bearer " + auditor}, 403, "an auditor token")]:
            st, h, b = s.req("PUT", "/v1/admin/policies/estates", pol_b, hdrs)
            check(st == want_st, f"PUT /v1/admin/policies with {what}: {want_st}", want_st, (st, b[:200]))
            st, h, b = s.req("DELETE", "/v1/admin/policies/%E7%A9%8D%E6%B0%B4%20homes", None, hdrs)
            check(st == want_st, f"DELETE /v1/admin/policies with {what}: {want_st}", want_st, (st, b[:200]))
        auth = {"Authorization": "Bearer " + issuer}
        st, h, b = s.req("PUT", "/v1/admin/policies/other", pol_b, auth)
        check(st == 400 and json.loads(b)["error"]["field"] == "name", "PUT: the body's name must be the path's", 400, (st, b))
        st, h, b = s.req("PUT", "/v1/admin/policies/estates", dict(pol_b, levels={"lock": 5}), auth)
        check(st == 400 and json.loads(b)["error"]["field"] == "levels.lock", "PUT: a level the scheme lacks: 400", 400,
              (st, b))
        st, h, b = s.req("PUT", "/v1/admin/policies/estates", b"name=estates", dict(auth, **{"Content-Type": "text/plain"}))
        check(st == 415, "PUT: not JSON: 415", 415, st)
        st, h, b = s.req("PUT", "/v1/admin/policies/estates", pol_b, auth)
        put = json.loads(b)
        check(st == 201 and h.get("location") == "/v1/policies/estates" and put.get("default_level") == 2,
              "PUT: 201 with Location", 201, (st, h.get("location"), b[:200]))
        shape("policy_published", put, "PUT /v1/admin/policies/{name}")
        st, h, b = s.req("PUT", "/v1/admin/policies/estates", dict(pol_b, default_level=3), auth)
        check(st == 200 and json.loads(b)["default_level"] == 3, "PUT again: 200, replaced", 200, (st, b[:200]))
        st, h, b = s.req("POST", "/v1/admin/policies/estates", pol_b, auth)
        check(st == 405 and h.get("allow") == "PUT, DELETE", "POST on an admin policy: 405, Allow: PUT, DELETE",
              (405, "PUT, DELETE"), (st, h.get("allow")))
        st, h, b = s.req("DELETE", "/v1/policies/estates")
        check(st == 405 and h.get("allow") == "GET, HEAD", "DELETE on a public policy: 405", 405, (st, h.get("allow")))

        # the CLI through the server: publish, list, withdraw
        pol_c = os.path.join(tmp, "c.json")
        with open(pol_c, "w", encoding="utf-8") as f:
            json.dump({"name": "rentals", "levels": {"camera": 2}}, f)
        remote = ("--server", s.url, "--token", issuer)
        p = run(*remote, "policy", "publish", pol_c)
        check(p.returncode == 0 and p.stdout.startswith("published rentals"), "policy publish --server", 0,
              (p.returncode, p.stdout, p.stderr))
        p = run(*remote, "--json", "policy", "list")
        rl = json.loads(p.stdout) if p.returncode == 0 else {}
        shape("policy_list", rl, "policy list --server --json")
        local_list = json.loads(cli(db, "--json", "policy", "list"))
        check([x["name"] for x in rl.get("policies", [])] == ["estates", "rentals", "積水 homes"] and rl == local_list,
              "policy list --server equals policy list --db", local_list, rl)
        p = run(*remote, "policy", "list")
        check(p.returncode == 0 and "rentals" in p.stdout and "default level 3" in p.stdout and "2026-11-21" in p.stdout,
              "policy list: name, default level, published date", None, p.stdout)
        p = run("--server", s.url, "--token", auditor, "policy", "withdraw", "rentals")
        check(p.returncode == 2 and "auditor" in p.stderr, "policy withdraw with an auditor token: refused (exit 2)", 2,
              (p.returncode, p.stderr))
        p = run(*remote, "--json", "policy", "withdraw", "rentals")
        wd = json.loads(p.stdout) if p.returncode == 0 else {}
        shape("policy_withdrawn", wd, "policy withdraw --server --json")
        check(p.returncode == 0 and wd.get("name") == "rentals", "policy withdraw --server", 0, (p.returncode, p.stderr))
        p = run(*remote, "policy", "withdraw", "rentals")
        check(p.returncode == 2 and "rentals" in p.stderr, "withdrawing it again: exit 2 naming it", 2,
              (p.returncode, p.stderr))
        st, h, b = s.req("GET", "/v1/policies/rentals")
        check(st == 404, "a withdrawn policy: 404", 404, st)
        st, h, b = s.req("DELETE", "/v1/admin/policies/estates", None, auth)
        check(st == 200 and json.loads(b) == {"name": "estates", "withdrawn_at": "2026-11-21T00:00:00Z"},
              "DELETE /v1/admin/policies/estates: 200", 200, (st, b))
        p = run("--db", db, "policy", "withdraw", "積水 homes")
        check(p.returncode == 0, "policy withdraw (local)", 0, (p.returncode, p.stderr))
        check(json.loads(s.req("GET", "/v1/policies")[2]) == {"policies": []}, "every policy withdrawn: an empty list",
              {"policies": []}, None)

        # ---- metrics: the new routes by name ----
        m = s.req("GET", "/metrics")[2].decode()
        for route in ("home_check", "policies", "policy", "admin_policy"):
            check(f'route="{route}"' in m, f"/metrics counts route {route}", route, None)
        check(re.search(r"^starmark_home_rate_limited_total 0$", m, re.M) is not None, "no home check was rate limited",
              0, None)
    finally:
        rc, err = s.stop()
    check(rc == 0, "starmarkd stops cleanly", 0, (rc, err[-300:]))

    # ---- the log proves the policies: every publish and withdrawal an entry that log verify checks ----
    out = json.loads(cli(db, "--json", "log", "verify"))
    check(out.get("ok") is True and out.get("policies") == 0 and out.get("entries") == size0 + 1 + 7,
          "log verify: revoke, 4 publishes, 3 withdrawals... all folded", size0 + 8, out)
    entries = json.loads(cli(db, "--json", "log", "entries", "--from", str(size0 + 1), "--count", "100"))["entries"]
    issuer_keys = {k["kid"]: base64.b64decode(k["public_key"]) for k in trust["keys"] if k["role"] == "issuer"}
    kinds, signed = [], []
    for e in entries:
        obj = cbor2.loads(base64.b64decode(e["data"]))
        obj = obj.value if isinstance(obj, cbor2.CBORTag) else obj
        hdr = cbor2.loads(obj[0])
        if hdr[3] == 65005:
            pl = cbor2.loads(obj[2])
            kinds.append((pl[1], pl[2]))
            try:  # independently: the issuer key signed it, over the COSE Sig_structure
                Ed25519PublicKey.from_public_bytes(issuer_keys[hdr[4].hex()]).verify(
                    obj[3], cbor2.dumps(["Signature1", obj[0], b"", obj[2]]))
                signed.append(pl[3] == 1795219200 and (pl[1] == 2) == (4 not in pl))
            except Exception as x:  # noqa: BLE001 - any failure is the finding
                signed.append(repr(x))
            if pl[2] == "積水 homes" and pl[1] == 1:
                check(json.loads(pl[4]) == {k: v for k, v in pub.items() if k not in ("published_at", "log_index")},
                      "the entry signs the policy as published", pub, pl[4])
    check(signed == [True] * 7, "every policy entry is signed by the issuer key, at its time", [True] * 7, signed)
    check(kinds == [(1, "積水 homes"), (1, "estates"), (1, "estates"), (1, "rentals"), (2, "rentals"), (2, "estates"),
                    (2, "積水 homes")], "the policy entries, in order: publish (1) and withdraw (2) by name", None, kinds)

    # ---- the rate limit of home checks: a small bucket refuses with 429 and Retry-After ----
    with open(conf, "w") as f:
        f.write("home_rate_per_minute = 1\nhome_burst = 2\n")
    s = Server(db, conf)
    try:
        codes = [s.home(ok_home)[0] for _ in range(3)]
        st, h, e = s.home(ok_home)
        check(codes == [200, 200, 429] and st == 429 and int(h.get("retry-after", "0")) >= 1 and
              e["error"]["code"] == "rate_limited", "the home check's rate limit: 429 with Retry-After", [200, 200, 429],
              (codes, h.get("retry-after"), e))
        st, h, b = s.req("GET", "/v1/policies")
        check(st == 200, "other public routes are not limited by it", 200, st)
        # the status lines say what they are (libevhtp itself writes "429 UNKNOWN"), also for pipelined replies
        body = json.dumps(ok_home).encode()
        got = s.raw(b"GET /v1/policies HTTP/1.1\r\nHost: t\r\n\r\n"
                    b"POST /v1/home/check HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body +
                    b"GET /v1/admin/certs HTTP/1.1\r\nHost: t\r\n\r\n"
                    b"HEAD /v1/policies HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        lines = re.findall(rb"HTTP/1\.1 [0-9]{3} [^\r]*\r\n", got)
        check(lines == [b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 429 Too Many Requests\r\n",
                        b"HTTP/1.1 405 Method Not Allowed\r\n", b"HTTP/1.1 200 OK\r\n"],
              "four pipelined replies with RFC 9110's reason phrases (200, 429, 405, 200)", None, lines)
        m = s.req("GET", "/metrics")[2].decode()
        check(re.search(r"^starmark_home_rate_limited_total 3$", m, re.M) is not None, "metrics: 3 home checks limited",
              3, re.findall(r"starmark_home_rate_limited_total.*", m))
    finally:
        s.stop()

finish()
