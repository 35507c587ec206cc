#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Tokens only where nobody on the way can read them (issue 11): over https, or to this machine; to another
# machine over plain http only with --insecure. And the CLI waits out a 429 (a rate limit) for its Retry-After.
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smcheck import BIN, Server, check, cli, finish  # noqa: E402

work = tempfile.mkdtemp(prefix="sm-tls-")
db = os.path.join(work, "reg")
cli(db, "init", "--scheme", "CCDS", "--origin", "registry.example.jp")
token = cli(db, "token", "create", "--role", "issuer", "--name", "ops").strip()


def run(*args):
    t0 = time.monotonic()
    p = subprocess.run([BIN, *args], capture_output=True, text=True, env=dict(os.environ, STARMARK_NOW="2026-11-21"))
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


# another machine over plain http: refused before anything is sent (a documentation address: nothing answers)
rc, _, err, took = run("--server", "http://192.0.2.77:8080", "--token", token, "show", "SM-2026-000001")
check(rc == 2 and "https://" in err and "--insecure" in err, "a token over plain http to another machine is refused",
      "exit 2 naming https:// and --insecure", (rc, err))
check(took < 5, "refused before any connection is tried", "< 5 s", took)
check(token not in err, "the message does not carry the token", "absent", err)
rc, _, err, _ = run("--server", "http://registry.example.jp", "--token", token, "suspend", "SM-2026-000001", "--reason", "x")
check(rc == 2 and "https://" in err, "also for a host name", "exit 2", (rc, err))
# without a token, plain http is fine (public reads carry no secret): a refused connection is exit 4
rc, _, err, _ = run("--server", "http://127.0.0.2:1", "show", "SM-2026-000001")
check(rc == 4, "public reads over plain http are not refused for it", 4, (rc, err))

# --server and --offline: the explicit --offline wins, and says so
rc, _, err, _ = run("--server", "http://127.0.0.2:1", "check", "--offline", "--cache", os.path.join(work, "nocache"),
                    "--trust", "ab" * 32, "--vendor", "A", "--model", "B", "--firmware", "1")
check(rc == 3 and "is not asked" in err, "--offline with --server answers from the cache and says so", "exit 3, a word",
      (rc, err))

s = Server(db)
# this machine: loopback is fine
rc, out, err, _ = run("--server", s.url, "--token", token, "--json", "list")
check(rc == 0, "a token to 127.0.0.1 over http", 0, (rc, err))
rc, out, err, _ = run("--server", s.url.replace("127.0.0.1", "localhost"), "--token", token, "--json", "list")
check(rc == 0, "a token to localhost over http", 0, (rc, err))
s.stop()

# a non-loopback address of this machine, if it has one: refused without --insecure, served with it
addrs = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
addr = next((a for a in addrs if "." in a and not a.startswith("127.")), None)
if addr:
    p = subprocess.Popen([os.environ.get("STARMARKD_BIN"), "--db", db, "--listen", f"{addr}:0", "--threads", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, STARMARK_NOW="2026-11-21"))
    line = p.stdout.readline()
    url = "http://" + line.split()[-1]
    rc, _, err, _ = run("--server", url, "--token", token, "--json", "list")
    check(rc == 2, f"a token to {addr} (not loopback) over http is refused", 2, (rc, err))
    rc, _, err, _ = run("--insecure", "--server", url, "--token", token, "--json", "list")
    check(rc == 0, "--insecure lets it go", 0, (rc, err))
    p.terminate()
    p.wait(timeout=10)
else:
    print("SKIP: no non-loopback IPv4 address on this machine")

# a 429 is waited out: one admin request every 3 s, a burst of one (slow enough that three CLI runs in a row
# meet the limit also in a sanitizer build on a loaded machine)
conf = os.path.join(work, "starmarkd.conf")
with open(conf, "w") as f:
    f.write("admin_rate_per_minute = 20\nadmin_burst = 1\n")
s = Server(db, "--config", conf)
ids = []
t0 = time.monotonic()
for i in range(3):
    rc, out, err, _ = run("--server", s.url, "--token", token, "issue", "--vendor", "ACME", "--vendor-name", "Acme",
                          "--product", f"P{i}", "--model", f"M-{i}", "--level", "1", "--firmware", "1.0",
                          "--registered", "2026-01-01")
    check(rc == 0, f"admin write {i} succeeds, a 429 waited out", 0, (rc, err))
    ids.append(out.strip())
took = time.monotonic() - t0
rc, log = s.stop()
limited = log.count("status=429")
check(limited >= 1, "the server did answer 429 on the way", ">= 1", limited)
check(took >= 3.0, "the client waited for Retry-After", ">= 3 s", took)
check(len(set(ids)) == 3, "each write was made once", 3, ids)
finish()
