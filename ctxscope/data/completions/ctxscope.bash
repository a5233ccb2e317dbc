# bash completion for ctxscope                              -*- shell-script -*-
# Generated from the Typer app by `python tools/docgen.py`; do not edit by hand.
# Static lists: a TAB never starts ctxscope. Works with bash 3.2+, with or without
# the bash-completion package. Install: see `ctxscope completion --help`.

# _ctxscope_spec PATH: the subcommands, options, options that take a value, and
# positional arguments of the command PATH ('' is ctxscope itself).
_ctxscope_spec() {
    case $1 in
        '') _ctxscope_cmds='status resolve diff trust mcp ps log init sync repair hook prompt completion exec whoami undo serve metrics config' _ctxscope_opts='--version -V --help -h' _ctxscope_valued='' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'status') _ctxscope_cmds='' _ctxscope_opts='--scope --json --check --offline --refresh --watch --interval --help -h' _ctxscope_valued='--scope --interval' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'resolve') _ctxscope_cmds='' _ctxscope_opts='--scope --json --explain --offline --refresh --help -h' _ctxscope_valued='--scope' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'diff') _ctxscope_cmds='' _ctxscope_opts='--scope --json --offline --refresh --help -h' _ctxscope_valued='--scope' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'trust') _ctxscope_cmds='' _ctxscope_opts='--revoke --yes -y --json --help -h' _ctxscope_valued='' _ctxscope_nargs=1 _ctxscope_variadic=0 ;;
        'mcp') _ctxscope_cmds='' _ctxscope_opts='--help -h' _ctxscope_valued='' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'ps') _ctxscope_cmds='' _ctxscope_opts='--json --check --pid --all --offline --refresh --help -h' _ctxscope_valued='--pid' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'log') _ctxscope_cmds='' _ctxscope_opts='--since --event --scope --tail -n --follow -f --json --stats --help -h' _ctxscope_valued='--since --event --scope --tail -n' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'init') _ctxscope_cmds='' _ctxscope_opts='--scope --dry-run --yes -y --force --json --help -h' _ctxscope_valued='--scope' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'sync') _ctxscope_cmds='' _ctxscope_opts='--direction --scope --dry-run --yes -y --force --json --help -h' _ctxscope_valued='--direction --scope' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'repair') _ctxscope_cmds='' _ctxscope_opts='--to --shell --dry-run --yes -y --force --json --help -h' _ctxscope_valued='--to --shell' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'hook') _ctxscope_cmds='' _ctxscope_opts='--run --json --help -h' _ctxscope_valued='' _ctxscope_nargs=1 _ctxscope_variadic=0 ;;
        'prompt') _ctxscope_cmds='' _ctxscope_opts='--format --json --help -h' _ctxscope_valued='--format' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'completion') _ctxscope_cmds='' _ctxscope_opts='--help -h' _ctxscope_valued='' _ctxscope_nargs=1 _ctxscope_variadic=0 ;;
        'exec') _ctxscope_cmds='' _ctxscope_opts='--scope --dry-run --offline --refresh --help -h' _ctxscope_valued='--scope' _ctxscope_nargs=1 _ctxscope_variadic=1 ;;
        'whoami') _ctxscope_cmds='' _ctxscope_opts='--scope --json --offline --refresh --help -h' _ctxscope_valued='--scope' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'undo') _ctxscope_cmds='' _ctxscope_opts='--dry-run --yes -y --json --help -h' _ctxscope_valued='' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'serve') _ctxscope_cmds='' _ctxscope_opts='--host --port --help -h' _ctxscope_valued='--host --port' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'metrics') _ctxscope_cmds='' _ctxscope_opts='--output -o --help -h' _ctxscope_valued='--output -o' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'config') _ctxscope_cmds='get set unset' _ctxscope_opts='--json --help -h' _ctxscope_valued='' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
        'config get') _ctxscope_cmds='' _ctxscope_opts='--json --help -h' _ctxscope_valued='' _ctxscope_nargs=1 _ctxscope_variadic=0 ;;
        'config set') _ctxscope_cmds='' _ctxscope_opts='--user --project --dry-run --yes -y --json --help -h' _ctxscope_valued='' _ctxscope_nargs=2 _ctxscope_variadic=0 ;;
        'config unset') _ctxscope_cmds='' _ctxscope_opts='--user --project --dry-run --yes -y --json --help -h' _ctxscope_valued='' _ctxscope_nargs=1 _ctxscope_variadic=0 ;;
        *) _ctxscope_cmds='' _ctxscope_opts='' _ctxscope_valued='' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
    esac
}

# _ctxscope_values PATH TARGET: how to complete the value of option TARGET, or of
# positional argument number TARGET, of the command PATH: words, files or none.
_ctxscope_values() {
    _ctxscope_kind=none _ctxscope_words=''
    case "$1${1:+ }$2" in
        'trust 1') _ctxscope_kind=files ;;
        'sync --direction') _ctxscope_kind=words _ctxscope_words='runtime-to-local resolved-to-cloud' ;;
        'repair --shell') _ctxscope_kind=words _ctxscope_words='bash zsh fish' ;;
        'hook 1') _ctxscope_kind=words _ctxscope_words='bash zsh fish' ;;
        'completion 1') _ctxscope_kind=words _ctxscope_words='bash zsh fish' ;;
    esac
}

_ctxscope() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev='' opt='' prefix='' path='' word i
    local expect=0 npos=0 IFS=$' \t\n'
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    # Walk the words before the cursor: the command path, positional arguments
    # so far, and whether the last word was an option waiting for its value.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if ((expect)); then
            [[ $word == '=' ]] || expect=0
            continue
        fi
        _ctxscope_spec "$path"
        case $word in
            --*=* | '=') ;;
            -*) [[ " $_ctxscope_valued " == *" $word "* ]] && expect=1 ;;
            *)
                if [[ " $_ctxscope_cmds " == *" $word "* ]]; then
                    path=${path:+$path }$word npos=0
                else
                    npos=$((npos + 1))
                fi
                ;;
        esac
    done
    _ctxscope_spec "$path"
    if ((expect)); then  # the value of an option: `--opt <TAB>` or `--opt=<TAB>`
        if [[ $cur == '=' ]]; then
            opt=$prev cur=''
        elif [[ $prev == '=' ]]; then
            opt=${COMP_WORDS[COMP_CWORD - 2]}
        else
            opt=$prev
        fi
    elif [[ $cur == --*=* ]]; then  # `=` is not in COMP_WORDBREAKS
        opt=${cur%%=*} prefix=${cur%%=*}= cur=${cur#*=}
        [[ " $_ctxscope_valued " == *" $opt "* ]] || return 0
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$_ctxscope_opts" -- "$cur"))
        return 0
    elif [[ -n $_ctxscope_cmds ]]; then
        COMPREPLY=($(compgen -W "$_ctxscope_cmds" -- "$cur"))
        return 0
    else
        opt=$((npos + 1))
        if ((opt > _ctxscope_nargs)); then
            ((_ctxscope_variadic)) || return 0
            opt=$_ctxscope_nargs
        fi
    fi
    _ctxscope_values "$path" "$opt"
    case $_ctxscope_kind in
        words) COMPREPLY=($(compgen -P "$prefix" -W "$_ctxscope_words" -- "$cur")) ;;
        files)
            compopt -o filenames 2>/dev/null
            IFS=$'\n'
            COMPREPLY=($(compgen -P "$prefix" -f -- "$cur"))
            ;;
    esac
    return 0
}

complete -F _ctxscope ctxscope
