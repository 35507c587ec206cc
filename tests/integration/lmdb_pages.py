# SPDX-License-Identifier: Apache-2.0
# Which database of an LMDB file (0.9.x, 64-bit, 4 KiB pages) owns each page: for the corruption test,
# to say where a flipped byte landed (a table's page, a free page, the unused tail). Read-only.
"""Usage: lmdb_pages.py data.mdb [OFFSET...] — a page count per owner, and the owner of each offset."""
import struct
import sys

PSIZE = 4096
HDR = 16
P_BRANCH, P_LEAF, P_OVERFLOW, P_META, P_LEAF2 = 0x01, 0x02, 0x04, 0x08, 0x20
F_BIGDATA, F_SUBDATA, F_DUPDATA = 0x01, 0x02, 0x04
DB_FMT = "<IHHQQQQQ"  # MDB_db: pad, flags, depth, branch, leaf, overflow pages, entries, root
DB_SIZE = struct.calcsize(DB_FMT)
P_INVALID = 0xFFFFFFFFFFFFFFFF


def _meta(buf, n):
    """(txnid, last_pgno, free db root, main db root) of meta page n."""
    off = n * PSIZE + HDR
    free = struct.unpack_from(DB_FMT, buf, off + 24)
    main = struct.unpack_from(DB_FMT, buf, off + 24 + DB_SIZE)
    last, txnid = struct.unpack_from("<QQ", buf, off + 24 + 2 * DB_SIZE)
    return txnid, last, free[7], main[7]


def _nodes(buf, pg):
    """(flags of the page, [(node flags, key bytes, data offset, data size, child pgno)])."""
    base = pg * PSIZE
    flags, lower = struct.unpack_from("<HH", buf, base + 10)
    out = []
    if flags & P_LEAF2:
        return flags, out
    n = max(0, (lower - HDR) // 2)
    for i in range(min(n, PSIZE // 2)):
        (ptr,) = struct.unpack_from("<H", buf, base + HDR + 2 * i)
        if ptr < HDR or ptr + 8 > PSIZE:
            continue
        lo, hi, nflags, ksize = struct.unpack_from("<HHHH", buf, base + ptr)
        key = bytes(buf[base + ptr + 8: base + ptr + 8 + ksize])
        dsize = lo | (hi << 16)
        child = lo | (hi << 16) | (nflags << 32)
        out.append((nflags, key, base + ptr + 8 + ksize, dsize, child))
    return flags, out


class Owners:
    """owner[pgno] = the name of the table (or 'free', 'meta', 'main', 'freedb') whose page it is."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = f.read()
        self.pages = len(self.buf) // PSIZE
        self.owner = {0: "lmdb meta", 1: "lmdb meta"}
        self.gap = {}  # pgno -> (lower, upper): the unused middle of a branch or leaf page
        m0, m1 = _meta(self.buf, 0), _meta(self.buf, 1)
        txnid, self.last, free_root, main_root = max(m0, m1)
        self.current_meta = 0 if m0[0] >= m1[0] else 1
        self.owner[1 - self.current_meta] = "lmdb meta (older)"
        self._walk(main_root, "main", named=True)
        self._walk(free_root, "freedb", freelist=True)

    def _mark(self, pg, name):
        if 0 <= pg < self.pages and pg not in self.owner:
            self.owner[pg] = name
            return True
        return False

    def _walk(self, root, name, named=False, freelist=False, depth=0):
        if root == P_INVALID or depth > 64 or not self._mark(root, name):
            return
        flags, nodes = _nodes(self.buf, root)
        if flags & (P_BRANCH | P_LEAF) and not flags & P_LEAF2:
            lower, upper = struct.unpack_from("<HH", self.buf, root * PSIZE + 12)
            self.gap[root] = (lower, upper)
        for nflags, key, doff, dsize, child in nodes:
            if flags & P_BRANCH:
                self._walk(child, name, named, freelist, depth + 1)
                continue
            if nflags & F_BIGDATA:
                (opg,) = struct.unpack_from("<Q", self.buf, doff)
                if 0 <= opg < self.pages:
                    (count,) = struct.unpack_from("<I", self.buf, opg * PSIZE + 12)
                    for k in range(min(count, self.pages - opg)):
                        self._mark(opg + k, name)
                    if freelist:
                        self._free_ids(opg * PSIZE + HDR)
                continue
            if named and nflags & F_SUBDATA:
                db = struct.unpack_from(DB_FMT, self.buf, doff)
                self._walk(db[7], key.decode("utf-8", "replace"), depth=depth + 1)
            elif nflags & F_SUBDATA and nflags & F_DUPDATA:
                db = struct.unpack_from(DB_FMT, self.buf, doff)
                self._walk(db[7], name, depth=depth + 1)
            elif freelist:
                self._free_ids(doff)

    def _free_ids(self, off):
        (n,) = struct.unpack_from("<Q", self.buf, off)
        for k in range(min(n, self.pages)):
            (pg,) = struct.unpack_from("<Q", self.buf, off + 8 * (k + 1))
            self._mark(pg, "free")

    def of(self, offset):
        pg = offset // PSIZE
        if pg > self.last:
            return "unused tail"
        o = self.owner.get(pg, "unreferenced")
        lo, up = self.gap.get(pg, (0, 0))
        at = offset % PSIZE
        if lo <= at < up:
            return o + " (page gap)"
        if pg in self.gap:
            ptrs = sorted(struct.unpack_from("<H", self.buf, pg * PSIZE + HDR + 2 * i)[0] for i in range((lo - HDR) // 2))
            node = max([p for p in ptrs if p <= at], default=None)
            if node is not None and at - node in (4, 5):
                return o + " (node flags)"  # LMDB reads only 3 bits of a node's 16 flag bits
        return o

    def counts(self):
        c = {}
        for pg in range(min(self.pages, self.last + 1)):
            o = self.owner.get(pg, "unreferenced")
            c[o] = c.get(o, 0) + 1
        return c


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    o = Owners(sys.argv[1])
    print(f"{o.pages} pages, last used {o.last}: " + ", ".join(f"{k} {v}" for k, v in sorted(o.counts().items())))
    for a in sys.argv[2:]:
        print(a, o.of(int(a)))
