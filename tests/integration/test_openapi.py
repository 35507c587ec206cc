# SPDX-License-Identifier: Apache-2.0
# schema/openapi.json against the running starmarkd: the description it serves at /v1/openapi.json is whole (every
# endpoint of INTERFACE.md and docs/interface-notes.md, every $ref resolves), and real answers of every endpoint,
# a success and a refusal each, have a status, a media type and a body the description allows (python3-jsonschema,
# the response schemas resolved inside the served document, as a client of /v1/openapi.json alone would).
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse

import cbor2
import jsonschema

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smcheck import Server, check, cli, finish  # noqa: E402

SRC = os.environ.get("SM_SOURCE_DIR", ".")

# every endpoint of the contract (INTERFACE.md) and of docs/interface-notes.md: (path template, method)
EXPECTED = {
    ("/healthz", "get"), ("/metrics", "get"), ("/v1/openapi.json", "get"), ("/v1/check", "get"),
    ("/v1/certs", "get"), ("/v1/certs.csv", "get"), ("/v1/certs.jsonl", "get"), ("/v1/certs/{id}", "get"),
    ("/v1/certs/{id}/statement", "get"), ("/v1/trust", "get"), ("/v1/trust.json", "get"), ("/v1/trust/chain", "get"),
    ("/v1/trust/{version}", "get"), ("/v1/snapshot", "get"), ("/v1/log/checkpoint", "get"), ("/v1/log/entries", "get"),
    ("/v1/log/proof/inclusion", "get"), ("/v1/log/proof/consistency", "get"), ("/v1/home/check", "post"),
    ("/v1/policies", "get"), ("/v1/policies/{name}", "get"), ("/v1/admin/certs", "post"),
    ("/v1/admin/certs/{id}/events", "post"), ("/v1/admin/labels/{id}.{format}", "get"),
    ("/v1/admin/policies/{name}", "put"), ("/v1/admin/policies/{name}", "delete"), ("/L/{token}", "get"),
    ("/c/{id}", "get"), ("/", "get"), ("/check", "get"), ("/scan", "get"), ("/sw.js", "get"),
    ("/manifest.webmanifest", "get"), ("/static/{file}", "get"),
}


def pointer(*parts):
    return "#/" + "/".join(urllib.parse.quote(str(p).replace("~", "~0").replace("/", "~1"), safe="~") for p in parts)


