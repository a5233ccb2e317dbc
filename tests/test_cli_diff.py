"""`ctxscope diff`: drifted sources against the resolved scope; 3 on drift, 0 in sync."""

from __future__ import annotations

import json


def test_drift_reads_like_a_diff_and_exits_3(ctx, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    result = ctx("diff")
    assert result.returncode == 3
    out = result.stdout.splitlines()
    assert "-workout" in out and "+zentygo" in out
    assert any(line.startswith("--- local") and ".ctxscope.toml:1" in line for line in out)
    assert any("local_mismatch" in line for line in out)


def test_in_sync_exits_0(ctx, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "workout")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    result = ctx("diff")
    assert result.returncode == 0
    assert "no drift" in result.stdout


def test_json_and_unresolved_code(ctx, project):
    result = ctx("diff", "--json")
    assert result.returncode == 5
    assert json.loads(result.stdout)["state"] == "UNRESOLVED"
