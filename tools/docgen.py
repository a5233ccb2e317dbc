"""Generate the shell completions, the man page and the command-line reference from
the Typer app. A developer tool: it is not part of the installed package.

    python tools/docgen.py            # rewrite every generated file
    python tools/docgen.py --check    # write nothing; exit 1 and name the stale files

The app is walked as registered (`ctxscope.cli` imports every command module), so
a new command or option shows up in every file on the next run, and
tests/test_completions.py, tests/test_man.py and tests/test_docs.py fail until they
are regenerated and committed. The completions are static lists: a TAB never
starts ctxscope. Choice values come from the parameter's Enum or Literal type; an
argument or option completes file names when its type is a path or its name ends
in "path" or "file".

Generated files (the first four ship in the package: `ctxscope completion SHELL`
prints a completion script, and the wheel installs the man page in share/man/man1):
  ctxscope/data/completions/ctxscope.bash   bash (3.2+), for bash-completion or `source`
  ctxscope/data/completions/_ctxscope       zsh, works on the first TAB autoloaded from
                                            $fpath and when sourced
  ctxscope/data/completions/ctxscope.fish   fish
  ctxscope/data/man/ctxscope.1              man(7)
  docs/reference/cli.md                     Markdown, for the documentation site
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections import namedtuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository
PROG = "ctxscope"
GENERATED = "Generated from the Typer app by `python tools/docgen.py`; do not edit by hand."
# The man page's date: changed by hand on a release, so regenerating is reproducible.
MAN_DATE = "2026-11-25"

# kind: "option" or "argument"; names: ("--tail", "-n") long first; value: whether it
# takes a value; choices: tuple of strings or (); files: complete file names.
Param = namedtuple("Param", "kind name names metavar help value choices files multiple required secondary")
Command = namedtuple("Command", "path name help short params commands")


# ---------------------------------------------------------------------------------------
# The model: plain data read from the Click command tree Typer builds.


def command_tree(app=None) -> Command:
    """The app as plain data: commands (recursively), their help and parameters."""
    import typer

    if app is None:
        from ctxscope.cli import app
    root = typer.main.get_command(app)
    ctx = root.context_class(root, info_name=PROG, **(root.context_settings or {}))
    return _command(root, ctx, ())


def _command(cmd, ctx, path: tuple[str, ...]) -> Command:
    help_text = inspect.cleandoc(cmd.help or cmd.short_help or "")
    params = tuple(_param(p) for p in cmd.get_params(ctx) if not getattr(p, "hidden", False))
    subs = []
    for name, sub in getattr(cmd, "commands", {}).items():
        if getattr(sub, "hidden", False):
            continue
        sub_ctx = sub.context_class(sub, info_name=name, parent=ctx, **(sub.context_settings or {}))
        subs.append(_command(sub, sub_ctx, (*path, name)))
    return Command(path, path[-1] if path else PROG, help_text, short_help(help_text), params, tuple(subs))


def _param(p) -> Param:
    kind = getattr(p, "param_type_name", "option")
    is_flag = bool(getattr(p, "is_flag", False)) or bool(getattr(p, "count", False))
    names = sorted(p.opts, key=lambda n: (not n.startswith("--"), n)) if kind == "option" else [p.name]
    choices = _choices(p)
    name = (p.name or "").lower()
    files = not choices and (_is_path(p) or name.endswith(("path", "file")))
    metavar = p.metavar or (p.name or "value").upper()
    return Param(
        kind,
        p.name,
        tuple(names),
        metavar,
        " ".join((p.help or "").split()),
        kind == "argument" or not is_flag,
        choices,
        files,
        bool(p.multiple) or p.nargs == -1,
        bool(p.required),
        tuple(getattr(p, "secondary_opts", ()) or ()),
    )


def _choices(p) -> tuple[str, ...]:
    from enum import Enum

    desc = getattr(p, "type_descriptor", None)  # Typer >= 0.26 keeps the annotation here
    values = getattr(desc, "choices", None) if desc is not None else None
    if values is None:
        values = getattr(getattr(p, "type", None), "choices", None)  # classic Click
    if not values:
        return ()
    return tuple(str(v.value) if isinstance(v, Enum) else str(v) for v in values)


def _is_path(p) -> bool:
    desc = getattr(p, "type_descriptor", None)
    if desc is not None:
        return bool(getattr(desc, "is_path", False) or getattr(desc, "is_file", False))
    return type(getattr(p, "type", None)).__name__ in ("Path", "File")


def short_help(text: str) -> str:
    """The first sentence of the first paragraph, on one line."""
    first = " ".join(text.split("\n\n", 1)[0].split())
    match = re.match(r"(.+?(?<!e\.g)(?<!i\.e)[.!?])(?=\s+[A-Z]|$)", first)
    return (match.group(1) if match else first).rstrip(".")


def walk(cmd: Command):
    yield cmd
    for sub in cmd.commands:
        yield from walk(sub)


def _positionals(cmd: Command) -> list[Param]:
    return [p for p in cmd.params if p.kind == "argument"]


def _options(cmd: Command) -> list[Param]:
    return [p for p in cmd.params if p.kind == "option"]


# ---------------------------------------------------------------------------------------
# bash


def _sq(text: str) -> str:
    """Single-quote for POSIX shells."""
    return "'" + text.replace("'", "'\\''") + "'"


def render_bash(tree: Command) -> str:
    spec_lines, value_lines = [], []
    for cmd in walk(tree):
        key = " ".join(cmd.path)
        opts = [n for p in _options(cmd) for n in (*p.names, *p.secondary)]
        valued = [n for p in _options(cmd) if p.value for n in p.names]
        args = _positionals(cmd)
        variadic = 1 if args and args[-1].multiple else 0
        spec_lines.append(
            f"        {_sq(key)}) _ctxscope_cmds={_sq(' '.join(c.name for c in cmd.commands))} "
            f"_ctxscope_opts={_sq(' '.join(opts))} _ctxscope_valued={_sq(' '.join(valued))} "
            f"_ctxscope_nargs={len(args)} _ctxscope_variadic={variadic} ;;"
        )
        targets = [(n, p) for p in _options(cmd) if p.value for n in p.names]
        targets += [(str(i), p) for i, p in enumerate(args, 1)]
        for target, p in targets:
            if p.choices:
                value_lines.append(
                    f"        {_sq(f'{key} {target}'.strip())}) _ctxscope_kind=words "
                    f"_ctxscope_words={_sq(' '.join(p.choices))} ;;"
                )
            elif p.files:
                value_lines.append(f"        {_sq(f'{key} {target}'.strip())}) _ctxscope_kind=files ;;")
    return _BASH.format(
        generated=GENERATED, spec="\n".join(spec_lines), values="\n".join(value_lines) or "        *) ;;"
    )


_BASH = """\
# bash completion for ctxscope                              -*- shell-script -*-
# {generated}
# Static lists: a TAB never starts ctxscope. Works with bash 3.2+, with or without
# the bash-completion package. Install: see `ctxscope completion --help`.

