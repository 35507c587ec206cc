# SPDX-License-Identifier: Apache-2.0
# The CLI's --json outputs checked against schema/starmark.schema.json (python3-jsonschema).
import json
import os
import subprocess
import sys
import tempfile

import jsonschema

BIN = os.environ.get("STARMARK_BIN", "build/cli/starmark")
SRC = os.environ.get("SM_SOURCE_DIR", ".")
SCHEMA = json.load(open(os.path.join(SRC, "schema/starmark.schema.json"), encoding="utf-8"))
failures = 0
checked = 0


def run(db, *args, expect=0):
    env = dict(os.environ, STARMARK_DB=db, STARMARK_NOW="2026-11-21")
    if args[0] == "label":  # sanitizer builds: tests/lsan.supp matches cairo's PDF leak only with whole stacks
        env["ASAN_OPTIONS"] = "fast_unwind_on_malloc=0:" + env.get("ASAN_OPTIONS", "")
    p = subprocess.run([BIN, "--json", *args], capture_output=True, env=env, text=True)
    if p.returncode != expect:
        sys.exit(f"starmark {' '.join(args)}: exit {p.returncode}, expected {expect}\n{p.stderr}")
    return json.loads(p.stdout)


def check(shape, doc, what):
    global failures, checked
    checked += 1
    validator = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{shape}", "$defs": SCHEMA["$defs"]})
    errors = sorted(validator.iter_errors(doc), key=str)
    for e in errors:
        failures += 1
        print(f"FAIL {what}: {shape}: {e.message} at {list(e.absolute_path)}")


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "reg")
    run(db, "init", "--scheme", "CCDS", "--levels", "3", "--origin", "schema.test")
    cert = run(db, "issue", "--vendor", "RINNAI", "--vendor-name", "リンナイ株式会社", "--product", "無線LAN対応リモコン",
               "--model", "MC-301V", "--level", "2", "--firmware", ">=1.0 <2.0", "--category", "water-heater",
               "--registered", "2021-01-22", "--expires", "2027-01-21", "--support-end", "2030-12")
    check("certificate", cert, "issue --json")
    check("token_create", run(db, "token", "create", "--role", "auditor", "--name", "audit"), "token create --json")
    check("trust_export", run(db, "trust", "export", os.path.join(tmp, "t.cose")), "trust export --json")
    check("trust_export", run(db, "trust", "export", os.path.join(tmp, "c.cbor"), "--chain"), "trust export --chain --json")
    run(db, "firmware-revoke", cert["id"], "1.4", "--reason", "CVE-2026-1")
    check("certificate", run(db, "show", cert["id"]), "show --json")
    check("list", run(db, "list"), "list --json")
    check("list", run(db, "search", "リンナイ"), "search --json")
    check("check", run(db, "check", "--vendor", "RINNAI", "--model", "MC-301V", "--firmware", "1.5"), "check allow")
    check("check", run(db, "check", "--vendor", "RINNAI", "--model", "MC-301V", "--firmware", "1.4", expect=1), "check deny")
    check("check", run(db, "check", "--vendor", "NOPE", "--model", "X", "--firmware", "1", expect=1), "check unknown model")
    check("trust", run(db, "trust", "show"), "trust show")
    check("entries", run(db, "log", "entries"), "log entries")
    check("verify", run(db, "log", "verify"), "log verify")
    check("log_proof", run(db, "log", "proof", cert["id"]), "log proof")
    check("label_written", run(db, "label", cert["id"], "--out", os.path.join(tmp, "l.png")), "label --out")
    url = run(db, "label", cert["id"], "--out", os.path.join(tmp, "l.svg"))["url"]
    check("label_verify", run(db, "label", "verify", url), "label verify: genuine, in force")
    forged = url[:-20] + ("A" if url[-20] != "A" else "B") + url[-19:]
    check("label_verify", run(db, "label", "verify", forged, expect=1), "label verify: not genuine")
    check("label_verify", run(db, "label", "verify", "HTTPS://X/L/0189", expect=2), "label verify: unreadable")
    run(db, "trust", "export", os.path.join(tmp, "label-trust.cose"))
    check("label_verify", run(os.path.join(tmp, "none"), "label", "verify", url, "--trust",
                              os.path.join(tmp, "label-trust.cose"), expect=3), "label verify: status unknown")
    check("label_written", run(db, "label", "sheet", cert["id"], "--out", os.path.join(tmp, "s.pdf")), "label sheet")
    os.mkdir(os.path.join(tmp, "labels"))
    check("label_written", run(db, "label", cert["id"], "--out-dir", os.path.join(tmp, "labels"), "--format", "zpl"),
          "label --out-dir")
    csv = os.path.join(tmp, "in.csv")
    with open(csv, "w", encoding="utf-8") as f:
        f.write("vendor,vendor_name,product,models,level,firmware,registered\n"
                "PANA,Panasonic,Adapter,CZ-1;CZ-2,★★,>=2.0,2022-07-15\n"
                "PANA,Panasonic,Adapter,CZ-3,7,>=2.0,2022-07-15\n")
    check("import_report", run(db, "import", csv, expect=2), "import with a bad row")
    check("import_report", run(db, "import", csv, "--skip-bad"), "import --skip-bad")
    for line in subprocess.run([BIN, "--db", db, "export"], capture_output=True, text=True, check=True).stdout.splitlines():
        check("certificate", json.loads(line), "export line")
    pol = json.load(open(os.path.join(SRC, "examples/policy.json"), encoding="utf-8"))
    check("policy", pol, "examples/policy.json")
    example = os.path.join(SRC, "examples/policy.json")
    linted = run(db, "policy", "check", example)
    check("policy_check", linted, "policy check (the local registry's scheme)")
    check("policy", linted["policy"], "policy check: its policy")
    bundle = os.path.join(tmp, "trust.cose")
    run(db, "trust", "export", bundle)
    check("policy_check", run(db, "policy", "check", example, "--trust", bundle), "policy check --trust")
    check("policy_check", run(os.path.join(tmp, "none"), "policy", "check", example), "policy check without a scheme")

    # published policies: publish, list, withdraw
    check("policy_published", run(db, "policy", "publish", example), "policy publish")
    check("policy_list", run(db, "policy", "list"), "policy list")
    check("policy_withdrawn", run(db, "policy", "withdraw", pol["name"]), "policy withdraw")
    check("policy_list", run(db, "policy", "list"), "policy list (empty)")
    check("verify", run(db, "log", "verify"), "log verify with policy entries")

    # homes: the example document, and home check --json (a deny, a retrofit, a design with nothing installed)
    home_file = os.path.join(SRC, "examples/home.json")
    home = json.load(open(home_file, encoding="utf-8"))
    check("home", home, "examples/home.json")
    check("home_check", run(db, "home", "check", home_file, expect=1), "home check (deny: devices not certified)")
    check("home_check", run(db, "home", "check", home_file, "--add", "RINNAI:MC-301V@1.5/water-heater#bath", expect=1),
          "home check --add")
    design = dict(home, devices=[dict(d, installed=False) for d in home["devices"]])
    design_file = os.path.join(tmp, "design.json")
    with open(design_file, "w", encoding="utf-8") as f:
        json.dump(design, f)
    check("home_check", run(db, "home", "check", design_file, expect=1), "home check of a design")

    # last: a revoked certificate's label is genuine and not in force
    run(db, "revoke", cert["id"], "--reason", "schema test")
    check("label_verify", run(db, "label", "verify", url, expect=1), "label verify: revoked")

print(f"{checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
