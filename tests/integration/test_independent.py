# SPDX-License-Identifier: Apache-2.0
# Independent check of a registry made by the CLI: COSE_Sign1 entries, kids, RFC 6962 root and
# inclusion proofs, and the C2SP checkpoint, recomputed in Python (cbor2 + cryptography) only.
import base64
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

BIN = os.environ.get("STARMARK_BIN", "starmark")
FAILURES = []
CHECKS = [0]

COSE_EVENT = 65000
COSE_TRUST = 65001
ROLE_NUM = {"issuer": 1, "status": 2, "log": 3}


def check(ok, what, expected=None, got=None):
    CHECKS[0] += 1
    if not ok:
        msg = "FAIL: %s" % what
        if expected is not None or got is not None:
            msg += "\n  expected: %r\n  got:      %r" % (expected, got)
        print(msg, file=sys.stderr)
        FAILURES.append(what)
    return ok


def run(db, now, *args, want=0):
    env = dict(os.environ, STARMARK_DB=db, STARMARK_NOW=now)
    for k in ("STARMARK_PASSPHRASE_FILE", "STARMARK_TOKEN"):
        env.pop(k, None)
    p = subprocess.run([BIN, *args], env=env, capture_output=True, timeout=60)
    if p.returncode != want:
        raise SystemExit("starmark %s: expected exit %d, got %d\nstderr: %s" %
                         (" ".join(args), want, p.returncode, p.stderr.decode(errors="replace")))
    return p.stdout.decode()


def run_json(db, now, *args):
    return json.loads(run(db, now, "--json", *args))


def sha256(b):
    return hashlib.sha256(b).digest()


def b64(s):
    return base64.b64decode(s, validate=True)


def iso_time(s):
    return int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp())


