#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One truth in two languages: lib's answers (tests/tools/web_vectors) and the browser's modules
# (web/static/js/sm/) over the same vectors, in headless Debian Chromium and node (tests/web/vectors.test.mjs).
# Skips only when /usr/bin/chromium or node is missing; installs the locked npm packages when absent.
set -u

ROOT=${SM_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WEB="$ROOT/tests/web"
: "${WEB_VECTORS_BIN:?set WEB_VECTORS_BIN to tests/tools/web_vectors}"

for tool in /usr/bin/chromium node npm; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup.sh installs it)"; exit 0; }
done
[ -x "$WEB_VECTORS_BIN" ] || { echo "FAIL: no web_vectors at $WEB_VECTORS_BIN" >&2; exit 1; }

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d "$WEB/node_modules/playwright-core" ]; then
	npm ci --prefix "$WEB" --no-audit --no-fund --loglevel=error ||
		{ echo "FAIL: npm ci in $WEB failed" >&2; exit 1; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the vectors are made by lib now, never taken from an earlier run
"$WEB_VECTORS_BIN" "$work/web_vectors.json" 2>"$work/make.log" ||
	{ cat "$work/make.log" >&2; echo "FAIL: web_vectors could not make the vectors" >&2; exit 1; }
export SM_WEB_VECTORS="$work/web_vectors.json"
node --test --test-reporter=spec --test-timeout=120000 "$WEB/vectors.test.mjs"
