"""`ctxscope config`: every setting with its value and origin (default, user file:line,
project file:line, env var), the files read, trust, and the token only as set / not set."""

from __future__ import annotations

import json
import os

from ctxscope.trust import trust_file


def settings(result) -> dict:
    return {row["key"]: row for row in json.loads(result.stdout)["settings"]}


def test_origin_of_every_layer(ctx, project, user_config, monkeypatch, tmp_path):
    user_config.write_text("# mine\n[cloud]\ntimeout = 5\ncache_ttl = 30\n\n[log]\ndedupe_seconds = 10\n")
    (project / ".ctxscope.toml").write_text(
        'scope = "workout"\n\n[cloud]\ncache_ttl = 7\n\n[fallback]\npolicy = "project"\nproject = "safe"\n'
    )
    trust_file(str(project / ".ctxscope.toml"))
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CTXSCOPE_LOG", str(tmp_path / "d.jsonl"))

    result = ctx("config", "--json")
    assert result.returncode == 0
    rows = settings(result)
    project_file = str(project / ".ctxscope.toml")
    assert rows["scope"] == {"key": "scope", "value": "workout", "origin": f"{project_file}:1"}
    assert rows["cloud.timeout"] == {"key": "cloud.timeout", "value": 5, "origin": f"{user_config}:3"}
    assert rows["cloud.cache_ttl"]["value"] == 7  # the project file wins key by key
    assert rows["cloud.cache_ttl"]["origin"] == f"{project_file}:4"
    assert rows["fallback.project"]["origin"] == f"{project_file}:8"
    assert rows["log.dedupe_seconds"]["origin"] == f"{user_config}:7"
    assert rows["cloud.url"] == {
        "key": "cloud.url",
        "value": "http://127.0.0.1:9",
        "origin": "env CTXSCOPE_CLOUD_URL",
    }
    assert rows["log.path"]["origin"] == "env CTXSCOPE_LOG"
    assert rows["policy.mode"] == {"key": "policy.mode", "value": "local", "origin": "default"}
    assert rows["runtime.env"]["value"] == ["CTX_SCOPE"]

    # Wide enough for the origin column to hold the path on one line, however long the
    # temporary directory's path is (it is longer under pytest-xdist).
    monkeypatch.setenv("COLUMNS", str(200 + 2 * len(project_file)))
    table = ctx("config").stdout
    line = next(x for x in table.splitlines() if x.startswith("cloud.cache_ttl"))
    assert "7" in line and f"{project_file}:4" in line
    line = next(x for x in table.splitlines() if x.startswith("cloud.url"))
    assert "env CTXSCOPE_CLOUD_URL" in line


def test_token_is_only_set_or_not_set(ctx, project, monkeypatch):
    assert settings(ctx("config", "--json"))["cloud.token"]["value"] == "not set"
    monkeypatch.setenv("CTXSCOPE_TOKEN", "tok-VERY-SECRET")
    result = ctx("config", "--json")
    row = settings(result)["cloud.token"]
    assert row == {"key": "cloud.token", "value": "set", "origin": "env CTXSCOPE_TOKEN"}
    for out in (result.stdout, ctx("config").stdout, ctx("config", "cloud.token").stdout):
        assert "tok-VERY-SECRET" not in out
    assert ctx("config", "cloud.token").stdout == "set\n"


def test_files_and_trust(ctx, project, user_config):
    path = project / ".ctxscope.toml"
    path.write_text('scope = "workout"\n[cloud]\nurl = "https://evil.example"\n')
    result = ctx("config", "--json")
    data = json.loads(result.stdout)
    files = {f["kind"]: f for f in data["files"]}
    assert files["project"]["path"] == str(path)
    assert files["project"]["trusted"] is False and files["project"]["ignored"] == ["cloud"]
    assert files["user"]["exists"] is False
    assert settings(result)["cloud.url"]["value"] is None  # ignored until trusted
    assert any("ignoring [cloud]" in w for w in data["warnings"])
    text = ctx("config").stdout
    assert "NOT trusted" in text and "ignored: [cloud]" in text and "ctxscope trust" in text

    trust_file(str(path))
    user_config.write_text('scope = "fallback-scope"\n')
    data = json.loads(ctx("config", "--json").stdout)
    files = {f["kind"]: f for f in data["files"]}
    assert files["project"]["trusted"] is True and files["user"]["exists"] is True
    assert settings(ctx("config", "--json"))["cloud.url"]["origin"] == f"{path}:3"
    assert "trusted: every section counts" in ctx("config").stdout


def test_user_config_from_env_and_observers_listed(ctx, project, tmp_path, monkeypatch):
    custom = tmp_path / "elsewhere.toml"
    custom.write_text(
        '[observe]\nallow_paths = ["/opt/tools"]\n\n'
        '[[observe.sources]]\npreset = "langsmith"\nmap = { a = "b" }\n\n'
        '[[observe.sources]]\nname = "mem"\nfile = "~/.mem.json"\nkey = "p"\n'
    )
    monkeypatch.setenv("CTXSCOPE_CONFIG", str(custom))
    result = ctx("config", "--json")
    rows = settings(result)
    files = {f["kind"]: f for f in json.loads(result.stdout)["files"]}
    assert files["user"]["path"] == str(custom) and files["user"]["origin"] == "env CTXSCOPE_CONFIG"
    assert rows["observe.allow_paths"] == {
        "key": "observe.allow_paths",
        "value": ["/opt/tools"],
        "origin": f"{custom}:2",
    }
    assert rows["observe.langsmith"]["value"] == "preset langsmith map {a = b}"
    assert rows["observe.langsmith"]["origin"] == f"{custom}:4"
    assert rows["observe.mem"]["value"] == "file ~/.mem.json key p"
    assert rows["observe.mem"]["origin"] == f"{custom}:8"


def test_get_one_key(ctx, project, monkeypatch):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", "https://scopes.example.com")
    assert ctx("config", "cloud.url").stdout == "https://scopes.example.com\n"
    got = json.loads(ctx("config", "cloud.url", "--json").stdout)
    assert got["origin"] == "env CTXSCOPE_CLOUD_URL"
    unset = ctx("config", "fallback.project")
    assert (unset.returncode, unset.stdout) == (1, "")
    unknown = ctx("config", "no.such.key")
    assert unknown.returncode == 2
    assert "unknown setting 'no.such.key'" in unknown.stderr


def test_a_secret_in_a_file_is_an_error(ctx, project):
    (project / ".ctxscope.toml").write_text('scope = "a"\n[cloud]\ntoken = "leaked"\n')
    result = ctx("config")
    assert result.returncode == 1
    assert "CTXSCOPE_TOKEN" in result.stderr and "leaked" not in result.stdout + result.stderr


def test_installed_command(ctx, project):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    # Wide enough for the origin column to hold the path on one line, however long.
    columns = str(200 + 2 * len(str(project / ".ctxscope.toml")))
    env = {**os.environ, "CTXSCOPE_TOKEN": "tok-XYZ", "COLUMNS": columns}
    result = ctx("config", cwd=str(project), env=env)
    assert result.returncode == 0
    line = next(x for x in result.stdout.splitlines() if x.startswith("scope"))
    assert "workout" in line and ".ctxscope.toml:1" in line
    assert "tok-XYZ" not in result.stdout + result.stderr
    assert "cloud.token" in result.stdout and "Traceback" not in result.stderr
