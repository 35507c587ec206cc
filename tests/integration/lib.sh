# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared helpers for the bash integration tests: run the CLI, compare, count failures.
# Source it; it sets SM (the CLI), PY, a temporary dir $T removed on exit, and FAILS.

SM=${STARMARK_BIN:?set STARMARK_BIN to the starmark CLI}
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/sm-it.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0
CHECKS=0
OUT="$T/out"
ERR="$T/err"

fail() {
	FAILS=$((FAILS + 1))
	printf 'FAIL: %s\n' "$*" >&2
}

# sm ARGS... — run the CLI; stdout in $OUT, stderr in $ERR, exit code in $RC.
sm() {
	"$SM" "$@" >"$OUT" 2>"$ERR"
	RC=$?
}

show_err() { head -c 600 "$ERR" | tr '\n' '|'; }
show_out() { head -c 300 "$OUT" | tr '\n' '|'; }

# expect_rc WANT WHAT — the last command's exit code.
expect_rc() {
	CHECKS=$((CHECKS + 1))
	[ "$RC" = "$1" ] ||
		fail "$2: expected exit $1, got $RC; stderr: $(show_err); stdout: $(show_out)"
}

# expect_rc_in "A B" WHAT
expect_rc_in() {
	CHECKS=$((CHECKS + 1))
	case " $1 " in
	*" $RC "*) ;;
	*) fail "$2: expected exit one of {$1}, got $RC; stderr: $(show_err)" ;;
	esac
}

# expect_err TEXT WHAT — stderr contains TEXT (fixed string).
expect_err() {
	CHECKS=$((CHECKS + 1))
	grep -qF -- "$1" "$ERR" || fail "$2: expected stderr to contain '$1', got: $(show_err)"
}

expect_out() {
	CHECKS=$((CHECKS + 1))
	grep -qF -- "$1" "$OUT" ||
		fail "$2: expected stdout to contain '$1', got: $(head -c 600 "$OUT" | tr '\n' '|')"
}

expect_eq() { # WANT GOT WHAT
	CHECKS=$((CHECKS + 1))
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

expect_ne() {
	CHECKS=$((CHECKS + 1))
	[ "$1" != "$2" ] || fail "$3: expected something other than '$1'"
}

# expect_empty_out WHAT
expect_empty_out() {
	CHECKS=$((CHECKS + 1))
	[ ! -s "$OUT" ] || fail "$1: expected nothing on stdout, got: $(head -c 300 "$OUT" | tr '\n' '|')"
}

# jget EXPR — evaluate a Python expression over d = the JSON document on stdout of the last command.
jget() {
	"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
v = eval("(" + sys.argv[2] + "\n)")
j = isinstance(v, (dict, list, bool)) or v is None
print(json.dumps(v, ensure_ascii=False) if j else v)' "$OUT" "$1" 2>&1
}

# expect_json_one WHAT — stdout is exactly one JSON document (and nothing else but whitespace).
expect_json_one() {
	CHECKS=$((CHECKS + 1))
	local r
	r=$("$PY" -c 'import json,sys
s = open(sys.argv[1], encoding="utf-8").read()
try:
    json.loads(s)
except Exception as e:
    print("not one JSON document (%s): %r" % (e, s[:200]))' "$OUT")
	[ -z "$r" ] || fail "$1: $r"
}

# expect_json_shape WHAT EXPR — a Python boolean expression over d holds; prints d on failure.
expect_json() {
	CHECKS=$((CHECKS + 1))
	local r
	r=$("$PY" -c 'import json,sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
try:
    ok = eval("(" + sys.argv[2] + "\n)")
except Exception as e:
    ok = False
    print("error %r" % e)
if not ok:
    print("expected %s; the document was %s"
          % (sys.argv[2], json.dumps(d, ensure_ascii=False)[:700]))' "$OUT" "$2" 2>&1)
	[ -z "$r" ] || fail "$1: $r"
}

# ---- starmarkd ----
SMD=${STARMARKD_BIN:-$(dirname "$SM")/../server/starmarkd}
SMD_PID=
# start_server DB [more starmarkd args] — on a free port of 127.0.0.1 with $T/smd.conf when it exists;
# sets SMD_PID, PORT and URL; its stdout in $T/smd.out, its stderr appended to $T/smd.err.
start_server() {
	local db=$1
	shift
	[ -x "$SMD" ] || { echo "FAIL: starmarkd not found at $SMD (set STARMARKD_BIN)" >&2; exit 1; }
	: >"$T/smd.out"
	"$SMD" --db "$db" --listen 127.0.0.1:0 ${SMD_CONF:+--config "$SMD_CONF"} "$@" >"$T/smd.out" 2>>"$T/smd.err" &
	SMD_PID=$!
	for _ in $(seq 100); do
		grep -q '^listening on' "$T/smd.out" && break
		sleep 0.05
	done
	local port
	port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/smd.out")
	[ -n "$port" ] || { echo "FAIL: starmarkd did not start: $(cat "$T/smd.err")" >&2; exit 1; }
	PORT=$port
	URL=http://127.0.0.1:$port
}

stop_server() {
	[ -n "$SMD_PID" ] || return 0
	kill -TERM "$SMD_PID" 2>/dev/null
	wait "$SMD_PID" 2>/dev/null
	SMD_PID=
}

# expect_schema SHAPE WHAT — stdout is a JSON document of schema/starmark.schema.json's $defs/SHAPE.
expect_schema() {
	CHECKS=$((CHECKS + 1))
	local r
	r=$("$PY" -c 'import json,sys,jsonschema
schema = json.load(open(sys.argv[2], encoding="utf-8"))
v = jsonschema.Draft202012Validator({"$ref": "#/$defs/" + sys.argv[3], "$defs": schema["$defs"]})
for e in v.iter_errors(json.load(open(sys.argv[1], encoding="utf-8"))):
    print("%s at %s" % (e.message, list(e.absolute_path)))' "$OUT" "${SM_SOURCE_DIR:-.}/schema/starmark.schema.json" "$1" 2>&1)
	[ -z "$r" ] || fail "$2: not a $1 document: $r"
}

# logsize — the log's size (line 2 of the checkpoint) of the registry in $STARMARK_DB; with
# $SM_LOG_PASS set, the passphrase file that unlocks the log key.
logsize() {
	"$SM" log checkpoint ${SM_LOG_PASS:+--passphrase-file "$SM_LOG_PASS"} 2>/dev/null | sed -n 2p
}

# finish — print the summary and exit with the verdict.
finish() {
	if [ "$FAILS" -ne 0 ]; then
		printf '%d of %d checks FAILED\n' "$FAILS" "$CHECKS" >&2
		exit 1
	fi
	printf 'all %d checks passed\n' "$CHECKS"
	exit 0
}
