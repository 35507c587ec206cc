# SPDX-License-Identifier: Apache-2.0
# A full disk, on a small tmpfs the test mounts (root; SKIP otherwise): an import, CLI issues and the server's admin
# writes fail with "no space left on the disk of ..." (exit 4, HTTP 507), nothing acknowledged is lost and nothing
# half-written shows (log verify passes), reads go on, /healthz and /metrics show the condition, and after space is
# freed the next write succeeds without a restart.
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from smcheck import BIN, SERVER, check, finish  # noqa: E402

SRC = os.environ.get("SM_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
NOW = "2026-11-21"
ENV = dict(os.environ, STARMARK_NOW=NOW)


def sm(db, *args):
    p = subprocess.run([BIN, "--db", db, *args], capture_output=True, text=True, env=ENV, timeout=120)
    return p.returncode, p.stdout, p.stderr


def free_bytes(d):
    v = os.statvfs(d)
    return v.f_bavail * v.f_frsize


def fill(path, leave):
    """Grow the file `path` until the file system has `leave` bytes or less free (0: until ENOSPC)."""
    d = os.path.dirname(path)
    try:
        with open(path, "ab") as f:
            while True:
                room = free_bytes(d) - leave
                if room <= 0 and leave:
                    break
                f.write(b"\0" * max(4096, min(room, 1 << 20)))
                f.flush()
    except OSError:
        pass  # full: what was asked


def req(port, method, path, body=None, token=None):
    h = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        h["Authorization"] = "Bearer " + token
    r = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers=h,
                               data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(r, timeout=10) as a:
            return a.status, a.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def draft(i):
    return {"vendor": {"code": "FULL", "name": "Full Disk KK"}, "product": f"Product {i}", "models": [f"FD-{i}"],
            "level": 2, "firmware": {"covered": ">=1.0 <2.0"}, "registered": "2026-11-01"}


def main():
    t0 = time.time()
    top = tempfile.mkdtemp(prefix="sm-full.")
    mnt = os.path.join(top, "mnt")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", mnt], capture_output=True).returncode:
        print("SKIP: cannot mount a tmpfs here (the fault test needs root)")
        shutil.rmtree(top, ignore_errors=True)
        return
    srv = None
    try:
        db = os.path.join(mnt, "reg")
        filler = os.path.join(mnt, "filler")
        rc, out, err = sm(db, "init", "--scheme", "CCDS", "--levels", "3", "--origin", "full.example")
        check(rc == 0, "init on the tmpfs", 0, (rc, err))
        rc, token, err = sm(db, "token", "create", "--name", "ops", "--role", "issuer")
        token = token.strip()
        acked = []  # ids whose creation was acknowledged

        # 1. an import larger than the space left: refused whole
        csv = os.path.join(top, "big.csv")
        subprocess.run([sys.executable, os.path.join(SRC, "bench", "gen_csv.py"), "4000", "full", csv], check=True)
        fill(filler, 400 << 10)
        rc, out, err = sm(db, "import", csv)
        check(rc == 4, "an import on a full disk exits 4", 4, (rc, err))
        check("no space left on the disk of" in err, "and says 'no space left on the disk of ...'", "no space left", err)
        rc, out, err = sm(db, "--json", "list")
        check(rc == 0 and json.loads(out)["total"] == 0, "nothing of the failed import is there", 0, (rc, out[:200]))
        rc, out, err = sm(db, "log", "verify")
        check(rc == 0, "log verify passes after the failed import (nothing half-written)", 0, (rc, err))

        # 2. CLI issues until the disk is full: each acknowledged one stays, the first refused says why
        fill(filler, 0)
        refused = None
        for i in range(400):
            rc, out, err = sm(db, "--json", "issue", "--vendor", "FULL", "--vendor-name", "Full Disk KK", "--product",
                              f"CLI {i}", "--model", f"CLI-{i}", "--level", "2", "--firmware", "1.0",
                              "--registered", "2026-11-01")
            if rc == 0:
                acked.append(json.loads(out)["id"])
            else:
                refused = (rc, err)
                break
        check(refused is not None and refused[0] == 4, "an issue on a full disk exits 4", 4, refused)
        check(refused is not None and "no space left on the disk of" in refused[1], "and says no space left", "no space",
              refused)
        print(f"CLI: {len(acked)} issues acknowledged before the disk was full; then: {refused and refused[1].strip()}")

        # 3. the server on the full disk: reads go on, admin writes answer 507, /healthz and /metrics say so
        srv = subprocess.Popen([SERVER, "--db", db, "--listen", "127.0.0.1:0", "--threads", "2", "--web", "/nonexistent"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        line = srv.stdout.readline()
        check(line.startswith("listening on "), "starmarkd starts on a full disk", "listening on", line)
        port = int(line.rsplit(":", 1)[1])
        st507 = None
        for i in range(200):
            st, body = req(port, "POST", "/v1/admin/certs", draft(i), token)
            if st == 201:
                acked.append(json.loads(body)["id"])
            else:
                st507 = (st, json.loads(body))
                break
        check(st507 is not None and st507[0] == 507 and st507[1]["error"]["code"] == "store_full",
              "an admin write on a full disk answers 507 store_full", 507, st507)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/v1/admin/certs", json.dumps(draft(999)),
                  {"Content-Type": "application/json", "Authorization": "Bearer " + token})
        r = c.getresponse()
        r.read()
        c.close()
        check((r.status, r.reason) == (507, "Insufficient Storage"), "its status line: 507 Insufficient Storage",
              (507, "Insufficient Storage"), (r.status, r.reason))
        st, body = req(port, "GET", "/healthz")
        h = json.loads(body)
        check(st == 200 and h["status"] == "degraded" and h["problems"][0]["code"] == "disk_full",
              "/healthz: degraded, disk_full", "degraded/disk_full", (st, h))
        st, body = req(port, "GET", "/metrics")
        m = body.decode()
        check(re.search(r"^starmark_store_full 1$", m, re.M) is not None, "/metrics: starmark_store_full 1", 1,
              re.findall(r"starmark_store_full.*", m))
        check(re.search(r"^starmark_store_full_writes_total [1-9]", m, re.M) is not None,
              "/metrics counts the failed writes", ">= 1", re.findall(r"starmark_store_full_writes_total.*", m))
        st, body = req(port, "GET", "/v1/certs?vendor=FULL")
        check(st == 200 and json.loads(body)["total"] == len(acked), "reads go on and list every acknowledged write",
              len(acked), (st, body[:200]))
        if acked:
            st, body = req(port, "POST", f"/v1/admin/certs/{acked[0]}/events", {"event": "suspend", "reason": "full"},
                           token)
            check(st in (200, 507), "an event on a full disk is stored or refused whole", "200|507", st)
            if st == 200:
                acked.append("suspended:" + acked[0])

        # 4. space returns: the server notices by itself, the next write succeeds without a restart
        os.unlink(filler)
        deadline = time.time() + 10
        while time.time() < deadline:
            st, body = req(port, "GET", "/healthz")
            if json.loads(body)["status"] == "ok":
                break
            time.sleep(0.2)
        check(json.loads(body)["status"] == "ok", "/healthz is ok again once space returned", "ok", body)
        st, body = req(port, "POST", "/v1/admin/certs", draft(999), token)
        check(st == 201, "the next admin write succeeds without a restart", 201, (st, body[:200]))
        if st == 201:
            acked.append(json.loads(body)["id"])
        st, body = req(port, "GET", "/metrics")
        check(re.search(r"^starmark_store_full 0$", body.decode(), re.M) is not None, "/metrics: starmark_store_full 0",
              0, re.findall(r"starmark_store_full .*", body.decode()))
        srv.terminate()
        rc = srv.wait(timeout=20)
        check(rc == 0, "starmarkd stops cleanly", 0, (rc, srv.stderr.read()[-500:]))
        srv = None

        # 5. nothing acknowledged is lost, nothing half-written is there
        rc, out, err = sm(db, "log", "verify")
        check(rc == 0, "log verify passes after the faults", 0, (rc, err))
        rc, out, err = sm(db, "--json", "list", "--vendor", "FULL")
        have = {c["id"]: c for c in json.loads(out)["certificates"]} if rc == 0 else {}
        lost = [a for a in acked if not a.startswith("suspended:") and a not in have]
        check(not lost, "every acknowledged certificate is there", [], lost)
        for a in acked:
            if a.startswith("suspended:"):
                check(have.get(a[10:], {}).get("status") == "suspended", "the acknowledged suspension is there",
                      "suspended", have.get(a[10:], {}).get("status"))
        check(len(have) == len([a for a in acked if not a.startswith("suspended:")]), "and nothing more", len(acked),
              len(have))
        rc, out, err = sm(db, "issue", "--vendor", "FULL", "--vendor-name", "Full Disk KK", "--product", "after",
                          "--model", "AFTER-1", "--level", "2", "--firmware", "1.0", "--registered", "2026-11-01")
        check(rc == 0, "the CLI writes again after space returned", 0, (rc, err))
        el = time.time() - t0
        print(f"{len(acked)} acknowledged writes kept; {el:.1f} s")
        check(el < 90, "the fault test stays under 90 s", "< 90", el)
    finally:
        if srv:
            srv.kill()
            srv.wait()
        subprocess.run(["umount", mnt], capture_output=True)
        shutil.rmtree(top, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