# _ctxscope_spec PATH: the subcommands, options, options that take a value, and
# positional arguments of the command PATH ('' is ctxscope itself).
_ctxscope_spec() {{
    case $1 in
{spec}
        *) _ctxscope_cmds='' _ctxscope_opts='' _ctxscope_valued='' _ctxscope_nargs=0 _ctxscope_variadic=0 ;;
    esac
}}

# _ctxscope_values PATH TARGET: how to complete the value of option TARGET, or of
# positional argument number TARGET, of the command PATH: words, files or none.
_ctxscope_values() {{
    _ctxscope_kind=none _ctxscope_words=''
    case "$1${{1:+ }}$2" in
{values}
    esac
}}

_ctxscope() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev='' opt='' prefix='' path='' word i
    local expect=0 npos=0 IFS=$' \\t\\n'
    ((COMP_CWORD > 0)) && prev=${{COMP_WORDS[COMP_CWORD - 1]}}
    COMPREPLY=()
    # Walk the words before the cursor: the command path, positional arguments
    # so far, and whether the last word was an option waiting for its value.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${{COMP_WORDS[i]}}
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
                    path=${{path:+$path }}$word npos=0
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
            opt=${{COMP_WORDS[COMP_CWORD - 2]}}
        else
            opt=$prev
        fi
    elif [[ $cur == --*=* ]]; then  # `=` is not in COMP_WORDBREAKS
        opt=${{cur%%=*}} prefix=${{cur%%=*}}= cur=${{cur#*=}}
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
            IFS=$'\\n'
            COMPREPLY=($(compgen -P "$prefix" -f -- "$cur"))
            ;;
    esac
    return 0
}}