def resolve(doc, ref):
    node = doc
    for part in ref[2:].split("/"):
        node = node[urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")]
    return node


def refs(node, path=""):
    """Every "$ref" in node: (where, target)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield path, v
            else:
                yield from refs(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from refs(v, f"{path}/{i}")


def match(doc, path):
    """The path template of the description that a concrete path is, or None."""
    for tpl in doc["paths"]:
        # a parameter is one path segment, but for the pages' files under /static/ (it may hold '/')
        rx = "^" + re.sub(r"\\\{[a-z_]+\\\}", ".+" if tpl.startswith("/static/") else "[^/]+", re.escape(tpl)) + "$"
        if re.match(rx, path) and (tpl != "/v1/trust/{version}" or path != "/v1/trust/chain"):
            if tpl == "/v1/certs/{id}" and path in ("/v1/certs.csv", "/v1/certs.jsonl"):
                continue
            return tpl
    return None


seen = {}  # (template, method) -> set of statuses


def conforms(doc, srv, method, target, what, body=None, headers=None, expect=None):
    """One request; its answer checked against the description. Returns (status, headers, body)."""
    status, hdrs, data = srv.req(method.upper(), target, body=body, headers=headers)
    if expect is not None:
        check(status == expect, f"{what}: status", expect, status)
    u = urllib.parse.urlsplit(target)
    tpl = match(doc, u.path)
    item = doc["paths"].get(tpl, {}) if tpl else {}
    op = item.get(method)
    check(tpl is not None, f"{what}: {u.path} is described")
    if tpl and not op:
        # a method the path does not answer: 405, naming the ones it does, with the error body
        allowed = sorted(m.upper() for m in item if m in ("get", "post", "put", "delete"))
        check(status == 405, f"{what}: a method not described is refused", 405, status)
        check(all(m in hdrs.get("allow", "") for m in allowed), f"{what}: Allow names the described methods",
              allowed, hdrs.get("allow"))
        errs = list(jsonschema.Draft202012Validator(dict(doc, **{"$ref": "#/components/schemas/error"})).iter_errors(json.loads(data)))
        check(not errs, f"{what}: the error body", None, errs[:1])
        for m in item:
            seen.setdefault((tpl, m), set()).add(status)
        return status, hdrs, data
    if not op:
        return status, hdrs, data
    seen.setdefault((tpl, method), set()).add(status)
    declared = {p["name"] for p in op.get("parameters", []) + doc["paths"][tpl].get("parameters", [])
                for p in [resolve(doc, p["$ref"]) if "$ref" in p else p] if p["in"] == "query"}
    for name, _ in urllib.parse.parse_qsl(u.query, keep_blank_values=True):
        check(name in declared or status >= 400, f"{what}: query parameter {name} is described")
    key = str(status) if str(status) in op["responses"] else f"{str(status)[0]}XX" if f"{str(status)[0]}XX" in op["responses"] else "default"
    check(key in op["responses"], f"{what}: status {status} is described", sorted(op["responses"]), status)
    if key not in op["responses"]:
        return status, hdrs, data
    if key == "default":
        check(status >= 400, f"{what}: only a refusal falls to the default response", ">= 400", status)
    rp = [key]
    resp = op["responses"][key]
    if "$ref" in resp:
        rp = resp["$ref"][2:].split("/")
        resp = resolve(doc, resp["$ref"])
        rp = [urllib.parse.unquote(p) for p in rp]
    else:
        rp = ["paths", tpl, method, "responses", key]
    content = resp.get("content")
    if not content or method == "head" or status == 304:
        check(not data, f"{what}: no body", b"", data[:80])
        return status, hdrs, data
    ctype = hdrs.get("content-type", "")
    mt = ctype if ctype in content else "*/*" if "*/*" in content else None
    check(mt is not None, f"{what}: media type {ctype} is described", sorted(content), ctype)
    if mt is None:
        return status, hdrs, data
    schema = dict(doc)
    schema["$ref"] = pointer(*rp, "content", mt, "schema")
    validator = jsonschema.Draft202012Validator(schema)
    if mt.startswith("application/jsonl"):
        lines = data.decode().splitlines()
        cert = dict(doc, **{"$ref": "#/components/schemas/certificate"})
        for i, line in enumerate(lines):
            errs = list(jsonschema.Draft202012Validator(cert).iter_errors(json.loads(line)))
            check(not errs, f"{what}: line {i + 1} is a certificate", None, errs[:1])
        inst = data.decode()
    elif mt.startswith("application/json") or mt == "application/manifest+json":
        inst = json.loads(data)
    elif mt == "application/cbor":
        inst = data.hex()
        chain = cbor2.loads(data)
        check(isinstance(chain, list) and all(isinstance(b, bytes) for b in chain), f"{what}: a CBOR array of bundles")
    elif mt.startswith("text/"):
        inst = data.decode()
    else:
        inst = data.hex()
    errors = sorted(validator.iter_errors(inst), key=str)
    check(not errors, f"{what}: the body is the described shape", None,
          [f"{e.message[:200]} at {list(e.absolute_path)}" for e in errors[:3]])
    return status, hdrs, data


with tempfile.TemporaryDirectory() as tmp:
    # ---- the description, in the source tree and served ----
    source = json.load(open(os.path.join(SRC, "schema/openapi.json"), encoding="utf-8"))
    shapes = json.load(open(os.path.join(SRC, "schema/starmark.schema.json"), encoding="utf-8"))
    for where, ref in refs(source):
        if ref.startswith("starmark.schema.json#/$defs/"):
            check(ref.split("/")[-1] in shapes["$defs"], f"schema/openapi.json {where}: {ref} is a shape of starmark.schema.json")
        else:
            ok = ref.startswith("#/")
            try:
                resolve(source, ref)
            except (KeyError, TypeError):
                ok = False
            check(ok, f"schema/openapi.json {where}: {ref} resolves")
    check(not set(source["components"]["schemas"]) & set(shapes["$defs"]),
          "the description's own shapes and starmark.schema.json's do not share a name")

    db = os.path.join(tmp, "reg")
    cli(db, "init", "--scheme", "CCDS", "--levels", "3", "--origin", "registry.example.jp")
    cid = cli(db, "issue", "--vendor", "RINNAI", "--vendor-name", "リンナイ株式会社", "--product", "無線LAN対応リモコン",
              "--model", "MC-301V", "--level", "2", "--firmware", ">=1.0.0 <2.0", "--category", "water-heater",
              "--registered", "2021-01-22", "--expires", "2027-01-21", "--support-end", "2030-12").strip()
    cli(db, "firmware-revoke", cid, "1.4", "--reason", "CVE-2026-1")
    cli(db, "policy", "publish", os.path.join(SRC, "examples/policy.json"))
    policy_name = json.load(open(os.path.join(SRC, "examples/policy.json"), encoding="utf-8"))["name"]
    issuer = cli(db, "token", "create", "--role", "issuer", "--name", "ci").strip()
    auditor = cli(db, "token", "create", "--role", "auditor", "--name", "audit").strip()
    ISS = {"Authorization": f"Bearer {issuer}"}
    AUD = {"Authorization": f"Bearer {auditor}"}
    srv = Server(db, "--web", os.path.join(SRC, "web"))
    try:
        st, h, raw = srv.req("GET", "/v1/openapi.json")
        check(st == 200 and h.get("content-type") == "application/json", "GET /v1/openapi.json", 200, st)
        doc = json.loads(raw)
        check(doc.get("openapi", "").startswith("3.1."), "an OpenAPI 3.1 document", "3.1.x", doc.get("openapi"))
        for where, ref in refs(doc):
            ok = ref.startswith("#/")
            try:
                resolve(doc, ref)
            except (KeyError, TypeError):
                ok = False
            check(ok, f"served {where}: {ref} resolves inside the document")
        described = {(p, m) for p, item in doc["paths"].items() for m in item if m in ("get", "post", "put", "delete")}
        check(EXPECTED <= described, "every endpoint is described", [], sorted(EXPECTED - described))
        for (p, m) in described:
            check("default" in doc["paths"][p][m]["responses"], f"{m.upper()} {p}: a default (error) response")
        # every $def of starmark.schema.json is a components schema, its shapes as they are
        for name, shape in shapes["$defs"].items():
            check(name in doc["components"]["schemas"], f"served: components.schemas.{name}")

        C = lambda *a, **k: conforms(doc, srv, *a, **k)  # noqa: E731
        _, h, _ = C("get", "/v1/openapi.json", "openapi", expect=200)
        C("get", "/v1/openapi.json", "openapi 304", headers={"If-None-Match": h.get("etag", "")}, expect=304)
        C("get", "/v1/openapi.json?x=1", "openapi with a query", expect=400)
        C("get", "/healthz", "healthz", expect=200)
        C("post", "/healthz", "healthz POST", body={}, expect=405)
        C("get", "/metrics", "metrics", expect=200)
        C("delete", "/metrics", "metrics DELETE", expect=405)
        C("get", "/v1/check?vendor=RINNAI&model=MC-301V&firmware=1.5", "check allow", expect=200)
        C("get", "/v1/check?vendor=RINNAI&model=MC-301V&firmware=1.4&category=water-heater", "check deny", expect=200)
        C("get", "/v1/check?vendor=NOPE&model=X&firmware=1&level=2", "check unknown model", expect=200)
        C("get", "/v1/check?vendor=RINNAI&model=MC-301V", "check without firmware", expect=400)
        C("get", "/v1/certs?vendor=RINNAI&level=2&page=1", "certs", expect=200)
        C("get", "/v1/certs?q=%E3%83%AA%E3%83%B3%E3%83%8A%E3%82%A4&status=active", "certs search", expect=200)
        C("get", "/v1/certs?status=lost", "certs bad status", expect=400)
        C("get", "/v1/certs.csv?vendor=RINNAI", "certs.csv", expect=200)
        C("get", "/v1/certs.csv?page=2", "certs.csv with a page", expect=400)
        C("get", "/v1/certs.jsonl", "certs.jsonl", expect=200)
        C("get", "/v1/certs.jsonl?level=x", "certs.jsonl bad level", expect=400)
        C("get", f"/v1/certs/{cid}", "cert", expect=200)
        C("get", "/v1/certs/SM-2020-999999", "unknown cert", expect=404)
        for _ in range(50):  # statements are produced by the refresher
            st, _, _ = srv.req("GET", f"/v1/certs/{cid}/statement")
            if st == 200:
                break
            time.sleep(0.1)
        C("get", f"/v1/certs/{cid}/statement", "statement", expect=200)
        C("get", "/v1/certs/SM-2020-999999/statement", "statement of an unknown cert", expect=404)
        C("get", "/v1/trust", "trust", expect=200)
        C("get", "/v1/trust?x=1", "trust with a query", expect=400)
        C("get", "/v1/trust.json", "trust.json", expect=200)
        C("put", "/v1/trust.json", "trust.json PUT", body={}, expect=405)
        C("get", "/v1/trust/chain?from=1", "trust chain", expect=200)
        C("get", "/v1/trust/chain?from=0", "trust chain from 0", expect=400)
        C("get", "/v1/trust/1", "trust version 1", expect=200)
        C("get", "/v1/trust/99", "trust version 99", expect=404)
        _, h, _ = C("get", "/v1/snapshot", "snapshot", expect=200)
        C("get", "/v1/snapshot", "snapshot 304", headers={"If-None-Match": h.get("etag", "")}, expect=304)
        C("get", "/v1/snapshot?x=1", "snapshot with a query", expect=400)
        C("get", "/v1/log/checkpoint", "checkpoint", expect=200)
        C("post", "/v1/log/checkpoint", "checkpoint POST", body={}, expect=405)
        _, _, raw = C("get", "/v1/log/entries?start=0&count=10", "entries", expect=200)
        size = len(json.loads(raw)["entries"])
        C("get", "/v1/log/entries?start=x", "entries bad start", expect=400)
        C("get", f"/v1/log/proof/inclusion?index=0&size={size}", "inclusion", expect=200)
        C("get", "/v1/log/proof/inclusion?index=0", "inclusion without size", expect=400)
        C("get", f"/v1/log/proof/consistency?from=1&to={size}", "consistency", expect=200)
        C("get", "/v1/log/proof/consistency?from=1", "consistency without to", expect=400)
        home = json.load(open(os.path.join(SRC, "examples/home.json"), encoding="utf-8"))
        C("post", "/v1/home/check", "home check", body=home, expect=200)
        C("post", "/v1/home/check", "home check, not a home", body={"home": 1}, expect=400)
        C("post", "/v1/home/check", "home check, not JSON", body=b"x", headers={"Content-Type": "text/plain"}, expect=415)
        C("get", "/v1/policies", "policies", expect=200)
        C("get", "/v1/policies?x=1", "policies with a query", expect=400)
        C("get", "/v1/policies/" + urllib.parse.quote(policy_name), "policy", expect=200)
        C("get", "/v1/policies/nope", "unknown policy", expect=404)
        body = {"vendor": {"code": "ACME", "name": "Acme"}, "product": "Smart lock", "models": ["L-1"], "level": 3,
                "firmware": {"covered": ">=1.0"}, "category": "lock", "registered": "2024-01-10"}
        _, _, raw = C("post", "/v1/admin/certs", "admin issue", body=body, headers=ISS, expect=201)
        new_id = json.loads(raw)["id"]
        C("post", "/v1/admin/certs", "admin issue without a token", body=body, expect=401)
        C("post", "/v1/admin/certs", "admin issue by an auditor", body=body, headers=AUD, expect=403)
        C("post", "/v1/admin/certs", "admin issue, a bad body", body={"vendor": 1}, headers=ISS, expect=400)
        ev = f"/v1/admin/certs/{new_id}/events"
        C("post", ev, "admin suspend", body={"event": "suspend", "reason": "review"}, headers=ISS, expect=200)
        C("post", ev, "admin suspend twice", body={"event": "suspend", "reason": "again"}, headers=ISS, expect=409)
        C("post", ev, "admin reinstate", body={"event": "reinstate", "reason": "ok"}, headers=ISS, expect=200)
        C("post", "/v1/admin/certs/SM-2020-999999/events", "admin event, unknown id",
          body={"event": "revoke", "reason": "x"}, headers=ISS, expect=404)
        C("post", ev, "admin event, unknown event", body={"event": "paint", "reason": "x"}, headers=ISS, expect=400)
        _, h, _ = C("get", f"/v1/admin/labels/{cid}.svg", "admin label svg", headers=AUD, expect=200)
        C("get", f"/v1/admin/labels/{cid}.png?size_mm=20", "admin label png", headers=AUD, expect=200)
        C("get", f"/v1/admin/labels/{cid}.zpl", "admin label zpl", headers=AUD, expect=200)
        C("get", f"/v1/admin/labels/{cid}.gif", "admin label gif", headers=AUD, expect=404)
        C("get", f"/v1/admin/labels/{cid}.svg", "admin label without a token", expect=401)
        pol = {"name": "openapi test", "default_level": 2, "levels": {"lock": 3}}
        pp = "/v1/admin/policies/" + urllib.parse.quote(pol["name"])
        C("put", pp, "admin publish", body=pol, headers=ISS, expect=201)
        C("put", pp, "admin publish again", body=pol, headers=ISS, expect=200)
        C("put", pp, "admin publish, name differs", body=dict(pol, name="other"), headers=ISS, expect=400)
        C("put", pp, "admin publish by an auditor", body=pol, headers=AUD, expect=403)
        C("delete", pp, "admin withdraw", headers=ISS, expect=200)
        C("delete", pp, "admin withdraw again", headers=ISS, expect=404)
        token = urllib.parse.urlsplit(h.get("content-location", "")).path.split("/L/")[-1]
        C("get", f"/L/{token}", "label page", expect=200)
        C("get", "/L/AAAA", "label page, junk", expect=404)
        C("get", f"/c/{cid}?lang=en", "cert page", expect=200)
        C("get", "/c/SM-2020-999999", "cert page, unknown", expect=404)
        C("get", f"/c/{cid}?lang=fr", "cert page, bad lang", expect=400)
        for page in ("/", "/check", "/scan", "/sw.js", "/manifest.webmanifest", "/static/css/site.css"):
            C("get", page, f"page {page}", expect=200)
            C("post", page, f"page {page} POST", body={}, expect=405)
        st, h, raw = srv.req("GET", "/v1/nope")
        err = dict(doc, **{"$ref": "#/components/schemas/error"})
        check(st == 404 and not list(jsonschema.Draft202012Validator(err).iter_errors(json.loads(raw))),
              "an unknown path: 404 with the described error body")

        # each described operation was answered, with a success and a refusal
        for key in sorted(described):
            codes = seen.get(key, set())
            check(any(200 <= c < 300 for c in codes), f"{key[1].upper()} {key[0]}: a success checked", "2xx", sorted(codes))
            check(any(c >= 400 for c in codes), f"{key[1].upper()} {key[0]}: a refusal checked", ">= 400", sorted(codes))
    finally:
        rc, err = srv.stop()
        check(rc == 0, "starmarkd stopped cleanly", 0, (rc, err[-300:]))
finish()
