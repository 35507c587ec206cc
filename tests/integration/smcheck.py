# SPDX-License-Identifier: Apache-2.0
# Shared by the Python integration tests: where the binaries are, one check() counting results, finish().
import os
import sys

BIN = os.environ.get("STARMARK_BIN", "build/cli/starmark")
SERVER = os.environ.get("STARMARKD_BIN", os.path.join(os.path.dirname(BIN), "..", "server", "starmarkd"))
counts = {"passed": 0, "failed": 0}


def check(cond, what, expected=None, got=None):
    """Count one check; on failure print what was expected and what came."""
    if cond:
        counts["passed"] += 1
    else:
        counts["failed"] += 1
        print(f"FAIL {what}" + (f"\n  expected: {expected!r}\n  got:      {got!r}" if expected is not None or got is not None else ""))


def finish():
    """The closing line ('N passed, N failed') and the exit code."""
    print(f"{counts['passed']} passed, {counts['failed']} failed")
    sys.exit(1 if counts["failed"] else 0)
