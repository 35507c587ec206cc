# SPDX-License-Identifier: Apache-2.0
# bash completion for starmark. The verbs and each verb's options come from the binary itself
# (`starmark --help`, `starmark VERB --help`: the verb table in cli/main.c), so they never drift.

_starmark_words() { # the --options of a usage text on stdin, one per line
	grep -o -- '--[a-z][a-z0-9-]*' | sort -u
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
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return ;;
	--passphrase-file | --cacert | --policy | --trust | --report | --image | --out | --since)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return ;;
	--format)
		mapfile -t COMPREPLY < <(compgen -W "png svg pdf zpl csv jsonl" -- "$cur")
		return ;;
	--role)
		mapfile -t COMPREPLY < <(compgen -W "issuer auditor" -- "$cur")
		return ;;
	--status)
		mapfile -t COMPREPLY < <(compgen -W "active suspended revoked expired" -- "$cur")
		return ;;
	--lang)
		mapfile -t COMPREPLY < <(compgen -W "ja en" -- "$cur")
		return ;;
	--ec)
		mapfile -t COMPREPLY < <(compgen -W "L M Q H" -- "$cur")
		return ;;
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
			mapfile -t COMPREPLY < <(compgen -W "$globals" -- "$cur")
		else
			local verbs
			verbs=$("$prog" --help 2>/dev/null | sed -n '/^verbs:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p')
			mapfile -t COMPREPLY < <(compgen -W "$verbs help" -- "$cur")
		fi
		return
	fi

	if [[ $verb == help ]]; then
		local verbs
		verbs=$("$prog" --help 2>/dev/null | sed -n '/^verbs:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p')
		mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur")
		return
	fi
	local usage
	usage=$("$prog" "$verb" --help 2>/dev/null | sed -n '1p')
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_starmark_words <<<"$usage") $globals" -- "$cur")
		return
	fi
	# a sub-verb (log checkpoint, trust show, label verify ...): the words after each '|' and at the start
	if ((i + 1 == cword)); then
		local subs
		subs=$(sed 's/^usage: starmark \[global options\] //' <<<"$usage" | tr '|' '\n' |
			sed -n "s/^ *$verb \([a-z][a-z-]*\).*/\1/p" | sort -u)
		if [[ -n $subs ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
			return
		fi
	fi
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}
complete -F _starmark starmark
