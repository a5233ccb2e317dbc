"""Plain output helpers shared by every path (fast or full): no rich, no typer."""

from __future__ import annotations

import json
import sys

from .errors import CtxScopeError, ExitCode


def err(kind: str, message: str) -> None:
    """One diagnostic line on stderr: `ctxscope: warning: ...` / `ctxscope: error: ...`."""
    sys.stderr.write(f"ctxscope: {kind}: {message}\n")


def warn_all(warnings) -> None:
    for w in warnings:
        err("warning", w)


def error_line(exc: CtxScopeError) -> str:
    return f"{exc.message} ({exc.hint})" if exc.hint else exc.message


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def guarded(func, *args, **kwargs) -> int:
    """The error boundary: run a command body, map anticipated failures to exit codes."""
    try:
        return int(func(*args, **kwargs) or 0)
    except CtxScopeError as exc:
        err("error", error_line(exc))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`ctxscope log | head`): not an error worth a word. Point
        # stdout at devnull so the interpreter's final flush does not complain again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