complete -F _ctxscope ctxscope
"""


# ---------------------------------------------------------------------------------------
# zsh


def _zsq(text: str) -> str:
    """Text for inside a single-quoted zsh word."""
    return text.replace("'", "'\\''")


def _zq(text: str) -> str:
    """Text for an _arguments [description] inside a single-quoted zsh word."""
    return _zsq(text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]"))


def _zaction(p: Param) -> str:
    """The `message:action` part of an _arguments spec."""
    label = p.metavar.lower() if p.kind == "argument" else p.metavar
    if p.choices:
        return f"{label}:({' '.join(p.choices)})"
    if p.files:
        return f"{label}:_files"
    return f"{label}: "


def _zsh_option(p: Param) -> str:
    if "--help" in p.names:
        if "-h" in p.names:
            return "'(- *)'{-h,--help}'[Show this message and exit]'"
        return "'(- *)--help[Show this message and exit]'"
    desc = _zq(short_help(p.help) if p.help else "")
    star = "*" if p.multiple else ""
    suffix = "=" if p.value else ""
    value = f":{_zsq(_zaction(p))}" if p.value else ""
    names = list(p.names)
    if len(names) == 1 and not p.secondary:
        return f"'{star}{names[0]}{suffix}[{desc}]{value}'"
    group = " ".join(names + list(p.secondary))
    excl = "" if p.multiple else f"({group})"
    spelled = ",".join(n + ("+" if p.value and not n.startswith("--") else suffix) for n in names)
    out = f"'{excl}{star}'{{{spelled}}}'[{desc}]{value}'"
    for n in p.secondary:
        out += f" \\\n        '({group}){n}[{desc}]'"
    return out


def _zsh_argument(p: Param, index: int) -> str:
    if p.multiple:
        return f"'*:{_zsq(_zaction(p))}'"
    colon = ":" if p.required else "::"
    return f"'{index}{colon}{_zsq(_zaction(p))}'"


def _zsh_function(cmd: Command) -> list[str]:
    fname = "_" + "_".join((PROG, *cmd.path))
    specs = [_zsh_option(p) for p in _options(cmd)]
    specs += [_zsh_argument(p, i) for i, p in enumerate(_positionals(cmd), 1)]
    lines = [f"{fname}() {{"]
    if cmd.commands:
        lines += [
            '    local curcontext="$curcontext" state state_descr line ret=1',
            "    typeset -A opt_args",
            "    _arguments -C \\",
        ]
        lines += [f"        {s} \\" for s in specs]
        lines += [
            "        '1:command:->command' \\",
            "        '*::argument:->argument' && ret=0",
            "    case $state in",
            "        command)",
            "            local -a commands",
            "            commands=(",
        ]
        for sub in cmd.commands:
            lines.append(f"                '{_zsq(sub.name)}:{_zsq(sub.short)}'")
        label = " ".join((PROG, *cmd.path))
        lines += [
            "            )",
            f"            _describe -t commands '{label} command' commands && ret=0",
            "            ;;",
            "        argument)",
            f"            curcontext=${{curcontext%:*:*}}:{'-'.join((PROG, *cmd.path))}-$words[1]:",
            "            case $words[1] in",
        ]
        for sub in cmd.commands:
            sub_fname = "_" + "_".join((PROG, *sub.path))
            lines.append(f"                {sub.name}) {sub_fname} && ret=0 ;;")
        lines += ["            esac", "            ;;", "    esac", "    return ret", "}"]
    else:
        if specs:
            lines.append("    _arguments \\")
            lines += [f"        {s} \\" for s in specs[:-1]]
            lines.append(f"        {specs[-1]}")
        else:
            lines.append("    _message 'no arguments'")
        lines.append("}")
    return lines


def render_zsh(tree: Command) -> str:
    body = []
    for cmd in walk(tree):
        body += _zsh_function(cmd)
        body.append("")
    return _ZSH.format(generated=GENERATED, functions="\n".join(body))


_ZSH = """\
#compdef ctxscope
# zsh completion for ctxscope.
# {generated}
# Static lists: a TAB never starts ctxscope. Install: see `ctxscope completion --help`.
#
# Works on the first TAB both ways (Typer's own script misses it when autoloaded):
#  - autoloaded from a directory in $fpath: compinit reads the #compdef line and
#    makes this file the body of _ctxscope; the first TAB runs it, which defines
#    the functions below and then completes (the end of the file calls _ctxscope);
#  - sourced after compinit: the end of the file registers _ctxscope with compdef.

