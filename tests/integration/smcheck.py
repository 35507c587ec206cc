# SPDX-License-Identifier: Apache-2.0
# Shared by the Python integration tests: where the binaries are, one check() counting results, finish(),
# the CLI on a registry and starmarkd on 127.0.0.1:0 (both at a fixed day).
import http.client
import json
import os
import signal
import subprocess
import sys

BIN = os.environ.get("STARMARK_BIN", "build/cli/starmark")
SERVER = os.environ.get("STARMARKD_BIN", os.path.join(os.path.dirname(BIN), "..", "server", "starmarkd"))
counts = {"passed": 0, "failed": 0}


def check(cond, what, expected=None, got=None):
    """Count one check; on failure print what was expected and what came."""
    if cond:
        counts["passed"] += 1
    else:
        counts["failed"] += 1
        print(f"FAIL {what}" + (f"\n  expected: {expected!r}\n  got:      {got!r}" if expected is not None or got is not None else ""))


def finish():
    """The closing line ('N passed, N failed') and the exit code."""
    print(f"{counts['passed']} passed, {counts['failed']} failed")
    sys.exit(1 if counts["failed"] else 0)


def cli(db, *args, expect=0, now="2026-11-21"):
    """starmark --db DB ARGS on day `now`: its stdout; any other exit code than `expect` ends the test."""
    p = subprocess.run([BIN, "--db", db, *args], capture_output=True, text=True, env=dict(os.environ, STARMARK_NOW=now))
    if p.returncode != expect:
        sys.exit(f"starmark {' '.join(args)}: exit {p.returncode}, expected {expect}: {p.stderr}")
    return p.stdout


class Server:
    """starmarkd on a registry, on 127.0.0.1 and a port of the system's choosing, on day `now`."""

    timeout = 10  # seconds a request may take

    def __init__(self, db, *extra, now="2026-11-21"):
        self.p = subprocess.Popen([SERVER, "--db", db, "--listen", "127.0.0.1:0", "--threads", "2", *extra],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, STARMARK_NOW=now))
        line = self.p.stdout.readline()
        if not line.startswith("listening on "):
            self.p.kill()
            sys.exit(f"starmarkd did not start: {line!r} {self.p.stderr.read()}")
        self.port = int(line.rsplit(":", 1)[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def req(self, method, path, body=None, headers=None):
        """One request on a new connection: (status, headers with lower-case names, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        h = dict(headers or {})
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def raw(self, data):
        """Send bytes as they are on one connection (say, pipelined requests); all that came back until it closed."""
        import socket
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout) as so:
            so.sendall(data)
            got = b""
            while chunk := so.recv(65536):
                got += chunk
            return got

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s: (exit code, what it wrote on stderr)."""
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = -9
        return rc, self.p.stderr.read()
