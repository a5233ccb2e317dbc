"""ctxscope.logview: reading the drift log (rotated files, malformed lines, filters, tail, follow)."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime

import pytest

from ctxscope import logview
from ctxscope.errors import UsageError
from ctxscope.logview import Filters, Reader

T0 = 1_790_000_000  # 2026-09-21T14:13:20Z


def ts(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def event(epoch, name="scope_drift_detected", resolved="zentygo", local="workout", **extra):
    """An event shaped like the ones events.py writes (ts first, same key order)."""
    base = {
        "ts": ts(epoch),
        "event": name,
        "runtime_scope": resolved,
        "local_scope": local,
        "cloud_scope": None,
        "resolved_scope": resolved,
        "resolved_from": "runtime",
        "authorized": None,
        "reason": "local_mismatch",
        "reasons": ["local_mismatch"],
        "action_required": "sync_local",
        "actions": ["sync_local"],
        "drift_snapshot": {"source_precedence": ["runtime", "local", "cloud", "fallback"]},
        "command": "status",
        "pid": 4242,
        "host": "box",
        "cwd": "/repo",
        "version": "0.1.0",
    }
    base.update(extra)
    return base


def line(ev) -> str:
    return json.dumps(ev, ensure_ascii=True)


def write(path, *items):
    """Write events (dicts) and raw strings as lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        for item in items:
            fh.write((line(item) if isinstance(item, dict) else item) + "\n")


@pytest.fixture
def log(tmp_path):
    return tmp_path / "state" / "drift.jsonl"


def shown(entries):
    return [e["ts"] for _line, e in entries]


# --- --since ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("2h", 7200),
        ("30m", 1800),
        ("90s", 90),
        ("7d", 7 * 86400),
        ("1w", 604800),
        ("1.5h", 5400),
        ("2H", 7200),
    ],
)
def test_since_durations(text, back):
    assert logview.parse_since(text, now=T0) == ts(T0 - back)


def test_since_iso_times():
    assert logview.parse_since("2026-09-21T14:13:20Z") == ts(T0)
    assert logview.parse_since("2026-09-21T16:13:20+02:00") == ts(T0)
    # Without a zone the time is the user's local time.
    local = datetime(2026, 9, 21, 10, 0, 0)
    assert logview.parse_since("2026-09-21T10:00:00") == ts(local.timestamp())
    assert logview.parse_since("2026-09-21") == ts(datetime(2026, 9, 21).timestamp())


@pytest.mark.parametrize("text", ["yesterday", "2 hours", "-2h", "", "2026-13-01"])
def test_since_rejects_nonsense(text):
    with pytest.raises(UsageError, match="--since"):
        logview.parse_since(text)


# --- reading -----------------------------------------------------------------------------


def test_rotated_files_oldest_first_newest_last(log):
    write(log.with_name("drift.jsonl.2"), event(T0 + 1))
    write(log.with_name("drift.jsonl.1"), event(T0 + 2), event(T0 + 3))
    write(log, event(T0 + 4))
    files = logview.rotated_files(str(log))
    entries = list(Reader(files).forward(Filters()))
    assert shown(entries) == [ts(T0 + i) for i in (1, 2, 3, 4)]
    # Backwards across the files too.
    assert shown(Reader(files).last(3, Filters())) == [ts(T0 + i) for i in (2, 3, 4)]


def test_raw_lines_come_back_unchanged(log):
    ev = event(T0, process={"pid": 7, "command": "agent"})
    write(log, ev)
    ((raw, parsed),) = list(Reader([str(log)]).forward(Filters()))
    assert raw == line(ev) and parsed == ev


def test_malformed_and_truncated_lines_are_counted_and_skipped(log):
    write(log, event(T0 + 1), "not json", '["a list"]', "", event(T0 + 2), '{"ts": "2026-09-2')
    reader = Reader([str(log)])
    assert shown(reader.forward(Filters())) == [ts(T0 + 1), ts(T0 + 2)]
    assert reader.malformed == {str(log): [2, 3, 6]}
    warning = logview.malformed_warning(reader.malformed)
    assert warning.startswith("skipped 3 malformed lines of the drift log")
    assert str(log) in warning and "line 2, 3, 6" in warning

    backwards = Reader([str(log)])
    assert shown(backwards.last(10, Filters())) == [ts(T0 + 1), ts(T0 + 2)]
    assert len(backwards.malformed[str(log)]) == 3


def test_last_line_without_newline_and_invalid_utf8(log):
    log.parent.mkdir(parents=True)
    log.write_bytes(line(event(T0)).encode() + b"\n\xff\xfe garbage\n" + line(event(T0 + 1)).encode())
    reader = Reader([str(log)])
    assert shown(reader.last(5, Filters())) == [ts(T0), ts(T0 + 1)]
    assert len(reader.malformed[str(log)]) == 1
    assert shown(Reader([str(log)]).forward(Filters())) == [ts(T0), ts(T0 + 1)]


def test_no_log_at_all(log):
    reader = Reader(logview.rotated_files(str(log)))
    assert list(reader.forward(Filters())) == [] and reader.last(5, Filters()) == []
    assert logview.malformed_warning(reader.malformed) is None


# --- filters -------------------------------------------------------------------------------


