#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The restore drill: backups of a registry that starmarkd serves while imports (the CLI on the same
# store), admin writes through the server and a key rotation run; each backup restored into a new
# directory, `log verify` passes on it and every write acknowledged before that backup began is in it.
# Then the refusals: an existing DEST, an existing registry, a damaged backup (nothing is written);
# modes 0700/0600; passphrase-protected keys and a root key kept offline; the --json shapes.
set -u
. "$(dirname "$0")/lib.sh"

unset STARMARK_SERVER STARMARK_TOKEN STARMARK_DB STARMARK_CACERT STARMARK_TRUST STARMARK_NOW STARMARK_PASSPHRASE_FILE
export NO_PROXY='*' no_proxy='*'
SMD_CONF=$T/smd.conf
printf 'snapshot_seconds = 1\nrefresh_seconds = 1\nadmin_rate_per_minute = 100000\nadmin_burst = 10000\n' >"$SMD_CONF"
WRITER_PIDS=
trap 'for p in $WRITER_PIDS; do kill "$p" 2>/dev/null; done; stop_server; rm -rf "$T"' EXIT

REG=$T/reg
export STARMARK_DB=$REG
sm init --origin backup.test
expect_rc 0 "init"
sm token create --role issuer --name drill
TOKEN=$(cat "$OUT")
start_server "$REG"

# ---- writers: every write is appended to $ACK only after it was acknowledged (exit 0) ----
ACK=$T/acked
: >"$ACK"
for n in 1 2 3 4; do
	"$PY" -c 'import sys
n = int(sys.argv[1])
print("vendor,vendor_name,product,models,level,firmware,registered")
for i in range(1000):
    print(f"IMP{n},Importer {n},Thing {i},IM{n}-{i},2,>=1.0,2025-0{n}-01")' "$n" >"$T/import-$n.csv"
done
importer() {
	for n in 1 2 3 4; do
		if "$SM" --json import "$T/import-$n.csv" >"$T/import-$n.json" 2>"$T/import-$n.err"; then
			"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))
a, b = int(d["first_id"].rsplit("-", 1)[1]), int(d["last_id"].rsplit("-", 1)[1])
print("import %s %s %d" % (d["first_id"], d["last_id"], d["imported"]))' "$T/import-$n.json" >>"$ACK"
		else
			echo "import-failed $n" >>"$ACK"
		fi
	done
}
admin() {
	local i id
	for i in $(seq 36); do
		if id=$("$SM" --server "$URL" --token "$TOKEN" issue --vendor ADM --vendor-name Admin --product "Lock $i" \
			--model "ADM-$i" --level 3 --firmware '>=1.0' --category lock 2>>"$T/admin.err"); then
			echo "issue $id" >>"$ACK"
			if [ $((i % 3)) = 0 ] && "$SM" --server "$URL" --token "$TOKEN" suspend "$id" --reason "drill $i" \
				>/dev/null 2>>"$T/admin.err"; then
				echo "suspend $id" >>"$ACK"
			fi
		else
			echo "issue-failed $i" >>"$ACK"
		fi
		if [ "$i" = 18 ]; then
			# a key rotated while backups are taken: each backup must carry the keys its store names
			"$SM" keys rotate issuer >/dev/null 2>>"$T/admin.err" && echo "rotate issuer" >>"$ACK"
		fi
	done
}
importer &
WRITER_PIDS="$!"
IMPORTER=$!
admin &
WRITER_PIDS="$WRITER_PIDS $!"
ADMIN=$!

# ---- backups while they run; the acknowledged writes are noted before each begins ----
NB=0
START=$(date +%s)
while kill -0 "$IMPORTER" 2>/dev/null || kill -0 "$ADMIN" 2>/dev/null; do
	NB=$((NB + 1))
	cp "$ACK" "$T/acked-before-$NB"
	sm backup "$T/bk-$NB"
	expect_rc 0 "backup $NB while the writers run"
	[ "$NB" -ge 5 ] && break
	sleep 0.5
	[ $(($(date +%s) - START)) -gt 40 ] && { fail "the writers did not finish in 40 s"; break; }
done
wait "$IMPORTER" "$ADMIN"
WRITER_PIDS=
NB=$((NB + 1))
cp "$ACK" "$T/acked-before-$NB"
sm --json backup "$T/bk-$NB"
expect_rc 0 "a backup after the writers finished"
expect_schema backup "backup --json"
expect_json "backup --json" 'd["files"] >= 6 and d["log"]["size"] > 4000 and d["verified"] is False and d["attempts"] == 1'
grep -q failed "$ACK" && fail "a writer failed: $(grep failed "$ACK" | head -3) $(tail -3 "$T/admin.err")"
[ "$NB" -ge 3 ] || fail "only $NB backups were taken"
grep -q '^rotate issuer' "$ACK" || fail "the issuer key was not rotated during the drill: $(tail -3 "$T/admin.err")"
echo "drill ($SECONDS s): $NB backups, $(grep -c '^issue' "$ACK") admin issues, $(grep -c '^import' "$ACK") imports"

