# SPDX-License-Identifier: Apache-2.0
# One starmarkd per port: a second server (another registry) on a port in use exits 4 saying "address in use"
# and serves nothing; the first keeps answering every request; IPv6 [::1]; a restart on the same port works.
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smcheck import BIN, SERVER, check, finish  # noqa: E402


def cli(db, *args):
    p = subprocess.run([BIN, "--db", db, *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"starmark {' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p.stdout


def start(db, listen, threads="2"):
    """Start starmarkd; returns (process, first stdout line) once it says something or exits."""
    p = subprocess.Popen([SERVER, "--db", db, "--listen", listen, "--threads", threads], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return p, p.stdout.readline()


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def refused(p, first_line, what):
    """The server must exit 4 with 'address in use', before saying it listens."""
    try:
        rc = p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        rc = None
    err = p.stderr.read() if rc is not None else ""
    check(rc == 4 and "address in use" in err and not first_line.startswith("listening on"),
          f"{what}: exit 4, 'address in use', nothing served", (4, "address in use", ""), (rc, err[-300:], first_line))
    if rc is None:
        stop(p)


def origins(host, port, n=40):
    """The origin line of the checkpoint, asked on n fresh connections."""
    seen = {}
    for _ in range(n):
        try:
            c = http.client.HTTPConnection(host, port, timeout=10)
            c.request("GET", "/v1/log/checkpoint")
            o = c.getresponse().read().decode().split("\n")[0]
            c.close()
        except OSError as e:
            o = f"error: {e}"
        seen[o] = seen.get(o, 0) + 1
    return seen


def port_of(line):
    return int(line.strip().rsplit(":", 1)[1])


with tempfile.TemporaryDirectory() as tmp:
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    cli(a, "init", "--scheme", "CCDS", "--levels", "3", "--origin", "a.example.jp")
    cli(b, "init", "--scheme", "CCDS", "--levels", "3", "--origin", "b.example.jp")

    # IPv4: the first server takes a free port, a second one with another registry must not share it
    s1, line = start(a, "127.0.0.1:0")
    check(line.startswith("listening on 127.0.0.1:"), "the first server listens", "listening on 127.0.0.1:PORT", line)
    port = port_of(line)
    try:
        for threads in ("2", "1"):
            p, l2 = start(b, f"127.0.0.1:{port}", threads)
            refused(p, l2, f"a second server ({threads} thread(s)) on 127.0.0.1:{port}")
        seen = origins("127.0.0.1", port)
        check(seen == {"a.example.jp": 40}, "every answer comes from the first registry", {"a.example.jp": 40}, seen)

        # another program holding the port with SO_REUSEPORT (same user) is a busy port too
        held = socket.socket()
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        held.bind(("127.0.0.1", 0))
        held.listen(8)
        p, l2 = start(b, f"127.0.0.1:{held.getsockname()[1]}")
        refused(p, l2, "a port another program holds with SO_REUSEPORT")
        held.close()
    finally:
        stop(s1)

    # stopped after serving (its connections in TIME_WAIT): the port can be taken again at once
    s1, line = start(a, f"127.0.0.1:{port}")
    check(line.strip() == f"listening on 127.0.0.1:{port}", "a restart on the same port listens", port, line)
    seen = origins("127.0.0.1", port, 10)
    check(seen == {"a.example.jp": 10}, "the restarted server answers", {"a.example.jp": 10}, seen)
    check(stop(s1) == 0, "the restarted server stops cleanly")

    # two servers started at the same moment on one port: exactly one serves, the other exits 4
    for trial in range(5):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
        probe.close()
        procs = [subprocess.Popen([SERVER, "--db", db, "--listen", f"127.0.0.1:{free}", "--threads", "2"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for db in (a, b)]
        lines = [p.stdout.readline() for p in procs]
        serving = [i for i, l in enumerate(lines) if l.startswith("listening on")]
        rcs = [p.poll() if not l.startswith("listening on") else None for p, l in zip(procs, lines)]
        for i, p in enumerate(procs):
            if i not in serving:
                try:
                    rcs[i] = p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    pass
        want = {"a.example.jp", "b.example.jp"}
        seen = origins("127.0.0.1", free, 10) if len(serving) == 1 else {}
        check(len(serving) == 1 and sorted(rcs, key=str)[0] == 4 and len(seen) == 1 and set(seen) <= want,
              f"simultaneous start {trial}: one server, the other exits 4", "one listening, one exit 4, one origin",
              (lines, rcs, seen))
        for p in procs:
            stop(p)

    # IPv6 loopback, when the machine has it
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
        have6 = True
    except OSError:
        have6 = False
    if have6:
        s1, line = start(a, "[::1]:0")
        check(line.startswith("listening on [::1]:"), "IPv6: the first server listens", "listening on [::1]:PORT", line)
        try:
            port6 = port_of(line)
            p, l2 = start(b, f"[::1]:{port6}")
            refused(p, l2, f"IPv6: a second server on [::1]:{port6}")
            seen = origins("::1", port6, 20)
            check(seen == {"a.example.jp": 20}, "IPv6: every answer comes from the first registry", {"a.example.jp": 20}, seen)
        finally:
            stop(s1)
    else:
        print("skip: no IPv6 loopback")

    # a listen address that is not an address is a configuration error (2), found by --check-config
    p = subprocess.run([SERVER, "--db", a, "--listen", "localhost:8080", "--check-config"], capture_output=True, text=True,
                       timeout=20)
    check(p.returncode == 2 and "listen" in p.stderr, "--listen with a host name: exit 2 naming listen", 2,
          (p.returncode, p.stderr))

finish()
