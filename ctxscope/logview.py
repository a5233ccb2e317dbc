"""Ask the drift log questions: which events, when, for which scope.

The log is JSONL, appended under a lock and rotated by size (`events.py`); the
files are read oldest first, so events come out newest last. `--tail N` reads
each file backwards in blocks from its end and stops after N matching events,
so the last few events of a log of any size cost a few blocks, not the file.
A line that is not a JSON object (a crash mid-write, a hand edit) is counted
and skipped; the command says how many, and never crashes on it.

No rich and no typer here; `ctxscope.render_forensics` draws the table.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime

from .errors import UsageError
from .events import log_path, rotated_files
from .fsutil import open_own_read

BLOCK = 65536
TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
EVENTS = (
    "scope_drift_detected",
    "scope_synced",
    "scope_sync_failed",
    "scope_repaired",
    "scope_unauthorized",
    "scope_unresolved",
    "scope_exec_refused",
)
SCOPE_KEYS = ("runtime_scope", "local_scope", "cloud_scope", "resolved_scope", "target", "before", "after")
# Events are stamped just before the writer takes the log lock (which waits at most
# a few seconds), so lines can be a little out of time order. A backward scan for
# `--since` stops only once it is this far past the limit.
SINCE_SLACK = 60
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TS_PREFIX = b'{"ts": "'
# What --since accepts: from the epoch to the last second of year 9999 (UTC).
EARLIEST, LATEST = 0.0, 253402300799.0


def ts_string(epoch: float) -> str:
    return time.strftime(TS_FORMAT, time.gmtime(epoch))


def parse_since(text: str, now: float | None = None) -> str:
    """`2h`, `30m`, `90s`, `7d`, `1w` back from now, or an ISO time; as a log `ts` string.

    An ISO time without a zone is local time; `Z` or an offset say otherwise.
    """
    value = text.strip()
    now = time.time() if now is None else now
    hint = "use e.g. 90s, 30m, 2h, 7d, 1w, or 2026-11-24T10:00:00Z"
    duration = _DURATION.fullmatch(value)
    if not duration:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise UsageError(f"--since {text!r}: not a duration or an ISO time", hint=hint) from None
    try:
        if duration:
            amount, unit = duration.groups()
            epoch = now - float(amount) * _UNITS[unit.lower()]
        else:
            if when.tzinfo is None:
                when = when.astimezone()  # the user's local time
            epoch = when.timestamp()
        if not EARLIEST <= epoch <= LATEST:
            raise OverflowError
        return ts_string(epoch)
    except (OverflowError, OSError, ValueError):  # a time no clock here can hold
        raise UsageError(f"--since {text!r}: out of range (1970 to 9999)", hint=hint) from None


class Filters:
    """Which events to show. Every filter given must match."""

    def __init__(self, *, since: str | None = None, events=None, scope: str | None = None) -> None:
        self.since = since  # a ts string, compared as text: the format sorts by time
        # The table shows names without their "scope_" prefix; accept them either way.
        self.events = {e if e.startswith("scope_") else "scope_" + e for e in events} if events else None
        self.scope = scope
        if self.events:
            unknown = sorted(self.events - set(EVENTS))
            if unknown:
                raise UsageError(f"--event {unknown[0]!r}: no such event", hint="one of " + ", ".join(EVENTS))

    def match(self, event: dict) -> bool:
        if self.since is not None and not _at_or_after(event.get("ts"), self.since):
            return False
        name = event.get("event")  # any JSON value in a damaged line, even a list
        if self.events is not None and not (isinstance(name, str) and name in self.events):
            return False
        return self.scope is None or any(event.get(k) == self.scope for k in SCOPE_KEYS)


def _at_or_after(ts, since: str) -> bool:
    normal = _normal_ts(ts)
    return normal is not None and normal >= since


def _normal_ts(ts) -> str | None:
    if not isinstance(ts, str):
        return None
    if len(ts) == 20 and ts.endswith("Z"):
        return ts
    try:
        when = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime(TS_FORMAT)


def _parse(line: bytes) -> dict | None:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deeply
        return None
    return value if isinstance(value, dict) else None


class Reader:
    """Read events from the log files, counting malformed lines per file."""

    def __init__(self, files: list[str]) -> None:
        self.files = files  # oldest first
        self.malformed: dict[str, list[int | None]] = {}  # path -> line numbers (None: unknown)
        self.bytes_read = 0
        self.errors: list[str] = []  # files that exist but cannot be read
        self.end: tuple[str, int, int] | None = None  # (path, inode, size) where reading stopped

    def _bad(self, path: str, number: int | None) -> None:
        self.malformed.setdefault(path, []).append(number)

    def _open(self, path: str):
        try:
            # Never through a link, only a regular file of the user's (the caller closes it).
            return open_own_read(path)
        except OSError as exc:
            self.errors.append(f"cannot read the drift log {path}: {exc.strerror or exc}")
            return None

    def _mark_end(self, path: str, fh) -> None:
        if path == self.files[-1]:
            st = os.fstat(fh.fileno())
            self.end = (path, st.st_ino, st.st_size)

    def forward(self, filters: Filters):
        """Every matching (line, event), oldest first, streaming line by line."""
        for path in self.files:
            fh = self._open(path)
            if fh is None:
                continue
            with fh:
                self._mark_end(path, fh)
                limit = self.end[2] if self.end and self.end[0] == path else None
                quick_since = filters.since.encode() if filters.since else None
                read = 0
                for number, line in enumerate(fh, 1):
                    read += len(line)
                    if limit is not None and read > limit:
                        break  # written after we started: --follow picks it up
                    self.bytes_read += len(line)
                    if not line.strip():
                        continue
                    # Lines the log writes start with {"ts": "...": skip old ones unparsed.
                    if (
                        quick_since
                        and line.startswith(_TS_PREFIX)
                        and line[28:30] == b'",'
                        and line[8:28] < quick_since
                    ):
                        continue
                    event = _parse(line)
                    if event is None:
                        self._bad(path, number)
                        continue
                    if filters.match(event):
                        yield line.rstrip(b"\r\n").decode("utf-8", "replace"), event

    def last(self, n: int, filters: Filters) -> list[tuple[str, dict]]:
        """The last `n` matching (line, event), oldest first, read from the end."""
        found: list[tuple[str, dict]] = []
        if n <= 0:
            self._mark_current_end()
            return found
        stop = _minus(filters.since, SINCE_SLACK) if filters.since else None
        for path in reversed(self.files):
            for line, event in self._backward(path):
                if event is None:
                    self._bad(path, None)
                    continue
                if stop is not None:
                    ts = _normal_ts(event.get("ts"))
                    if ts is not None and ts < stop:
                        found.reverse()
                        return found
                if filters.match(event):
                    found.append((line, event))
                    if len(found) >= n:
                        found.reverse()
                        return found
        found.reverse()
        return found

    def _mark_current_end(self) -> None:
        if self.files:
            try:
                with open_own_read(self.files[-1]) as fh:
                    self._mark_end(self.files[-1], fh)
            except OSError:
                pass

    def _backward(self, path: str):
        """(line, event or None) from the end of one file, in blocks."""
        fh = self._open(path)
        if fh is None:
            return
        with fh:
            self._mark_end(path, fh)
            position = os.fstat(fh.fileno()).st_size
            rest = b""
            while position > 0:
                size = min(BLOCK, position)
                position -= size
                fh.seek(position)
                block = fh.read(size)
                self.bytes_read += len(block)
                lines = (block + rest).split(b"\n")
                rest = lines[0]  # may continue in the block before
                for line in reversed(lines[1:]):
                    if line.strip():
                        yield line.rstrip(b"\r").decode("utf-8", "replace"), _parse(line)
            if rest.strip():
                yield rest.rstrip(b"\r").decode("utf-8", "replace"), _parse(rest)


def _minus(ts: str, seconds: int) -> str:
    from calendar import timegm

    return ts_string(timegm(time.strptime(ts, TS_FORMAT)) - seconds)


def iter_events_reverse(files: list[str]):
    """(line, event or None), newest first, across `files` (given oldest first)."""
    reader = Reader(files)
    for path in reversed(files):
        yield from reader._backward(path)


def log_files(config) -> tuple[str, list[str]]:
    """The log path for this config and the existing files, oldest first."""
    path = log_path(config)
    return path, rotated_files(path)


def follow(path: str, filters: Filters, start: tuple[str, int, int] | None, poll: float = 0.25):
    """Yield matching (line, event) appended to `path` from `start` on, forever.

    Follows the name, like `tail -F`: when the log is rotated (a new inode) the
    old file is read to its end first, then the new one from its start; a file
    that shrank was truncated and is read again from its start. A line without
    its newline yet is kept until the rest arrives. Malformed lines are yielded
    as (line, None) so the caller can warn.
    """
    fh = None
    inode = None
    pending = b""
    if start is not None and start[0] == path:
        try:
            fh = open_own_read(path)  # held open while following
            if os.fstat(fh.fileno()).st_ino == start[1]:
                fh.seek(start[2])
                inode = start[1]
            else:
                fh.seek(0)
                inode = os.fstat(fh.fileno()).st_ino
        except OSError:
            fh = None
    try:
        while True:
            if fh is None:
                try:
                    fh = open_own_read(path)
                    inode = os.fstat(fh.fileno()).st_ino
                    pending = b""
                except OSError:
                    time.sleep(poll)
                    continue
            chunk = fh.read()
            if chunk:
                pending, lines = _complete_lines(pending + chunk)
                yield from _matching(lines, filters)
                continue
            try:
                st = os.stat(path)
            except OSError:
                st = None
            if st is None or st.st_ino != inode:
                # Rotated away: a line may have landed just before the rename, so read
                # the old file to its end once more, then take the new one.
                pending, lines = _complete_lines(pending + fh.read())
                yield from _matching(lines, filters)
                fh.close()
                fh = None
                continue
            if st.st_size < fh.tell():
                fh.seek(0)  # truncated in place
                pending = b""
                continue
            time.sleep(poll)
    finally:
        if fh is not None:
            fh.close()


def _complete_lines(data: bytes) -> tuple[bytes, list[bytes]]:
    *lines, pending = data.split(b"\n")
    return pending, lines


def _matching(lines: list[bytes], filters: Filters):
    for line in lines:
        if not line.strip():
            continue
        event = _parse(line)
        text = line.rstrip(b"\r").decode("utf-8", "replace")
        if event is None:
            yield text, None
        elif filters.match(event):
            yield text, event


def malformed_warning(malformed: dict[str, list]) -> str | None:
    """One line for the lines that were skipped, or None."""
    if not malformed:
        return None
    total = sum(len(v) for v in malformed.values())
    parts = []
    for path, numbers in malformed.items():
        known = [n for n in numbers if n is not None]
        where = f" (line {', '.join(map(str, known[:3]))}{', …' if len(known) > 3 else ''})" if known else ""
        parts.append(f"{len(numbers)} in {path}{where}")
    noun = "line" if total == 1 else "lines"
    return f"skipped {total} malformed {noun} of the drift log: " + "; ".join(parts)
