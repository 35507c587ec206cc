#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installable: `cmake --install` into a temporary prefix (every file where GNUInstallDirs puts it, man pages that
# lint, the completion, starmark.pc that links a program, per-verb help, the installed starmarkd serving the
# installed pages), then the Debian package cpack builds, installed with dpkg into a temporary root and removed
# again, and its starmarkd run with exactly the installed unit's ExecStart= and ExecStartPre= command lines.
#
# Why a temporary root (dpkg --root DIR --force-script-chrootless) and not /: this machine is shared while tests
# run; installing into / would take the system's dpkg lock, put starmark on everyone's PATH and leave a system
# user behind. The root's dpkg database holds the real system's entries for the package's Depends only, so
# dpkg checks them against what is really installed (the binaries run on the real system's libraries); the
# maintainer scripts honour $DPKG_ROOT, as Debian's do for chrootless installs. systemd does not run here: the
# unit's command lines are parsed and run, their absolute paths taken inside the root. Nothing is left installed.
set -u
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
SRC=${SM_SOURCE_DIR:?}
BUILD=$(cd "$(dirname "${STARMARKD_BIN:?}")/.." && pwd)
chmod 0755 "$T" # the server runs as an unprivileged user below
D=
trap '[ -n "$D" ] && kill "$D" 2>/dev/null; rm -rf "$T"' EXIT

check() { # WHAT COMMAND... — a check that a command succeeds
	local what=$1
	shift
	CHECKS=$((CHECKS + 1))
	"$@" >/dev/null 2>&1 || fail "$what"
}