{functions}
if [[ ${{funcstack[1]-}} == _ctxscope ]]; then
    _ctxscope "$@"
elif (( $+functions[compdef] )); then
    compdef _ctxscope ctxscope
else
    print -u2 "ctxscope completion: run 'autoload -Uz compinit && compinit' before sourcing this file"
fi
"""


# ---------------------------------------------------------------------------------------
# fish


def _fq(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_fish(tree: Command) -> str:
    subs_cases, valued_cases, entries = [], [], []
    for cmd in walk(tree):
        key = " ".join(cmd.path)
        if cmd.commands:
            subs_cases.append(
                f"        case {_fq(key)}\n            printf '%s\\n' "
                + " ".join(c.name for c in cmd.commands)
            )
        valued = [n for p in _options(cmd) if p.value for n in p.names]
        if valued:
            valued_cases.append(f"        case {_fq(key)}\n            printf '%s\\n' " + " ".join(valued))
        at = f'__ctxscope_at "{key}"'
        for sub in cmd.commands:
            entries.append(f"complete -c ctxscope -n {_fq(at)} -a {_fq(sub.name)} -d {_fq(sub.short)}")
        for p in _options(cmd):
            flags = []
            for n in (*p.names, *p.secondary):
                flags.append(f"-l {n[2:]}" if n.startswith("--") else f"-s {n[1:]}")
            if p.value and p.choices:
                flags.append(f"-x -a {_fq(' '.join(p.choices))}")
            elif p.value and p.files:
                flags.append("-r -F")
            elif p.value:
                flags.append("-x")
            desc = short_help(p.help) if p.help else ""
            entries.append(f"complete -c ctxscope -n {_fq(at)} {' '.join(flags)} -d {_fq(desc)}")
        args = _positionals(cmd)
        for i, p in enumerate(args):
            cond = at if p.multiple else f"{at} {i}"
            how = f"-a {_fq(' '.join(p.choices))}" if p.choices else ("-F" if p.files else "")
            if how:
                desc = short_help(p.help) if p.help else p.metavar.lower()
                entries.append(f"complete -c ctxscope -n {_fq(cond)} {how} -d {_fq(desc)}")
    return _FISH.format(
        generated=GENERATED,
        subs="\n".join(subs_cases),
        valued="\n".join(valued_cases),
        entries="\n".join(entries),
    )


_FISH = """\
# fish completion for ctxscope.
# {generated}
# Static lists: a TAB never starts ctxscope. Install: see `ctxscope completion --help`.

function __ctxscope_subcommands --description 'subcommands of a ctxscope command path'
    switch $argv[1]
{subs}
    end
end

function __ctxscope_valued --description 'options of a ctxscope command path that take a value'
    switch $argv[1]
{valued}
    end
end

# Succeeds when the command line so far is at command path $argv[1] and, when
# $argv[2] is given, has that many positional arguments after it.
function __ctxscope_at
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path ''
    set -l npos 0
    set -l expect 0
    for token in $tokens
        if test $expect = 1
            set expect 0
            continue
        end
        switch $token
            case '--*=*'
            case '-*'
                if contains -- $token (__ctxscope_valued $path)
                    set expect 1
                end
            case '*'
                if contains -- $token (__ctxscope_subcommands $path)
                    set path (string trim -- "$path $token")
                    set npos 0
                else
                    set npos (math $npos + 1)
                end
        end
    end
    test "$path" = "$argv[1]"; or return 1
    test (count $argv) -lt 2; or test $npos = $argv[2]
end

complete -c ctxscope -f
{entries}
"""


# ---------------------------------------------------------------------------------------
# man page


def _roff(text: str) -> str:
    """Escape running text for roff: backslashes, hyphens, leading dots, non-ASCII."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def _roff_paragraphs(text: str) -> list[str]:
    out = []
    for i, para in enumerate(p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()):
        if i:
            out.append(".PP")
        out.append(_roff(" ".join(para.split())))
    return out


def _synopsis(cmd: Command) -> str:
    parts = []
    for p in cmd.params:
        if "--help" in p.names:
            continue
        if p.kind == "argument":
            arg = f"\\fI{_roff(p.metavar)}\\fR" + ("\\ ..." if p.multiple else "")
            parts.append(arg if p.required else f"[{arg}]")
            continue
        name = f"\\fB{_roff(p.names[0])}\\fR"
        if p.value:
            name += f" \\fI{_roff(p.metavar)}\\fR"
        parts.append(name if p.required else f"[{name}]")
    return " ".join(parts)


