# SPDX-License-Identifier: Apache-2.0
# Single-byte flips in 20 copies of a served store (seeded): `log verify` and starmarkd on each copy. Nothing may
# crash (no signal deaths, no hang), and the server must notice every flip `log verify` notices: it refuses to
# open the store, or /healthz answers 503 once its quick check or first background verification has run.
# Where each flip landed (which table's page, a free page) is printed: the numbers in docs/operations.md.
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from smcheck import BIN, SERVER, check, cli, finish  # noqa: E402
from lmdb_pages import Owners  # noqa: E402

SRC = os.environ.get("SM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
NOW = "2026-11-21"
FLIPS = int(os.environ.get("SM_FLIPS", "20"))
SEED = int(os.environ.get("SM_FLIP_SEED", "11"))


def run(args, timeout=60):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=dict(os.environ, STARMARK_NOW=NOW))
    return p.returncode, p.stdout, p.stderr


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def serve(db, wait_verify=True):
    """starmarkd on db: (exit code if it did not start else None, health status, health body, read status, exit code)."""
    p = subprocess.Popen([SERVER, "--db", db, "--listen", "127.0.0.1:0", "--threads", "2", "--web", "/nonexistent"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, STARMARK_NOW=NOW))
    line = p.stdout.readline()
    if not line.startswith("listening on "):
        try:
            rc = p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "hang"
        return {"started": False, "rc": rc, "stderr": p.stderr.read()[-300:]}
    port = int(line.rsplit(":", 1)[1])
    deadline = time.time() + 20
    while wait_verify and time.time() < deadline:
        st, body = get(port, "/healthz")
        h = json.loads(body)
        if h["integrity"]["state"] != "checking":
            break
        time.sleep(0.1)
    st, body = get(port, "/healthz")
    rst, _ = get(port, "/v1/certs?vendor=ACME")
    p.terminate()
    try:
        rc = p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "hang"
    return {"started": True, "health": st, "body": json.loads(body), "read": rst, "rc": rc, "stderr": p.stderr.read()[-300:]}


def main():
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="sm-flip.")
    try:
        base = os.path.join(tmp, "base")
        cli(base, "init", "--scheme", "CCDS", "--levels", "3", "--origin", "flip.example", now=NOW)
        csv = os.path.join(tmp, "c.csv")
        subprocess.run([sys.executable, os.path.join(SRC, "bench", "gen_csv.py"), "300", "flip", csv], check=True)
        cli(base, "import", csv, now=NOW)
        cli(base, "token", "create", "--name", "ops", "--role", "issuer", now=NOW)
        ids = json.loads(cli(base, "--json", "list", "--limit", "3", now=NOW))["certificates"]
        cli(base, "suspend", ids[1]["id"], "--reason", "test", now=NOW)
        cli(base, "policy", "publish", os.path.join(SRC, "examples", "policy.json"), now=NOW)
        # served once: statements signed, the snapshot and the saved checkpoint written
        s = serve(base)
        check(s["started"] and s["health"] == 200, "the sound store is healthy", 200, s)
        rc, out, err = run([BIN, "--db", base, "log", "verify"])
        check(rc == 0, "log verify passes on the sound store", 0, (rc, err))
        owners = Owners(os.path.join(base, "data.mdb"))
        print("pages of the base store:", ", ".join(f"{k} {v}" for k, v in sorted(owners.counts().items())))
        size = os.path.getsize(os.path.join(base, "data.mdb"))
        rnd = random.Random(SEED)
        caught = noticed = crashed = 0
        missed = {}
        for k in range(FLIPS):
            off = rnd.randrange(size)
            x = rnd.randrange(1, 256)
            d = os.path.join(tmp, f"copy{k}")
            shutil.copytree(base, d)
            with open(os.path.join(d, "data.mdb"), "r+b") as f:
                f.seek(off)
                b = f.read(1)[0]
                f.seek(off)
                f.write(bytes([b ^ x]))
            where = owners.of(off)
            vrc, vout, verr = run([BIN, "--db", d, "log", "verify"])
            s = serve(d)
            if not isinstance(vrc, int) or vrc < 0 or s["rc"] == "hang" or (isinstance(s["rc"], int) and s["rc"] < 0):
                crashed += 1
            server_noticed = not s["started"] or s["health"] == 503
            if vrc != 0:
                caught += 1
                noticed += server_noticed
                check(server_noticed, f"flip {k} at {off} ({where}): log verify caught it, the server noticed", True, s)
            else:
                missed[where] = missed.get(where, 0) + 1
            check(vrc in (0, 1, 4), f"flip {k}: log verify exits 0, 1 or 4", "0|1|4", (vrc, verr[-200:]))
            check(s["rc"] in (0, 2, 4), f"flip {k}: starmarkd stops (or refuses) cleanly", "0|2|4", s)
            if s["started"]:
                check(s["read"] in (200, 500), f"flip {k}: reads go on", "200|500", s["read"])
            state = ("refused to start: " + s["stderr"].strip().splitlines()[-1][:90]) if not s["started"] else \
                f"healthz {s['health']}" + (f" ({s['body']['problems'][0]['message'][:70]})" if s["body"]["problems"] else "")
            print(f"flip {k:2} offset {off:7} page {off // 4096:4} {where:14} xor {x:#04x}: log verify {vrc}; {state}")
            shutil.rmtree(d)
        print(f"log verify caught {caught} of {FLIPS}; the server noticed {noticed} of those; "
              f"not caught, by where they landed: {missed or 'none'}; crashes or hangs: {crashed}")
        check(crashed == 0, "nothing crashed or hung", 0, crashed)
        check(noticed == caught, "the server noticed every flip log verify caught", caught, noticed)
        el = time.time() - t0
        print(f"{el:.1f} s")
        check(el < 120, "the corruption test stays short", "< 120 s", el)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
