#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile-client tests for the request guard, over real sockets, plain and TLS.

The server is SM_GUARD_SERVER (default: tests/guard/guard_harness of the build that holds
STARMARK_BIN); it must print "listening on 127.0.0.1:PORT" and serve GET|HEAD /echo (raw path
and query as JSON), POST /echo and POST /v1/admin/echo ({"length","sha256"} of the body) and
GET /slow. SM_GUARD_WRAPPER prefixes the command (e.g. "valgrind --error-exitcode=99");
SM_HOSTILE_QUICK=1 runs a subset (no 10 s timeout test, fewer fuzz cases).
Every failure prints what was expected and what came; the exit status is the failure count.
"""
import hashlib
import json
import os
import random
import select
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

QUICK = os.environ.get("SM_HOSTILE_QUICK") == "1"
FAILS = []
LOCK = threading.Lock()


def fail(name, expected, got):
    with LOCK:
        FAILS.append(name)
        print(f"FAIL {name}: expected {expected}, got {got}", flush=True)


def check(name, cond, expected, got):
    if not cond:
        fail(name, expected, got)
    return cond


def find_server():
    path = os.environ.get("SM_GUARD_SERVER")
    if path:
        return path
    bin_ = os.environ.get("STARMARK_BIN")
    if bin_:
        return os.path.normpath(os.path.join(os.path.dirname(bin_), "..", "tests", "guard", "guard_harness"))
    return None


class Server:
    def __init__(self, argv):
        wrapper = shlex.split(os.environ.get("SM_GUARD_WRAPPER", ""))
        self.proc = subprocess.Popen(wrapper + argv, stdout=subprocess.PIPE, stderr=None)
        deadline = time.time() + (60 if wrapper else 10)
        line = b""
        while time.time() < deadline and not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                b = os.read(self.proc.stdout.fileno(), 1)
                if not b:
                    break
                line += b
        if not line.startswith(b"listening on 127.0.0.1:"):
            self.proc.kill()
            raise SystemExit(f"server did not start: expected 'listening on 127.0.0.1:PORT', got {line!r}")
        self.port = int(line.strip().rsplit(b":", 1)[1])

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return "hung on SIGTERM"


class Resp:
    def __init__(self, status, headers, body, raw_head):
        self.status = status
        self.headers = headers
        self.body = body
        self.raw_head = raw_head

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self):
        return f"{self.status} {self.body[:200]!r}"


class Conn:
    """One client connection with a read buffer, so pipelined responses can be read in turn."""

    def __init__(self, port, tls, timeout=5.0):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            s = TLS_CTX.wrap_socket(s, server_hostname="localhost")
        self.s = s
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.s.sendall(data)

    def send_bytewise(self, data, delay=0.001):
        for i in range(len(data)):
            self.s.sendall(data[i:i + 1])
            time.sleep(delay)

    def _fill(self):
        if self.eof:
            return False
        try:
            b = self.s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            b = b""
            self.reset = True
        if not b:
            self.eof = True
            return False
        self.buf += b
        return True

    def read_response(self, method="GET"):
        """The next final response, or None when the server closed before sending a byte of it."""
        while True:
            while b"\r\n\r\n" not in self.buf:
                if not self._fill():
                    if self.buf:
                        raise IOError(f"connection closed inside a response head: {self.buf[:80]!r}")
                    return None
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
                raise IOError(f"not a status line: {lines[0][:80]!r}")
            status = int(parts[1])
            headers = {}
            for ln in lines[1:]:
                k, _, v = ln.partition(b":")
                headers[k.strip().lower().decode()] = v.strip().decode("latin-1")
            if 100 <= status < 200:
                continue
            if method == "HEAD" or status in (204, 304):
                return Resp(status, headers, b"", head)
            if "content-length" in headers:
                n = int(headers["content-length"])
                while len(self.buf) < n:
                    if not self._fill():
                        raise IOError(f"connection closed inside a body: {len(self.buf)} of {n} bytes")
                body, self.buf = self.buf[:n], self.buf[n:]
            else:
                while self._fill():
                    pass
                body, self.buf = self.buf, b""
            return Resp(status, headers, body, head)

    def closed_after(self, timeout=3.0):
        """True when the server closes the connection (with nothing more sent) within timeout."""
        self.s.settimeout(timeout)
        try:
            while self._fill():
                pass
        except socket.timeout:
            return False
        except (OSError, ssl.SSLError):
            return True
        return self.eof and self.buf == b""

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def req(method, target, headers=(), body=b"", version="HTTP/1.1", host=True):
    lines = [f"{method} {target} {version}"]
    if host:
        lines.append("Host: localhost")
    lines.extend(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def one(port, tls, data, method="GET"):
    c = Conn(port, tls)
    try:
        c.send(data)
        return c.read_response(method), c
    except Exception:
        c.close()
        raise


# ---------------------------------------------------------------------------------------- tests

def t_bytewise(port, tls, tag):
    for name, data in (
        ("get", req("GET", "/echo?vendor=RINNAI&model=MC-301V&firmware=1.4.2&category=water-heater",
                    ["User-Agent: hostile-test", "Accept: application/json"])),
        ("post", req("POST", "/echo", ["Content-Type: application/json", "Content-Length: 27"],
                     b'{"model":"MC-301V","n":123}')),
    ):
        whole, c = one(port, tls, data)
        c.close()
        c = Conn(port, tls)
        c.send_bytewise(data)
        split = c.read_response()
        c.close()
        check(f"bytewise/{name}/{tag}", split is not None and whole is not None and whole.status == 200
              and split.status == whole.status and split.body == whole.body, f"{whole!r}", f"{split!r}")


def t_split(port, tls, tag):
    query = "model=ABC&vendor=RINNAI&firmware=1.4.2&x=%20y"
    data = req("GET", "/echo?" + query)
    line_end = data.index(b"\r\n") + 2
    bad = 0
    for k in range(1, line_end + 8):
        c = Conn(port, tls)
        try:
            c.send(data[:k])
            time.sleep(0.002)
            c.send(data[k:])
            r = c.read_response()
        finally:
            c.close()
        j = r.json() if r else None
        if not (r and r.status == 200 and j and j.get("path") == "/echo" and j.get("query") == query):
            bad += 1
            fail(f"split@{k}/{tag}", f"200 path=/echo query={query}", repr(r))
    return bad


def t_pipeline(port, tls, tag):
    body = b'{"pipelined":true}'
    data = (req("GET", "/echo?n=1") + req("GET", "/slow")
            + req("POST", "/echo", ["Content-Type: application/json", f"Content-Length: {len(body)}"], body)
            + req("HEAD", "/echo?n=4"))
    c = Conn(port, tls)
    c.send(data)
    got = []
    for m in ("GET", "GET", "POST", "HEAD"):
        r = c.read_response(m)
        got.append(r)
    want_len = hashlib.sha256(body).hexdigest()
    ok = (all(r is not None and r.status == 200 for r in got)
          and got[0].json() == {"path": "/echo", "query": "n=1"}
          and got[1].json() == {"slow": True}
          and got[2].json() == {"length": len(body), "sha256": want_len}
          and got[3].body == b"")
    check(f"pipeline/{tag}", ok, "4 answers in order: n=1, slow, body hash, HEAD", repr(got))
    c.send(req("GET", "/echo?after=1"))
    r = c.read_response()
    check(f"pipeline-keepalive/{tag}", r is not None and r.json() and r.json().get("query") == "after=1",
          "the connection still serves after the pipeline", repr(r))
    c.close()


def expect_error(name, port, tls, data, statuses, code=None, method="GET"):
    """Send data; expect one of statuses with a JSON error (code), Connection: close, then a close."""
    try:
        r, c = one(port, tls, data, method)
    except Exception as e:  # noqa: BLE001 - any transport failure is a test failure
        fail(name, f"status {statuses}", f"exception {e!r}")
        return None
    try:
        if not check(name, r is not None and r.status in statuses, f"status {statuses}",
                     repr(r) if r else "a silent close"):
            return r
        if code and method != "HEAD":
            j = r.json()
            check(name + "/json", j is not None and j.get("error", {}).get("code") == code
                  and j["error"].get("message"), f'{{"error":{{"code":"{code}","message":...}}}}', r.body[:200])
        check(name + "/connection-close", (r.header("connection") or "").lower() == "close",
              "Connection: close", r.header("connection"))
        check(name + "/closed", c.closed_after(), "the server closes after its reply", "connection left open")
    finally:
        c.close()
    return r


def t_limits(port, tls, tag):
    # head over 16 KiB in lines under the per-line cap; one line over 8000 bytes
    big = ["X-Pad-%d: %s" % (i, "a" * 6000) for i in range(3)]
    expect_error(f"head>16KiB/{tag}", port, tls, req("GET", "/echo", big), {431}, "header_too_large")
    expect_error(f"line>8000/{tag}", port, tls, req("GET", "/echo", ["X-Long: " + "b" * 9000]), {431},
                 "header_too_large")
    r, c = one(port, tls, req("GET", "/echo?h=64", ["X-H%d: v" % i for i in range(63)]))
    c.close()
    check(f"64-headers/{tag}", r is not None and r.status == 200, "200 with 64 header lines", repr(r))
    expect_error(f"65-headers/{tag}", port, tls, req("GET", "/echo", ["X-H%d: v" % i for i in range(64)]),
                 {431}, "header_too_large")
    expect_error(f"target>8000/{tag}", port, tls, req("GET", "/echo?q=" + "c" * 8100), {414}, "uri_too_long")
    # body caps: public 64 KiB, admin 1 MiB; exactly the cap is fine
    for path, cap in (("/echo", 64 * 1024), ("/v1/admin/echo", 1024 * 1024)):
        body = os.urandom(cap)
        r, c = one(port, tls, req("POST", path, ["Content-Type: application/octet-stream",
                                                 f"Content-Length: {cap}"], body), "POST")
        c.close()
        j = r.json() if r else None
        check(f"body=cap{path}/{tag}", j == {"length": cap, "sha256": hashlib.sha256(body).hexdigest()},
              f"200 length {cap} and its sha256", repr(r))
        expect_error(f"body>cap{path}/{tag}", port, tls,
                     req("POST", path, ["Content-Type: application/json", f"Content-Length: {cap + 1}"]),
                     {413}, "payload_too_large")


def t_framing(port, tls, tag):
    cases = [
        ("dup-cl", req("POST", "/echo", ["Content-Length: 2", "Content-Length: 2"], b"{}"), {400}, "bad_request"),
        ("dup-cl-differ", req("POST", "/echo", ["Content-Length: 2", "Content-Length: 5"], b"{}"), {400},
         "bad_request"),
        ("te", req("POST", "/echo", ["Transfer-Encoding: chunked"], b"2\r\n{}\r\n0\r\n\r\n"), {400},
         "bad_request"),
        ("cl+te", req("POST", "/echo", ["Content-Length: 2", "Transfer-Encoding: chunked"], b"{}"), {400},
         "bad_request"),
        ("te-identity", req("GET", "/echo", ["Transfer-Encoding: identity"]), {400}, "bad_request"),
        ("cl-tab", req("POST", "/echo", ["Content-Length:\t2"], b"{}"), {400}, "bad_request"),
        ("cl-sign", req("POST", "/echo", ["Content-Length: +2"], b"{}"), {400}, "bad_request"),
        ("cl-list", req("POST", "/echo", ["Content-Length: 2, 2"], b"{}"), {400}, "bad_request"),
        ("cl-huge", req("POST", "/echo", ["Content-Length: 99999999999999999999999"]), {413},
         "payload_too_large"),
        ("post-no-length", req("POST", "/echo", ["Content-Type: application/json"]), {411}, "length_required"),
        ("form", req("POST", "/echo", ["Content-Type: application/x-www-form-urlencoded", "Content-Length: 3"],
                     b"a=b"), {415}, "unsupported_media_type"),
        ("multipart", req("POST", "/echo", ["Content-Type: multipart/form-data; boundary=x", "Content-Length: 3"],
                          b"--x"), {415}, "unsupported_media_type"),
        ("space-before-colon", req("GET", "/echo", ["Content-Length : 0"]), {400}, "bad_request"),
        ("obs-fold", req("GET", "/echo", ["X-A: b", " folded"]), {400}, "bad_request"),
        ("bare-lf", b"GET /echo HTTP/1.1\nHost: x\n\n", {400}, "bad_request"),
        ("no-host", req("GET", "/echo", host=False), {400}, "bad_request"),
        ("dup-host", req("GET", "/echo", ["Host: other"]), {400}, "bad_request"),
        ("fragment", req("GET", "/echo#frag"), {400}, "bad_request"),
        ("bad-pct", req("GET", "/echo?a=%zz"), {400}, "bad_request"),
        ("raw-utf8-target", req("GET", "/echo?a=\xe9"), {400}, "bad_request"),
        ("absolute-form", req("GET", "http://localhost/echo"), {400}, "bad_request"),
        ("http/9.9", req("GET", "/echo", version="HTTP/9.9"), {505}, "version_not_supported"),
        ("http/2.0", req("GET", "/echo", version="HTTP/2.0"), {505}, "version_not_supported"),
        ("http/1.1x", req("GET", "/echo", version="HTTP/1.1x"), {400}, "bad_request"),
        ("unknown-method", req("FROBNICATE", "/echo"), {405, 501}, None),
        ("put", req("PUT", "/echo", ["Content-Length: 0"]), {405}, "method_not_allowed"),
        ("lowercase-method", req("get", "/echo"), {405, 501}, None),
        ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", {400}, "bad_request"),
        ("garbage-text", b"HELLO\r\n\r\n", {400}, "bad_request"),
        ("empty-line-first", b"\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n", {400}, "bad_request"),
        ("nul-in-header", req("GET", "/echo", ["X-A: a\x00b"]), {400}, "bad_request"),
    ]
    for name, data, statuses, code in cases:
        expect_error(f"{name}/{tag}", port, tls, data, statuses, code)
    r = expect_error(f"put-allow/{tag}", port, tls, req("PUT", "/echo", ["Content-Length: 0"]), {405})
    if r is not None:
        check(f"put-allow-header/{tag}", r.header("allow") == "GET, HEAD, POST", "Allow: GET, HEAD, POST",
              r.header("allow"))
    # a HEAD the guard refuses gets its status and no body
    expect_error(f"head-refused/{tag}", port, tls, req("HEAD", "/echo", version="HTTP/9.9"), {505},
                 method="HEAD")


def t_head(port, tls, tag):
    c = Conn(port, tls)
    c.send(req("GET", "/echo?x=1"))
    g = c.read_response("GET")
    c.send(req("HEAD", "/echo?x=1"))
    h = c.read_response("HEAD")
    # had the HEAD reply carried a body, the next status line would be garbled by it
    c.send(req("GET", "/echo?after=head"))
    after = c.read_response("GET")
    c.close()
    check(f"head/{tag}", g is not None and h is not None and h.status == 200
          and h.header("content-length") == str(len(g.body)),
          f"200 and Content-Length {len(g.body) if g else '?'}", repr(h) + (f" {h.headers}" if h else ""))
    check(f"head-no-body/{tag}", after is not None and after.json() is not None
          and after.json().get("query") == "after=head", "the next response right after the HEAD head",
          repr(after))


def t_form_bomb(server, tls, tag):
    port = server.port
    for path in ("/echo", "/v1/admin/echo"):
        size = 9 * 1024 * 1024
        body = b"a=" + b"x" * (size - 2)
        c = Conn(port, tls, timeout=10)
        try:
            try:
                c.send(req("POST", path, ["Content-Type: application/x-www-form-urlencoded",
                                          f"Content-Length: {size}"], body))
            except (OSError, ssl.SSLError):
                pass  # the server may stop reading once it has answered
            r = c.read_response("POST")
        except Exception as e:  # noqa: BLE001
            r = f"exception {e!r}"
        finally:
            c.close()
        check(f"form-9MB{path}/{tag}", isinstance(r, Resp) and r.status in (413, 415), "413 or 415", repr(r))
        check(f"alive-after-form-9MB{path}/{tag}", server.alive(), "server still running", "server died")
        r2, c2 = one(port, tls, req("GET", "/echo?still=up"))
        c2.close()
        check(f"echo-after-form-9MB{path}/{tag}", r2 is not None and r2.status == 200, "200", repr(r2))


def t_slowloris(port, tls, tag, results):
    """The head is dripped in slowly: 408 and a close at 10 s, however busy the client looks."""
    c = Conn(port, tls, timeout=15)
    start = time.time()
    got = None
    try:
        c.send(b"GET /echo?slow=loris HTTP/1.1\r\nHost: localhost\r\n")
        i = 0
        while time.time() - start < 13:
            r, _, _ = select.select([c.s], [], [], 1.0)
            if r:
                got = c.read_response()
                break
            try:
                c.send(b"X-Drip-%d: x\r\n" % i)
            except OSError:
                break
            i += 1
        elapsed = time.time() - start
        closed = c.closed_after(2.0)
    except Exception as e:  # noqa: BLE001
        results.append((f"slowloris/{tag}", "408 within 9.5-11.5 s", f"exception {e!r}"))
        return
    finally:
        c.close()
    if not (got is not None and got.status == 408 and 9.5 <= elapsed <= 11.5 and closed):
        results.append((f"slowloris/{tag}", "408 after 9.5-11.5 s, then a close",
                        f"{got!r} after {elapsed:.1f} s, closed={closed}"))


def t_partial_eof(port, tag):
    """A client that half-closes in the middle of a head is closed on, not waited for (plain only:
    a TLS client cannot half-close)."""
    c = Conn(port, False)
    c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
    c.s.shutdown(socket.SHUT_WR)
    check(f"partial-head-eof/{tag}", c.closed_after(), "a close after EOF in the middle of a head",
          "connection left open")
    c.close()


def t_conn_cap(server_bin, tag_tls, cert, key):
    argv = [server_bin, "--threads", "1", "--max-conns", "2"]
    if tag_tls:
        argv += ["--tls-cert", cert, "--tls-key", key]
    srv = Server(argv)
    tag = "tls" if tag_tls else "plain"
    try:
        a = Conn(srv.port, tag_tls)
        b = Conn(srv.port, tag_tls)
        a.send(req("GET", "/echo?a=1"))
        ra = a.read_response()
        expect_error(f"conn-cap/{tag}", srv.port, tag_tls, req("GET", "/echo?c=3"), {503}, "unavailable")
        check(f"conn-cap-first/{tag}", ra is not None and ra.status == 200, "200 under the cap", repr(ra))
        a.close()
        b.close()
        time.sleep(0.2)
        r, c = one(srv.port, tag_tls, req("GET", "/echo?again=1"))
        c.close()
        check(f"conn-cap-freed/{tag}", r is not None and r.status == 200, "200 once connections closed", repr(r))
        time.sleep(0.3)  # let the server see the last close: connections open at exit are not freed
    finally:
        rc = srv.stop()
        check(f"conn-cap-stop/{tag}", rc == 0, "exit 0 on SIGTERM", rc)


# ---------------------------------------------------------------------------------------- fuzzing

SEEDS = [
    req("GET", "/echo?vendor=RINNAI&model=MC-301V", ["Accept: */*"]),
    req("HEAD", "/echo?a=1"),
    req("POST", "/echo", ["Content-Type: application/json", "Content-Length: 2"], b"{}"),
    req("POST", "/v1/admin/echo", ["Content-Length: 0"]),
    req("GET", "/slow", ["Connection: close"]),
    req("GET", "/echo", version="HTTP/1.0", host=False),
]
TOKENS = [b" ", b"\r\n", b"\r", b"\n", b":", b"\x00", b"\xff", b"%", b"%0", b"?", b"#", b"/", b"HTTP/1.1",
          b"HTTP/9.9", b"Content-Length: 5\r\n", b"Transfer-Encoding: chunked\r\n", b"Host: y\r\n",
          b"Content-Type: multipart/form-data\r\n", b"\t", b"GET ", b"POST ", b"a" * 300, b"\r\n\r\n",
          b"Content-Length: 0\r\n", b"Content-Length: 18446744073709551616\r\n", b"\xc3\xa9"]


def mutate(rng, data):
    d = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(6)
        pos = rng.randrange(len(d) + 1)
        if op == 0 and d:
            d[min(pos, len(d) - 1)] = rng.randrange(256)
        elif op == 1:
            d[pos:pos] = rng.choice(TOKENS)
        elif op == 2 and d:
            del d[pos:pos + rng.randint(1, 8)]
        elif op == 3:
            d[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 4:
            a, b = sorted((rng.randrange(len(d) + 1), rng.randrange(len(d) + 1)))
            d[pos:pos] = d[a:b]
        else:
            d[pos:pos] = bytes([rng.choice(b"\r\n :/?%")])
    if not d.endswith(b"\r\n\r\n"):
        d += b"\r\n\r\n"
    return bytes(d)


def response_due(data):
    """A complete head was sent: a status is due, unless the head announced a body not sent in full."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            try:
                if int(v.strip()) > len(rest):
                    return False
            except ValueError:
                pass
    return True


