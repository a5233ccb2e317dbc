"""`ctxscope log`: the drift log as a table or raw JSON lines; in-process and installed."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest


def ts(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


NOW = time.time()


def event(
    epoch,
    name="scope_drift_detected",
    resolved="zentygo",
    reason="local_mismatch",
    action="sync_local",
    command="status",
    **extra,
):
    ev = {
        "ts": ts(epoch),
        "event": name,
        "runtime_scope": resolved,
        "local_scope": "workout",
        "cloud_scope": None,
        "resolved_scope": resolved,
        "resolved_from": "runtime",
        "authorized": None,
        "reason": reason,
        "reasons": [reason] if reason else [],
        "action_required": action,
        "actions": [action] if action else [],
        "drift_snapshot": {"source_precedence": ["runtime", "local", "cloud", "fallback"]},
        "command": command,
        "pid": 4242,
        "host": "box",
        "cwd": "/repo",
        "version": "0.1.0",
    }
    ev.update(extra)
    return ev


def write(path, *items):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        for item in items:
            fh.write((json.dumps(item) if isinstance(item, dict) else item) + "\n")


@pytest.fixture
def story(log_file):
    """Three hours of an incident: drift, a stale process, the fix, and a rotation."""
    old = [event(NOW - 3 * 3600, command="resolve")]
    recent = [
        event(NOW - 3600),
        event(
            NOW - 1800,
            resolved="workout",
            reason="process_stale",
            action="restart_process",
            command="ps",
            process={"pid": 777, "command": "agent serve"},
        ),
        event(
            NOW - 60,
            "scope_synced",
            resolved="zentygo",
            reason=None,
            action=None,
            command="sync",
            direction="runtime-to-local",
            target="local",
            before="workout",
            after="zentygo",
            verified=True,
        ),
    ]
    write(log_file.with_name("drift.jsonl.1"), *old)
    write(log_file, *recent)
    return old + recent


def body_lines(result):
    return [line for line in result.stdout.splitlines()[1:] if line.strip()]


def test_table_newest_last_across_rotated_files(ctx, story):
    result = ctx("log")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["time", "(UTC)", "event", "resolved", "reason", "action", "command"]
    rows = body_lines(result)
    assert len(rows) == 4
    assert rows[0].split()[2:] == ["drift_detected", "zentygo", "local_mismatch", "sync_local", "resolve"]
    assert rows[0].startswith(ts(NOW - 3 * 3600).replace("T", " ").rstrip("Z"))
    assert rows[2].split()[2:] == [
        "drift_detected",
        "workout",
        "process_stale",
        "restart_process",
        "ps",
        "(pid",
        "777)",
    ]
    assert "synced" in rows[3] and "runtime-to-local: workout -> zentygo" in rows[3]
    assert "\x1b[" not in result.stdout


def test_json_prints_the_raw_lines(ctx, story, log_file):
    result = ctx("log", "--json")
    raw = log_file.with_name("drift.jsonl.1").read_text() + log_file.read_text()
    assert result.stdout == raw


def test_filters(ctx, story):
    def pick(*args):
        return [json.loads(x)["ts"] for x in ctx("log", "--json", *args).stdout.splitlines()]

    stamps = [e["ts"] for e in story]
    assert pick("--since", "2h") == stamps[1:]
    assert pick("--since", ts(NOW - 1800)) == stamps[2:]
    assert pick("--event", "scope_synced") == stamps[3:]
    assert pick("--event", "synced", "--event", "drift_detected", "--tail", "2") == stamps[2:]
    assert pick("--scope", "workout") == stamps  # local_scope / before
    assert pick("--scope", "zentygo", "--event", "scope_drift_detected") == stamps[:2]
    assert pick("--tail", "1") == stamps[3:]
    assert pick("--tail", "0") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since 'yesterday'"),
        (["--event", "scope_exploded"], "no such event"),
        (["--tail", "-1"], "--tail"),
    ],
)
def test_usage_errors_exit_2(ctx, story, args, message):
    result = ctx("log", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_malformed_lines_are_counted_with_a_warning(ctx, log_file):
    write(log_file, event(NOW - 10), "{not json", "[1, 2]", event(NOW - 5), '{"ts": "20')
    result = ctx("log")
    assert result.returncode == 0
    assert len(body_lines(result)) == 2
    assert "warning: skipped 3 malformed lines of the drift log" in result.stderr
    assert "line 2, 3, 5" in result.stderr
    tail = ctx("log", "--tail", "5", "--json")
    assert len(tail.stdout.splitlines()) == 2 and "skipped 3 malformed" in tail.stderr


def test_an_event_name_that_is_not_a_string_is_shown_not_a_traceback(ctx, log_file):
    write(log_file, event(NOW - 10, name=["x"]), event(NOW - 5, name=7))
    result = ctx("log")
    assert result.returncode == 0, result.stderr
    assert len(body_lines(result)) == 2
    filtered = ctx("log", "--event", "scope_synced")
    assert filtered.returncode == 0, filtered.stderr
    assert "no events match" in filtered.stdout


def test_no_log_yet_and_nothing_matching(ctx, log_file):
    result = ctx("log")
    assert result.returncode == 0 and f"no drift log yet at {log_file}" in result.stdout
    write(log_file, event(NOW))
    assert "no events match" in ctx("log", "--event", "scope_repaired").stdout
    assert ctx("log", "--json", "--event", "scope_repaired").stdout == ""


def test_log_path_from_config(ctx, project, user_config, tmp_path):
    custom = tmp_path / "elsewhere" / "events.jsonl"
    user_config.write_text(f'[log]\npath = "{custom}"\n')
    write(custom, event(NOW))
    assert len(ctx("log", "--json").stdout.splitlines()) == 1


# --- the installed command ----------------------------------------------------------------


def test_installed_tail_of_a_large_log(ctx, log_file):
    # 300,000 events: --tail reads the end of the file, not the whole of it.
    template = json.dumps(event(0)).replace(ts(0), "{ts}")
    log_file.parent.mkdir(parents=True)
    base = NOW - 400_000
    with open(log_file, "w") as fh:
        for start in range(0, 300_000, 10_000):
            fh.write(
                "".join(template.replace("{ts}", ts(base + i)) + "\n" for i in range(start, start + 10_000))
            )
    result = ctx("log", "--tail", "5", "--json")
    assert result.returncode == 0
    assert [json.loads(x)["ts"] for x in result.stdout.splitlines()] == [
        ts(base + i) for i in range(299_995, 300_000)
    ]
    table = ctx("log", "--tail", "5")
    assert len(body_lines(table)) == 5
    since = ctx("log", "--since", ts(base + 299_998), "--json")
    assert len(since.stdout.splitlines()) == 2


class Lines:
    """Read a child's stdout line by line, failing (not hanging) when nothing comes."""

    def __init__(self, stream):
        self.stream = stream

    def next(self, seconds=20.0) -> str:
        box: list = []
        t = threading.Thread(target=lambda: box.append(self.stream.readline()), daemon=True)
        t.start()
        t.join(seconds)
        assert box and box[0], "ctxscope log --follow printed nothing"
        return box[0]