# ---- restore each into a new directory: verified, and every acknowledged write is there ----
DURING=0
for b in $(seq "$NB"); do
	sm --json restore "$T/bk-$b" --db "$T/restored-$b"
	expect_rc 0 "restore backup $b"
	[ "$b" = 1 ] && expect_schema restore "restore --json"
	sm --db "$T/restored-$b" log verify
	expect_rc 0 "log verify of restored backup $b"
	"$SM" --db "$T/restored-$b" export >"$T/export-$b.jsonl" 2>"$ERR" || fail "export of restored $b: $(show_err)"
	r=$("$PY" -c 'import json,sys
certs = {}
for line in open(sys.argv[1], encoding="utf-8"):
    c = json.loads(line)
    certs[c["id"]] = c["status"]
missing = []
for line in open(sys.argv[2]):
    w = line.split()
    if w[0] == "import":
        a, b = int(w[1].rsplit("-", 1)[1]), int(w[2].rsplit("-", 1)[1])
        year = w[1].split("-")[1]
        ids = ["SM-%s-%06d" % (year, s) for s in range(a, b + 1)]
        missing += [i for i in ids if i not in certs][:3]
        if len(ids) != int(w[3]):
            missing.append("import count " + w[3])
    elif w[0] == "issue" and w[1] not in certs:
        missing.append(w[1])
    elif w[0] == "suspend" and certs.get(w[1]) != "suspended":
        missing.append("suspension of " + w[1])
print(" ".join(missing[:10]))' "$T/export-$b.jsonl" "$T/acked-before-$b" 2>&1)
	[ -z "$r" ] || fail "restored backup $b lacks acknowledged writes: $r"
	CHECKS=$((CHECKS + 1))
	n_acked=$(wc -l <"$T/acked-before-$b")
	n_all=$(wc -l <"$ACK")
	[ "$n_acked" -gt 0 ] && [ "$n_acked" -lt "$n_all" ] && DURING=$((DURING + 1))
done
[ "$DURING" -ge 2 ] || fail "only $DURING backups were taken with writes acknowledged before and after them"
# the restored registry works: the keys it carries sign (the issuer key rotated during the drill)
sm --db "$T/restored-$NB" issue --vendor NEW --vendor-name New --product P --model N-1 --level 1 --firmware '>=1'
expect_rc 0 "issue on the last restored registry"
curl -sf "$URL/healthz" >/dev/null || fail "starmarkd stopped answering during the backups"
stop_server

echo "restored and compared ($SECONDS s)"

# ---- a gateway across a restore: the backup predates snapshots the gateway synced; nothing was written
# since. The restored registry's next snapshot is above them (versions are seconds), so the gateway goes on.
sm backup "$T/bk-gw"
expect_rc 0 "backup before the gateway's syncs"
sm trust export "$T/gw-trust.cose"
expect_rc 0 "trust export for the gateway"
for round in 1 2; do # each start of starmarkd signs a new snapshot
	start_server "$REG"
	sm --server "$URL" --trust "$T/gw-trust.cose" --json sync --cache "$T/gw"
	expect_rc 0 "gateway sync $round before the restore"
	GW_V=$(jget 'd["version"]')
	stop_server
	sleep 1.1 # the next start signs in a later second
done
sm restore "$T/bk-gw" --db "$T/restored-gw"
expect_rc 0 "restore for the gateway"
start_server "$T/restored-gw"
sm --server "$URL" --trust "$T/gw-trust.cose" --json sync --cache "$T/gw"
expect_rc 0 "the gateway syncs from the restored registry (no rollback)"
RV=$(jget 'd["version"]')
[ "$RV" -gt "$GW_V" ] || fail "the restored registry's snapshot is version $RV, not above the gateway's $GW_V"
stop_server

# ---- modes: 0700 directories, 0600 files, in the backup and the restored registry ----
for d in "$T/bk-1" "$T/restored-1"; do
	bad=$(find "$d" \( -type d ! -perm 0700 \) -o \( -type f ! -perm 0600 \) | head -3)
	expect_eq "" "$bad" "modes in $d"
done
expect_eq "" "$(ls -A "$T/bk-1" | grep -v -e '^data.mdb$' -e '^keys$' -e '^manifest.json$')" "a backup holds data.mdb, keys/ and manifest.json only"
leftover=$(ls -A "$T" | grep '^\.' | head -3)
expect_eq "" "$leftover" "no temporary directory left beside the backups and restores"

# ---- refusals ----
sm backup "$T/bk-1"
expect_rc 2 "backup to an existing DEST"
expect_err "$T/bk-1 exists" "the refusal names DEST"
mkdir "$T/empty"
sm backup "$T/empty"
expect_rc 2 "backup to an existing empty directory"
sm restore "$T/bk-1" --db "$REG"
expect_rc 2 "restore over a registry"
expect_err "holds a registry already" "the refusal says why"
mkdir "$T/notempty" && echo x >"$T/notempty/f"
sm restore "$T/bk-1" --db "$T/notempty"
expect_rc 2 "restore into a directory that is not empty"
sm restore "$T/bk-1" --db "$T/empty"
expect_rc 0 "restore into an empty directory"
sm restore "$T/nothing" --db "$T/r-nothing"
expect_rc 2 "restore of a directory that is no backup"
sm --server http://127.0.0.1:1 backup "$T/bk-remote"
expect_rc 2 "backup with --server is refused"

# damaged backups: one byte flipped in the store, a key, the manifest; a file missing. Nothing is written.
flip() { # FILE OFFSET
	"$PY" -c 'import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off % len(b)] ^= 0x40
open(p, "wb").write(bytes(b))' "$1" "$2"
}
for what in data.mdb:5000 data.mdb:20000 key:40 manifest.json:200 missing-key; do
	rm -rf "$T/bad" "$T/r-bad"
	cp -a "$T/bk-1" "$T/bad"
	case $what in
	key:*) flip "$(ls "$T"/bad/keys/issuer-*.key | head -1)" "${what#key:}" ;;
	missing-key) rm "$(ls "$T"/bad/keys/log-*.key | head -1)" ;;
	*) flip "$T/bad/${what%%:*}" "${what#*:}" ;;
	esac
	sm restore "$T/bad" --db "$T/r-bad"
	expect_rc 2 "restore of a backup with $what damaged"
	[ -e "$T/r-bad" ] && fail "restore of a damaged backup ($what) left $T/r-bad"
	leftover=$(ls -A "$T" | grep '^\.' | head -3)
	expect_eq "" "$leftover" "no temporary directory left by the refused restore ($what)"
