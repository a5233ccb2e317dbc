"""Drift events (DESIGN section 8): build them, de-duplicate them, append them.

The resolver calls `record_resolution` itself, so every entry point that
resolves (CLI, library, MCP) logs the same way: the playbook's "emit in the
resolver path, not downstream". Writing the log never fails a command: a
problem comes back as a warning string.
"""

from __future__ import annotations

import json
import os
import time

from . import paths
from ._version import __version__
from .kinds import PRECEDENCE
from .scope import display

SCOPE_FIELDS = ("runtime_scope", "local_scope", "cloud_scope", "resolved_scope")
_DEDUPE_FIELDS = ("event", "cwd", *SCOPE_FIELDS, "reasons", "authorized")


def log_path(config) -> str:
    """`CTXSCOPE_LOG` (already merged into the setting), `[log] path`, or the state dir."""
    path = config["log.path"] if config is not None else os.environ.get("CTXSCOPE_LOG")
    if not path:
        return paths.default_log_file()
    path = os.path.expanduser(path)
    origin = config.origin("log.path") if config is not None else ""
    if not os.path.isabs(path) and not origin.startswith(("env ", "default")):
        # A relative [log] path is relative to the file that sets it, not to wherever
        # the command happens to run (origin is "file:line").
        path = os.path.join(os.path.dirname(origin.rsplit(":", 1)[0]), path)
    return path


def base_event(event: str, res, command: str) -> dict:
    """The seed's fields, filled from a Resolution."""
    invalid = {r.source: display(r.raw) for r in res.sources if r.raw is not None}
    unreadable = {r.source: r.problem for r in res.sources if r.state == "unreadable"}
    snapshot: dict = {"source_precedence": list(PRECEDENCE), "state": res.state,
                      "authorization": res.authorization}
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
        "host": _host(),
        "cwd": res.cwd,
        "version": __version__,
    }


def _host() -> str:
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
    """Append one event under the lock, rotating by size. Returns a warning or None."""
    from .fsutil import append_line, ensure_private_dir, file_lock

    path = log_path(config)
    window = float(config["log.dedupe_seconds"]) if config is not None else 300.0
    max_bytes = int(config["log.max_bytes"]) if config is not None else 1_048_576
    keep = int(config["log.keep"]) if config is not None else 3
    try:
        ensure_private_dir(os.path.dirname(path) or ".")
        with file_lock(path + ".lock", timeout=2.0):
            if dedupe and _repeats_last(path, event, window):
                return None
            _rotate(path, max_bytes, keep)
            if _ends_mid_line(path):
                append_line(path, "")  # close a line torn by a crash or a full disk
            append_line(path, json.dumps(event, sort_keys=False, ensure_ascii=True))
    except Exception as exc:  # the log must never fail the command
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return f"could not write the drift log {path}: {reason}"
    return None


def _ends_mid_line(path: str) -> bool:
    """Does the log end without a newline (a write cut short)? Then the next event
    would be glued to the torn text and neither line would parse."""
    try:
        with open(path, "rb") as fh:
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
    try:
        with open(path, "rb") as fh:
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
    try:
        if os.path.getsize(path) < max_bytes:
            return
    except OSError:
        return
    if keep <= 0:
        os.truncate(path, 0)
        return
    for i in range(keep - 1, 0, -1):
        older = f"{path}.{i}"
        if os.path.exists(older):
            os.replace(older, f"{path}.{i + 1}")
    os.replace(path, f"{path}.1")


def rotated_files(path: str) -> list[str]:
    """The log and its rotated copies, oldest first (for `ctxscope log`)."""
    found = []
    i = 1
    while os.path.exists(f"{path}.{i}"):
        found.append(f"{path}.{i}")
        i += 1
    found.reverse()
    if os.path.exists(path):
        found.append(path)
    return found
