#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A home checked against fixed answers (tests/tools/home_report_driver, home_stub.c): its JSON view
# against a golden file.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DRIVER=${HOME_REPORT_DRIVER:?set HOME_REPORT_DRIVER to tests/tools/home_report_driver}
DATA="$SM_SOURCE_DIR/tests/data/home"

# the JSON view (`home check --json`) of the sample home, as it was before the report existed
"$DRIVER" "$DATA/home.json" --json >"$OUT" 2>"$ERR"
RC=$?
expect_rc 0 "the sample home checks"
CHECKS=$((CHECKS + 1))
diff -u "$DATA/home_check.json" "$OUT" >"$T/diff" || fail "the JSON view changed: $(head -c 1500 "$T/diff")"

finish
