"""`ctxscope log --stats`: counts by event, reason, scope and host, and a per-hour chart."""

from __future__ import annotations

import json
import time

from ctxscope.logstats import stats

HOUR = 3600
# The start of an hour, two hours ago, so every event below is in the past.
BASE = (int(time.time()) // HOUR - 3) * HOUR


def ts(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def event(epoch, name="scope_drift_detected", scope="zentygo", reason="local_mismatch", host="box"):
    return {
        "ts": ts(epoch),
        "event": name,
        "resolved_scope": scope,
        "reason": reason,
        "host": host,
        "reasons": [reason] if reason else [],
    }


def write(log_file, *events):
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "a") as fh:
        for item in events:
            fh.write((json.dumps(item) if isinstance(item, dict) else item) + "\n")


def story(log_file):
    old = [event(BASE + 60), event(BASE + 120, scope="workout", reason="process_stale")]
    write(log_file.with_name("drift.jsonl.1"), *old)  # rotated files count too
    write(
        log_file,
        event(BASE + HOUR * 2 + 5, host="ci-7"),
        event(BASE + HOUR * 2 + 10, "scope_synced", reason=None),
        "not json",
        event(BASE + HOUR * 2 + 20, "scope_unauthorized", scope="secret", reason="scope_unauthorized"),
    )


def test_json_counts_and_hours(ctx, log_file):
    story(log_file)
    result = ctx("log", "--stats", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] == 5
    assert data["by_event"] == {"scope_drift_detected": 3, "scope_synced": 1, "scope_unauthorized": 1}
    assert data["by_reason"] == {
        "local_mismatch": 2,
        "(none)": 1,
        "process_stale": 1,
        "scope_unauthorized": 1,
    }
    assert data["by_scope"] == {"zentygo": 3, "secret": 1, "workout": 1}
    assert data["by_host"] == {"box": 4, "ci-7": 1}
    assert data["first"] == ts(BASE + 60) and data["last"] == ts(BASE + HOUR * 2 + 20)
    # Every hour from the first to the last, the quiet one included.
    assert data["per_hour"] == [
        {"hour": ts(BASE), "count": 2},
        {"hour": ts(BASE + HOUR), "count": 0},
        {"hour": ts(BASE + 2 * HOUR), "count": 3},
    ]
    assert "skipped 1 malformed line of the drift log" in result.stderr


def test_filters_select_the_window(ctx, log_file):
    story(log_file)
    since = ts(BASE + HOUR)
    data = json.loads(ctx("log", "--stats", "--json", "--since", since).stdout)
    assert data["total"] == 3
    assert data["since"] == since
    assert data["per_hour"][0] == {"hour": ts(BASE + HOUR), "count": 0}  # the window's start
    data = json.loads(ctx("log", "--stats", "--json", "--event", "synced").stdout)
    assert data["by_event"] == {"scope_synced": 1}
    data = json.loads(ctx("log", "--stats", "--json", "--tail", "2").stdout)
    assert data["total"] == 2


def test_table_and_bar_chart(ctx, log_file):
    story(log_file)
    result = ctx("log", "--stats")
    assert result.returncode == 0
    out = result.stdout
    assert "5 events (whole log)" in out
    for word in ("event", "reason", "scope", "host", "scope_unauthorized", "ci-7", "60%"):
        assert word in out
    chart = [line for line in out.splitlines() if line[:4].isdigit() and line[13:15] == "h "]
    assert len(chart) == 3
    first, quiet, last = chart
    assert first.count("█") * 3 == last.count("█") * 2  # bars scale with the counts (2 and 3)
    assert "█" not in quiet and quiet.endswith("·")
    assert "\x1b[" not in out  # piped: no colour codes


def test_nothing_to_count(ctx, log_file):
    result = ctx("log", "--stats")
    assert result.returncode == 0
    assert "no events match" in result.stdout
    assert json.loads(ctx("log", "--stats", "--json").stdout)["per_hour"] == []


def test_stats_and_follow_do_not_combine(ctx, log_file):
    result = ctx("log", "--stats", "--follow")
    assert result.returncode == 2
    assert "--stats and --follow cannot be combined" in result.stderr


def test_a_long_window_keeps_its_most_recent_hours():
    events = [event(BASE - 90 * 24 * HOUR), event(BASE)]
    data = stats(events)
    assert len(data["per_hour"]) == 24 * 14
    assert data["per_hour"][-1] == {"hour": ts(BASE), "count": 1}
    assert data["total"] == 2  # the counts still cover every event
