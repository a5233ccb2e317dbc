"""`ctxscope undo`, through the installed command: the last write read from the drift log,
set back through the write rules, refused when the target changed since."""

from __future__ import annotations

import json
import tomllib

import pytest

TEXT = '# our project\nscope = "workout"  # shared\n'


@pytest.fixture
def repo(project):
    (project / ".git").mkdir()
    path = project / ".ctxscope.toml"
    path.write_text(TEXT)
    return path


def test_undo_a_sync_then_undo_the_undo(ctx, repo, events, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    assert ctx("sync", "--direction", "runtime-to-local", "--yes").returncode == 0
    assert 'scope = "zentygo"' in repo.read_text()

    done = ctx("undo", "--yes")
    assert done.returncode == 0, done.stderr
    assert "plan: undo the sync at" in done.stdout
    assert f'{repo}  scope: "zentygo" -> "workout"' in done.stdout
    assert repo.read_text() == TEXT  # comments and layout kept
    undo_events = [e for e in events() if e["command"] == "undo"]
    assert [(e["before"], e["after"], e["verified"]) for e in undo_events] == [("zentygo", "workout", True)]

    again = ctx("undo", "--yes")
    assert again.returncode == 0, again.stderr
    assert "plan: undo the undo at" in again.stdout
    assert 'scope = "zentygo"' in repo.read_text()


def test_undo_of_init_that_created_the_file_removes_the_scope(ctx, project):
    (project / ".git").mkdir()
    assert ctx("init", "--scope", "demo", "--yes").returncode == 0
    path = project / ".ctxscope.toml"
    assert tomllib.loads(path.read_text())["scope"] == "demo"
    done = ctx("undo", "--yes")
    assert done.returncode == 0, done.stderr
    assert "scope" not in tomllib.loads(path.read_text())


def test_undo_a_config_set(ctx, repo, user_config):
    assert ctx("config", "set", "cloud.timeout", "9", "--yes").returncode == 0
    done = ctx("undo", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["result"] == "applied"
    assert [(c["key"], c["before"], c["after"]) for c in report["changes"]] == [("cloud.timeout", 9, None)]
    assert tomllib.loads(user_config.read_text()) == {"cloud": {}}


def test_a_target_changed_since_is_refused_and_nothing_is_written(ctx, repo, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    assert ctx("sync", "--direction", "runtime-to-local", "--yes").returncode == 0
    repo.write_text('scope = "someone-else"\n')
    done = ctx("undo", "--yes")
    assert done.returncode == 1
    assert "changed since the sync" in done.stderr
    assert "'someone-else'" in done.stderr
    assert repo.read_text() == 'scope = "someone-else"\n'


def test_nothing_to_undo(ctx, repo):
    done = ctx("undo", "--yes")
    assert done.returncode == 1
    assert "nothing to undo" in done.stderr
    assert done.stderr.count("\n") == 1


def test_dry_run_and_no_terminal_write_nothing(ctx, repo, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    assert ctx("sync", "--direction", "runtime-to-local", "--yes").returncode == 0
    written = repo.read_text()
    dry = ctx("undo", "--dry-run")
    assert dry.returncode == 0 and "dry run: nothing was written" in dry.stdout
    refused = ctx("undo")
    assert refused.returncode == 2 and "pass --yes" in refused.stderr
    assert repo.read_text() == written


def _cloud_repo(repo, mode):
    repo.write_text(TEXT + f'\n[policy]\nmode = "{mode}"\n')


def test_undo_a_repair_that_wrote_the_file_and_the_cloud(ctx, repo, cloud):
    _cloud_repo(repo, "cloud")
    cloud.scope = "old-default"
    cloud.access = {"workout": "write", "old-default": "write", "fresh": "write"}
    done = ctx("repair", "--to", "fresh", "--yes")
    assert done.returncode == 0, done.stderr
    assert cloud.scope == "fresh" and 'scope = "fresh"' in repo.read_text()

    undone = ctx("undo", "--yes")
    assert undone.returncode == 0, undone.stderr
    assert cloud.scope == "old-default"
    assert 'scope = "workout"' in repo.read_text()


def test_undo_needs_the_cloud_to_allow_the_scope_written_back(ctx, repo, cloud):
    _cloud_repo(repo, "cloud")
    cloud.scope = "old-default"
    cloud.access = {"fresh": "write", "old-default": "read", "workout": "write"}
    assert ctx("repair", "--to", "fresh", "--yes").returncode == 0
    done = ctx("undo", "--yes")
    assert done.returncode == 4
    assert "write access" in done.stderr
    assert cloud.scope == "fresh" and 'scope = "fresh"' in repo.read_text()


def test_the_rollout_mode_still_applies(ctx, repo, cloud):
    _cloud_repo(repo, "cloud")
    cloud.scope = "old-default"
    cloud.access = {"fresh": "write", "old-default": "write", "workout": "write"}
    assert ctx("repair", "--to", "fresh", "--yes").returncode == 0
    repo.write_text(repo.read_text().replace('mode = "cloud"', 'mode = "local"'))  # by hand
    written = repo.read_text()
    done = ctx("undo", "--yes")
    assert done.returncode == 1
    assert "NOT ALLOWED: [policy] mode is 'local'" in done.stdout
    assert "was not undone" in done.stderr
    assert cloud.scope == "fresh" and repo.read_text() == written  # nothing at all written
