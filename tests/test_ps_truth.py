"""`ps` and `status` tell the truth: shells are never stale, ctxscope's own pipeline is
never listed or logged, and both look at the current repository unless asked (`--all`).

Everything runs through the installed command in a real shell, the way a user types it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from ctxscope import procs

pytestmark = pytest.mark.skipif(not procs.supported(), reason="reads /proc (Linux only)")


def sh(script, *, cwd, env=None, job_control=False):
    """Run `script` in a real bash; with `job_control`, as an interactive shell runs
    pipelines (each in a process group of its own)."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    prefix = "set -m\n" if job_control else ""
    return subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", prefix + script],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def repo(tmp_path):
    """A repository whose file now says `workout`."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / ".ctxscope.toml").write_text('scope = "workout"\n')
    return root


def ps_json(cwd, *args, env=None):
    result = sh("ctxscope ps --json " + " ".join(args), cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr
    return {p["pid"]: p for p in json.loads(result.stdout)}


def test_a_shell_is_shown_as_a_shell_never_stale(repo, spawn, events):
    """The user's shell ran the repair: /proc still shows the value it started with."""
    shell = spawn(repo, "zentygo", argv=["bash", "-c", "sleep 300; true"])
    agent = spawn(repo, "zentygo")
    rows = ps_json(repo)
    assert rows[shell.pid]["state"] == "shell" and rows[shell.pid]["stale"] is False
    assert rows[shell.pid]["problem"] == "shell: environment at start, may have changed"
    assert rows[agent.pid]["state"] == "stale"
    table = sh("ctxscope ps --check", cwd=repo)
    assert table.returncode == 3  # the agent, not the shell
    assert "shell: environment at start, may have changed" in table.stdout
    kill = next(line for line in table.stdout.splitlines() if line.startswith("STALE"))
    assert str(agent.pid) in kill and str(shell.pid) not in kill  # no kill advice for a shell
    logged = {e["process"]["pid"] for e in events() if e.get("reason") == "process_stale"}
    # (the shell's own child, `sleep`, inherited the value and is stale like the agent)
    assert agent.pid in logged and shell.pid not in logged


@pytest.mark.parametrize("name", ["zsh", "fish", "dash", "sh"])
def test_every_kind_of_shell_is_a_shell(repo, spawn, name):
    if shutil.which(name) is None:
        pytest.skip(f"{name} is not installed")
    shell = spawn(repo, "zentygo", argv=[name, "-c", "sleep 300; true"])
    assert ps_json(repo)[shell.pid]["state"] == "shell"


def test_status_never_counts_a_shell(repo, spawn):
    shell = spawn(repo, "zentygo", argv=["bash", "-c", "sleep 300; true"])
    data = json.loads(sh("ctxscope status --json", cwd=repo).stdout)
    assert shell.pid not in {p["pid"] for p in data["processes"]["stale"]}
    assert data["processes"]["shells"] >= 1


@pytest.mark.parametrize("job_control", [False, True], ids=["script", "interactive"])
def test_the_pipeline_partner_is_never_listed_or_logged(repo, events, job_control):
    """`ctxscope ps | cat` with a stale CTX_SCOPE in the environment: `cat` holds it too."""
    result = sh(
        "ctxscope ps --json | cat; ctxscope ps | cat; ctxscope status --json | cat",
        cwd=repo,
        env={"CTX_SCOPE": "zentygo"},
        job_control=job_control,
    )
    listed, _, rest = result.stdout.partition("\n]\n")
    rows = json.loads(listed + "\n]")
    commands = [r["command"] for r in rows]
    assert not any(c == "cat" for c in commands), commands
    assert "cat" not in [line.split()[-1] for line in rest.splitlines() if line[:1].isdigit()]
    assert not [e for e in events() if e.get("reason") == "process_stale"]


def test_ps_defaults_to_the_current_repository(repo, tmp_path, spawn):
    other = tmp_path / "other"
    (other / ".git").mkdir(parents=True)
    (other / ".ctxscope.toml").write_text('scope = "other"\n')
    here = spawn(repo / ".git", "zentygo")  # a subdirectory counts
    there = spawn(other, "zentygo")
    rows = ps_json(repo)
    assert here.pid in rows and there.pid not in rows
    pids = f"--pid {here.pid} --pid {there.pid}"
    assert set(ps_json(repo, pids)) == {here.pid}  # --pid looks inside the repository too
    everywhere = ps_json(repo, "--all", pids)
    assert set(everywhere) == {here.pid, there.pid}
    assert everywhere[there.pid]["state"] == "stale"
    table = sh("ctxscope ps", cwd=repo).stdout
    assert f"processes working in {repo}" in table and "ctxscope ps --all" in table


def test_status_notes_stale_processes_of_this_repository_only(repo, tmp_path, spawn):
    other = tmp_path / "other"
    (other / ".git").mkdir(parents=True)
    (other / ".ctxscope.toml").write_text('scope = "other"\n')
    there = spawn(other, "zentygo")
    data = json.loads(sh("ctxscope status --json", cwd=repo).stdout)
    assert there.pid not in {p["pid"] for p in data["processes"]["stale"]}
    assert data["processes"]["root"] == str(repo)
    assert "STALE PROCESSES" not in sh("ctxscope status", cwd=repo).stdout
    here = spawn(repo, "zentygo")
    text = sh("ctxscope status", cwd=repo).stdout
    assert "STALE PROCESSES" in text and f"pid {here.pid}" in text


def test_an_empty_repository_says_where_it_looked(repo):
    result = sh("ctxscope ps", cwd=repo)
    assert result.returncode == 0
    assert f"working in {repo}" in result.stdout and "--all" in result.stdout
