#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Policies mean what they say (docs/interface-notes.md, "Policies are a floor"): --level and --category
# may raise a policy's level, never lower it; unknown=allow passes no-data answers with a warning;
# a policy must fit the scheme; `policy check` lints one.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

unset STARMARK_TOKEN STARMARK_PASSPHRASE_FILE STARMARK_SERVER
export STARMARK_DB="$T/reg"
export STARMARK_NOW=2026-03-02

sm init --scheme CCDS --levels 3 --origin policy.test
expect_rc 0 "init a 3-level scheme"
sm issue --vendor ACME --vendor-name Acme --product "One-star lock" --model L1 --level 1 --firmware ">=1.0" \
	--category lock --expires 2029-12-31
expect_rc 0 "issue a one-star lock"
sm issue --vendor ACME --vendor-name Acme --product "Three-star lock" --model L3 --level 3 --firmware ">=1.0" \
	--category lock --expires 2029-12-31
expect_rc 0 "issue a three-star lock"
sm issue --vendor ACME --vendor-name Acme --product "Sensor" --model S1 --level 1 --firmware ">=1.0" \
	--category sensor --expires 2029-12-31
expect_rc 0 "issue a one-star sensor"

P=$T/homes.json
printf '{"name":"homes","default_level":1,"levels":{"lock":3,"sensor":1},"unknown":"deny"}' >"$P"
L1=(check --vendor ACME --model L1 --firmware 1.0)

############################################################ 1. --level raises, never lowers
sm "${L1[@]}" --policy "$P"
expect_rc 1 "a one-star lock under a policy wanting three for locks"
expect_out level_below_policy "the policy's lock level decides"
sm "${L1[@]}" --policy "$P" --level 1
expect_rc 1 "--level 1 does not lower the policy's three stars for locks"
expect_out level_below_policy "--level 1 --policy: still the policy's level"
sm --json "${L1[@]}" --policy "$P" --level 1
expect_json "--level 1 --policy --json: required_level is the policy's" 'd["verdict"] == "deny" and d["required_level"] == 3'
sm check --vendor ACME --model L3 --firmware 1.0 --policy "$P" --level 1
expect_rc 0 "a three-star lock passes with --level 1 under the policy"
sm check --vendor ACME --model S1 --firmware 1.0 --policy "$P" --level 2
expect_rc 1 "--level 2 raises the policy's one star for sensors"
expect_out "level asked" "the reason says the level asked demanded it"

############################################################ 2. the certificate's category counts
sm "${L1[@]}" --policy "$P" --category sensor
expect_rc 1 "--category sensor does not make a one-star lock pass a policy wanting three for locks"
expect_out "lock" "the reason names the lock category that demanded it"
sm --json "${L1[@]}" --policy "$P" --category sensor --level 1
expect_json "--category sensor --level 1 --json" 'd["verdict"] == "deny" and d["required_level"] == 3 and
	any("lock" in r["message"] for r in d["reasons"] if r["code"] == "level_below_policy")'
sm check --vendor ACME --model S1 --firmware 1.0 --policy "$P" --category lock
expect_rc 1 "a one-star sensor asked as a lock needs the lock's level"
expect_out "asked" "the reason says the category asked demanded it"
sm check --vendor ACME --model S1 --firmware 1.0 --policy "$P" --category sensor
expect_rc 0 "a one-star sensor asked as a sensor passes"

finish
