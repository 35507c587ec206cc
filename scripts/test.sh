#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every test: install what is missing, build with warnings as errors, run ctest
# (unit tests per lib module, integration tests of the real CLI on real registries).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DSM_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" "$@"
