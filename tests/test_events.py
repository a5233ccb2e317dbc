"""The drift log: schema, de-duplication, rotation, permissions, failures as warnings."""

from __future__ import annotations

import json
import os
import stat

from ctxscope.resolver import resolve


def drift(project, monkeypatch, env_value="zentygo"):
    monkeypatch.setenv("CTX_SCOPE", env_value)
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')


def test_event_fields_and_modes(project, monkeypatch, events, log_file):
    drift(project, monkeypatch)
    resolve(command="status")
    [event] = events()
    assert event["command"] == "status" and event["pid"] == os.getpid()
    assert event["drift_snapshot"]["source_precedence"] == ["runtime", "local", "cloud", "fallback"]
    assert stat.S_IMODE(os.stat(log_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(log_file.parent).st_mode) == 0o700


def test_dedupe_within_window_but_not_when_anything_changes(project, monkeypatch, events):
    drift(project, monkeypatch)
    for _ in range(5):
        resolve()
    assert len(events()) == 1
    monkeypatch.setenv("CTX_SCOPE", "other")
    resolve()
    assert len(events()) == 2


def test_dedupe_window_zero_logs_every_time(project, monkeypatch, events, user_config):
    user_config.write_text("[log]\ndedupe_seconds = 0\n")
    drift(project, monkeypatch)
    resolve()
    resolve()
    assert len(events()) == 2


def test_synced_logs_nothing(project, monkeypatch, log_file):
    drift(project, monkeypatch, "workout")
    resolve()
    assert not log_file.exists()


def test_invalid_value_escaped_in_snapshot_and_null_in_field(project, monkeypatch, events):
    monkeypatch.setenv("CTX_SCOPE", "bad\x1bvalue" + "x" * 300)
    resolve()
    [event] = events()
    assert event["runtime_scope"] is None
    shown = event["drift_snapshot"]["invalid"]["runtime"]
    assert shown.startswith("bad\\x1bvalue") and len(shown) == 128


def test_rotation_by_size(project, monkeypatch, user_config, log_file):
    user_config.write_text("[log]\nmax_bytes = 600\nkeep = 2\ndedupe_seconds = 0\n")
    drift(project, monkeypatch)
    for _ in range(8):
        resolve()
    assert log_file.exists() and (log_file.parent / "drift.jsonl.1").exists()
    assert not (log_file.parent / "drift.jsonl.3").exists()
    for path in log_file.parent.glob("drift.jsonl*"):
        if not path.name.endswith(".lock"):
            for line in path.read_text().splitlines():
                json.loads(line)


def test_log_failure_is_a_warning_not_a_crash(project, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("CTXSCOPE_LOG", str(blocker / "drift.jsonl"))
    drift(project, monkeypatch)
    res = resolve()
    assert res.resolved_scope == "zentygo"
    assert any("could not write the drift log" in w for w in res.warnings)


def test_ctxscope_log_env_wins(project, monkeypatch, tmp_path):
    target = tmp_path / "custom" / "log.jsonl"
    monkeypatch.setenv("CTXSCOPE_LOG", str(target))
    drift(project, monkeypatch)
    resolve()
    assert json.loads(target.read_text())["event"] == "scope_drift_detected"


def test_relative_log_path_is_relative_to_the_config_file(project, monkeypatch, user_config):
    user_config.write_text('[log]\npath = "logs/drift.jsonl"\n')
    drift(project, monkeypatch)
    elsewhere = project / "sub"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    resolve()
    assert (user_config.parent / "logs" / "drift.jsonl").exists()
    assert not (elsewhere / "logs").exists()
