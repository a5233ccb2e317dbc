"""Drift events (docs/reference/json.md): build them, de-duplicate them, append them.

The resolver calls `record_resolution` itself, so every entry point that
resolves (CLI, library, MCP) logs the same way: events are emitted in the
resolver path, not downstream. Writing the log never fails a command: a
problem comes back as a warning string.
"""

from __future__ import annotations

import json
import os
import time

from . import paths
from ._version import version
from .kinds import PRECEDENCE
from .scope import display

SCOPE_FIELDS = ("runtime_scope", "local_scope", "cloud_scope", "resolved_scope")
_DEDUPE_FIELDS = ("event", "cwd", *SCOPE_FIELDS, "reasons", "authorized")


def log_path(config) -> str:
    """`CTXSCOPE_LOG` (already merged into the setting), `[log] path`, or the state dir.

    A relative `[log] path` set by a project file must resolve (every link in its
    directories followed) inside that file's repository; otherwise this raises
    `fsutil.UnsafeWriteError`, and nothing is logged there.
    """
    path = config["log.path"] if config is not None else os.environ.get("CTXSCOPE_LOG")
    if not path:
        return paths.default_log_file()
    given = path
    path = os.path.expanduser(path)
    origin = config.origin("log.path") if config is not None else ""
    if not os.path.isabs(path) and not origin.startswith(("env ", "default")):
        # A relative [log] path is relative to the file that sets it, not to wherever
        # the command happens to run (origin is "file:line").
        source = origin.rsplit(":", 1)[0]
        path = os.path.join(os.path.dirname(source), path)
        project = config.project
        if project is not None and os.path.abspath(source) == os.path.abspath(project.path):
            from .fsutil import UnsafeWriteError, inside

            root = os.path.realpath(paths.project_root(project.path))
            real = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
            if not inside(real, root):
                raise UnsafeWriteError(
                    f"[log] path {given!r} at {origin} resolves to {real}, outside the "
                    f"repository {root}; not logging there",
                    hint="use a path inside the repository, or set CTXSCOPE_LOG",
                )
    return path


def base_event(event: str, res, command: str) -> dict:
    """The fields every event has, filled from a Resolution."""
    invalid = {r.source: display(r.raw) for r in res.sources if r.raw is not None}
    unreadable = {r.source: r.problem for r in res.sources if r.state == "unreadable"}
    snapshot: dict = {
        "source_precedence": list(PRECEDENCE),
        "state": res.state,
        "authorization": res.authorization,
    }
    if invalid:
        snapshot["invalid"] = invalid
    if unreadable:
        snapshot["unreadable"] = unreadable
    reasons, actions = res.reasons, res.actions
    return {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "event": event,
        "runtime_scope": res.source("runtime").value,
        "local_scope": res.source("local").value,
        "cloud_scope": res.source("cloud").value,
        "resolved_scope": res.resolved_scope,
        "resolved_from": res.resolved_from,
        "authorized": res.authorized,
        "reason": reasons[0] if reasons else None,
        "reasons": reasons,
        "action_required": actions[0] if actions else None,
        "actions": actions,
        "drift_snapshot": snapshot,
        "command": command,
        "pid": os.getpid(),
        "host": host_name(),
        "cwd": res.cwd,
        "version": version(),
    }


def exec_refused(
    res, *, refusal: str, exit_code: int, program: str, error: str, cwd: str | None = None
) -> dict:
    """`scope_exec_refused`: `ctxscope exec` did not start `program`.

    `res` is the Resolution that was refused, or None when none could be made (a
    config that stops every command); then every scope field is null. `refusal` is
    the gate's reason word (e.g. `scope_unauthorized`, `drift`), `error` the line
    printed to the user. Only the program's name is kept: its arguments may hold
    secrets.
    """
    if res is not None:
        event = base_event("scope_exec_refused", res, "exec")
    else:
        event = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "event": "scope_exec_refused",
            **dict.fromkeys(SCOPE_FIELDS),
            "resolved_from": None,
            "authorized": None,
            "reason": None,
            "reasons": [],
            "action_required": None,
            "actions": [],
            "drift_snapshot": {"source_precedence": list(PRECEDENCE)},
            "command": "exec",
            "pid": os.getpid(),
            "host": host_name(),
            "cwd": cwd or paths.working_dir(),
            "version": version(),
        }
    from .kinds import ACTIONS

    if refusal in ACTIONS:  # the reason that refused comes first, with its action
        event["reason"], event["action_required"] = refusal, ACTIONS[refusal]
        event["reasons"] = list(dict.fromkeys([refusal, *event["reasons"]]))
        event["actions"] = list(dict.fromkeys([ACTIONS[refusal], *event["actions"]]))
    event["refusal"] = refusal
    event["exit_code"] = int(exit_code)
    event["program"] = display(program)
    event["error"] = display(error, 512)
    return event


def host_name() -> str:
    try:
        return os.uname().nodename
    except AttributeError:  # Windows
        import socket

        return socket.gethostname()


