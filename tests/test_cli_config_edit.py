"""`ctxscope config set KEY VALUE` / `config unset KEY`, through the installed command:
the write rules every write follows (plan, --dry-run, --yes, no terminal, comments kept,
read back, logged), the file chosen, values checked by the setting's own rule."""

from __future__ import annotations

import json
import tomllib

import pytest

PROJECT_TEXT = """# Memory scope for this repository
scope = "workout"   # the project we work on

# who may write what
[policy]
mode = "observe"   # rollout step 1
"""


@pytest.fixture
def repo(project):
    (project / ".git").mkdir()
    path = project / ".ctxscope.toml"
    path.write_text(PROJECT_TEXT)
    return path


def test_set_edits_the_file_that_sets_the_key_and_keeps_its_comments(ctx, repo, events):
    done = ctx("config", "set", "policy.mode", "local", "--yes")
    assert done.returncode == 0, done.stderr
    assert f'{repo}  policy.mode: "observe" -> "local"' in done.stdout
    assert "read back: ok" in done.stdout and "to undo: ctxscope undo" in done.stdout
    text = repo.read_text()
    assert text == PROJECT_TEXT.replace('mode = "observe"', 'mode = "local"')
    (event,) = [e for e in events() if e["event"] == "config_changed"]
    assert (event["key"], event["before"], event["after"], event["target"], event["command"]) == (
        "policy.mode",
        "observe",
        "local",
        str(repo),
        "config set",
    )
    assert ctx("config", "policy.mode").stdout == "local\n"


def test_a_mode_that_refuses_every_write_can_still_be_changed(ctx, repo):
    # observe mode refuses scope writes; the user's own settings are how it is changed
    assert ctx("sync", "--direction", "runtime-to-local", "--scope", "x", "--yes").returncode == 1
    assert ctx("config", "set", "policy.mode", "local", "--yes").returncode == 0
    assert ctx("sync", "--direction", "runtime-to-local", "--scope", "x", "--yes").returncode == 0


def test_a_key_set_nowhere_goes_to_the_user_config(ctx, repo, user_config):
    done = ctx("config", "set", "cloud.timeout", "3.5", "--yes")
    assert done.returncode == 0, done.stderr
    assert "in the user config" in done.stdout
    assert tomllib.loads(user_config.read_text()) == {"cloud": {"timeout": 3.5}}
    assert repo.read_text() == PROJECT_TEXT


def test_project_flag_creates_the_file_at_the_repository_root(ctx, project):
    (project / ".git").mkdir()
    sub = project / "src" / "deep"
    sub.mkdir(parents=True)
    done = ctx("config", "set", "fallback.policy", "project", "--project", "--yes", cwd=sub)
    assert done.returncode == 0, done.stderr
    assert tomllib.loads((project / ".ctxscope.toml").read_text()) == {"fallback": {"policy": "project"}}


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("cloud.timeout", "5", 5),
        ("cloud.cache_ttl", "0", 0),
        ("log.keep", "7", 7),
        ("runtime.env", "CTX_SCOPE,AGENT_SCOPE", ["CTX_SCOPE", "AGENT_SCOPE"]),
        ("runtime.env", '["A_SCOPE"]', ["A_SCOPE"]),
        ("fallback.project", "123", "123"),
        ("cloud.url", "https://scopes.example.com", "https://scopes.example.com"),
    ],
)
def test_values_take_the_type_the_setting_wants(ctx, user_config, project, key, value, stored):
    done = ctx("config", "set", key, value, "--user", "--yes")
    assert done.returncode == 0, done.stderr
    table, name = key.split(".")
    assert tomllib.loads(user_config.read_text())[table][name] == stored


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["policy.mode", "bogus"], "must be one of"),
        (["cloud.timeout", "0"], "greater than 0"),
        (["runtime.env", "CTXSCOPE_TOKEN"], "must not name CTXSCOPE_TOKEN"),
        (["no.such", "1"], "unknown setting"),
        (["cloud.token", "s3cret"], "never lives in a config file"),
        (["cloud.password", "s3cret"], "never lives in a config file"),
        (["scope", "demo"], "ctxscope init --scope"),
        (["fallback.project", "bad scope"], "fallback.project"),
        (["observe.sources", "x"], "edit the file by hand"),
    ],
)
def test_bad_keys_and_values_are_usage_errors_and_nothing_is_written(ctx, repo, args, says, user_config):
    done = ctx("config", "set", *args, "--yes")
    assert done.returncode == 2
    assert says in done.stderr
    assert "Traceback" not in done.stderr and "s3cret" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert repo.read_text() == PROJECT_TEXT
    assert not user_config.exists()


def test_dry_run_and_no_terminal_write_nothing(ctx, repo):
    dry = ctx("config", "set", "policy.mode", "cloud", "--dry-run")
    assert dry.returncode == 0
    assert "dry run: nothing was written" in dry.stdout
    refused = ctx("config", "set", "policy.mode", "cloud")
    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr
    assert repo.read_text() == PROJECT_TEXT


def test_setting_the_same_value_again_writes_nothing(ctx, repo, events):
    done = ctx("config", "set", "policy.mode", "observe", "--yes")
    assert done.returncode == 0
    assert "in sync" in done.stdout
    assert repo.read_text() == PROJECT_TEXT
    assert not [e for e in events() if e["event"] == "config_changed"]


def test_unset_removes_the_key_and_keeps_the_rest(ctx, repo, events):
    done = ctx("config", "unset", "policy.mode", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["result"], report["before"], report["after"]) == ("applied", "observe", None)
    assert tomllib.loads(repo.read_text()) == {"scope": "workout", "policy": {}}
    assert "# the project we work on" in repo.read_text()
    again = ctx("config", "unset", "policy.mode", "--yes")
    assert again.returncode == 0 and "is not set" in again.stdout


def test_a_user_setting_the_project_file_overrides_is_said(ctx, repo):
    done = ctx("config", "set", "policy.mode", "cloud", "--user", "--yes")
    assert done.returncode == 0
    assert "the project file sets policy.mode too" in done.stderr
    assert f"{repo}:6" in done.stderr


def test_a_gated_key_in_an_untrusted_project_file_says_how_to_trust(ctx, repo):
    done = ctx("config", "set", "cloud.timeout", "4", "--project", "--yes")
    assert done.returncode == 0
    assert f"ctxscope trust {repo}" in done.stderr


def test_editing_a_trusted_project_file_keeps_it_trusted(ctx, repo):
    assert ctx("trust").returncode == 0
    assert ctx("config", "set", "cloud.timeout", "4", "--project", "--yes").returncode == 0
    listing = json.loads(ctx("config", "--json").stdout)
    project = next(f for f in listing["files"] if f["kind"] == "project")
    assert project["trusted"] is True
    assert ctx("config", "cloud.timeout").stdout == "4\n"


def test_a_file_that_cannot_be_parsed_is_not_edited(ctx, project):
    path = project / ".ctxscope.toml"
    path.write_text("scope = \n")
    done = ctx("config", "set", "policy.mode", "local", "--project", "--yes")
    assert done.returncode == 1
    assert "fix it by hand first" in done.stderr
    assert path.read_text() == "scope = \n"


def test_config_key_still_reads_one_value(ctx, repo):
    assert ctx("config", "policy.mode").stdout == "observe\n"
    assert ctx("config", "get", "policy.mode").stdout == "observe\n"
    assert ctx("config", "cloud.url").returncode == 1
