"""Prometheus metrics: the current state from a health snapshot, event counts from the log.

Exposed through prometheus_client (the `metrics` extra) with a collector of our
own on a registry of our own, never the process-wide default registry, so an
agent service that already exports metrics keeps its own untouched.

| metric | type | meaning |
|---|---|---|
| `ctxscope_state{state}` | gauge | 1 for the current state, 0 for the five others |
| `ctxscope_resolved_info{scope,source}` | gauge | 1, when a scope resolves |
| `ctxscope_authorized` | gauge | 1 authorized, 0 denied; absent when not checked or unknown |
| `ctxscope_drift{reason}` | gauge | 1 for each reason found now, 0 for the other known reasons |
| `ctxscope_drift_events_total{event,reason}` | counter | events in the drift log |
| `ctxscope_cloud_up` | gauge | 1 reachable, 0 not; absent without a cloud |
| `ctxscope_stale_processes` | gauge | processes holding a stale runtime scope |
| `ctxscope_last_sync_timestamp_seconds` | gauge | time of the last scope_synced or scope_repaired |

Event counts are read from the drift log incrementally: a checkpoint in the
state directory records the counts so far, the inode of the file last read and
how far into it; each collection reads only the lines added since, following
the file into its rotated copies (`drift.jsonl.1`, ...). No typer, no rich.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

from . import kinds, paths

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MISSING = "metrics need prometheus_client: pip install 'ctxscope[metrics]'"
# Every state and every known reason gets a sample, so a series exists before it turns 1.
STATES = kinds.STATES
REASONS = tuple(kinds.ACTIONS)
SYNC_EVENTS = ("scope_synced", "scope_repaired")
# Label values read from the log are names, checked, so a hand-edited or hostile log
# cannot blow up the number of series.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SEP = "\x1f"


def available() -> bool:
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


# -- event counts from the drift log --------------------------------------------------


class EventCounts:
    """Counts by (event, reason) and the last sync time, as of the checkpoint."""

    def __init__(self, counts: dict[tuple[str, str], int] | None = None, last_sync: float = 0.0) -> None:
        self.counts = counts or {}
        self.last_sync = last_sync

    def add(self, event: dict) -> None:
        name = event.get("event")
        reason = event.get("reason")
        name = name if isinstance(name, str) and _NAME.fullmatch(name) else "other"
        if reason is None:
            reason = "none"
        elif not (isinstance(reason, str) and _NAME.fullmatch(reason)):
            reason = "other"
        key = (name, reason)
        self.counts[key] = self.counts.get(key, 0) + 1
        if name in SYNC_EVENTS:
            when = _epoch(event.get("ts"))
            if when is not None and when > self.last_sync:
                self.last_sync = when


def _epoch(ts: object) -> float | None:
    if not isinstance(ts, str):
        return None
    try:
        from calendar import timegm

        return float(timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None


def checkpoint_path(log: str) -> str:
    digest = hashlib.sha256(os.path.abspath(log).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(paths.state_dir(), f"metrics-{digest}.json")


def _load_checkpoint(path: str, log: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("log") != os.path.abspath(log):
        return {}
    return data


def _lines(fh, start: int, *, whole: bool) -> Iterator[tuple[int, bytes]]:
    """(offset after the line, line) from `start`. Without `whole`, a last line with no
    newline yet (being written) is left for the next read."""
    fh.seek(start)
    offset = start
    for line in fh:
        if not line.endswith(b"\n") and not whole:
            return
        offset += len(line)
        yield offset, line


def _parse(line: bytes) -> dict | None:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def read_events(log: str, *, save: bool = True) -> EventCounts:
    """Bring the counts up to date with the log (rotated files included) and return them."""
    from .events import rotated_files
    from .fsutil import atomic_write_text, ensure_private_dir, file_lock

    point = checkpoint_path(log)
    try:
        ensure_private_dir(os.path.dirname(point))
        lock = file_lock(point + ".lock", timeout=2.0)
        lock.__enter__()
    except Exception:
        lock = None  # read-only: report what the checkpoint says, change nothing
    try:
        data = _load_checkpoint(point, log)
        counts = EventCounts(
            {
                tuple(k.split(_SEP, 1)): int(v)
                for k, v in data.get("counts", {}).items()
                if _SEP in k and isinstance(v, int)
            },
            float(data.get("last_sync") or 0.0),
        )
        if lock is None:
            return counts
        seen = (data.get("dev"), data.get("inode"))
        offset = int(data.get("offset") or 0)
        opened = []
        for name in rotated_files(log):  # oldest first
            try:
                fh = open(name, "rb")  # noqa: SIM115 - closed below
            except OSError:
                continue
            st = os.fstat(fh.fileno())
            opened.append((name, fh, st))
        try:
            # Start in the file the checkpoint was in (wherever rotation moved it); if it is
            # gone, every file present is newer than it: read them all.
            start_at, start_offset = 0, 0
            for i, (_name, _fh, st) in enumerate(opened):
                if (st.st_dev, st.st_ino) == seen:
                    start_at = i
                    start_offset = offset if st.st_size >= offset else 0  # truncated: from 0
                    break
            last: tuple[int | None, int | None, int] = (None, None, 0)
            for i in range(start_at, len(opened)):
                name, fh, st = opened[i]
                newest = i == len(opened) - 1
                done = start_offset if i == start_at else 0
                for after, line in _lines(fh, done, whole=not newest):
                    done = after
                    event = _parse(line)
                    if event is not None:
                        counts.add(event)
                last = (st.st_dev, st.st_ino, done)
        finally:
            for _name, fh, _st in opened:
                fh.close()
        if save and last[1] is not None:
            state = {
                "log": os.path.abspath(log),
                "dev": last[0],
                "inode": last[1],
                "offset": last[2],
                "counts": {f"{e}{_SEP}{r}": n for (e, r), n in sorted(counts.counts.items())},
                "last_sync": counts.last_sync,
            }
            with contextlib.suppress(Exception):  # the counts are still right for this scrape
                atomic_write_text(point, json.dumps(state), default_mode=0o600)
        return counts
    finally:
        if lock is not None:
            lock.__exit__(None, None, None)


# -- the collector -------------------------------------------------------------------


class Collector:
    """A prometheus_client collector over one health snapshot and the event counts."""

    def __init__(self, snap: Any, counts: EventCounts | None) -> None:
        self.snap = snap
        self.counts = counts

    def describe(self) -> list:
        return []  # no up-front description: collect() is only called on a scrape

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snap = self.snap
        res = snap.resolution
        state = GaugeMetricFamily(
            "ctxscope_state", "The overall state: 1 for the current one.", labels=["state"]
        )
        for name in STATES:
            state.add_metric([name], 1.0 if snap.state == name else 0.0)
        yield state

        info = GaugeMetricFamily(
            "ctxscope_resolved_info",
            "The resolved scope and the source it came from (always 1).",
            labels=["scope", "source"],
        )
        if res is not None and res.resolved_scope is not None:
            info.add_metric([res.resolved_scope, res.resolved_from or ""], 1.0)
        yield info

        authorized = GaugeMetricFamily(
            "ctxscope_authorized",
            "1 when the cloud authorizes the resolved scope, 0 when it denies it; "
            "absent when not checked (no cloud) or unknown (cloud down).",
        )
        if res is not None and res.authorized is not None:
            authorized.add_metric([], 1.0 if res.authorized else 0.0)
        yield authorized

        drift = GaugeMetricFamily(
            "ctxscope_drift",
            "1 for each reason found now (drift and faults), 0 for the others.",
            labels=["reason"],
        )
        current = set(snap.reasons)
        stale = len(snap.processes["stale"]) if snap.processes else 0
        if stale:
            current.add("process_stale")
        for reason in dict.fromkeys((*REASONS, *sorted(current))):
            drift.add_metric([reason], 1.0 if reason in current else 0.0)
        yield drift

        if self.counts is not None:
            events = CounterMetricFamily(
                "ctxscope_drift_events",
                "Events in the drift log, rotated files included.",
                labels=["event", "reason"],
            )
            for (event, reason), n in sorted(self.counts.counts.items()):
                events.add_metric([event, reason], float(n))
            yield events
            if self.counts.last_sync:
                last = GaugeMetricFamily(
                    "ctxscope_last_sync_timestamp_seconds",
                    "Unix time of the last scope_synced or scope_repaired event.",
                )
                last.add_metric([], self.counts.last_sync)
                yield last

        cloud = GaugeMetricFamily(
            "ctxscope_cloud_up",
            "1 when the cloud answered (or a fresh cached answer was used), "
            "0 when unreachable or erroring; absent without a cloud.",
        )
        if snap.cloud_up is not None:
            cloud.add_metric([], 1.0 if snap.cloud_up else 0.0)
        yield cloud

        procs = GaugeMetricFamily(
            "ctxscope_stale_processes", "Processes of this user holding a stale runtime scope."
        )
        if snap.processes is not None:
            procs.add_metric([], float(stale))
        yield procs

        took = GaugeMetricFamily(
            "ctxscope_resolve_duration_seconds", "How long this collection took to resolve."
        )
        took.add_metric([], round(snap.took, 6))
        yield took


def exposition(snap: Any, *, env: Mapping[str, str] | None = None) -> bytes:
    """The Prometheus text for one snapshot, event counts included."""
    from prometheus_client import CollectorRegistry, generate_latest

    counts = None
    if snap.config is not None:
        from .events import log_path

        try:
            counts = read_events(log_path(snap.config))
        except Exception:
            counts = None  # the state metrics are still worth a scrape
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector(snap, counts))
    return bytes(generate_latest(registry))
