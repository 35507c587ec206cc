# SPDX-License-Identifier: Apache-2.0
# Shared by the bench/ scripts and tests/crash_import.sh (sourced; they set `src`, the source tree).

# release_build DIR TARGET...: configure DIR as a Release build of $src and build the targets.
release_build() {
	local dir=$1
	shift
	cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$dir" -j"$(nproc)" --target "$@" >/dev/null
}

# Rates of `openssl speed ed25519`: prints "sign/s verify/s". $1: extra option (-elapsed or nothing).
ossl_rates() {
	openssl speed ${1:+"$1"} -seconds 3 ed25519 2>/dev/null | awk '/Ed25519\)/ { print $(NF - 1), $NF; found = 1 }
		END { if (!found) exit 1 }'
}
