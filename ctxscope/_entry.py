"""The `ctxscope` console script, with a fast path for the hot commands.

`resolve` runs in `$(...)` substitutions, `prompt` on every prompt, `hook --run`
on every shell start, and `status` / `diff` in CI loops. Importing the Typer app
costs more than the work itself: Typer 0.29 brings pydantic, and the two
together are about 80% of a full `ctxscope status` run. So a plain invocation
of one of the commands in `FAST` is parsed here, with no Typer, and handed to
the same function the Typer command calls. Anything else (help, `--version`, a
typo, an option or a value this parser does not know, a repeated option) goes
to the full app, which parses it properly and prints its own errors. Both
paths run the same body under the same error boundary, so output and exit codes
are identical; tests/test_fast_path.py runs a matrix of inputs through both.
"""

from __future__ import annotations

import sys

from .kinds import SHELLS

_SCOPE = {"--scope": "scope"}
_CLOUD_FLAGS = {"--json": "json_out", "--offline": "offline", "--refresh": "refresh"}

# command -> (module, function, flags, options that take a value, positional choices):
# `ctxscope.<module>.<function>` is the command's body, the one the Typer command calls.
# Each entry mirrors the Typer command's declaration; tests/test_fast_path.py checks
# that every name here exists there with the same kind, so this table cannot invent one.
FAST: dict[str, tuple] = {
    "resolve": ("commands.resolve", "resolve", {**_CLOUD_FLAGS, "--explain": "explain"}, _SCOPE, ()),
    "status": ("commands.status", "status", {**_CLOUD_FLAGS, "--check": "check"}, _SCOPE, ()),
    "diff": ("commands.diff", "diff", _CLOUD_FLAGS, _SCOPE, ()),
    "prompt": ("commands.prompt", "prompt", {"--json": "json_out"}, {"--format": "fmt"}, ()),
    "hook": ("commands.hook", "hook", {"--run": "run", "--json": "json_out"}, {}, (("shell", SHELLS),)),
}


# `exec`: options, then COMMAND and everything after it (COMMAND's own options included).
EXEC_FLAGS = {"--dry-run": "dry_run", "--offline": "offline", "--refresh": "refresh"}


def parse_exec(args: list[str]):
    """(module, function, kwargs) for `exec OPTIONS [--] COMMAND [ARGS]...`, or None.

    Mirrors the Typer declaration (interspersed options off): options are read up to
    `--` or the first argument that is not an option; the rest is COMMAND. An unknown
    or repeated option, or no COMMAND, goes to the full app for its usage error.
    """
    kwargs: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        if arg in EXEC_FLAGS and EXEC_FLAGS[arg] not in kwargs:
            kwargs[EXEC_FLAGS[arg]] = True
            i += 1
            continue
        name, eq, value = arg.partition("=")
        if name != "--scope" or "scope" in kwargs:
            return None
        if not eq:
            if i + 1 >= len(args) or args[i + 1].startswith("-"):
                return None
            value = args[i + 1]
            i += 1
        kwargs["scope"] = value
        i += 1
    if i >= len(args):
        return None
    kwargs["command"] = args[i:]
    return "commands.exec", "exec_", kwargs


def parse_fast(argv: list[str]):
    """(module, function, kwargs) for a plain hot command, or None to use the full app."""
    if argv and argv[0] == "exec":
        return parse_exec(argv[1:])
    if not argv or argv[0] not in FAST:
        return None
    module, function, flags, valued, positionals = FAST[argv[0]]
    kwargs: dict = {}
    given: list[str] = []
    args = iter(argv[1:])
    for arg in args:
        if arg in flags and flags[arg] not in kwargs:
            kwargs[flags[arg]] = True
            continue
        name, eq, value = arg.partition("=")
        if name in valued and valued[name] not in kwargs:
            if not eq:
                following = next(args, None)
                if following is None or following.startswith("-"):
                    return None
                value = following
            kwargs[valued[name]] = value
            continue
        if arg.startswith("-") or len(given) >= len(positionals):
            return None
        given.append(arg)
    if len(given) != len(positionals):
        return None
    for (name, choices), value in zip(positionals, given, strict=True):
        if value not in choices:
            return None
        kwargs[name] = value
    return module, function, kwargs


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    fast = parse_fast(argv)
    if fast is not None:
        from .output import guarded

        module, function, kwargs = fast
        # __import__ rather than importlib.import_module: importlib costs an import of its own.
        body = getattr(__import__(f"ctxscope.{module}", fromlist=[function]), function)
        code = guarded(body, **kwargs)
    else:
        from .cli import run as run_cli

        code = run_cli(argv)
    sys.stdout.flush()
    sys.exit(code)
