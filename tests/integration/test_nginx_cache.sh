#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A real nginx proxy_cache in front of starmarkd: public answers are cached, revalidated with
# If-None-Match (starmarkd answers 304), and a change comes through once max-age has passed.
set -euo pipefail
BIN=${STARMARK_BIN:?}
SERVER=${STARMARKD_BIN:-$(dirname "$BIN")/../server/starmarkd}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx is not installed (scripts/setup.sh installs nginx-light)"; exit 1; }
T=$(mktemp -d)
SPID=""; NPID=""
cleanup() { [ -n "$NPID" ] && kill "$NPID" 2>/dev/null; [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fails=0; passes=0
ok() { passes=$((passes+1)); }
bad() { echo "FAIL $1"; echo "  expected: $2"; echo "  got:      $3"; fails=$((fails+1)); }
expect() { if [ "$2" = "$3" ]; then ok; else bad "$1" "$2" "$3"; fi; }

export STARMARK_DB=$T/reg STARMARK_NOW=2026-11-21
"$BIN" init --scheme CCDS --levels 3 --origin cache.test >/dev/null 2>&1
ID=$("$BIN" issue --vendor RINNAI --vendor-name R --product P --model MC-301V --level 2 --firmware ">=1.0 <2.0" \
  --registered 2021-01-22 2>/dev/null)
TOK=$("$BIN" token create --role issuer --name cache 2>/dev/null)
printf 'db = %s\nlisten = 127.0.0.1:0\nthreads = 1\ncache_seconds = 2\n' "$T/reg" > "$T/sm.conf"
"$SERVER" --config "$T/sm.conf" >"$T/sm.out" 2>"$T/sm.err" &
SPID=$!
for _ in $(seq 50); do grep -q listening "$T/sm.out" 2>/dev/null && break; sleep 0.1; done
SPORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$T/sm.out")
[ -n "$SPORT" ] || { echo "starmarkd did not start"; cat "$T/sm.err"; exit 1; }
# nginx needs a port of its own choosing: pick one, and pick again if another test took it meanwhile
start_nginx() {
  mkdir -p "$T/nginx/logs" "$T/nginx/cache"
  cat > "$T/nginx/nginx.conf" <<CONF
user root;
worker_processes 1;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $T/nginx/body; proxy_temp_path $T/nginx/proxy; fastcgi_temp_path $T/nginx/fcgi;
  uwsgi_temp_path $T/nginx/uwsgi; scgi_temp_path $T/nginx/scgi;
  proxy_cache_path $T/nginx/cache keys_zone=sm:1m;
  server {
    listen 127.0.0.1:$NPORT;
    location / {
      proxy_pass http://127.0.0.1:$SPORT;
      proxy_http_version 1.1;
      proxy_cache sm;
      proxy_cache_revalidate on;
      add_header X-Cache-Status \$upstream_cache_status always;
    }
  }
}
CONF
  "$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" 2>>"$T/nginx.err" &
  NPID=$!
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$NPORT/healthz" && return 0
    kill -0 "$NPID" 2>/dev/null || { wait "$NPID" 2>/dev/null; NPID=""; return 1; }
    sleep 0.1
  done
  return 1
}
for _ in $(seq 10); do
  NPORT=$((20000 + RANDOM % 12000))
  start_nginx && break
done
[ -n "$NPID" ] || { echo "nginx did not start"; cat "$T/nginx.err"; exit 1; }

Q="/v1/check?vendor=RINNAI&model=MC-301V&firmware=1.4.2"
get() { curl -s -D "$T/h" -o "$T/b" "http://127.0.0.1:$NPORT$Q"; tr -d '\r' < "$T/h" | sed -n 's/^X-Cache-Status: //Ip'; }
expect "first request goes to starmarkd" MISS "$(get)"
expect "second request is served by the cache" HIT "$(get)"
grep -q '"verdict":"allow"' "$T/b" && ok || bad "cached verdict" allow "$(head -c 200 "$T/b")"
sleep 3
expect "after max-age nginx revalidates with If-None-Match" REVALIDATED "$(get)"
grep -q "route=check status=304" "$T/sm.err" && ok || bad "starmarkd answered the revalidation with 304" "status=304 in the log" "$(grep route=check "$T/sm.err" | tail -3)"
# a change: revoke directly at starmarkd; the cached answer stays until max-age, then the new one comes
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
  -d '{"event":"revoke","reason":"test"}' "http://127.0.0.1:$SPORT/v1/admin/certs/$ID/events")
expect "revoke through the admin API" 200 "$code"
sleep 3
expect "after the change and max-age, a fresh answer" EXPIRED "$(get)"
grep -q '"verdict":"deny"' "$T/b" && ok || bad "the revocation comes through the cache" deny "$(head -c 200 "$T/b")"
# the snapshot is cacheable and revalidates by its version ETag
s1=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NPORT/v1/snapshot")
expect "snapshot through the cache" 200 "$s1"
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
