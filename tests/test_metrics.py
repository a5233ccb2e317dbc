"""Prometheus metrics: `ctxscope metrics` checked by the real promtool, the values for each
state, and event counts read from the drift log incrementally across rotation."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time

import pytest

from ctxscope import metrics

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (Debian package prometheus)"
)


def samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value for every sample line."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def event_line(name="scope_drift_detected", reason="local_mismatch", ts=None) -> str:
    ts = ts or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return (
        json.dumps({"ts": ts, "event": name, "reason": reason, "resolved_scope": "demo", "host": "box"})
        + "\n"
    )


@needs_promtool
def test_promtool_accepts_real_output(ctx, project, cloud, monkeypatch, log_file):
    (project / ".ctxscope.toml").write_text('scope = "demo"\n')
    cloud.scope = "other"
    cloud.access = {"demo": "read"}
    monkeypatch.setenv("CTX_SCOPE", "runtime")  # drift, an event in the log, a denied scope
    assert ctx("status", cwd=project).returncode == 0
    done = ctx("metrics", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "ctxscope_drift_events_total" in done.stdout
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=done.stdout, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_values_for_a_drifted_host(ctx, project, cloud, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "local"\n')
    cloud.scope = "local"
    cloud.access = {"runtime": "read"}
    monkeypatch.setenv("CTX_SCOPE", "runtime")
    found = samples(ctx("metrics", cwd=project).stdout)
    assert found['ctxscope_state{state="DRIFTED"}'] == 1
    assert sum(v for k, v in found.items() if k.startswith("ctxscope_state{")) == 1
    assert found['ctxscope_resolved_info{scope="runtime",source="runtime"}'] == 1
    assert found["ctxscope_authorized"] == 1
    assert found["ctxscope_cloud_up"] == 1
    assert found['ctxscope_drift{reason="local_mismatch"}'] == 1
    assert found['ctxscope_drift{reason="cloud_mismatch"}'] == 1
    assert found['ctxscope_drift{reason="runtime_invalid"}'] == 0
    # The metrics run itself resolved and logged the drift (command "metrics").
    assert found['ctxscope_drift_events_total{event="scope_drift_detected",reason="local_mismatch"}'] == 1
    assert "ctxscope_stale_processes" in found


def test_denied_cloud_down_and_no_cloud(ctx, project, cloud, monkeypatch, dead_url):
    (project / ".ctxscope.toml").write_text('scope = "demo"\n')
    cloud.scope = "demo"
    found = samples(ctx("metrics", cwd=project).stdout)
    assert found['ctxscope_state{state="UNAUTHORIZED"}'] == 1
    assert found["ctxscope_authorized"] == 0

    found = samples(ctx("metrics", cwd=project, env={**os.environ, "CTXSCOPE_CLOUD_URL": dead_url}).stdout)
    assert found['ctxscope_state{state="DEGRADED"}'] == 1
    assert found["ctxscope_cloud_up"] == 0
    assert "ctxscope_authorized" not in found  # unknown: no sample rather than a guess

    monkeypatch.delenv("CTXSCOPE_CLOUD_URL")
    found = samples(ctx("metrics", cwd=project).stdout)
    assert found['ctxscope_state{state="SYNCED"}'] == 1
    assert "ctxscope_cloud_up" not in found and "ctxscope_authorized" not in found


def test_output_file_is_replaced_atomically(ctx, project, tmp_path):
    (project / ".ctxscope.toml").write_text('scope = "demo"\n')
    textfile_dir = tmp_path / "textfile"
    textfile_dir.mkdir()
    target = textfile_dir / "ctxscope.prom"
    target.write_text("old\n")
    inode = target.stat().st_ino
    done = ctx("metrics", "--output", str(target), cwd=project)
    assert (done.returncode, done.stdout) == (0, "")
    assert 'ctxscope_state{state="SYNCED"} 1.0' in target.read_text()
    assert target.stat().st_ino != inode  # a new file renamed over the old one
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # node_exporter can read it
    assert sorted(p.name for p in textfile_dir.iterdir()) == ["ctxscope.prom"]  # no temp left


def test_output_into_a_missing_directory_is_one_line(ctx, project, tmp_path):
    done = ctx("metrics", "--output", str(tmp_path / "nope" / "x.prom"), cwd=project)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_without_prometheus_client_one_line_and_exit_1(project):
    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "from ctxscope._entry import main\nmain(['metrics'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr == (
        "ctxscope: error: ctxscope metrics needs prometheus_client (pip install 'ctxscope[metrics]')\n"
    )


def test_the_default_registry_is_left_alone(project):
    import prometheus_client

    from ctxscope.health import take_snapshot

    (project / ".ctxscope.toml").write_text('scope = "demo"\n')
    text = metrics.exposition(take_snapshot()).decode()
    assert "ctxscope_state" in text
    assert "ctxscope_state" not in prometheus_client.generate_latest().decode()


# -- event counts from the log, incrementally ------------------------------------------


def counts(log) -> dict:
    return dict(metrics.read_events(str(log)).counts)


def test_counts_are_read_incrementally(log_file):
    log_file.parent.mkdir(parents=True)
    log_file.write_text(event_line() * 3 + event_line("scope_synced", None))
    assert counts(log_file) == {("scope_drift_detected", "local_mismatch"): 3, ("scope_synced", "none"): 1}
    # Nothing new: the same counts, and the file is not read again from the start.
    with open(metrics.checkpoint_path(str(log_file))) as fh:
        checkpoint = json.load(fh)
    assert checkpoint["offset"] == log_file.stat().st_size
    assert counts(log_file)[("scope_drift_detected", "local_mismatch")] == 3
    with open(log_file, "a") as fh:
        fh.write(event_line("scope_unauthorized", "scope_unauthorized"))
        fh.write('{"ts": "2026-01-01T00:00:00Z", "event": "scope_drift_det')  # being written
    found = counts(log_file)
    assert found[("scope_unauthorized", "scope_unauthorized")] == 1
    assert found[("scope_drift_detected", "local_mismatch")] == 3
    with open(log_file, "a") as fh:
        fh.write('ected", "reason": "cloud_mismatch"}\n')  # the rest of the line arrives
    assert counts(log_file)[("scope_drift_detected", "cloud_mismatch")] == 1


def test_counts_follow_rotation(log_file):
    log_file.parent.mkdir(parents=True)
    log_file.write_text(event_line() * 2)
    assert counts(log_file) == {("scope_drift_detected", "local_mismatch"): 2}
    with open(log_file, "a") as fh:
        fh.write(event_line())  # written before the rotation, not yet counted
    os.replace(log_file, str(log_file) + ".1")
    log_file.write_text(event_line("scope_repaired", None) * 2)
    assert counts(log_file) == {("scope_drift_detected", "local_mismatch"): 3, ("scope_repaired", "none"): 2}
    # Rotated twice more: the checkpointed file is now .3; it is gone at the next turn.
    os.replace(str(log_file) + ".1", str(log_file) + ".2")
    os.replace(log_file, str(log_file) + ".1")
    log_file.write_text(event_line())
    assert counts(log_file)[("scope_drift_detected", "local_mismatch")] == 4


def test_a_truncated_log_is_read_from_its_start(log_file):
    log_file.parent.mkdir(parents=True)
    log_file.write_text(event_line() * 4)
    counts(log_file)
    log_file.write_text(event_line("scope_synced", None))  # same inode, shorter
    assert counts(log_file) == {("scope_drift_detected", "local_mismatch"): 4, ("scope_synced", "none"): 1}


def test_odd_lines_cannot_make_new_series(log_file):
    log_file.parent.mkdir(parents=True)
    log_file.write_text(
        "not json\n"
        + json.dumps({"event": "x" * 500, "reason": "Robert'); DROP"})
        + "\n"
        + json.dumps({"event": ["list"], "reason": 7})
        + "\n"
        + json.dumps([1, 2])
        + "\n"
    )
    assert counts(log_file) == {("other", "other"): 2}


def test_last_sync_is_the_newest_sync_or_repair(log_file):
    log_file.parent.mkdir(parents=True)
    log_file.write_text(
        event_line("scope_synced", None, "2026-11-24T10:00:00Z")
        + event_line("scope_repaired", None, "2026-11-24T12:00:00Z")
        + event_line("scope_drift_detected", "local_mismatch", "2026-11-24T13:00:00Z")
    )
    assert metrics.read_events(str(log_file)).last_sync == 1795521600.0