def _option_item(p: Param) -> list[str]:
    shown = sorted(p.names, key=lambda n: n.startswith("--"))  # -h, --help
    spelled = ", ".join(f"\\fB{_roff(n)}\\fR" for n in (*shown, *p.secondary))
    if p.kind == "argument":
        spelled = f"\\fI{_roff(p.metavar)}\\fR"
    elif p.value:
        spelled += f" \\fI{_roff(p.metavar)}\\fR"
    text = p.help or ""
    if p.choices:
        text += (" " if text else "") + "One of: " + ", ".join(p.choices) + "."
    return [".TP", spelled, _roff(text) if text else "\\&"]


_EXIT_TEXT = {
    "OK": "Success; for checks (\\fBdiff\\fR, \\fBstatus \\-\\-check\\fR): every set source agrees.",
    "ERROR": "Error: a bad config file, an invalid scope where one was needed, I/O, a write "
    "that did not read back, a conflict; a write refused by the rollout mode or "
    "declined at the prompt.",
    "USAGE": "Usage error: an unknown command or option, a bad value; a write without a "
    "terminal and without \\fB\\-\\-yes\\fR.",
    "DRIFT": "Drift detected (\\fBdiff\\fR, \\fBstatus \\-\\-check\\fR, \\fBresolve\\fR in enforce mode).",
    "UNAUTHORIZED": "Unauthorized: the token cannot see the scope; the command fails closed.",
    "UNRESOLVED": "Unresolved: no source sets a scope and the fallback policy is \\fBfail\\fR.",
    "CLOUD": "The cloud was needed and answered outside its contract or could not be reached.",
}

_FILES = [
    (
        ".ctxscope.toml",
        "The project file: the nearest one walking up from the working "
        "directory. Its \\fBscope\\fR key is the local source. Until \\fBctxscope trust\\fR, only "
        "\\fBscope\\fR, \\fB[fallback]\\fR and \\fB[policy]\\fR in it count.",
    ),
    (
        "$XDG_CONFIG_HOME/ctxscope/config.toml",
        "The user config (default "
        "\\fI~/.config/ctxscope/config.toml\\fR, or \\fBCTXSCOPE_CONFIG\\fR): settings and a "
        "\\fBscope\\fR used when no project file sets one.",
    ),
    (
        "$XDG_CACHE_HOME/ctxscope/",
        "Cached cloud answers (default \\fI~/.cache/ctxscope/\\fR), "
        "one file per URL and token; never holds the token.",
    ),
    (
        "$XDG_STATE_HOME/ctxscope/drift.jsonl",
        "The drift log, one JSON object per line (default "
        "\\fI~/.local/state/ctxscope/drift.jsonl\\fR, or \\fB[log] path\\fR, or "
        "\\fBCTXSCOPE_LOG\\fR); rotated by size.",
    ),
    (
        "$XDG_STATE_HOME/ctxscope/trusted.json",
        "The project files trusted with \\fBctxscope trust\\fR: path and content hash.",
    ),
]

_ENVIRONMENT = [
    (
        "CTX_SCOPE",
        "The runtime scope, beaten only by \\fB\\-\\-scope\\fR. The names read are "
        "the list \\fB[runtime] env\\fR; the first set one wins; an empty variable counts as "
        "unset.",
    ),
    (
        "CTXSCOPE_TOKEN",
        "The cloud token. Read only from the environment; a token in a config "
        "file is an error. Never printed or logged.",
    ),
    (
        "CTXSCOPE_CLOUD_URL",
        "The cloud's base URL; beats \\fB[cloud] url\\fR in either file. "
        "For etcd, one or more endpoints, comma-separated.",
    ),
    ("CTXSCOPE_CLOUD_BACKEND", "\\fBhttp\\fR or \\fBetcd\\fR; beats \\fB[cloud] backend\\fR."),
    ("CTXSCOPE_ETCD_USER", "The etcd user; beats \\fB[cloud] user\\fR."),
    (
        "CTXSCOPE_ETCD_PASSWORD",
        "The etcd user's password. Read only from the environment; a "
        "password in a config file is an error. Never printed or logged.",
    ),
    ("CTXSCOPE_CONFIG", "The user config file to read instead of the default."),
    ("CTXSCOPE_LOG", "The drift log file; beats \\fB[log] path\\fR."),
    (
        "CTXSCOPE_IDENTITY",
        'The identity for \\fB[fallback] policy = "identity"\\fR, instead of asking the cloud.',
    ),
    ("HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE", "Honoured for cloud requests."),
    ("NO_COLOR, FORCE_COLOR", "Turn colour off or on; piped output never has colour."),
    ("XDG_CONFIG_HOME, XDG_CACHE_HOME, XDG_STATE_HOME", "Where the files above live."),
]

