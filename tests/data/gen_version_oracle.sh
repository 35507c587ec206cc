#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Generate tests/data/version_oracle.txt: random Debian version pairs ordered by dpkg itself.
#
# Usage: tests/data/gen_version_oracle.sh [count] > tests/data/version_oracle.txt
# Each line is "A B R" where R is -1, 0 or 1 as `dpkg --compare-versions` orders A against B.
# The seed is fixed, so the same bash and dpkg give the same file; test_version.c checks
# sm_version_compare() against every line. Most pairs are near-equal (B is A with one small
# change) so that '~', letters against digits, leading zeros, epochs and revisions all decide
# some of the answers.
set -euo pipefail

count=${1:-6000}
command -v dpkg >/dev/null || { echo "gen_version_oracle.sh: dpkg is needed" >&2; exit 1; }
RANDOM=20240301

# No $(...) below touches RANDOM: bash reseeds RANDOM in every subshell, which would make the
# output depend on the time. The helpers return their result in OUT instead.

# One character of an upstream version or revision, weighted towards digits and '.'.
CHARS='0123456789012345678901234567890123456789........abzAZ~~~++xy'
pick_char() {
	OUT=${CHARS:$((RANDOM % ${#CHARS})):1}
}

gen_upstream() {
	local s len i
	s=$((RANDOM % 10))
	len=$((RANDOM % 9))
	for ((i = 0; i < len; i++)); do
		pick_char
		s+=$OUT
	done
	if ((RANDOM % 12 == 0)); then
		# a long digit run: past 64 bits, compared as text
		len=$((20 + RANDOM % 15))
		for ((i = 0; i < len; i++)); do
			s+=$((RANDOM % 10))
		done
	fi
	OUT=$s
}

gen_revision() {
	local s='' len i
	len=$((1 + RANDOM % 4))
	for ((i = 0; i < len; i++)); do
		pick_char
		s+=$OUT
	done
	OUT=$s
}

# Change one thing in a string from position `from` on (upstream keeps its leading digit).
mutate() {
	local s=$1 from=$2 pos
	pos=$((from + RANDOM % (${#s} - from + 1)))
	case $((RANDOM % 11)) in
	0) OUT="${s}~" ;;
	1) OUT="${s}0" ;;
	2) OUT="${s}.0" ;;
	3)
		pick_char
		OUT="${s:0:pos}${OUT}${s:pos}"
		;;
	4) if ((pos < ${#s})); then OUT="${s:0:pos}${s:pos+1}"; else OUT=$s; fi ;;
	5)
		# a leading zero in front of the first digit run at or after pos
		if [[ ${s:pos} =~ ^([^0-9]*)([0-9].*)$ ]]; then
			OUT="${s:0:pos}${BASH_REMATCH[1]}0${BASH_REMATCH[2]}"
		else
			OUT="0${s}"
		fi
		;;
	6)
		pick_char
		if ((pos < ${#s})); then OUT="${s:0:pos}${OUT}${s:pos+1}"; else OUT="${s}${OUT}"; fi
		;;
	7) OUT="${s:0:pos}~${s:pos}" ;;
	# a '-' or ':' inside: valid only with a revision or an epoch (the rest is filtered below);
	# these check that the revision starts after the LAST '-' and the epoch ends at the first ':'
	8) OUT="${s:0:pos}-${s:pos}" ;;
	9) OUT="${s:0:pos}:${s:pos}" ;;
	*) OUT=$s ;;
	esac
}

assemble() {
	local epoch=$1 up=$2 rev=$3
	OUT=$up
	[[ -n $epoch ]] && OUT="$epoch:$OUT"
	[[ -n $rev ]] && OUT="$OUT-$rev"
	return 0
}

dpkg_version=$(dpkg-query -W -f '${Version}' dpkg 2>/dev/null || echo '?')
echo "# A B cmp(A,B) from dpkg --compare-versions ($dpkg_version); made by gen_version_oracle.sh"
made=0
while ((made < count)); do
	ea='' ra=''
	((RANDOM % 5 == 0)) && ea=$((RANDOM % 4))
	gen_upstream
	ua=$OUT
	if ((RANDOM % 3 == 0)); then
		gen_revision
		ra=$OUT
	fi
	eb=$ea ub=$ua rb=$ra
	if ((RANDOM % 10 == 0)); then
		# an unrelated pair
		eb='' rb=''
		((RANDOM % 5 == 0)) && eb=$((RANDOM % 4))
		gen_upstream
		ub=$OUT
		if ((RANDOM % 3 == 0)); then
			gen_revision
			rb=$OUT
		fi
	else
		case $((RANDOM % 8)) in
		0)
			# epoch: add, drop, change, or spell with a leading zero
			case $((RANDOM % 4)) in
			0) eb=$((RANDOM % 3)) ;;
			1) eb='' ;;
			2) eb="0$ea" ;;
			*) eb=$((ea + 1)) ;;
			esac
			;;
		1 | 2)
			# revision: add, drop, "-0", or change
			case $((RANDOM % 4)) in
			0)
				gen_revision
				rb=$OUT
				;;
			1) rb='' ;;
			2) rb='0' ;;
			*)
				if [[ -n $ra ]]; then mutate "$ra" 0; else gen_revision; fi
				rb=$OUT
				;;
			esac
			;;
		*)
			mutate "$ua" 1
			ub=$OUT
			;;
		esac
	fi
	assemble "$ea" "$ua" "$ra"
	a=$OUT
	assemble "$eb" "$ub" "$rb"
	b=$OUT
	# keep only versions dpkg calls valid (a mutation can make an empty revision and such)
	dpkg --validate-version "$a" 2>/dev/null || continue
	dpkg --validate-version "$b" 2>/dev/null || continue
	if dpkg --compare-versions "$a" lt "$b"; then
		r=-1
	elif dpkg --compare-versions "$a" eq "$b"; then
		r=0
	else
		r=1
	fi
	echo "$a $b $r"
	made=$((made + 1))
done
