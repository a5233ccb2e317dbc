"""`ctxscope init`: link a repository, checked against a real cloud on loopback first;
nothing written when the cloud cannot see the scope; comments kept; idempotent; a write
like sync's (plan, --dry-run, mode, fresh authorization, --yes or a terminal, one event)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from ctxscope.config import is_trusted
from ctxscope.trust import trust_file


@pytest.fixture
def repo(project):
    (project / ".git").mkdir()
    sub = project / "src" / "pkg"
    sub.mkdir(parents=True)
    return project


def test_links_the_repository_root_after_the_cloud_says_yes(ctx, repo, cloud, monkeypatch, events):
    monkeypatch.setenv("CTXSCOPE_TOKEN", "tok-SECRET-9")
    cloud.access = {"workout": "read"}
    monkeypatch.chdir(repo / "src" / "pkg")
    result = ctx("init", "--scope", "workout", "--yes")
    assert result.returncode == 0, result.stderr
    path = repo / ".ctxscope.toml"
    assert path.read_text() == 'scope = "workout"\n'
    assert [r.path for r in cloud.requests("/v1/scopes/")] == ["/v1/scopes/workout"]
    out = result.stdout
    assert f"Linked {repo} to scope 'workout': created {path}:1." in out
    assert f"Cloud: {cloud.url} lets the token see 'workout' (read access)." in out
    assert "ctxscope hook bash >> ~/.bashrc" in out and "ctxscope diff" in out
    assert "tok-SECRET-9" not in result.stdout + result.stderr
    (event,) = events()
    assert (event["event"], event["direction"], event["before"], event["after"]) == (
        "scope_synced",
        "init",
        None,
        "workout",
    )
    assert event["target"] == str(path) and event["verified"] is True


def test_cloud_that_cannot_see_the_scope_writes_nothing(ctx, repo, cloud):
    path = repo / ".ctxscope.toml"
    path.write_text('# ours\nscope = "workout"\n')
    before = path.read_bytes()
    cloud.access = {"workout": "write"}
    result = ctx("init", "--scope", "secret-project", "--yes")
    assert result.returncode == 4
    assert "scope 'secret-project' is not visible to the token" in result.stderr
    assert "nothing was written" in result.stderr
    assert path.read_bytes() == before

    (repo / ".ctxscope.toml").unlink()
    assert ctx("init", "--scope", "secret-project", "--yes").returncode == 4
    assert not (repo / ".ctxscope.toml").exists()


def test_unreachable_cloud_writes_nothing(ctx, repo, monkeypatch, dead_url):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    result = ctx("init", "--scope", "workout", "--yes")
    assert result.returncode == 6
    assert "cannot check that the cloud can see 'workout'" in result.stderr
    assert not (repo / ".ctxscope.toml").exists()


def test_idempotent_and_keeps_comments(ctx, repo, cloud, events):
    cloud.access = {"workout": "write", "zentygo": "write"}
    path = repo / ".ctxscope.toml"
    original = (
        '# Team scope, see the wiki\nscope = "workout"  # linked in March\n\n'
        '[fallback]\n# never guess\npolicy = "fail"\n'
    )
    path.write_text(original)
    again = ctx("init", "--scope", "workout", "--yes")
    assert again.returncode == 0
    assert "Already linked" in again.stdout and "nothing written" in again.stdout
    assert path.read_text() == original
    assert events() == []

    changed = ctx("init", "--scope", "zentygo", "--yes")
    assert changed.returncode == 0
    assert "updated" in changed.stdout and "(was 'workout')" in changed.stdout
    assert path.read_text() == original.replace('"workout"', '"zentygo"')
    stat_before = path.stat()
    assert ctx("init", "--scope", "zentygo", "--yes").returncode == 0
    assert path.stat().st_mtime_ns == stat_before.st_mtime_ns
    assert [(e["before"], e["after"]) for e in events()] == [("workout", "zentygo")]


def test_without_scope_uses_the_project_file_then_the_resolved_scope(ctx, repo, monkeypatch):
    result = ctx("init", "--yes")
    assert result.returncode == 2 and "ctxscope init --scope NAME" in result.stderr
    monkeypatch.setenv("CTX_SCOPE", "from-shell")
    data = json.loads(ctx("init", "--json", "--yes").stdout)
    assert data["scope"] == "from-shell" and data["chosen_from"].startswith("runtime")
    monkeypatch.setenv("CTX_SCOPE", "another")
    data = json.loads(ctx("init", "--json", "--yes").stdout)
    assert data["scope"] == "from-shell" and data["changed"] is False  # the file's scope
    assert data["runtime_override"] == {"CTX_SCOPE": "another"}
    assert "CTX_SCOPE='another' in this shell still wins" in ctx("init", "--yes").stdout


def test_json_without_cloud_and_dry_run(ctx, repo):
    result = ctx("init", "--scope", "workout", "--dry-run", "--json", "--yes")
    data = json.loads(result.stdout)
    assert result.returncode == 0
    assert not (repo / ".ctxscope.toml").exists()
    assert data["dry_run"] is True and data["changed"] is False
    assert data["cloud"] is None and data["authorization"] == "not_checked"
    assert data["path"] == str(repo / ".ctxscope.toml") and data["root"] == str(repo)
    assert {"scope", "created", "before", "trusted", "next_steps"} <= set(data)
    text = ctx("init", "--scope", "workout", "--dry-run", "--yes").stdout
    assert "Would create" in text and "Nothing written (--dry-run)" in text
    data = json.loads(ctx("init", "--scope", "workout", "--json", "--yes").stdout)
    assert data["created"] is True and data["changed"] is True


def test_invalid_scope_and_observe_mode_write_nothing(ctx, repo):
    result = ctx("init", "--scope", " padded ", "--yes")
    assert result.returncode == 2 and "surrounding whitespace" in result.stderr
    assert not (repo / ".ctxscope.toml").exists()
    (repo / ".ctxscope.toml").write_text('[policy]\nmode = "observe"\n')
    result = ctx("init", "--scope", "workout", "--yes")
    assert result.returncode == 1 and "mode is 'observe'" in result.stderr
    assert (repo / ".ctxscope.toml").read_text() == '[policy]\nmode = "observe"\n'


def test_trusted_file_stays_trusted_and_nearest_file_in_the_repo_is_used(ctx, repo, cloud, monkeypatch):
    cloud.access = {"workout": "read"}
    inner = repo / "src" / ".ctxscope.toml"  # the project file in effect below the root
    inner.write_text(f'scope = "old"\n[cloud]\nurl = "{cloud.url}"\n')
    trust_file(str(inner))
    monkeypatch.chdir(repo / "src" / "pkg")
    result = ctx("init", "--scope", "workout", "--json", "--yes")
    data = json.loads(result.stdout)
    assert data["path"] == str(inner) and not (repo / ".ctxscope.toml").exists()
    assert data["trusted"] is True
    assert is_trusted(str(inner), hashlib.sha256(inner.read_bytes()).hexdigest())


def test_a_project_file_above_the_repository_is_not_touched(ctx, tmp_path, project):
    above = tmp_path / ".ctxscope.toml"
    above.write_text('scope = "parent"\n')
    (project / ".git").mkdir()
    assert ctx("init", "--scope", "child", "--yes").returncode == 0
    assert above.read_text() == 'scope = "parent"\n'
    assert (project / ".ctxscope.toml").read_text() == 'scope = "child"\n'


def test_installed_command_against_the_cloud(ctx, repo, cloud):
    cloud.access = {"workout": "read"}
    env = {**os.environ, "CTXSCOPE_TOKEN": "tok-ABC"}
    denied = ctx("init", "--scope", "nope", "--yes", cwd=str(repo), env=env)
    assert denied.returncode == 4 and not (repo / ".ctxscope.toml").exists()
    ok = ctx("init", "--scope", "workout", "--yes", cwd=str(repo), env=env)
    assert ok.returncode == 0
    assert "Linked" in ok.stdout and "Next steps:" in ok.stdout
    status = ctx("status", "--json", cwd=str(repo), env=env)
    data = json.loads(status.stdout)
    assert (data["resolved_scope"], data["resolved_from"], data["authorized"]) == ("workout", "local", True)
    for out in (denied, ok, status):
        assert "tok-ABC" not in out.stdout + out.stderr and "Traceback" not in out.stderr


# A write like sync's and repair's (the rules for every write)


def test_without_yes_and_without_a_terminal_nothing_is_written(ctx, repo):
    """The reviewer's case: CTX_SCOPE=stale-shell ctxscope init </dev/null wrote the file."""
    env = {**os.environ, "CTX_SCOPE": "stale-shell"}
    result = ctx("init", cwd=str(repo), env=env)  # stdin is /dev/null
    assert result.returncode == 2
    assert "no terminal to ask; pass --yes" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (repo / ".ctxscope.toml").exists()
    scoped = ctx("init", "--scope", "workout")
    assert scoped.returncode == 2 and not (repo / ".ctxscope.toml").exists()
    assert ctx("init", "--scope", "workout", "-y").returncode == 0
    assert (repo / ".ctxscope.toml").read_text() == 'scope = "workout"\n'


