"""`ctxscope sync`: options, refusals and exit codes, the prompt (a real pseudo-terminal)
and 16 concurrent writers, through the installed command. Writers killed mid-write:
tests/test_hardening_races.py."""

from __future__ import annotations

import json
import os
import subprocess
import time
import tomllib

import pytest

PROJECT_TEXT = """# Memory scope for this repository
scope = "workout"   # the project we work on

# who may write what
[policy]
mode = "local"   # rollout step 2
"""


@pytest.fixture
def repo(project):
    path = project / ".ctxscope.toml"
    path.write_text(PROJECT_TEXT)
    return path


def test_direction_is_required(ctx, repo):
    result = ctx("sync", "--yes")
    assert result.returncode == 2
    assert "--direction" in result.stdout + result.stderr
    assert repo.read_text() == PROJECT_TEXT


def test_unknown_direction_is_a_usage_error(ctx, repo):
    result = ctx("sync", "--direction", "local-to-runtime", "--yes")
    assert result.returncode == 2
    assert "runtime-to-local" in result.stdout + result.stderr


def test_help_lists_the_directions(ctx):
    result = ctx("sync", "--help")
    assert result.returncode == 0
    assert "runtime-to-local|resolved-to-cloud" in result.stdout
    for option in ("--dry-run", "--yes", "--json", "--scope"):
        assert option in result.stdout


def test_without_a_terminal_and_without_yes_nothing_is_written(ctx, repo, monkeypatch, events):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("sync", "--direction", "runtime-to-local")
    assert result.returncode == 2
    assert "pass --yes" in result.stderr
    assert "no terminal" in result.stderr
    assert repo.read_text() == PROJECT_TEXT
    assert not [e for e in events() if e["event"] == "scope_synced"]


