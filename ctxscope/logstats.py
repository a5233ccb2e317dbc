"""`ctxscope log --stats`: what the drift log says about one machine, counted.

Counts by event, reason, scope and host over the selected events, and a count
per hour (UTC) from the first selected hour to the last, for the bar chart
`render_stats` draws or for `--json`. No typer, no rich.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from .logview import _normal_ts

# Hours of the chart at most: a window of many weeks is cut to its most recent hours.
MAX_HOURS = 24 * 14


def _count(counter: Counter) -> dict[str, int]:
    """Largest first, then by name, as a plain dict (JSON keeps the order)."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def stats(events: Iterable[dict], *, since: str | None = None) -> dict:
    """The `log --stats --json` object for the selected events (oldest first)."""
    by_event: Counter = Counter()
    by_reason: Counter = Counter()
    by_scope: Counter = Counter()
    by_host: Counter = Counter()
    hours: Counter = Counter()
    first = last = None
    total = 0
    for event in events:
        total += 1
        by_event[str(event.get("event") or "(none)")] += 1
        by_reason[str(event.get("reason") or "(none)")] += 1
        scope = event.get("resolved_scope") or event.get("target") or event.get("after")
        by_scope[str(scope) if scope else "(none)"] += 1
        by_host[str(event.get("host") or "(none)")] += 1
        ts = _normal_ts(event.get("ts"))
        if ts is None:
            continue
        hours[ts[:13] + ":00:00Z"] += 1
        first = ts if first is None or ts < first else first
        last = ts if last is None or ts > last else last
    return {
        "total": total,
        "since": since,
        "first": first,
        "last": last,
        "by_event": _count(by_event),
        "by_reason": _count(by_reason),
        "by_scope": _count(by_scope),
        "by_host": _count(by_host),
        "per_hour": _per_hour(hours, since, last),
    }


def _per_hour(hours: Counter, since: str | None, last: str | None) -> list[dict]:
    """Every hour from the window's start (or the first event) to the last event, empty ones
    included, so the chart shows quiet hours as gaps."""
    if not hours:
        return []
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    start = min(hours)
    if since is not None and since[:13] + ":00:00Z" < start:
        start = since[:13] + ":00:00Z"
    begin = datetime.strptime(start, fmt).replace(tzinfo=UTC)
    end = datetime.strptime(max(hours), fmt).replace(tzinfo=UTC)
    if (end - begin) > timedelta(hours=MAX_HOURS - 1):
        begin = end - timedelta(hours=MAX_HOURS - 1)
    rows = []
    at = begin
    while at <= end:
        key = at.strftime(fmt)
        rows.append({"hour": key, "count": hours.get(key, 0)})
        at += timedelta(hours=1)
    return rows