def fuzz_worker(port, tls, cases, stats):
    for name, data in cases:
        c = None
        try:
            c = Conn(port, tls, timeout=5)
            c.send(data)
            if not tls:
                c.s.shutdown(socket.SHUT_WR)
            r = c.read_response("HEAD" if data.startswith(b"HEAD") else "GET")
            if r is None:
                if response_due(data) and (not tls or b"Content-Length" not in data):
                    # TLS cannot half-close: a head that may wait for a body is not judged there
                    stats["silent"] += 1
                    fail(name, "a status line", f"a silent close after {data[:120]!r}")
                else:
                    stats["closed"] += 1
            else:
                stats["answered"] += 1
                with LOCK:
                    stats["by_status"][r.status] = stats["by_status"].get(r.status, 0) + 1
        except socket.timeout:
            if response_due(data) and not tls:
                stats["silent"] += 1
                fail(name, "a status line or a close", f"no answer in 5 s to {data[:120]!r}")
            else:
                stats["closed"] += 1
        except (OSError, ssl.SSLError, IOError, ValueError) as e:
            stats["error"] += 1
            fail(name, "a status line or a clean close", f"{e!r} after {data[:120]!r}")
        finally:
            if c:
                c.close()


def t_fuzz(server, tls, tag, n, seed):
    rng = random.Random(seed)
    cases = [(f"fuzz#{i}/{tag}", mutate(rng, rng.choice(SEEDS))) for i in range(n)]
    stats = {"answered": 0, "closed": 0, "silent": 0, "error": 0, "by_status": {}}
    threads = [threading.Thread(target=fuzz_worker, args=(server.port, tls, cases[k::4], stats)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"fuzz/{tag}: {n} heads: {stats['answered']} answered, {stats['closed']} closed cleanly "
          f"(no complete request), {stats['silent']} silent, {stats['error']} errors; "
          f"statuses {dict(sorted(stats['by_status'].items()))}", flush=True)
    check(f"fuzz-alive/{tag}", server.alive(), "server still running after fuzzing", "server died")
    r, c = one(server.port, tls, req("GET", "/echo?after=fuzz"))
    c.close()
    check(f"fuzz-then-echo/{tag}", r is not None and r.status == 200 and r.json()["query"] == "after=fuzz",
          "200 after=fuzz", repr(r))


# ---------------------------------------------------------------------------------------- main

def run(name, fn, *args):
    """Run one test; a transport failure (timeout, reset) fails it and the others still run."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001
        fail(name, "no transport failure", repr(e))
        return None


def make_cert(tmp):
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


TLS_CTX = None


def main():
    global TLS_CTX
    server_bin = find_server()
    if not server_bin or not os.access(server_bin, os.X_OK):
        print(f"FAIL setup: expected an executable guard server (SM_GUARD_SERVER or STARMARK_BIN), got {server_bin}")
        return 1
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = make_cert(tmp)
        TLS_CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        TLS_CTX.load_verify_locations(cert)
        plain = Server([server_bin])
        tls = Server([server_bin, "--tls-cert", cert, "--tls-key", key])
        servers = {False: plain, True: tls}
        try:
            slow_results = []
            slow_threads = []
            if not QUICK:
                for v in (False, True):
                    th = threading.Thread(target=t_slowloris,
                                          args=(servers[v].port, v, "tls" if v else "plain", slow_results))
                    th.start()
                    slow_threads.append(th)
            for v in (False, True):
                tag = "tls" if v else "plain"
                port = servers[v].port
                run(f"bytewise/{tag}", t_bytewise, port, v, tag)
                bad = run(f"split/{tag}", t_split, port, v, tag)
                print(f"split/{tag}: {bad} corrupted request lines", flush=True)
                run(f"pipeline/{tag}", t_pipeline, port, v, tag)
                run(f"limits/{tag}", t_limits, port, v, tag)
                run(f"framing/{tag}", t_framing, port, v, tag)
                run(f"head/{tag}", t_head, port, v, tag)
                if not v:
                    run(f"partial-eof/{tag}", t_partial_eof, port, tag)
                run(f"form-bomb/{tag}", t_form_bomb, servers[v], v, tag)
                run(f"fuzz/{tag}", t_fuzz, servers[v], v, tag,
                    (300 if QUICK else 1500) if not v else (100 if QUICK else 300), 1234 + v)
                run(f"conn-cap/{tag}", t_conn_cap, server_bin, v, cert, key)
            for th in slow_threads:
                th.join()
            for name, exp, got in slow_results:
                fail(name, exp, got)
            for v in (False, True):
                check(f"alive-at-end/{'tls' if v else 'plain'}", servers[v].alive(), "server running", "died")
        finally:
            for v in (False, True):
                rc = servers[v].stop()
                check(f"stop/{'tls' if v else 'plain'}", rc == 0, "exit 0 on SIGTERM", rc)
    print(f"{'FAILED' if FAILS else 'PASSED'}: {len(FAILS)} failure(s) in {time.time() - t0:.1f} s", flush=True)
    return min(len(FAILS), 100)


if __name__ == "__main__":
    sys.exit(main())
