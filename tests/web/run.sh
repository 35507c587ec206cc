#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One browser test (tests/web/NAME.test.mjs) in headless Debian Chromium: node's test runner + playwright-core.
# Skips only when /usr/bin/chromium or node is missing; installs the locked npm packages when absent (of the
# tests, and of web/ itself: the pages serve its third-party files from web/static/vendor).
set -u

ROOT=${SM_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WEB="$ROOT/tests/web"
: "${STARMARK_BIN:?set STARMARK_BIN to the starmark CLI}"
: "${STARMARKD_BIN:?set STARMARKD_BIN to starmarkd}"

for tool in /usr/bin/chromium node npm; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup.sh installs it)"; exit 0; }
done
[ -x "$STARMARKD_BIN" ] || { echo "FAIL: no starmarkd at $STARMARKD_BIN" >&2; exit 1; }

# playwright-core drives the Debian browser: it must never fetch one of its own
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d "$WEB/node_modules/playwright-core" ] || [ ! -d "$WEB/node_modules/axe-core" ]; then
	npm ci --prefix "$WEB" --no-audit --no-fund --loglevel=error ||
		{ echo "FAIL: npm ci in $WEB failed" >&2; exit 1; }
fi
if [ ! -f "$ROOT/web/static/vendor/jsQR.js" ]; then
	npm ci --prefix "$ROOT/web" --no-audit --no-fund --loglevel=error ||
		{ echo "FAIL: npm ci in $ROOT/web failed" >&2; exit 1; }
fi

# sanitizer builds: tests/lsan.supp (fontconfig, cairo's PDF subsetting; set by tests/integration/CMakeLists.txt)
# matches cairo's PDF leak only with whole stacks
export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export STARMARK_BIN STARMARKD_BIN
TEST=${1:?give the test file}
node --test --test-reporter=spec --test-timeout=300000 "$TEST"
