"""Plain output helpers shared by every path (fast or full): no rich, no typer."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from .errors import CtxScopeError, ExitCode
from .sanitize import clean


class SafeWriter:
    """A text stream that passes everything written through `sanitize.clean`.

    Installed over sys.stdout and sys.stderr for the whole command by
    `safe_streams()`, so a print anywhere (an error line, a warning, `--json`, a
    value for `$(...)`, a usage error from the option parser) cannot put a raw
    control sequence or the token on the terminal. The rich console writes to the
    stream underneath (`raw`): it cleans each value before layout and adds its own
    colour codes after.
    """

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw

    def write(self, text: str) -> int:
        self.raw.write(clean(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str | None:
        return getattr(self.raw, "encoding", None)

    @property
    def errors(self) -> str | None:
        return getattr(self.raw, "errors", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def raw_stream(stream: TextIO) -> TextIO:
    """The stream under a SafeWriter (for the rich console), or `stream` itself."""
    return stream.raw if isinstance(stream, SafeWriter) else stream


@contextlib.contextmanager
def safe_streams() -> Iterator[None]:
    """Clean everything written to stdout and stderr inside the block (re-entrant)."""
    saved = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, SafeWriter):
        sys.stdout = SafeWriter(sys.stdout)
    if not isinstance(sys.stderr, SafeWriter):
        sys.stderr = SafeWriter(sys.stderr)
    try:
        yield
    finally:
        # Only undo what this block did: a test runner may have swapped the streams.
        if sys.stdout is not saved[0] and isinstance(sys.stdout, SafeWriter):
            sys.stdout = saved[0]
        if sys.stderr is not saved[1] and isinstance(sys.stderr, SafeWriter):
            sys.stderr = saved[1]


def err(kind: str, message: str) -> None:
    """One diagnostic line on stderr: `ctxscope: warning: ...` / `ctxscope: error: ...`."""
    sys.stderr.write(clean(f"ctxscope: {kind}: {message}") + "\n")


def warn_all(warnings) -> None:
    for w in warnings:
        err("warning", w)


def error_line(exc: CtxScopeError) -> str:
    return f"{exc.message} ({exc.hint})" if exc.hint else exc.message


def print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def guarded(func, *args, **kwargs) -> int:
    """The error boundary: run a command body, map anticipated failures to exit codes.

    Everything the body writes to stdout and stderr is cleaned (`safe_streams`).
    """
    with safe_streams():
        return _guarded(func, *args, **kwargs)


def _guarded(func, *args, **kwargs) -> int:
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