done

# a manifest that records another log than its store's (its digests right): damaged too
rm -rf "$T/bad" "$T/r-bad"
cp -a "$T/bk-1" "$T/bad"
"$PY" - "$T/bad" <<'EOF'
import hashlib, json, sys
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))
m["log"]["root"] = "A" * 43 + "="
json.dump(m, open(d + "/manifest.json", "w"))
EOF
sm restore "$T/bad" --db "$T/r-bad"
expect_rc 2 "restore of a store that is not the log its manifest recorded"
expect_err "is not the one its manifest recorded" "the refusal says what differs"
[ -e "$T/r-bad" ] && fail "a refused restore left $T/r-bad"

echo "refusals ($SECONDS s)"

# ---- passphrase-protected keys, the root key kept offline ----
PASS=$T/pass
echo 'correct horse battery staple' >"$PASS"
REG2=$T/reg2
sm --db "$REG2" init --origin enc.test --passphrase-file "$PASS"
expect_rc 0 "init with encrypted keys"
mkdir -m 700 "$T/offline"
mv "$REG2"/keys/root-*.key "$T/offline/"
sm --db "$REG2" --passphrase-file "$PASS" issue --vendor ENC --vendor-name Enc --product P --model E-1 --level 1 --firmware '>=1'
expect_rc 0 "issue with encrypted keys and the root offline"
sm --db "$REG2" --json backup "$T/bk-enc"
expect_rc 0 "backup of encrypted keys without the passphrase"
expect_json "the keys as found" '[k["state"] for k in d["keys"]] == ["offline", "encrypted", "encrypted", "encrypted"]'
expect_err "root key is not in the registry" "a note about the offline root"
grep -q 'ENCRYPTED PRIVATE KEY' "$T"/bk-enc/keys/issuer-*.key || fail "the issuer key was not copied encrypted"
sm --db "$T/r-enc" restore "$T/bk-enc"
expect_rc 0 "restore without the passphrase (verification needs only public keys)"
expect_out "root offline, issuer encrypted" "restore reports the keys it could not open"
sm --db "$T/r-enc2" --passphrase-file "$PASS" --json restore "$T/bk-enc"
expect_rc 0 "restore with the passphrase"
expect_json "the keys opened and compared" '[k["state"] for k in d["keys"]] == ["offline", "checked", "checked", "checked"]'
echo 'wrong' >"$T/wrong"
sm --db "$T/r-enc3" --passphrase-file "$T/wrong" restore "$T/bk-enc"
expect_rc 2 "restore with a wrong passphrase"
[ -e "$T/r-enc3" ] && fail "a restore with a wrong passphrase left $T/r-enc3"
sm --db "$T/r-enc" --passphrase-file "$PASS" issue --vendor ENC --vendor-name Enc --product Q --model E-2 --level 1 --firmware '>=1'
expect_rc 0 "the restored registry signs with its encrypted keys"
# an anchor given to restore: the restored chain must follow from it
sm --db "$REG2" trust export "$T/enc-trust.cose"
sm --db "$T/r-anchor" --trust "$T/enc-trust.cose" restore "$T/bk-enc"
expect_rc 0 "restore with the registry's own bundle as the anchor"
sm --db "$T/r-anchor2" --trust "$(head -c 64 <<<"0000000000000000000000000000000000000000000000000000000000000000")" restore "$T/bk-enc"
expect_rc 1 "restore with another registry's root as the anchor"
[ -e "$T/r-anchor2" ] && fail "a refused restore left $T/r-anchor2"

finish