@pytest.fixture
def follower():
    started = []

    def start(*args):
        proc = subprocess.Popen(
            ["ctxscope", "log", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        started.append(proc)
        return Lines(proc.stdout)

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_installed_follow(log_file, follower):
    write(log_file, event(NOW - 100), event(NOW - 50))
    out = follower("--follow", "--json", "--tail", "1")
    assert json.loads(out.next())["ts"] == ts(NOW - 50)  # --tail 1 first
    write(log_file, event(NOW, "scope_repaired", reason=None, action=None))
    assert json.loads(out.next())["event"] == "scope_repaired"
    write(log_file, event(NOW, "scope_unresolved", reason=None, action=None))
    assert json.loads(out.next())["event"] == "scope_unresolved"


def test_installed_follow_table_rows_line_up(log_file, follower):
    write(log_file, event(NOW - 100))
    out = follower("-f", "--event", "drift_detected")
    header, first = out.next(), out.next()
    write(log_file, event(NOW, "scope_synced", reason=None, action=None), event(NOW, resolved="workout"))
    second = out.next()
    assert "workout" in second  # the synced event was filtered out
    assert header.index("event") == first.index("drift_detected") == second.index("drift_detected")
    assert header.index("command") == first.index("status") == second.index("status")


def test_a_log_that_cannot_be_read_is_a_warning(ctx, log_file):
    log_file.mkdir(parents=True)  # a directory where the log should be
    write(log_file.with_name("drift.jsonl.1"), event(NOW))
    result = ctx("log")
    assert result.returncode == 0
    assert f"warning: cannot read the drift log {log_file}" in result.stderr
    assert len(body_lines(result)) == 1  # the rotated file still reads
