#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The access log an auditor reads (issue 11, "Logs an auditor can trust"): a path with an encoded CR/LF, spaces,
# quotes and non-ASCII lands in one line, every such byte escaped; a request the guard refuses is logged with the
# client's address, the method and the target, escaped too; no token reaches the log.
import os
import re
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smcheck import Server, check, cli, finish  # noqa: E402

work = tempfile.mkdtemp(prefix="sm-log-")
db = os.path.join(work, "reg")
cli(db, "init", "--scheme", "CCDS", "--origin", "registry.example.jp")
token = cli(db, "token", "create", "--role", "issuer", "--name", "ops").strip()
s = Server(db)
forged = "/v1/certs/X%0aFAKE%20req=999%20client=1.2.3.4%22%5c%E3%81%82"
st, _, _ = s.req("GET", forged)
check(st in (400, 404), "the forged path is refused", "400 or 404", st)
st, _, _ = s.req("GET", "/v1/admin/certs", headers={"Authorization": f"Bearer {token}"})
# a request line the guard refuses (a control byte in the target), sent raw
raw = socket.create_connection(("127.0.0.1", s.port), timeout=5)
raw.sendall(b"GET /x\x01\xff\"y HTTP/1.1\r\nHost: a\r\n\r\n")
reply = raw.recv(4096)
raw.close()
check(reply.startswith(b"HTTP/1.1 400"), "the guard refuses a control byte in the target", "400", reply[:20])
rc, log = s.stop()
lines = log.splitlines()
check(all(not l.startswith("FAKE") for l in lines), "no line of the log starts with what the client wrote", "none", lines)
forged_lines = [l for l in lines if "FAKE" in l]
check(len(forged_lines) == 1, "the forged path is one line", 1, forged_lines)
if forged_lines:
    l = forged_lines[0]
    check(l.startswith("req=") and "path=/v1/certs/X\\x0aFAKE\\x20req=999\\x20client=1.2.3.4\\x22\\x5c\\xe3\\x81\\x82" in l,
          "CR/LF, space, quote, backslash and non-ASCII bytes escaped as \\xHH", "escaped path", l)
    check(len(re.findall(r"(?:^| )client=", l)) == 1 and len(re.findall(r"(?:^| )req=", l)) == 1,
          "the client cannot add a field of its own", "one req= and one client=", l)
refused = [l for l in lines if " guard status=400" in l]
check(len(refused) == 1, "the refused request is logged", 1, refused)
if refused:
    check("client=127.0.0.1" in refused[0] and "method=GET" in refused[0] and 'target=/x\\x01\\xff\\x22y' in refused[0],
          "with the client, the method and the escaped target", "client=127.0.0.1 method=GET target=/x\\x01\\xff\\x22y", refused[0])
check(token not in log, "the token never reaches the log", "absent", "present" if token in log else "absent")
finish()
