#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job on a fresh machine: install, build, create a demo registry, walk the tour (issue a
# certificate, print and verify its label, revoke a firmware version, check devices, verify the
# log), then serve the registry with starmarkd on 127.0.0.1:8080 (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
S=build/cli/starmark
export STARMARK_DB=${STARMARK_DB:-$PWD/demo-registry}
if [ ! -e "$STARMARK_DB/data.mdb" ]; then
  echo "== starmark init (root key fingerprint:)"
  $S init --scheme CCDS --levels 3 --origin registry.example.jp
  echo "== starmark import examples/ccds-list.csv"
  $S import examples/ccds-list.csv
fi
echo "== starmark issue"
ID=$($S issue --vendor RINNAI --vendor-name "リンナイ株式会社" --product "無線LAN対応リモコン" \
  --model "MC-3$((RANDOM % 900 + 100))V" --level 1 --firmware ">=1.0.0 <2.0,2.0.1" \
  --category water-heater --registered 2021-01-22 --expires 2030-01-21 --support-end 2030-12)
echo "$ID"
$S show "$ID"
echo "== starmark firmware-revoke $ID 1.4.2"
$S firmware-revoke "$ID" 1.4.2 --reason "CVE-2026-1234"
MODEL=$($S --json show "$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["models"][0])')
echo "== starmark check (firmware 1.4.2, revoked)"
$S check --vendor RINNAI --model "$MODEL" --firmware 1.4.2 --category water-heater || echo "(exit $?: deny)"
echo "== starmark check (firmware 1.5)"
$S check --vendor RINNAI --model "$MODEL" --firmware 1.5 --category water-heater
echo "== starmark search リンナイ"
$S search リンナイ
echo "== starmark log checkpoint"
$S log checkpoint
echo "== starmark log verify"
$S log verify
echo "== starmark label $ID --format png --out demo-label.png"
$S label "$ID" --format png --out demo-label.png
echo "== starmark label verify --image demo-label.png"
$S label verify --image demo-label.png
TOKEN_FILE=$STARMARK_DB/demo-admin-token
[ -s "$TOKEN_FILE" ] || (umask 077; $S token create --role issuer --name demo > "$TOKEN_FILE")
PORT=${PORT:-8080}
cat <<EOT

== starmarkd: serving $STARMARK_DB on http://127.0.0.1:$PORT (Ctrl-C stops it). Try, in another terminal:
  curl -s 'http://127.0.0.1:$PORT/v1/check?vendor=RINNAI&model=$MODEL&firmware=1.5&category=water-heater'
  curl -s 'http://127.0.0.1:$PORT/v1/certs?q=%E3%83%AA%E3%83%B3%E3%83%8A%E3%82%A4'
  curl -s  http://127.0.0.1:$PORT/v1/log/checkpoint
  open     http://127.0.0.1:$PORT/c/$ID   (the certificate page)
  open     http://127.0.0.1:$PORT/        (registry search)   http://127.0.0.1:$PORT/check (retrofit check)
  open     http://127.0.0.1:$PORT/scan?anchor=\$(starmark's root fingerprint, printed by init above)  (the scanner)
  $S --server http://127.0.0.1:$PORT --token \$(cat $TOKEN_FILE) suspend $ID --reason test
EOT
exec build/server/starmarkd --db "$STARMARK_DB" --listen "127.0.0.1:$PORT"