_EXAMPLES = [
    ("Show every source, which one wins, and how to fix drift:", "ctxscope status"),
    ("Use the scope in a script; nothing on stdout when there is none:", "scope=$(ctxscope resolve) || exit"),
    (
        "Fail a CI step on drift and keep the state as an artifact:",
        "ctxscope status \\-\\-json > scope\\-state.json; ctxscope diff",
    ),
    (
        "Make the project file follow the runtime override:",
        "ctxscope sync \\-\\-direction runtime\\-to\\-local \\-\\-yes",
    ),
    ("Warn at every bash start when the scope drifted:", "ctxscope hook bash >> ~/.bashrc"),
    ("Show the scope in the prompt:", 'PS1=\'$(ctxscope prompt \\-\\-format "[{scope}{mark}] ")\'"$PS1"'),
]


def _name_line() -> str:
    """What the package docstring says ctxscope is: "one resolver for AI-agent project scope"."""
    import ctxscope

    first = (ctxscope.__doc__ or "").strip().splitlines()[0]
    return first.split(":", 1)[-1].strip().rstrip(".")


def render_man(tree: Command) -> str:
    from ctxscope._version import version
    from ctxscope.errors import ExitCode

    missing = [c.name for c in ExitCode if c.name not in _EXIT_TEXT]
    if missing:
        raise RuntimeError(f"docgen: no EXIT STATUS text for {', '.join(missing)}")
    out = [
        f'.\\" {GENERATED}',
        f'.TH CTXSCOPE 1 {MAN_DATE} "ctxscope {version()}" "User Commands"',
        ".SH NAME",
        f"ctxscope \\- {_roff(_name_line())}",
        ".SH SYNOPSIS",
        f".B {PROG}",
        _synopsis(tree),
        "\\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]",
        ".SH DESCRIPTION",
        *_roff_paragraphs(tree.help),
        ".PP",
        _roff(
            "Run `ctxscope COMMAND --help` for a command's options. Every command takes "
            "--json for one stable JSON object on stdout; diagnostics go to stderr."
        ),
        ".SH COMMANDS",
    ]
    commands = [c for c in walk(tree) if c.path]
    for cmd in commands:
        # A group (`config`) has its own section too: what it does without a subcommand.
        out += [
            ".SS " + _roff(" ".join(cmd.path)),
            f"\\fB{_roff(' '.join((PROG, *cmd.path)))}\\fR {_synopsis(cmd)}",
            ".PP",
            *_roff_paragraphs(cmd.help),
        ]
        items = [p for p in cmd.params if "--help" not in p.names]
        if items:
            out.append(".RS")
            for p in items:
                out += _option_item(p)
            out.append(".RE")
    out.append(".SH OPTIONS")
    out += _roff_paragraphs("Options of ctxscope itself, given before the command:")
    for p in tree.params:
        out += _option_item(p)
    out += [".PP", _roff("Every command also takes -h, --help: show its options and exit.")]
    out.append(".SH FILES")
    for path, text in _FILES:
        out += [".TP", f"\\fI{_roff(path)}\\fR", text]
    out.append(".SH ENVIRONMENT")
    for name, text in _ENVIRONMENT:
        out += [".TP", f"\\fB{_roff(name)}\\fR", text]
    out.append(".SH EXIT STATUS")
    for code in ExitCode:
        out += [".TP", f"\\fB{int(code)}\\fR", _EXIT_TEXT[code.name]]
    out.append(".SH EXAMPLES")
    for i, (text, example) in enumerate(_EXAMPLES):
        out += ([".PP"] if i else []) + [_roff(text), ".PP", ".RS", ".EX", example, ".EE", ".RE"]
    out += [
        ".SH SEE ALSO",
        _roff(
            "The docs/ directory of the ctxscope source: tutorials, "
            "how-to guides, the configuration reference, the cloud "
            "contract, the JSON output and the drift log."
        ),
    ]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------