def event_for(res) -> str | None:
    """Which event a resolution calls for, if any."""
    if res.state == "UNRESOLVED":
        return "scope_unresolved"
    if res.state == "UNAUTHORIZED":
        return "scope_unauthorized"
    if res.problems:
        return "scope_drift_detected"
    return None


def record_resolution(res, ctx) -> str | None:
    """Append the event a resolution calls for; return a warning if the log failed."""
    name = event_for(res)
    if name is None:
        return None
    return append(base_event(name, res, ctx.command), ctx.config, dedupe=True)


def append(event: dict, config, *, dedupe: bool = False) -> str | None:
    """Append one event under the lock, rotating by size. Returns a warning or None.

    The token (in any encoding) and URL credentials are masked in every string first.
    """
    from .fsutil import append_line, ensure_private_dir, file_lock, is_sink
    from .sanitize import scrub

    event = scrub(event)

    path = str(config["log.path"] or paths.default_log_file()) if config is not None else ""
    window = float(config["log.dedupe_seconds"]) if config is not None else 300.0
    max_bytes = int(config["log.max_bytes"]) if config is not None else 1_048_576
    keep = int(config["log.keep"]) if config is not None else 3
    warning = None
    try:
        path = log_path(config)
        line = json.dumps(event, sort_keys=False, ensure_ascii=True)
        if is_sink(path):
            _write_to_sink(path, line)  # /dev/null turns the log off; nothing to lock
            return None
        ensure_private_dir(os.path.dirname(path) or ".")
        # The log, its lock and its rotated files are opened as fsutil.open_own_file
        # does: never through a link, only regular files of the user's.
        with file_lock(path + ".lock", timeout=2.0):
            if dedupe and _repeats_last(path, event, window):
                return None
            _rotate(path, max_bytes, keep)
            if _ends_mid_line(path):
                append_line(path, "", own=True)  # close a line torn by a crash or a full disk
            append_line(path, line, own=True)
    except Exception as exc:  # the log must never fail the command
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        warning = f"could not write the drift log {path}: {reason}"
    # The JSONL line comes first; an OpenTelemetry copy goes out only when configured.
    otlp = _export_otlp(event, config)
    return warning if warning else otlp


def _export_otlp(event: dict, config) -> str | None:
    env = os.environ
    if not (
        env.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or (config is not None and config["log.otlp_endpoint"])
    ):
        return None  # the common case: no import, no cost
    try:
        from .otel import export

        return export(event, config)
    except Exception as exc:  # exporting must never fail the command either
        return f"could not send the event over OTLP: {exc}"


def _write_to_sink(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def _ends_mid_line(path: str) -> bool:
    """Does the log end without a newline (a write cut short)? Then the next event
    would be glued to the torn text and neither line would parse."""
    from .fsutil import open_own_read

    try:
        with open_own_read(path) as fh:
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) not in (b"\n", b"")
    except OSError:  # missing, or empty (seeking before the start)
        return False


def _repeats_last(path: str, event: dict, window: float) -> bool:
    last = last_event(path)
    if not last or any(last.get(k) != event.get(k) for k in _DEDUPE_FIELDS):
        return False
    try:
        from calendar import timegm

        then = timegm(time.strptime(last["ts"], "%Y-%m-%dT%H:%M:%SZ"))
    except (KeyError, TypeError, ValueError):
        return False
    return time.time() - then < window


def last_event(path: str) -> dict | None:
    """The last whole JSON line of the log, read from the end of the file."""
    from .fsutil import open_own_read

    try:
        with open_own_read(path) as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 65536))
            # Bounded: the log path may name a device (/dev/full, /dev/zero) that never ends.
            tail = fh.read(65536)
    except OSError:
        return None
    for line in reversed(tail.splitlines()):
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply
            continue
        return value if isinstance(value, dict) else None
    return None


def _rotate(path: str, max_bytes: int, keep: int) -> None:
    """Rename the log to `.1` (`.1` to `.2`...) once it reaches `max_bytes`.

    Renames never follow links (a planted `.2` link is renamed, not written
    through), and the log itself is truncated only through a descriptor opened
    without following links.
    """
    import stat as stat_mod

    from .fsutil import open_own_file

    try:
        st = os.lstat(path)
    except OSError:
        return
    if not stat_mod.S_ISREG(st.st_mode) or st.st_size < max_bytes:
        return  # a link or a special file is refused by the append that follows
    if keep <= 0:
        fd, _ = open_own_file(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)
        return
    for i in range(keep - 1, 0, -1):
        older = f"{path}.{i}"
        if os.path.lexists(older):
            os.replace(older, f"{path}.{i + 1}")
    os.replace(path, f"{path}.1")


def rotated_files(path: str) -> list[str]:
    """The log and its rotated copies, oldest first (for `ctxscope log`); none for a sink."""
    from .fsutil import is_sink

    if is_sink(path):
        return []
    found = []
    i = 1
    while os.path.exists(f"{path}.{i}"):
        found.append(f"{path}.{i}")
        i += 1
    found.reverse()
    if os.path.exists(path):
        found.append(path)
    return found
