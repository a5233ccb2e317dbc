"""`ctxscope status`: table, summary line, --json contract, --check exit codes."""

from __future__ import annotations

import json

import pytest

JSON_KEYS = {"state", "resolved_scope", "resolved_from", "authorized", "reasons", "actions", "sources"}


def test_table_marks_winner_and_names_fix(ctx, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    result = ctx("status")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    runtime_line = next(line for line in lines if "runtime" in line)
    local_line = next(line for line in lines if line.strip().startswith("local"))
    assert runtime_line.lstrip().startswith("▶")
    assert "zentygo" in runtime_line and "env CTX_SCOPE" in runtime_line
    assert "workout" in local_line and ".ctxscope.toml:1" in local_line and "drifted" in local_line
    summary = next(line for line in lines if line.startswith("DRIFTED"))
    assert "ctxscope sync --direction runtime-to-local" in summary
    assert 'eval "$(ctxscope repair --to workout --shell bash)"' in summary
    assert "\x1b[" not in result.stdout  # not a terminal: no escape codes


def test_json_contract(ctx, project, monkeypatch, cloud):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "write"}
    result = ctx("status", "--json")
    data = json.loads(result.stdout)
    assert set(data) >= JSON_KEYS
    assert data["state"] == "DRIFTED"
    assert data["authorized"] is True
    assert [s["source"] for s in data["sources"]] == ["runtime", "local", "cloud", "fallback"]
    for row in data["sources"]:
        assert {"source", "value", "origin", "state"} <= set(row)
    assert data["reasons"] == ["local_mismatch"] and data["actions"] == ["sync_local"]


@pytest.mark.parametrize(
    ("setup", "state", "code"),
    [
        ("synced", "SYNCED", 0),
        ("drifted", "DRIFTED", 3),
        ("unresolved", "UNRESOLVED", 5),
        ("invalid", "INVALID", 1),
    ],
)
def test_check_exit_codes(ctx, project, monkeypatch, setup, state, code):
    if setup in ("synced", "drifted"):
        (project / ".ctxscope.toml").write_text('scope = "workout"\n')
        monkeypatch.setenv("CTX_SCOPE", "workout" if setup == "synced" else "other")
    if setup == "invalid":
        (project / ".ctxscope.toml").write_text("scope = \n")
    plain = ctx("status", "--json")
    assert plain.returncode == 0  # status exits 0 whenever it could show the state
    assert json.loads(plain.stdout)["state"] == state
    checked = ctx("status", "--check")
    assert checked.returncode == code


def test_check_unauthorized_and_degraded(ctx, project, monkeypatch, cloud, dead_url):
    monkeypatch.setenv("CTX_SCOPE", "hidden")
    assert ctx("status", "--check").returncode == 4
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    result = ctx("status", "--check")
    assert result.returncode == 6
    assert "DEGRADED" in result.stdout


def test_broken_file_still_shows_every_row(ctx, project):
    (project / ".ctxscope.toml").write_text('scope = "ok"\n[cloud\n')
    result = ctx("status")
    assert result.returncode == 0
    for name in ("runtime", "local", "cloud", "fallback"):
        assert name in result.stdout
    assert "unreadable" in result.stdout
    assert "INVALID" in result.stdout
    assert ".ctxscope.toml:2:" in result.stdout


def test_no_color_and_force_color(ctx, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in ctx("status").stdout
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR")
    assert "\x1b[" not in ctx("status").stdout


def test_warnings_go_to_stderr(ctx, project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "a"\n[log]\npath = "/tmp/elsewhere.jsonl"\n')
    result = ctx("status", "--json")
    assert "not trusted" in result.stderr
    json.loads(result.stdout)  # stdout stays pure JSON


def test_json_keys_are_pinned(ctx, project, monkeypatch):
    """The documented `status --json` / `diff --json` keys: adding one means documenting it."""
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    documented = {
        "schema_version",
        "state",
        "resolved_scope",
        "resolved_from",
        "authorized",
        "authorization",
        "reasons",
        "actions",
        "problems",
        "sources",
        "source_precedence",
        "mode",
        "fix",
        "fixes",
        "error",
        "warnings",
        "cwd",
        "observed",
    }
    status_keys = set(json.loads(ctx("status", "--json").stdout))
    assert status_keys == documented | {"processes"}
    diff_keys = set(json.loads(ctx("diff", "--json").stdout))
    assert diff_keys == documented