@pytest.mark.parametrize(("answer", "code", "written"), [(b"y\n", 0, True), (b"n\n", 1, False)])
def test_a_terminal_is_asked(repo, answer, code, written, events):
    from test_cli_sync import run_in_pty

    got, output, answered = run_in_pty(["init", "--scope", "workout"], str(repo), {**os.environ}, answer)
    assert answered, output
    assert "Write this change? [y/N]" in output
    assert got == code, output
    assert (repo / ".ctxscope.toml").exists() is written
    assert len(events()) == (1 if written else 0)
    if not written:
        assert "declined at the prompt; nothing was written" in output


def test_authorization_is_asked_fresh_not_from_the_cache(ctx, repo, cloud):
    """A cached 'read' for the scope does not authorize the write: the cloud is asked."""
    cloud.access = {"workout": "read"}
    status = ctx("status", "--scope", "workout")
    assert "workout" in status.stdout  # now the cache holds access:workout = read
    cloud.access = {}  # and the token has lost it since
    result = ctx("init", "--scope", "workout", "--yes")
    assert result.returncode == 4, result.stderr
    assert "nothing was written" in result.stderr
    assert not (repo / ".ctxscope.toml").exists()
    assert cloud.requests("/v1/scopes/workout")[-1].method == "GET"


def test_dry_run_authorizes_and_plans_like_sync(ctx, repo, cloud):
    cloud.access = {"workout": "write"}
    refused = ctx("init", "--scope", "nope", "--dry-run")
    assert refused.returncode == 4 and not (repo / ".ctxscope.toml").exists()
    planned = ctx("init", "--scope", "workout", "--dry-run")
    assert planned.returncode == 0
    assert f"  local    {repo / '.ctxscope.toml'}  (no file) -> 'workout'" in planned.stdout
    assert "Would create" in planned.stdout and not (repo / ".ctxscope.toml").exists()
    data = json.loads(ctx("init", "--scope", "workout", "--dry-run", "--json").stdout)
    assert (data["command"], data["result"], data["exit_code"]) == ("init", "planned", 0)
    assert [(c["source"], c["action"], c["before"], c["after"]) for c in data["changes"]] == [
        ("local", "create", None, "workout")
    ]
    assert data["cloud"] == {"url": cloud.url, "access": "write"}