def test_dry_run_prints_the_plan_and_writes_nothing(ctx, repo, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("sync", "--direction", "runtime-to-local", "--dry-run")
    assert result.returncode == 0
    assert f"local    {repo}  'workout' -> 'zentygo'" in result.stdout
    assert "dry run: nothing was written" in result.stdout
    assert repo.read_text() == PROJECT_TEXT


def test_yes_writes_verifies_logs_and_says_how_to_undo(ctx, repo, monkeypatch, events):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("sync", "--direction", "runtime-to-local", "--yes")
    assert result.returncode == 0, result.stderr
    assert "read back: ok" in result.stdout
    assert "to undo: ctxscope sync --direction runtime-to-local --scope workout --yes" in result.stdout
    assert repo.read_text() == PROJECT_TEXT.replace('"workout"', '"zentygo"')
    [event] = [e for e in events() if e["event"] == "scope_synced"]
    assert (event["before"], event["after"], event["verified"]) == ("workout", "zentygo", True)

    # going back with the log's `before`
    back = ctx("sync", "--direction", "runtime-to-local", "--scope", event["before"], "--yes")
    assert back.returncode == 0
    assert repo.read_text() == PROJECT_TEXT


def test_in_sync_exits_0_and_logs_nothing(ctx, repo, monkeypatch, events):
    monkeypatch.setenv("CTX_SCOPE", "workout")
    result = ctx("sync", "--direction", "runtime-to-local")  # no --yes needed: nothing to write
    assert result.returncode == 0
    assert "in sync" in result.stdout
    assert events() == []


def test_json_object(ctx, repo, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("sync", "--direction", "runtime-to-local", "--yes", "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["command"] == "sync" and data["direction"] == "runtime-to-local"
    assert data["scope"] == "zentygo" and data["result"] == "applied" and data["exit_code"] == 0
    [change] = data["changes"]
    assert {k: change[k] for k in ("source", "target", "before", "after", "status", "verified")} == {
        "source": "local",
        "target": str(repo),
        "before": "workout",
        "after": "zentygo",
        "status": "written",
        "verified": True,
    }
    assert change["undo"].startswith("ctxscope sync --direction runtime-to-local --scope workout")


def test_json_dry_run_and_error(ctx, repo, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    planned = json.loads(ctx("sync", "--direction", "runtime-to-local", "--dry-run", "--json").stdout)
    assert planned["result"] == "planned" and planned["dry_run"] is True
    assert planned["changes"][0]["after"] == "zentygo"
    monkeypatch.delenv("CTX_SCOPE")
    failed = ctx("sync", "--direction", "runtime-to-local", "--json")
    assert failed.returncode == 1
    data = json.loads(failed.stdout)
    assert data["result"] == "failed" and "unset" in data["error"] and data["exit_code"] == 1


def test_runtime_unset_is_exit_1(ctx, repo):
    result = ctx("sync", "--direction", "runtime-to-local", "--yes")
    assert result.returncode == 1
    assert "runtime scope is unset" in result.stderr


def test_observe_mode_refuses_and_names_the_setting(ctx, project, monkeypatch):
    path = project / ".ctxscope.toml"
    path.write_text('scope = "workout"\n\n[policy]\nmode = "observe"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("sync", "--direction", "runtime-to-local", "--yes")
    assert result.returncode == 1
    assert "[policy] mode is 'observe'" in result.stderr
    assert f"{path}:4" in result.stderr
    assert tomllib.loads(path.read_text())["scope"] == "workout"


def test_cloud_sync_refused_in_the_default_mode(ctx, project, cloud):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    result = ctx("sync", "--direction", "resolved-to-cloud", "--yes")
    assert result.returncode == 1
    assert "[policy] mode is 'local' (the default)" in result.stderr
    assert 'mode = "cloud"' in result.stderr
    assert cloud.puts == []


def test_cloud_sync_in_cloud_mode(ctx, project, cloud, events):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    result = ctx("sync", "--direction", "resolved-to-cloud", "--yes")
    assert result.returncode == 0, result.stderr
    assert cloud.scope == "workout"
    assert "to undo: ctxscope sync --direction resolved-to-cloud --scope zentygo --yes" in result.stdout
    assert ctx("diff").returncode == 0
    assert [e["event"] for e in events()][-1] == "scope_synced"


def test_cloud_sync_unauthorized_target_is_exit_4(ctx, project, cloud):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "read"}
    result = ctx("sync", "--direction", "resolved-to-cloud", "--yes")
    assert result.returncode == 4
    assert "write access" in result.stderr
    assert cloud.puts == [] and cloud.scope == "zentygo"


def test_local_sync_with_a_target_the_token_cannot_see_is_exit_4(ctx, repo, cloud, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "secret")
    result = ctx("sync", "--direction", "runtime-to-local", "--yes")
    assert result.returncode == 4
    assert repo.read_text() == PROJECT_TEXT


def test_conflict_is_exit_1_with_both_values(ctx, project, cloud, events):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    cloud.race = "theirs"
    result = ctx("sync", "--direction", "resolved-to-cloud", "--yes")
    assert result.returncode == 1
    assert "'theirs'" in result.stderr and "'workout'" in result.stderr
    assert cloud.scope == "theirs"
    assert [e["event"] for e in events()][-1] == "scope_sync_failed"


def test_read_back_mismatch_is_exit_1(ctx, project, cloud, events):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    cloud.after_put = "sneaky"
    result = ctx("sync", "--direction", "resolved-to-cloud", "--yes")
    assert result.returncode == 1
    assert "read-after-write mismatch" in result.stderr
    failed = [e for e in events() if e["event"] == "scope_sync_failed"]
    assert len(failed) == 1 and failed[0]["verified"] is False


def test_token_never_appears(ctx, project, cloud, monkeypatch, log_file):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n[policy]\nmode = "cloud"\n')
    monkeypatch.setenv("CTXSCOPE_TOKEN", "tok-SECRET-987")
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    cloud.race = "theirs"
    result = ctx("sync", "--direction", "resolved-to-cloud", "--yes", "--json")
    assert "tok-SECRET-987" not in result.stdout + result.stderr
    assert "tok-SECRET-987" not in log_file.read_text()


# The installed command


def test_installed_sync_ends_the_incident(ctx, repo, cloud, events):
    """The walk-through of docs/how-to/reconcile.md: the fix applied, then `diff` exits 0."""
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "write", "workout": "write"}
    env = {**os.environ, "CTX_SCOPE": "zentygo"}
    cwd = str(repo.parent)

    assert ctx("diff", cwd=cwd, env=env).returncode == 3
    done = ctx("sync", "--direction", "runtime-to-local", "--yes", cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    assert "read back: ok" in done.stdout
    assert ctx("diff", cwd=cwd, env=env).returncode == 0
    again = ctx("sync", "--direction", "runtime-to-local", cwd=cwd, env=env)
    assert again.returncode == 0 and "in sync" in again.stdout
    assert [e["event"] for e in events()] == ["scope_drift_detected", "scope_synced"]


def test_installed_refuses_without_a_terminal(ctx, repo):
    env = {**os.environ, "CTX_SCOPE": "zentygo"}
    result = ctx("sync", "--direction", "runtime-to-local", cwd=str(repo.parent), env=env, input="")
    assert result.returncode == 2
    assert "--yes" in result.stderr
    assert "Traceback" not in result.stderr
    assert repo.read_text() == PROJECT_TEXT


def run_in_pty(args, cwd, env, answer, delay=0.0):
    """Run the installed command on a real pseudo-terminal and answer its prompt."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        ["ctxscope", *args], cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True
    )
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"[y/N]" in seen:
                time.sleep(delay)
                os.write(master, answer)
                answered = True
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=30)
    os.close(master)
    return code, seen.decode(errors="replace"), answered


@pytest.mark.parametrize(
    ("answer", "code", "scope"),
    [
        (b"y\n", 0, "zentygo"),
        (b"yes\n", 0, "zentygo"),
        (b"n\n", 1, "workout"),
        (b"\n", 1, "workout"),
    ],
)
def test_prompt_on_a_real_terminal(repo, answer, code, scope, events):
    env = {**os.environ, "CTX_SCOPE": "zentygo"}
    got, output, answered = run_in_pty(
        ["sync", "--direction", "runtime-to-local"], str(repo.parent), env, answer
    )
    assert answered, output
    assert "Write this change? [y/N]" in output
    assert got == code, output
    assert tomllib.loads(repo.read_text())["scope"] == scope
    synced = [e for e in events() if e["event"] == "scope_synced"]
    assert len(synced) == (1 if code == 0 else 0)
    if code:
        assert "declined at the prompt; nothing was written" in output


def test_sixteen_processes_sync_the_same_file(repo, events, log_file):
    procs = []
    for i in range(16):
        env = {**os.environ, "CTX_SCOPE": f"writer-{i}"}
        procs.append(
            subprocess.Popen(
                ["ctxscope", "sync", "--direction", "runtime-to-local", "--yes"],
                cwd=str(repo.parent),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()

    assert all(code == 0 for code, _ in results), results
    text = repo.read_text()
    final = tomllib.loads(text)["scope"]
    assert final in {f"writer-{i}" for i in range(16)}
    assert text == PROJECT_TEXT.replace('"workout"', f'"{final}"')  # whole, comments kept
    for line in log_file.read_text().splitlines():
        json.loads(line)  # every line whole JSON
    synced = [e for e in events() if e["event"] == "scope_synced"]
    assert len(synced) == 16
    # The writes were serialised: each one saw the value the previous one wrote.
    befores = sorted(e["before"] for e in synced)
    afters = sorted(e["after"] for e in synced)
    assert sorted([*afters, "workout"]) == sorted([*befores, final])
    leftovers = [n for n in os.listdir(repo.parent) if n.endswith(".tmp")]
    assert leftovers == []


def test_cloud_down_is_exit_6_and_nothing_is_written(ctx, repo, monkeypatch, dead_url):
    """The target cannot be authorized, so the local write does not happen either."""
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("sync", "--direction", "runtime-to-local", "--yes")
    assert result.returncode == 6
    assert "cannot connect" in result.stderr
    assert repo.read_text() == PROJECT_TEXT


def test_a_slow_answer_does_not_spend_the_cloud_budget(project, cloud, user_config):
    """The person at the prompt takes longer than [cloud] timeout; the PUT still goes out."""
    user_config.write_text('[cloud]\ntimeout = 0.5\n\n[policy]\nmode = "cloud"\n')
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write"}
    got, output, answered = run_in_pty(
        ["sync", "--direction", "resolved-to-cloud"], str(project), {**os.environ}, b"y\n", delay=1.0
    )
    assert answered and got == 0, output
    assert cloud.scope == "workout"
