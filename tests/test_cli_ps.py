"""`ctxscope ps` (and what `status` says about stale processes), through the installed command.

Real sleeping children with known environments and working directories; /proc
also shows other processes of this user, so every assertion names our pids
(or restricts the scan with --pid).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ctxscope import procs

pytestmark = pytest.mark.skipif(not procs.supported(), reason="reads /proc (Linux only)")


@pytest.fixture
def incident(project):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    return project


def pid_args(*children):
    return [a for c in children for a in ("--pid", str(c.pid))]


def test_json_list_by_pid(ctx, incident, spawn):
    stale, current, none = spawn(incident, "zentygo"), spawn(incident, "workout"), spawn(incident)
    result = ctx("ps", "--json", *pid_args(stale, current, none))
    assert result.returncode == 0
    rows = {row["pid"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {stale.pid, current.pid}
    want = {
        "pid": stale.pid,
        "command": "sleep 300",
        "scope": "zentygo",
        "expected": "workout",
        "stale": True,
        "state": "stale",
        "cwd": str(incident),
        "variable": "CTX_SCOPE",
    }
    assert want.items() <= rows[stale.pid].items()
    assert (rows[current.pid]["stale"], rows[current.pid]["expected"]) == (False, "workout")
    assert "holding CTX_SCOPE" in result.stderr  # the --pid with none


def test_check_exits_3_on_stale_only(ctx, incident, spawn):
    stale, current = spawn(incident, "zentygo"), spawn(incident, "workout")
    assert ctx("ps", "--check", *pid_args(current)).returncode == 0
    assert ctx("ps", "--check", *pid_args(stale, current)).returncode == 3
    assert ctx("ps", *pid_args(stale)).returncode == 0  # without --check it only reports


def test_table_and_fix_line(ctx, incident, spawn):
    stale, current = spawn(incident, "zentygo"), spawn(incident, "workout")
    result = ctx("ps", *pid_args(stale, current))
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["pid", "started", "(UTC)", "scope", "expected", "state", "cwd", "command"]
    stale_line = next(line for line in lines if line.lstrip().startswith(str(stale.pid)))
    assert "zentygo" in stale_line and "workout (local)" in stale_line and " stale " in stale_line
    assert str(incident) in stale_line and "sleep 300" in stale_line
    current_line = next(line for line in lines if line.lstrip().startswith(str(current.pid)))
    assert " current " in current_line
    summary = next(line for line in lines if line.startswith("STALE"))
    assert f"pid {stale.pid}" in summary and f"kill {stale.pid}" in summary
    assert "\x1b[" not in result.stdout


def test_stale_process_event(ctx, incident, spawn, events):
    stale = spawn(incident, "zentygo")
    ctx("ps", *pid_args(stale))
    ctx("ps", "--json", *pid_args(stale))  # the same process again: not logged twice
    (e,) = events()
    assert (e["event"], e["reason"], e["action_required"], e["command"]) == (
        "scope_drift_detected",
        "process_stale",
        "restart_process",
        "ps",
    )
    assert e["process"]["pid"] == stale.pid and e["process"]["command"] == "sleep 300"


def test_nothing_to_show(ctx, incident, spawn):
    none = spawn(incident)
    result = ctx("ps", *pid_args(none))
    assert result.returncode == 0
    assert "no process of this user working in" in result.stdout
    assert "holds CTX_SCOPE" in result.stdout
    assert ctx("ps", "--json", *pid_args(none)).stdout.strip() == "[]"


def test_not_supported_on_other_platforms(monkeypatch):
    # In-process: a subprocess would not see the patched platform.
    from typer.testing import CliRunner

    from ctxscope.cli import app

    monkeypatch.setattr(procs.sys, "platform", "darwin")
    result = CliRunner().invoke(app, ["ps"])
    assert result.exit_code == 1
    assert "not supported on this platform" in result.stderr
    assert "Traceback" not in result.stderr


# --- status mentions stale processes --------------------------------------------------


def test_status_mentions_stale_processes(ctx, incident, spawn, events):
    stale = spawn(incident, "zentygo")
    result = ctx("status")
    assert result.returncode == 0
    assert "STALE PROCESSES" in result.stdout
    # The table lists five; other stale processes on a busy machine may push ours out.
    assert f"pid {stale.pid}" in result.stdout or "more" in result.stdout
    assert "ctxscope ps" in result.stdout
    data = json.loads(ctx("status", "--json").stdout)
    assert data["state"] == "SYNCED"  # the files agree; the process is what is stale
    assert stale.pid in {p["pid"] for p in data["processes"]["stale"]}
    assert events() == []  # status reports; `ps` is what logs a stale process


def test_status_says_nothing_without_stale_processes(ctx, incident, spawn):
    current = spawn(incident, "workout")
    result = ctx("status", "--json")
    data = json.loads(result.stdout)
    assert current.pid not in {p["pid"] for p in data["processes"]["stale"]}
    assert {"checked", "stale", "unreadable"} <= set(data["processes"])


# --- the installed command -------------------------------------------------------------


def test_installed_ps(ctx, incident, spawn, events):
    stale, current = spawn(incident, "zentygo"), spawn(incident, "workout")
    result = ctx("ps", "--json", "--check", *pid_args(stale, current), cwd=incident)
    assert result.returncode == 3
    rows = {row["pid"]: row for row in json.loads(result.stdout)}
    assert rows[stale.pid]["stale"] and not rows[current.pid]["stale"]
    assert [e["process"]["pid"] for e in events()] == [stale.pid]
    table = ctx("ps", *pid_args(stale, current), cwd=incident)
    assert table.returncode == 0 and "STALE" in table.stdout and "Traceback" not in table.stderr


def test_installed_status_leaves_out_its_own_parents(incident, spawn, tmp_path):
    # A shell started with the old value runs `ctxscope status`: the shell is an
    # ancestor (its scope is status's own runtime row), a sibling worker is not.
    sibling = spawn(incident, "zentygo")
    out = tmp_path / "status.json"
    shell = subprocess.run(
        ["bash", "-c", f'ctxscope status --json > "{out}"; exit $?'],
        cwd=str(incident),
        env={**os.environ, "CTX_SCOPE": "zentygo"},
        timeout=60,
    )
    assert shell.returncode == 0
    data = json.loads(out.read_text())
    assert data["state"] == "DRIFTED" and data["resolved_scope"] == "zentygo"
    stale = {p["pid"] for p in data["processes"]["stale"]}
    assert sibling.pid in stale
    assert not any(
        p["command"].startswith("bash -c") for p in data["processes"]["stale"] if p["cwd"] == str(incident)
    )


def test_installed_token_never_shown(ctx, incident, spawn):
    token = "tok-SECRET-123"
    p = spawn(
        incident,
        "zentygo",
        env={"CTXSCOPE_TOKEN": token},
        argv=[sys.executable, "-c", "import time; time.sleep(300)", token],
    )
    result = ctx("ps", "--json", *pid_args(p), cwd=incident, env={**os.environ, "CTXSCOPE_TOKEN": token})
    assert token not in result.stdout + result.stderr
    assert json.loads(result.stdout)[0]["command"].endswith("***")
