"""Run the installed `ctxscope` console script in a subprocess: the one way the tests run
the command (the `ctx` fixture in conftest.py, and `run` in _hardening.py, both call
`run_installed`). Also `validate_event`, the drift log's schema check."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# The console script pip installed beside this interpreter (the venv's bin/), whatever
# PATH the command is given.
CTXSCOPE = str(Path(sys.executable).with_name("ctxscope"))

TIMEOUT = 60  # a command that must not hang; no test asserts a time near this


class Result:
    """What the command did: exit code and the text it wrote on stdout and stderr."""

    __slots__ = ("returncode", "stderr", "stdout")

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr

    @property
    def success(self) -> bool:
        return self.returncode == 0

    def __repr__(self) -> str:
        return f"Result(returncode={self.returncode}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def run_installed(
    args,
    *,
    cwd=None,
    env: Mapping[str, str] | None = None,
    input: str | bytes | None = None,
    timeout: float = TIMEOUT,
) -> Result:
    """`ctxscope ARGS...` in `cwd` (default: the current directory) with `env` as its whole
    environment (default: this process's, which conftest.py isolates per test). stdin is
    `input` through a pipe, or /dev/null; bytes in, bytes out (stdout and stderr undecoded).
    A command still running after `timeout` seconds fails the test. What it did is printed
    into the test's captured output: shown when a test fails, and searched for the token by
    conftest.py's `no_token_leaks`."""
    argv = [str(a) for a in args]
    text = not isinstance(input, bytes)
    try:
        done = subprocess.run(
            [CTXSCOPE, *argv],
            cwd=None if cwd is None else str(cwd),
            env=dict(os.environ if env is None else env),
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=text,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"`ctxscope {' '.join(argv)}` still running after {timeout}s") from None
    print(f"$ ctxscope {' '.join(argv)}  # exit {done.returncode}")
    for name, out in (("", done.stdout), ("[stderr] ", done.stderr)):
        if out:
            shown = out if text else out.decode("utf-8", "replace")
            print(name + shown.rstrip("\n"))
    return Result(done.returncode, done.stdout, done.stderr)


@functools.cache
def _event_validator():
    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[1] / "ctxscope" / "event.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_event(event: dict) -> None:
    """Raise what `jsonschema.validate(event, schema)` raises against the shipped event
    schema, with the schema checked and compiled once per process instead of per call
    (about 20 ms each time: thousands of events are validated in a run)."""
    from jsonschema.exceptions import best_match

    error = best_match(_event_validator().iter_errors(event))
    if error is not None:
        raise error