def test_event_and_scope_filters(log):
    write(
        log,
        event(T0 + 1, resolved="zentygo"),
        event(
            T0 + 2,
            "scope_synced",
            resolved="workout",
            local="workout",
            reason=None,
            direction="runtime-to-local",
            target="local",
            before="zentygo",
            after="workout",
        ),
        event(T0 + 3, "scope_unresolved", resolved=None, local=None, runtime_scope=None),
        event(T0 + 4, resolved="alpha", local="beta"),
    )
    files = [str(log)]

    def pick(**kw):
        return shown(Reader(files).forward(Filters(**kw)))

    assert pick(events=["scope_synced"]) == [ts(T0 + 2)]
    assert pick(events=["synced", "unresolved"]) == [ts(T0 + 2), ts(T0 + 3)]  # short names too
    assert pick(scope="zentygo") == [ts(T0 + 1), ts(T0 + 2)]  # resolved, or a sync's before
    assert pick(scope="beta") == [ts(T0 + 4)]
    assert pick(scope="workout", events=["scope_drift_detected"]) == [ts(T0 + 1)]
    with pytest.raises(UsageError, match="no such event"):
        Filters(events=["scope_exploded"])


def test_since_filter_with_odd_timestamps(log):
    write(
        log,
        event(T0 - 10),
        event(T0 + 10),
        {"event": "scope_synced", "ts": None},
        {"event": "scope_synced", "ts": "2026-09-21T16:13:30+02:00"},
    )
    got = shown(Reader([str(log)]).forward(Filters(since=ts(T0))))
    assert got == [ts(T0 + 10), "2026-09-21T16:13:30+02:00"]


# --- a large log ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    """300,000 events, one a second, plus a malformed line near the end."""
    path = tmp_path_factory.mktemp("big") / "drift.jsonl"
    template = line(event(0)).replace(ts(0), "{ts}")
    n = 300_000
    with open(path, "w") as fh:
        chunk = []
        for i in range(n):
            chunk.append(template.replace("{ts}", ts(T0 + i)) + "\n")
            if len(chunk) == 10_000:
                fh.write("".join(chunk))
                chunk = []
        fh.write("".join(chunk))
        fh.write("{torn line\n")
        fh.write(template.replace("{ts}", ts(T0 + n)) + "\n")
    return path, n


def test_tail_reads_from_the_end_only(big_log):
    path, n = big_log
    reader = Reader([str(path)])
    got = reader.last(5, Filters())
    assert shown(got) == [ts(T0 + i) for i in range(n - 4, n + 1)]
    size = os.path.getsize(path)
    assert size > 100_000_000
    assert reader.bytes_read <= 2 * logview.BLOCK  # a block or two, not the file
    assert reader.malformed == {str(path): [None]}


def test_tail_with_a_filter_stops_as_soon_as_it_has_enough(big_log):
    path, n = big_log
    reader = Reader([str(path)])
    got = reader.last(3, Filters(since=ts(T0 + n - 100)))
    assert shown(got) == [ts(T0 + i) for i in (n - 2, n - 1, n)]
    # Asking for more than the window holds stops soon after the --since limit.
    reader = Reader([str(path)])
    got = reader.last(1000, Filters(since=ts(T0 + n - 100)))
    assert shown(got) == [ts(T0 + i) for i in range(n - 100, n + 1)]
    assert reader.bytes_read < 200 * 1024


def test_since_over_the_whole_log(big_log):
    path, n = big_log
    got = list(Reader([str(path)]).forward(Filters(since=ts(T0 + n - 3))))
    assert shown(got) == [ts(T0 + i) for i in (n - 3, n - 2, n - 1, n)]


# --- follow --------------------------------------------------------------------------------


def next_within(gen, seconds=10.0):
    """next(gen) in a thread, so a broken follow fails the test instead of hanging it."""
    box: list = []
    t = threading.Thread(target=lambda: box.append(next(gen)), daemon=True)
    t.start()
    t.join(seconds)
    assert box, "follow produced nothing"
    return box[0]


def test_follow_new_lines_partial_lines_rotation_and_truncation(log):
    write(log, event(T0))
    reader = Reader([str(log)])
    assert shown(reader.last(10, Filters())) == [ts(T0)]
    gen = logview.follow(str(log), Filters(), reader.end, poll=0.02)

    write(log, event(T0 + 1))
    assert next_within(gen)[1]["ts"] == ts(T0 + 1)  # only what is new

    # A line written in two pieces comes out once, whole.
    whole = line(event(T0 + 2))
    result: list = []
    t = threading.Thread(target=lambda: result.append(next(gen)), daemon=True)
    t.start()
    with open(log, "a") as fh:
        fh.write(whole[:30])
        fh.flush()
        time.sleep(0.1)
        fh.write(whole[30:] + "\n")
    t.join(10)
    assert result and result[0] == (whole, json.loads(whole))

    # Rotation: a last line lands in the old file, then the writer moves on to a new one.
    write(log, event(T0 + 3))
    os.replace(log, log.with_name("drift.jsonl.1"))
    write(log, event(T0 + 4))
    assert next_within(gen)[1]["ts"] == ts(T0 + 3)
    assert next_within(gen)[1]["ts"] == ts(T0 + 4)

    # A malformed line is handed over as (line, None) so the command can warn.
    write(log, "garbage")
    assert next_within(gen) == ("garbage", None)

    # Truncated in place (log.keep = 0): read again from the start.
    os.truncate(log, 0)
    time.sleep(0.1)
    write(log, event(T0 + 5))
    assert next_within(gen)[1]["ts"] == ts(T0 + 5)
    gen.close()


def test_follow_waits_for_a_log_that_does_not_exist_yet_and_filters(log):
    gen = logview.follow(str(log), Filters(events=["scope_synced"]), None, poll=0.02)
    write(log, event(T0), event(T0 + 1, "scope_synced"))
    assert next_within(gen)[1]["event"] == "scope_synced"
    gen.close()