def ed25519_ok(pub, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except InvalidSignature:
        return False


# ---------------------------------------------------------------- RFC 6962 / 9162

def leaf_hash(entry):
    return sha256(b"\x00" + entry)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def split(n):
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = split(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def audit_path(m, leaves):
    """RFC 6962 PATH(m, D[n]) over leaf hashes."""
    n = len(leaves)
    if n <= 1:
        return []
    k = split(n)
    if m < k:
        return audit_path(m, leaves[:k]) + [mth(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def verify_inclusion(index, size, lh, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, lh
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# ---------------------------------------------------------------- COSE_Sign1

def decode_sign1(entry, what):
    """(protected bytes, protected map, payload bytes, signature) or None."""
    try:
        obj = cbor2.loads(entry)
    except Exception as e:  # noqa: BLE001 - any decoding failure is a finding
        check(False, "%s: not CBOR (%s)" % (what, e))
        return None
    if not check(isinstance(obj, cbor2.CBORTag) and obj.tag == 18, "%s: CBOR tag 18 (COSE_Sign1)" % what,
                 18, getattr(obj, "tag", type(obj).__name__)):
        return None
    v = obj.value
    if not check(isinstance(v, list) and len(v) == 4, "%s: a 4-element array" % what, 4,
                 len(v) if isinstance(v, list) else type(v).__name__):
        return None
    prot, unprot, payload, sig = v
    check(isinstance(prot, bytes) and isinstance(unprot, dict) and isinstance(payload, bytes) and
          isinstance(sig, bytes), "%s: [bstr, map, bstr, bstr]" % what, None,
          [type(x).__name__ for x in v])
    check(len(sig) == 64, "%s: a 64-byte Ed25519 signature" % what, 64, len(sig))
    hdr = cbor2.loads(prot)
    return prot, hdr, payload, sig


def sig_structure(prot, payload):
    return cbor2.dumps(["Signature1", prot, b"", payload])


# ---------------------------------------------------------------- C2SP signed note

def parse_vkey(vkey):
    name, hexid, key = vkey.split("+", 2)
    raw = b64(key)
    return name, bytes.fromhex(hexid), raw


def verify_checkpoint(text, vkey, what):
    """Returns (origin, size, root) when the note verifies with vkey, else None."""
    name, keyid, raw = parse_vkey(vkey)
    check(len(raw) == 33 and raw[0] == 0x01, "%s: vkey holds 0x01 || 32-byte key" % what, 33, len(raw))
    pub = raw[1:]
    check(sha256(name.encode() + b"\n" + b"\x01" + pub)[:4] == keyid,
          "%s: vkey key id = SHA-256(name || 0x0A || 0x01 || pubkey)[:4]" % what,
          sha256(name.encode() + b"\n\x01" + pub)[:4].hex(), keyid.hex())
    cut = text.find("\n\n")
    if not check(cut > 0, "%s: a blank line ends the body" % what):
        return None
    body = text[:cut + 1]
    sigs = text[cut + 2:]
    lines = body.split("\n")[:-1]
    if not check(len(lines) == 3, "%s: body of origin, size, root" % what, 3, lines):
        return None
    good = False
    for line in sigs.split("\n"):
        if not line:
            continue
        if not check(line.startswith("\u2014 "), "%s: a signature line starts with an em dash" % what,
                     "\u2014 ", line[:2]):
            continue
        sname, sb64 = line[2:].split(" ")
        blob = b64(sb64)
        if sname == name and blob[:4] == keyid:
            check(len(blob) == 68, "%s: keyid4 || sig64" % what, 68, len(blob))
            good = ed25519_ok(pub, blob[4:], body.encode())
    if not good:
        return None
    return lines[0], int(lines[1]), b64(lines[2])


# ---------------------------------------------------------------- the registry under test

def build(tmp):
    db = os.path.join(tmp, "reg")
    run(db, "2024-01-10", "init", "--scheme", "CCDS", "--levels", "3", "--origin", "indep.example")
    ids = []
    for i, (vendor, model) in enumerate([("RINNAI", "RUF-1"), ("ACME", "AL-1"), ("ACME", "AL-2")]):
        ids.append(run(db, "2024-02-01", "issue", "--vendor", vendor, "--vendor-name", vendor.title(),
                       "--product", "製品 %d" % i, "--model", model, "--level", str(i + 1),
                       "--firmware", ">=1.0 <2.0", "--registered", "2024-02-01").strip())
    run(db, "2024-02-15", "revoke", ids[1], "--reason", "counterfeit")
    run(db, "2024-03-01", "keys", "rotate", "issuer")
    for model in ("AL-3", "AL-4"):
        ids.append(run(db, "2024-03-02", "issue", "--vendor", "ACME", "--vendor-name", "Acme",
                       "--product", "Later", "--model", model, "--level", "1", "--firmware", "2.0",
                       "--registered", "2024-03-02").strip())
    run(db, "2024-03-02", "suspend", ids[0], "--reason", "audit")
    run(db, "2024-03-05", "keys", "rotate", "log")
    run(db, "2024-03-06", "amend", ids[2], "--add-model", "AL-2B")
    return db, ids


def main():
    with tempfile.TemporaryDirectory(prefix="sm-indep.") as tmp:
        db, ids = build(tmp)
        now = "2024-04-01"
        trust = run_json(db, now, "trust", "show")
        entries_doc = run_json(db, now, "log", "entries", "--count", "1000")
        checkpoint = run(db, now, "log", "checkpoint")
        check_registry(db, now, ids, trust, entries_doc, checkpoint)
        check_same_second_rotation(tmp)
    if FAILURES:
        print("%d of %d checks FAILED" % (len(FAILURES), CHECKS[0]), file=sys.stderr)
        return 1
    print("all %d checks passed" % CHECKS[0])
    return 0


def check_registry(db, now, ids, trust, entries_doc, checkpoint):
    # the trust view: kids are SHA-256(public key)[:8]
    root_pub = b64(trust["root"]["public_key"])
    check(len(root_pub) == 32, "root public key is 32 bytes", 32, len(root_pub))
    check(trust["root"]["kid"] == sha256(root_pub)[:8].hex(), "root kid = SHA-256(pub)[:8]",
          sha256(root_pub)[:8].hex(), trust["root"]["kid"])
    keys = trust["keys"]
    for k in keys:
        pub = b64(k["public_key"])
        check(k["kid"] == sha256(pub)[:8].hex(), "%s key kid = SHA-256(pub)[:8]" % k["role"],
              sha256(pub)[:8].hex(), k["kid"])
    issuers = [k for k in keys if k["role"] == "issuer"]
    check(len(issuers) == 2, "two issuer keys after one rotation", 2, len(issuers))
    check(sum(k["not_after"] is None for k in issuers) == 1, "exactly one current issuer key", 1,
          [k["not_after"] for k in issuers])
    check(trust["version"] == 3, "trust bundle version after two rotations", 3, trust["version"])

    # every entry: COSE_Sign1, header, kid, signature
    entries = [b64(e["data"]) for e in entries_doc["entries"]]
    check([e["index"] for e in entries_doc["entries"]] == list(range(len(entries))), "entries indexed 0..n-1")
    kids_used = []
    bundles = []
    payloads = []
    for i, entry in enumerate(entries):
        what = "entry %d" % i
        d = decode_sign1(entry, what)
        if d is None:
            payloads.append(None)
            continue
        prot, hdr, payload, sig = d
        check(set(hdr) == {1, 3, 4} and hdr[1] == -8 and hdr[3] in (COSE_EVENT, COSE_TRUST) and
              isinstance(hdr[4], bytes) and len(hdr[4]) == 8,
              "%s: protected header {1: -8, 3: 65000|65001, 4: kid(8)}" % what, None, hdr)
        body = cbor2.loads(payload)
        payloads.append(body)
        kid = hdr.get(4, b"").hex()
        if hdr.get(3) == COSE_TRUST:
            check(kid == trust["root"]["kid"], "%s: a trust bundle is signed by the root" % what,
                  trust["root"]["kid"], kid)
            check(ed25519_ok(root_pub, sig, sig_structure(prot, payload)),
                  "%s: root signature verifies" % what)
            bundles.append(body)
        else:
            key = [k for k in issuers if k["kid"] == kid]
            if not check(len(key) == 1, "%s: signed by an issuer key of the trust bundle" % what,
                         [k["kid"] for k in issuers], kid):
                continue
            k = key[0]
            check(ed25519_ok(b64(k["public_key"]), sig, sig_structure(prot, payload)),
                  "%s: issuer signature verifies" % what)
            at = body.get(3)
            nb, na = iso_time(k["not_before"]), k["not_after"] and iso_time(k["not_after"])
            check(isinstance(at, int) and nb <= at and (na is None or at <= na),
                  "%s: event time within its key's validity [not_before, not_after]" % what,
                  (k["not_before"], k["not_after"]), at)
            kids_used.append(kid)
    check(len(set(kids_used)) == 2 and kids_used[0] != kids_used[-1],
          "events before the rotation are signed by the old issuer key, after it by the new one",
          "2 kids, old then new", kids_used)
    check(len(bundles) == 3 and entries and payloads[0] is not None and payloads[0] in bundles,
          "three trust bundles, the first at index 0", 3, len(bundles))
    if bundles:
        last = bundles[-1]
        check(last.get(3) == root_pub, "the bundle names the root key", root_pub.hex(), repr(last.get(3)))
        got = sorted((r, bytes(p).hex()) for r, p, *_ in last.get(4, []))
        want = sorted((ROLE_NUM[k["role"]], b64(k["public_key"]).hex()) for k in keys)
        check(got == want, "the newest bundle's keys are the keys of 'trust show'", want, got)
        check([b.get(1) for b in bundles] == [1, 2, 3], "bundle versions 1, 2, 3", [1, 2, 3],
              [b.get(1) for b in bundles])

    # history log indexes point at the entries of their certificate
    for cid in ids:
        cert = run_json(db, now, "show", cid)
        for h in cert["history"]:
            if "log_index" in h and h["log_index"] < len(payloads) and payloads[h["log_index"]] is not None:
                check(payloads[h["log_index"]].get(2) == cid, "%s %s: its log entry names the certificate" %
                      (cid, h["event"]), cid, payloads[h["log_index"]].get(2))

    # Merkle root and checkpoint
    leaves = [leaf_hash(e) for e in entries]
    root = mth(leaves)
    log_keys = [k for k in keys if k["role"] == "log" and k["not_after"] is None]
    name, _, vraw = parse_vkey(trust["log_vkey"])
    check(len(log_keys) == 1 and vraw[1:] == b64(log_keys[0]["public_key"]),
          "log_vkey holds the current log key", log_keys[0]["public_key"] if log_keys else None,
          base64.b64encode(vraw[1:]).decode())
    cp = verify_checkpoint(checkpoint, trust["log_vkey"], "checkpoint")
    if check(cp is not None, "the checkpoint's signature verifies with log_vkey", "verifies", checkpoint):
        origin, size, cp_root = cp
        check(origin == "indep.example", "checkpoint origin", "indep.example", origin)
        check(size == len(entries), "checkpoint size = number of entries", len(entries), size)
        check(cp_root == root, "checkpoint root = RFC 6962 root recomputed over the entries",
              base64.b64encode(root).decode(), base64.b64encode(cp_root).decode())
    tampered = checkpoint.replace("\n%d\n" % len(entries), "\n%d\n" % (len(entries) + 1), 1)
    check(tampered != checkpoint and
          verify_checkpoint(tampered, trust["log_vkey"], "tampered checkpoint") is None,
          "a checkpoint with another size does not verify")

    # a flipped byte breaks the signature and the root
    for i in (0, len(entries) - 1):
        prot, hdr, payload, sig = decode_sign1(entries[i], "entry %d" % i)
        if hdr[3] == COSE_TRUST:
            pub = root_pub
        else:
            pub = b64([k for k in issuers if k["kid"] == hdr[4].hex()][0]["public_key"])
        bad_payload = bytearray(payload)
        bad_payload[len(bad_payload) // 2] ^= 0x01
        check(not ed25519_ok(pub, sig, sig_structure(prot, bytes(bad_payload))),
              "entry %d with one payload byte flipped fails its signature" % i)
        bad_sig = bytearray(sig)
        bad_sig[5] ^= 0x80
        check(not ed25519_ok(pub, bytes(bad_sig), sig_structure(prot, payload)),
              "entry %d with one signature byte flipped fails" % i)
        pos = entries[i].find(payload) + len(payload) // 2
        flipped = bytearray(entries[i])
        flipped[pos] ^= 0x01
        d = decode_sign1(bytes(flipped), "flipped entry %d" % i)
        check(d is not None and not ed25519_ok(pub, d[3], sig_structure(d[0], d[2])),
              "the flipped entry %d, decoded afresh, fails its signature" % i)
        other = list(leaves)
        other[i] = leaf_hash(bytes(flipped))
        check(mth(other) != root, "a flipped byte in entry %d changes the root" % i)

    # inclusion proofs from the CLI, checked here and compared with PATH(m, D[n])
    for cid in ids:
        pr = run_json(db, now, "log", "proof", cid)
        size = pr["tree_size"]
        proot = b64(pr["root"])
        check(size == len(entries) and proot == root, "%s: proof tree size and root" % cid,
              (len(entries), base64.b64encode(root).decode()), (size, pr["root"]))
        check(verify_checkpoint(pr["checkpoint"], trust["log_vkey"], "proof checkpoint") is not None,
              "%s: the proof's checkpoint verifies" % cid)
        for p in pr["proofs"]:
            idx = p["index"]
            path = [b64(h) for h in p["proof"]]
            check(path == audit_path(idx, leaves[:size]),
                  "%s entry %d: the audit path is RFC 6962 PATH" % (cid, idx),
                  [base64.b64encode(h).decode() for h in audit_path(idx, leaves[:size])], p["proof"])
            check(verify_inclusion(idx, size, leaves[idx], path, proot),
                  "%s entry %d: the inclusion proof verifies" % (cid, idx))
            if path:
                bad = list(path)
                bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
                check(not verify_inclusion(idx, size, leaves[idx], bad, proot),
                      "%s entry %d: a tampered proof fails" % (cid, idx))
            other = (idx + 1) % size
            check(not verify_inclusion(other, size, leaves[idx], path, proot) or leaves[other] == leaves[idx],
                  "%s entry %d: the proof fails for another index" % (cid, idx))


def check_same_second_rotation(tmp):
    """An event signed in the same second as the rotation that retires its key must still fall inside
    that key's validity as the newest trust bundle states it (trust.h: not_before <= at <= not_after)."""
    db = os.path.join(tmp, "same")
    now = "1717200000"
    run(db, now, "init")
    run(db, now, "issue", "--vendor", "SAME", "--vendor-name", "S", "--product", "P", "--model", "S-1",
        "--level", "1", "--firmware", "1.0")
    run(db, now, "keys", "rotate", "issuer")
    trust = run_json(db, now, "trust", "show")
    entries = [b64(e["data"]) for e in run_json(db, now, "log", "entries")["entries"]]
    prot, hdr, payload, sig = decode_sign1(entries[1], "same-second entry 1")
    at = cbor2.loads(payload).get(3)
    key = [k for k in trust["keys"] if k["kid"] == hdr[4].hex()][0]
    na = key["not_after"] and iso_time(key["not_after"])
    check(iso_time(key["not_before"]) <= at and (na is None or at <= na),
          "an event signed, then its key rotated in the same second: the event time lies in the retired "
          "key's validity as the newest bundle states it", "not_before <= at <= not_after",
          (key["not_before"], at, key["not_after"]))


if __name__ == "__main__":
    sys.exit(main())
