"""`ctxscope exec`: resolve and authorize, then become COMMAND in that scope, or refuse.

The gate in front of processes that are not ours: an MCP server started by a
desktop client, a Node tool, a worker under systemd. The scope is resolved and
authorized by the same rule as `ctxscope resolve` and `require_scope()`
(`ctxscope.gate.scope_failure`). A refusal never starts COMMAND: one line on
stderr says why and how to fix it, `scope_exec_refused` is logged, and the exit
code is resolve's (1, 3, 4, 5 or 6). Otherwise the runtime variables, the
environment-reading observers' variables and the `CTXSCOPE_EXEC` marker are set
(`ctxscope.launch`) and this process is replaced by COMMAND (execvp): its pid,
signals, stdin, stdout and exit code are COMMAND's, and ctxscope writes nothing
on stdout, so a stdio protocol (MCP) passes through untouched.

Shared by the Typer command and the fast path in `_entry`; no typer, no rich.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Mapping

from ..errors import CtxScopeError, ExitCode, UsageError
from ..output import err, error_line, warn_all

# Exit codes a POSIX shell uses when it cannot run a command.
NOT_FOUND = 127
NOT_EXECUTABLE = 126

# How to fix a refusal whose error carries no hint of its own (one line says both).
_FALLBACK_HINTS = {
    ExitCode.CLOUD: "check the network and [cloud] url; --offline uses a cached answer",
    ExitCode.ERROR: "see `ctxscope status` for the source at fault",
}

USAGE = "ctxscope exec [--scope SCOPE] [--dry-run] [--] COMMAND [ARGS]..."


def exec_(
    *,
    command: list[str],
    scope: str | None = None,
    dry_run: bool = False,
    offline: bool = False,
    refresh: bool = False,
    env: Mapping[str, str] | None = None,
    execvpe: Callable[..., object] = os.execvpe,
) -> int:
    """Start `command` in the resolved scope, or refuse; returns only when it did not start.

    `env` (default os.environ) is the environment resolved from and handed on;
    `execvpe` is os.execvpe (tests may pass another function to see what would run).
    """
    if not command:
        raise UsageError("missing COMMAND", hint=USAGE)
    from ..gate import scope_failure, soft_warnings
    from ..resolver import resolve

    base = os.environ if env is None else env
    try:
        res = resolve(scope=scope, env=base, offline=offline, refresh=refresh, command="exec")
    except CtxScopeError as exc:
        return _refuse(None, command, exc, "config_error", dry_run)
    warn_all(res.warnings)
    failure = scope_failure(res)
    if failure is not None:
        return _refuse(res, command, failure, failure.reason, dry_run)

    from ..launch import child_environment, dry_run_lines, remaining_problems

    child = child_environment(res, base, int(time.time()))
    # Warn about what the command will still see, not what its environment settles.
    warn_all(soft_warnings(res._replace(problems=remaining_problems(res, child))))
    warn_all(child.warnings)
    if dry_run:
        sys.stdout.write("\n".join(dry_run_lines(child.env, child.names, command)) + "\n")
        return int(ExitCode.OK)
    return _become(command, child.env, execvpe)


def _refuse(res, command: list[str], failure: CtxScopeError, refusal: str, dry_run: bool) -> int:
    """The one line, the event, the code. COMMAND is not started."""
    line = error_line(failure)
    if not failure.hint and failure.exit_code in _FALLBACK_HINTS:
        line += f" ({_FALLBACK_HINTS[failure.exit_code]})"
    err("error", f"not starting {command[0]}: {line}")
    if not dry_run:
        from ..events import append, exec_refused

        event = exec_refused(
            res, refusal=refusal, exit_code=int(failure.exit_code), program=command[0], error=line
        )
        warning = append(event, res.config if res is not None else None)
        if warning:
            err("warning", warning)
    return int(failure.exit_code)


def _become(command: list[str], env: dict[str, str], execvpe: Callable[..., object]) -> int:
    """Replace this process with `command`; return a shell's code if it cannot be started."""
    sys.stdout.flush()
    sys.stderr.flush()
    # Python ignores SIGPIPE and SIGXFSZ for itself; an ignored signal stays ignored
    # across exec, so put them back to what any other launcher would hand on.
    restored = {}
    for name in ("SIGPIPE", "SIGXFSZ"):
        number = getattr(signal, name, None)
        if number is not None:
            restored[number] = signal.signal(number, signal.SIG_DFL)
    try:
        execvpe(command[0], command, env)
    except OSError as exc:
        for number, handler in restored.items():
            signal.signal(number, handler)
        return _not_started(command[0], exc)
    except ValueError as exc:  # a NUL byte in an argument
        for number, handler in restored.items():
            signal.signal(number, handler)
        raise UsageError(f"cannot start {command[0]!r}: {exc}") from None
    return int(ExitCode.OK)  # only a stand-in execvpe returns


def _not_started(program: str, exc: OSError) -> int:
    import errno

    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        err("error", f"{program}: command not found")
        return NOT_FOUND
    err("error", f"{program}: cannot run: {exc.strerror or exc}")
    return NOT_EXECUTABLE
