"""Helpers shared by the hardening suites (tests/test_hardening_*.py, issue 5).

Every suite drives the installed `ctxscope` as a real process, so a hang, a
traceback or a crash is seen the way a user would see it. Figures for the
reliability report (benchmarks/reliability.py) are recorded with pytest's
`record_property`: `bad_inputs`, `faults`, `writers`, `kills`, `leak_checks`,
`leaks`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

# The token every hardening test runs with. tests/conftest.py scans each test's
# captured output and ctxscope's state/cache files for it (and for any
# CTXSCOPE_TOKEN set in the environment), so a leak anywhere fails the test.
CANARY = "ctxs-canary-Q7ZK2M9X4T"

CTXSCOPE = str(Path(sys.executable).with_name("ctxscope"))

# Generous bound for a command that must not hang: the cloud budget is 2 s by
# default; nothing here should come near this, and no test asserts a tight time.
HANG = 30


def env_with(**extra: str | None) -> dict[str, str]:
    """os.environ (already isolated by conftest) plus `extra`; None removes a variable."""
    env = dict(os.environ)
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args, *, cwd, env=None, timeout: float = HANG, stdin: str | None = None):
    """Run the installed command; a hang past `timeout` fails the test with a clear message."""
    try:
        return subprocess.run(
            [CTXSCOPE, *args], cwd=str(cwd), env=env if env is not None else env_with(),
            capture_output=True, text=True, timeout=timeout, input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"`ctxscope {' '.join(args)}` still running after {timeout}s") from None


class Result:
    __slots__ = ("returncode", "stderr", "stdout")

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def call(args, *, cwd, env=None) -> Result:
    """Run the console script's `main` in this process (same parsing, same error boundary),
    with `env` as the whole environment and `cwd` as the working directory.

    For the large matrices, where a process per case would cost minutes; every
    matrix also runs its key command through `run` (a real process). Never for
    cases that could hang (FIFOs, servers): those always use `run`.
    """
    import io

    from ctxscope._entry import main

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(env if env is not None else saved_env)
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    return Result(code, out.getvalue(), err.getvalue())


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ctxscope: error:")]


def warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ctxscope: warning:")]


def assert_clean_failure(result, code: int, *needles: str) -> str:
    """Exit `code`, nothing on stdout, exactly one `ctxscope: error:` line naming `needles`,
    and no traceback. Returns the error line."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def snapshot(path) -> tuple:
    """Bytes (or link target), mtime and mode of a path, without following a final symlink."""
    p = Path(path)
    st = os.lstat(p)
    if p.is_symlink():
        content: object = ("link", os.readlink(p))
    elif p.is_dir():
        content = ("dir", sorted(os.listdir(p)))
    elif p.is_file():
        content = p.read_bytes()
    else:
        content = ("special", st.st_mode)
    return content, st.st_mtime_ns, st.st_mode


def tree_snapshot(root) -> dict:
    """snapshot() of every entry under `root` (symlinks not followed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root)] = snapshot(full)
    return out


def read_jsonl(path) -> list[dict]:
    """Every line must be a whole JSON object: a torn or merged line fails here."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    events = []
    for number, line in enumerate(lines, 1):
        try:
            value = json.loads(line)
        except ValueError:
            raise AssertionError(f"{path}:{number} is not whole JSON: {line[:200]!r}") from None
        assert isinstance(value, dict), (path, number, line[:200])
        events.append(value)
    return events


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a child started with start_new_session=True, and everything it started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