# port_of FILE — the port of starmarkd's "listening on HOST:PORT" line, waiting up to 10 s
port_of() {
	for _ in $(seq 100); do
		if grep -q '^listening on ' "$1" 2>/dev/null; then
			sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$1"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ---- cmake --install into a temporary prefix ----
P=$T/prefix
cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1
RC=$?
expect_rc 0 "cmake --install --prefix: $(tail -3 "$T/install.log")"
for f in bin/starmark bin/starmarkd lib/libstarmark.a include/starmark/starmark.h include/starmark/registry.h \
	lib/pkgconfig/starmark.pc share/man/man1/starmark.1 share/man/man8/starmarkd.8 share/man/man5/starmarkd.conf.5 \
	share/bash-completion/completions/starmark lib/systemd/system/starmarkd.service etc/starmark/starmarkd.conf \
	share/starmark/web/index.html share/starmark/web/scan.html share/starmark/web/sw.js \
	share/starmark/schema/openapi.json share/starmark/schema/starmark.schema.json share/doc/starmark/README.md; do
	check "installed: PREFIX/$f" test -f "$P/$f"
done
[ -f "$SRC/web/static/vendor/jsQR.js" ] && check "installed: the vendored jsQR" test -f "$P/share/starmark/web/static/vendor/jsQR.js"
check "no node_modules or package files installed" test ! -e "$P/share/starmark/web/node_modules" -a ! -e "$P/share/starmark/web/package.json"
expect_eq "$P/bin/starmarkd --config $P/etc/starmark/starmarkd.conf" "$(sed -n 's/^ExecStart=//p' "$P/lib/systemd/system/starmarkd.service")" \
	"the unit names the binary and configuration of its prefix"
expect_eq "db = /var/lib/starmark/registry" "$(grep '^db' "$P/etc/starmark/starmarkd.conf")" "the sample configuration's registry"

# man pages: no groff warnings, and every verb of the verb table is in starmark(1)
for m in man1/starmark.1 man8/starmarkd.8 man5/starmarkd.conf.5; do
	groff -man -ww -z "$P/share/man/$m" >"$T/groff" 2>&1
	CHECKS=$((CHECKS + 1))
	[ ! -s "$T/groff" ] || fail "$m: groff warnings: $(head -3 "$T/groff")"
	MANWIDTH=80 man -l "$P/share/man/$m" >"$T/man.txt" 2>/dev/null
	check "$m renders with man" grep -q "SEE ALSO" "$T/man.txt"
done
verbs=$("$P/bin/starmark" --help | sed -n '/^verbs:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p' | sort -u)
expect_ne "" "$verbs" "starmark --help lists the verbs"
MANWIDTH=300 man -l "$P/share/man/man1/starmark.1" >"$T/starmark.txt" 2>/dev/null
for v in $verbs; do
	CHECKS=$((CHECKS + 1))
	grep -qE "^ {7}$v( |$)|^ {7}[a-z, -]*\b$v\b" "$T/starmark.txt" || fail "starmark(1) does not describe the verb $v"
	# per-verb help: the usage line of the table, what it does, an example; `help VERB` the same
	sm "$v" --help
	expect_rc 0 "starmark $v --help"
	usage=$("$P/bin/starmark" --help | grep -m1 "^  $v " | sed 's/^  //')
	expect_eq "usage: starmark [global options] $usage" "$(head -1 "$OUT")" "starmark $v --help: its usage line"
	expect_out "example:" "starmark $v --help: an example"
	cp "$OUT" "$T/help1"
	sm help "$v"
	expect_rc 0 "starmark help $v"
	check "starmark help $v is starmark $v --help" cmp -s "$OUT" "$T/help1"
done
sm nosuch --help
expect_rc 2 "an unknown verb's --help"
sm help nosuch
expect_rc 2 "help of an unknown verb"
sm list --nosuch
expect_err "see 'starmark list --help'" "an unknown option points at the verb's help"

# bash completion: verbs and options from the binary's own help
complete_words() { # WORDS... — what the completion offers for the last word
	PATH="$P/bin:$PATH" bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _starmark; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$P/share/bash-completion/completions/starmark" "$@" 2>/dev/null | sort | tr '\n' ' '
}
expect_eq "check " "$(complete_words starmark che)" "completion: a verb"
expect_eq "--vendor --vendor-name " "$(complete_words starmark issue --vend)" "completion: a verb's options"
expect_eq "checkpoint entries proof verify " "$(complete_words starmark log '')" "completion: sub-verbs"
expect_eq "revoke " "$(complete_words starmark --db x rev)" "completion: a verb after a global option"
expect_eq "auditor issuer " "$(complete_words starmark token create --role '')" "completion: an option's values"

# starmark.pc: a program built and linked against the installed library
cat >"$T/use.c" <<'C'
#include <stdio.h>
#include <starmark/starmark.h>
int main(void) { printf("%s\n", sm_version_string()); return 0; }
C
PKG_CONFIG_PATH="$P/lib/pkgconfig" cc -o "$T/use" "$T/use.c" $(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs starmark) 2>"$T/cc.err"
RC=$?
expect_rc 0 "a program compiled with pkg-config starmark: $(head -3 "$T/cc.err")"
expect_eq "starmark $("$T/use")" "$("$P/bin/starmark" --version)" "the linked library is the installed starmark's"

# the installed starmarkd serves the installed pages by default (marked, to tell them from the source tree's)
DB=$T/reg
STARMARK_NOW=2026-11-21 "$P/bin/starmark" --db "$DB" init --scheme CCDS --levels 3 --origin install.test >/dev/null 2>&1
printf '<!-- installed-copy -->\n' >>"$P/share/starmark/web/index.html"
"$P/bin/starmarkd" --db "$DB" --listen 127.0.0.1:0 --threads 1 >"$T/d1.out" 2>"$T/d1.err" &
D=$!
if PORT=$(port_of "$T/d1.out"); then
	check "the installed starmarkd serves the installed pages" sh -c "curl -sf http://127.0.0.1:$PORT/ | grep -q installed-copy"
	check "the installed starmarkd serves /v1/openapi.json" curl -sf "http://127.0.0.1:$PORT/v1/openapi.json"
else
	fail "the installed starmarkd did not start: $(head -c 400 "$T/d1.err")"
fi
kill "$D" 2>/dev/null
wait "$D" 2>/dev/null

# ---- the Debian package ----
if [ "$(id -u)" != 0 ]; then
	echo "test_install: $CHECKS checks, $FAILS failed; the package part needs root (dpkg --root, setpriv): skipped"
	[ "$FAILS" = 0 ]
	exit
fi
cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$T/pkg" >"$T/cpack.log" 2>&1
RC=$?
expect_rc 0 "cpack -G DEB: $(tail -3 "$T/cpack.log")"
DEB=$(ls "$T"/pkg/starmark_*.deb 2>/dev/null | head -1)
check "cpack wrote starmark_VERSION_ARCH.deb" test -n "$DEB"
dpkg-deb -f "$DEB" Depends >"$T/depends"
check "Depends from the shared libraries (dpkg-shlibdeps)" grep -q "libevhtp" "$T/depends"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles >"$T/conffiles" 2>/dev/null
check "the configuration is a conffile" grep -qx /etc/starmark/starmarkd.conf "$T/conffiles"

R=$T/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers" "$R/etc"
touch "$R/var/lib/dpkg/available"
# the real system's status entries of the packages the package depends on: dpkg checks Depends against them
"$PY" - "$T/depends" "$R/var/lib/dpkg" <<'PY'
import re, sys
names = {re.split(r"[\s(:]", alt.strip())[0] for dep in open(sys.argv[1]).read().split(",") for alt in dep.split("|")}
kept = [p for p in open("/var/lib/dpkg/status", encoding="utf-8").read().split("\n\n")
        if re.search(r"^Package: (\S+)$", p, re.M) and re.search(r"^Package: (\S+)$", p, re.M).group(1) in names]
open(sys.argv[2] + "/status", "w", encoding="utf-8").write("\n\n".join(kept) + "\n")
for p in kept:
    name = re.search(r"^Package: (\S+)$", p, re.M).group(1)
    arch = re.search(r"^Architecture: (\S+)$", p, re.M)
    for n in {name, name + ":" + arch.group(1) if arch else name}:
        open(f"{sys.argv[2]}/info/{n}.list", "w").close()
PY
# a root with only root in it: useradd --prefix adds the user starmark there
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$R/etc/shadow"
printf 'root:*::\n' >"$R/etc/gshadow"
chmod 0640 "$R/etc/shadow" "$R/etc/gshadow"
cp /etc/login.defs "$R/etc/"
chmod 0755 "$R"
REAL_BEFORE=$(ls -la /usr/bin/starmark* /etc/starmark /usr/lib/systemd/system/starmarkd.service 2>&1 | md5sum)

dpkg --root="$R" --force-script-chrootless -i "$DEB" >"$T/dpkg-i.log" 2>&1
RC=$?
expect_rc 0 "dpkg -i into a temporary root: $(tail -5 "$T/dpkg-i.log")"
check "dpkg says it is installed" sh -c "dpkg --root='$R' -s starmark | grep -q 'Status: install ok installed'"
check "dpkg --verify: the files are the package's" dpkg --root="$R" --verify starmark
for f in /usr/bin/starmark /usr/bin/starmarkd /etc/starmark/starmarkd.conf /usr/lib/systemd/system/starmarkd.service \
	/usr/share/man/man1/starmark.1 /usr/share/man/man8/starmarkd.8 /usr/share/man/man5/starmarkd.conf.5 \
	/usr/share/bash-completion/completions/starmark /usr/share/starmark/web/index.html \
	/usr/share/starmark/schema/openapi.json /usr/include/starmark/starmark.h /usr/share/doc/starmark/README.md; do
	check "package: $f" test -f "$R$f"
done
check "postinst made the user starmark" grep -q '^starmark:' "$R/etc/passwd"
uid=$(awk -F: '$1 == "starmark" { print $3 }' "$R/etc/passwd")
gid=$(awk -F: '$1 == "starmark" { print $4 }' "$R/etc/passwd")
expect_eq "750 $uid:$gid" "$(stat -c '%a %u:%g' "$R/var/lib/starmark" 2>&1)" "postinst made /var/lib/starmark, the user's, private"
check "postinst says how to make a registry" grep -q "starmark --db /var/lib/starmark/registry init" "$T/dpkg-i.log"

UNIT=$R/usr/lib/systemd/system/starmarkd.service
START=$(sed -n 's/^ExecStart=//p' "$UNIT")
PRE=$(sed -n 's/^ExecStartPre=//p' "$UNIT")
expect_eq "/usr/bin/starmarkd --config /etc/starmark/starmarkd.conf" "$START" "the unit's ExecStart"
expect_eq "starmark" "$(sed -n 's/^User=//p' "$UNIT")" "the unit runs as starmark"
# in_root CMDLINE — the unit's command line with every absolute path taken inside the root
in_root() {
	local out=() w
	for w in $1; do
		case $w in /*) out+=("$R$w") ;; *) out+=("$w") ;; esac
	done
	printf '%s\n' "${out[@]}"
}
# the installed configuration, with only what a test machine needs changed: the registry inside the root, any port
CONF=$R/etc/starmark/starmarkd.conf
sed -i "s|^db = /var/lib/starmark/registry|db = $R/var/lib/starmark/registry|; s|^listen = 127.0.0.1:8080|listen = 127.0.0.1:0|" "$CONF"
check "the packaged configuration checked: db and listen" grep -q "^listen = 127.0.0.1:0" "$CONF"
as_starmark() { setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"; }

# no registry yet: ExecStartPre refuses with a clear message (exit 2: the unit does not restart it)
mapfile -t pre < <(in_root "$PRE")
as_starmark "${pre[@]}" >"$OUT" 2>"$ERR"
RC=$?
expect_rc 2 "ExecStartPre without a registry"
expect_err "no registry at $R/var/lib/starmark/registry (run 'starmark init' first)" "ExecStartPre says why"
check "the unit does not restart on exit 2" grep -qx "RestartPreventExitStatus=2" "$UNIT"

# a registry made by the installed starmark as the user starmark, then the unit's command lines
STARMARK_NOW=2026-11-21 as_starmark "$R/usr/bin/starmark" --db "$R/var/lib/starmark/registry" init --scheme CCDS --levels 3 \
	--origin deb.test >"$OUT" 2>"$ERR"
RC=$?
expect_rc 0 "starmark init as starmark in /var/lib/starmark"
as_starmark "${pre[@]}" >"$OUT" 2>"$ERR"
RC=$?
expect_rc 0 "ExecStartPre (--check-config) with the registry"
printf '<!-- packaged-copy -->\n' >>"$R/usr/share/starmark/web/index.html"
mapfile -t start < <(in_root "$START")
# setpriv execs starmarkd: $! is the server itself, which the signal below must reach
setpriv --reuid="$uid" --regid="$gid" --clear-groups "${start[@]}" >"$T/d2.out" 2>"$T/d2.err" &
D=$!
if PORT=$(port_of "$T/d2.out"); then
	curl -s "http://127.0.0.1:$PORT/healthz" >"$OUT"
	expect_eq '"ok"' "$(jget 'd["status"]' | sed 's/.*/"&"/')" "/healthz of the packaged starmarkd"
	check "/ of the packaged starmarkd: its own pages" sh -c "curl -sf http://127.0.0.1:$PORT/ | grep -q packaged-copy"
	check "/v1/trust.json of the packaged starmarkd" curl -sf "http://127.0.0.1:$PORT/v1/trust.json"
	kill -TERM "$D"
	wait "$D"
	RC=$?
	expect_rc 0 "SIGTERM stops the packaged starmarkd cleanly"
else
	fail "the packaged starmarkd did not start under ExecStart: $(head -c 400 "$T/d2.err")"
	kill "$D" 2>/dev/null
fi

# removed cleanly: the files go with dpkg -r, the conffile with --purge; the registry stays (it is not the package's)
dpkg --root="$R" --force-script-chrootless -r starmark >"$T/dpkg-r.log" 2>&1
RC=$?
expect_rc 0 "dpkg -r: $(tail -3 "$T/dpkg-r.log")"
check "dpkg -r removed the binaries" test ! -e "$R/usr/bin/starmarkd" -a ! -e "$R/usr/bin/starmark"
check "dpkg -r removed the pages and the unit" test ! -e "$R/usr/share/starmark" -a ! -e "$UNIT"
dpkg --root="$R" --force-script-chrootless --purge starmark >"$T/dpkg-p.log" 2>&1
RC=$?
expect_rc 0 "dpkg --purge: $(tail -3 "$T/dpkg-p.log")"
check "--purge removed the configuration" test ! -e "$R/etc/starmark"
check "nothing of the package left under /usr" sh -c "[ -z \"\$(find '$R/usr' -type f 2>/dev/null)\" ]"
check "the registry is kept" test -f "$R/var/lib/starmark/registry/data.mdb"
check "dpkg no longer knows the package" sh -c "! dpkg --root='$R' -s starmark >/dev/null 2>&1"
expect_eq "$REAL_BEFORE" "$(ls -la /usr/bin/starmark* /etc/starmark /usr/lib/systemd/system/starmarkd.service 2>&1 | md5sum)" \
	"nothing was installed into the real system"

echo "test_install: $CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
