#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install what starmark needs on Debian 12 (build, tests, tools). Quick when all is present.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkgconf libevhtp-dev libevent-dev libssl-dev liblmdb-dev libqrencode-dev
  libjansson-dev libcmocka-dev libcbor-dev libcurl4-openssl-dev libcairo2-dev libzbar-dev zlib1g-dev
  libjpeg62-turbo-dev
  # tests and tools
  curl zbar-tools lmdb-utils python3 python3-cbor2 python3-cryptography python3-jsonschema python3-pil
  wrk nginx-light valgrind clang libclang-rt-14-dev fonts-noto-cjk fonts-morisawa-bizud-gothic openssl
  qrencode librsvg2-bin poppler-utils imagemagick chromium zxing-cpp-tools ffmpeg
)
# Node.js and npm: the machine's own when it has them (they come with it here), else Debian's
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# npm packages, from the lock files: what the pages serve (web/static/vendor, copied by web's postinstall) and
# what the browser tests drive Debian's Chromium with. Never a browser of playwright's own.
cd "$(dirname "$0")/.."
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
for dir in web tests/web; do
  lock="$dir/package-lock.json"
  stamp="$dir/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || { [ "$dir" = web ] && [ ! -f web/static/vendor/jsQR.js ]; }; then
    echo "setup: npm ci in $dir" >&2
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done