def test_one_event_describes_the_state_before_the_write(ctx, repo, cloud, events):
    cloud.access = {"zentygo": "read"}
    (repo / ".ctxscope.toml").write_text('scope = "workout"\n')
    assert ctx("init", "--scope", "zentygo", "--yes").returncode == 0
    (event,) = events()
    assert (event["event"], event["direction"], event["command"]) == ("scope_synced", "init", "init")
    assert (event["before"], event["after"], event["verified"]) == ("workout", "zentygo", True)
    assert event["local_scope"] == "workout"  # what the command found, not what it wrote
    assert event["resolved_scope"] == "workout"


def test_the_file_is_the_one_target_file_names(ctx, repo, user_config, monkeypatch):
    """init's file comes from sources.local.target_file: the user config is never linked."""
    from ctxscope.resolver import Context
    from ctxscope.sources.local import target_file

    user_config.write_text('# mine\nscope = "personal"\n')
    context = Context(cwd=str(repo / "src" / "pkg"))
    assert target_file(context, repository=True) == str(repo / ".ctxscope.toml")
    assert target_file(context) == str(user_config)  # sync writes where the scope is
    monkeypatch.chdir(repo / "src" / "pkg")
    data = json.loads(ctx("init", "--scope", "workout", "--json", "--yes").stdout)
    assert data["path"] == str(repo / ".ctxscope.toml") and data["created"] is True
    assert user_config.read_text() == '# mine\nscope = "personal"\n'
    assert "link_target" not in dir(__import__("ctxscope.commands.init", fromlist=["x"]))


def test_a_broken_file_in_the_repository_is_refused_not_replaced(ctx, repo):
    path = repo / ".ctxscope.toml"
    path.write_text('scope = "workout\n')
    result = ctx("init", "--scope", "zentygo", "--yes")
    assert result.returncode == 1
    assert "cannot be parsed" in result.stderr and "repair" in result.stderr
    assert path.read_text() == 'scope = "workout\n'


def test_init_leaves_nothing_else_in_the_repository(ctx, repo):
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert ctx("init", "--scope", "workout", "--yes").returncode == 0
    assert ctx("init", "--scope", "zentygo", "--yes").returncode == 0
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout.splitlines() == ["?? .ctxscope.toml"]  # no lock file beside it
