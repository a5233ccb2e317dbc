"""The `ctxscope` console script.

`resolve` runs in shell prompts and `$(...)` substitutions, where every
millisecond is paid again and again; loading Typer (and its pydantic) would cost
more than the whole resolution. So a plain `resolve` with the options below is
run here without the Typer app. Anything else (help, a typo, an option this
parser does not know) goes to the full app, which parses it properly. Both paths
call `resolve_command.run`, so output and exit codes are the same.
"""

from __future__ import annotations

import sys

_FLAGS = {"--json": "json_out", "--explain": "explain", "--offline": "offline",
          "--refresh": "refresh"}


def _fast_resolve(argv: list[str]) -> dict | None:
    """Keyword arguments for `resolve_command.run`, or None to use the full app."""
    if not argv or argv[0] != "resolve":
        return None
    kwargs: dict = {}
    args = iter(argv[1:])
    for arg in args:
        if arg in _FLAGS and _FLAGS[arg] not in kwargs:
            kwargs[_FLAGS[arg]] = True
        elif arg == "--scope" and "scope" not in kwargs:
            value = next(args, None)
            if value is None or value.startswith("-"):
                return None
            kwargs["scope"] = value
        elif arg.startswith("--scope=") and "scope" not in kwargs:
            kwargs["scope"] = arg[len("--scope="):]
        else:
            return None
    return kwargs


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    fast = _fast_resolve(argv)
    if fast is not None:
        from .output import guarded
        from .resolve_command import run

        code = guarded(run, **fast)
    else:
        from .cli import run as run_cli

        code = run_cli(argv)
    sys.stdout.flush()
    sys.exit(code)
