#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every test: install what is missing, then
#  1. the sanitizer build (AddressSanitizer + UndefinedBehaviorSanitizer, warnings as errors): the unit tests
#     of every lib module, the integration tests of the real CLI and starmarkd, and every fuzz target over
#     its committed corpus;
#  2. the release build (RelWithDebInfo, _FORTIFY_SOURCE, warnings as errors), which the browser tests drive
#     in Debian's Chromium.
# Arguments go to both ctest runs (e.g. -R NAME). SM_TEST_FAST=1 skips the sanitizer build and runs every
# test in the release build instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD=${BUILD_DIR:-build}
jobs=$(nproc)
cmake -S . -B "$BUILD" -DSM_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD" -j"$jobs"
if [ "${SM_TEST_FAST:-0}" = 1 ]; then
	exec ctest --test-dir "$BUILD" --output-on-failure -j"$jobs" "$@"
fi
ASAN_BUILD=${ASAN_BUILD_DIR:-$BUILD-asan}
cmake -S . -B "$ASAN_BUILD" -DSM_WERROR=ON -DSM_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$ASAN_BUILD" -j"$jobs"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
rc=0
ctest --test-dir "$ASAN_BUILD" --output-on-failure -j"$jobs" -L 'unit|integration' "$@" || rc=$?
ctest --test-dir "$BUILD" --output-on-failure -j"$jobs" -L web "$@" || rc=$?
exit $rc