# Markdown: docs/reference/cli.md


def _md(text: str) -> str:
    """Escape running text for Markdown, leaving `code spans` as they are."""
    parts = re.split(r"(`[^`]*`)", text)
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"([\\*_|<>\[\]])", r"\\\1", parts[i])
    return "".join(parts)


def _md_paragraphs(text: str) -> list[str]:
    return [_md(" ".join(p.split())) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def _md_usage(cmd: Command) -> str:
    parts = [" ".join((PROG, *cmd.path))]
    for p in cmd.params:
        if "--help" in p.names:
            continue
        if p.kind == "argument":
            arg = p.metavar + ("..." if p.multiple else "")
            parts.append(arg if p.required else f"[{arg}]")
            continue
        name = p.names[0] + (f" {p.metavar}" if p.value else "")
        parts.append(name if p.required else f"[{name}]")
    if cmd.commands:
        parts.append("COMMAND")
    return " ".join(parts)


def _md_param_row(p: Param) -> str:
    if p.kind == "argument":
        spelled = f"`{p.metavar}`"
    else:
        shown = sorted(p.names, key=lambda n: n.startswith("--"))
        names = [*shown, *p.secondary]
        spelled = ", ".join(f"`{n}{' ' + p.metavar if p.value else ''}`" for n in names)
    text = _md(" ".join((p.help or "").split()))
    if p.choices:
        text += (" " if text else "") + "One of: " + ", ".join(f"`{c}`" for c in p.choices) + "."
    if p.multiple and p.kind == "option":
        text += (" " if text else "") + "May be repeated."
    if p.required:
        text += (" " if text else "") + "Required."
    return f"| {spelled} | {text} |"


def _md_params(cmd: Command) -> list[str]:
    items = [p for p in cmd.params if "--help" not in p.names]
    if not items:
        return []
    return ["| option or argument | meaning |", "|---|---|", *(_md_param_row(p) for p in items)]


def render_markdown(tree: Command) -> str:
    out = [
        "# Command-line reference",
        "",
        f"<!-- {GENERATED} -->",
        "",
        "Every command and option of ctxscope, generated from the command-line app itself, so",
        "it always matches `ctxscope COMMAND --help`. What each command is for, and the JSON",
        "each prints, is in [Commands](commands.md); exit codes are in",
        "[Exit codes](exit-codes.md).",
        "",
        "## ctxscope",
        "",
        f"```text\n{_md_usage(tree)}\n```",
        "",
        *[line for para in _md_paragraphs(tree.help) for line in (para, "")],
        "Every command also takes `-h`, `--help`: show its options and exit.",
        "",
        *_md_params(tree),
    ]
    for cmd in walk(tree):
        if not cmd.path:
            continue
        out += [
            "",
            "#" * min(len(cmd.path) + 1, 4) + " " + " ".join((PROG, *cmd.path)),
            "",
            f"```text\n{_md_usage(cmd)}\n```",
            "",
        ]
        for para in _md_paragraphs(cmd.help):
            out += [para, ""]
        if cmd.commands:
            out += ["Commands: " + ", ".join(f"`{c.name}`" for c in cmd.commands) + ".", ""]
        out += _md_params(cmd)
    while out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------

OUTPUTS = {
    "ctxscope/data/completions/ctxscope.bash": render_bash,
    "ctxscope/data/completions/_ctxscope": render_zsh,
    "ctxscope/data/completions/ctxscope.fish": render_fish,
    "ctxscope/data/man/ctxscope.1": render_man,
    "docs/reference/cli.md": render_markdown,
}


def render_all(app=None) -> dict[str, str]:
    """{path relative to the repository: content} for every generated file."""
    tree = command_tree(app)
    return {path: render(tree) for path, render in OUTPUTS.items()}


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python tools/docgen.py", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 and name the files that are out of date"
    )
    parser.add_argument("--root", default=ROOT, help="the repository root (default: %(default)s)")
    args = parser.parse_args(argv)
    stale = []
    for rel, text in render_all().items():
        path = os.path.join(args.root, rel)
        try:
            with open(path, encoding="utf-8") as fh:
                current = fh.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        stale.append(rel)
        if not args.check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
    verb = "out of date" if args.check else "written"
    for rel in stale:
        print(f"{rel}: {verb}")
    if args.check and stale:
        print("run `python tools/docgen.py` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
