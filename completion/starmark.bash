# SPDX-License-Identifier: Apache-2.0
# bash completion for starmark. The verbs and each verb's options come from the binary itself
# (`starmark --help`, `starmark VERB --help`: the verb table in cli/main.c), so they never drift.

_starmark_words() { # the --options of a usage text on stdin, one per line
	grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

_starmark_verbs() { # PROG — the verbs `PROG --help` lists
	"$1" --help 2>/dev/null | sed -n '/^verbs:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p'
}

# _starmark_offer COMPGEN-ARGS... — COMPREPLY: what compgen offers for the current word $cur
_starmark_offer() {
	mapfile -t COMPREPLY < <(compgen "$@" -- "$cur")
}

_starmark() {
	local cur prev words cword
	_init_completion 2>/dev/null || {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	}
	local prog=${words[0]}

	# values of options: files, directories, fixed choices
	case $prev in
	--db | --cache | --out-dir)
		_starmark_offer -d; return ;;
	--passphrase-file | --cacert | --policy | --trust | --report | --image | --out | --since)
		_starmark_offer -f; return ;;
	--format)
		_starmark_offer -W "png svg pdf zpl csv jsonl"; return ;;
	--role)
		_starmark_offer -W "issuer auditor"; return ;;
	--status)
		_starmark_offer -W "active suspended revoked expired"; return ;;
	--lang)
		_starmark_offer -W "ja en"; return ;;
	--ec)
		_starmark_offer -W "L M Q H"; return ;;
	--server | --token | --vendor | --vendor-name | --product | --model | --level | --firmware | --category | \
		--registered | --expires | --support-end | --requirements | --url | --reason | --scheme | --levels | \
		--origin | --name | --q | --limit | --offset | --from | --count | --add | --add-model | --add-firmware | \
		--size-mm | --dpi | --per-id)
		return ;;
	esac

	# the verb: the first word that is not a global option or its value
	local i verb=
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--db | --server | --token | --cacert | --trust | --passphrase-file) ((i++)) ;;
		-*) ;;
		*) verb=${words[i]}; break ;;
		esac
	done

	local globals="--db --server --token --cacert --trust --json --passphrase-file --help --version"
	if [[ -z $verb ]]; then
		if [[ $cur == -* ]]; then
			_starmark_offer -W "$globals"
		else
			_starmark_offer -W "$(_starmark_verbs "$prog") help"
		fi
		return
	fi

	if [[ $verb == help ]]; then
		_starmark_offer -W "$(_starmark_verbs "$prog")"
		return
	fi
	local usage
	usage=$("$prog" "$verb" --help 2>/dev/null | sed -n '1p')
	if [[ $cur == -* ]]; then
		_starmark_offer -W "$(_starmark_words <<<"$usage") $globals"
		return
	fi
	# a sub-verb (log checkpoint, trust show, label verify ...): the words after each '|' and at the start
	if ((i + 1 == cword)); then
		local subs
		subs=$(sed 's/^usage: starmark \[global options\] //' <<<"$usage" | tr '|' '\n' |
			sed -n "s/^ *$verb \([a-z][a-z-]*\).*/\1/p" | sort -u)
		if [[ -n $subs ]]; then
			_starmark_offer -W "$subs"
			return
		fi
	fi
	_starmark_offer -f
}
complete -F _starmark starmark
