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


def parse_fast(argv: list[str]):
    """(module, function, kwargs) for a plain hot command, or None to use the full app."""
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
                value = next(args, None)
                if value is None or value.startswith("-"):
                    return None
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
