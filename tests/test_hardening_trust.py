"""The trust boundary for repository config.

A `.ctxscope.toml` arrives with `git clone`. Until the user runs `ctxscope
trust` on it, only `scope`, `[fallback]` and `[policy]` count: it cannot send
the token to a URL it names, make ctxscope read another variable (the token)
as a scope and print it, or choose where the drift log goes. Trust records the
file's real path and a hash of its content; any change needs trust again.
The user config and CTXSCOPE_CLOUD_URL are trusted as they are.
"""

from __future__ import annotations

import json

import pytest
from _hardening import CANARY, assert_clean_failure, call, env_with, run, warning_lines
from pytest_httpserver import HTTPServer

pytestmark = pytest.mark.hardening


@pytest.fixture
def evil():
    """A server a hostile repository names; it must never hear from ctxscope."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    server.expect_request("/v1/scope").respond_with_json({"scope": "evil", "revision": "1"})
    server.expect_request("/v1/scopes/evil").respond_with_json({"scope": "evil", "access": "write"})
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def _hostile(project, evil_url: str, tmp_path, extra: str = "") -> tuple:
    log = tmp_path / "stolen.jsonl"
    path = project / ".ctxscope.toml"
    path.write_text(
        "# looks harmless\n"
        'scope = "workout"\n'
        "[cloud]\n"
        f'url = "{evil_url}"\n'
        "timeout = 30\n"
        "[runtime]\n"
        'env = ["CTX_SCOPE", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY"]\n'
        "[log]\n"
        f'path = "{log}"\n' + extra
    )
    return path, log


def _trust_warnings(result) -> list[str]:
    return [w for w in warning_lines(result.stderr) if "not trusted" in w]


def _trust_warning(result, path) -> str:
    [line] = _trust_warnings(result)
    assert str(path) in line and f"ctxscope trust {path}" in line
    return line


HOSTILE_ENV = {
    "CTXSCOPE_TOKEN": CANARY,
    "GITHUB_TOKEN": "ghp_SECRETSECRETSECRET",
    "AWS_SECRET_ACCESS_KEY": "AKIASECRETSECRETSECRET",
}


def test_untrusted_file_cannot_redirect_the_token_read_secrets_or_move_the_log(
    project, evil, tmp_path, log_file, record_property
):
    evil_url = evil.url_for("").rstrip("/")
    path, stolen_log = _hostile(project, evil_url, tmp_path)
    env = env_with(**HOSTILE_ENV, CTX_SCOPE="zentygo")  # drift, so every command logs
    record_property("bad_inputs", 3)
    for args in (["resolve"], ["status", "--json"], ["diff"], ["status", "--check"]):
        result = run(args, cwd=project, env=env)
        _trust_warning(result, path)
        for secret in (CANARY, *HOSTILE_ENV.values()):
            assert secret not in result.stdout + result.stderr
    data = json.loads(call(["status", "--json"], cwd=project, env=env).stdout)
    [cloud] = [s for s in data["sources"] if s["source"] == "cloud"]
    assert cloud["state"] == "not_configured"
    [runtime] = [s for s in data["sources"] if s["source"] == "runtime"]
    assert runtime["origin"] == "env CTX_SCOPE" and "runtime_mismatch" not in data["reasons"]
    assert evil.log == []  # not one request: the token never left
    assert not stolen_log.exists()  # the log stayed where the user keeps it
    assert log_file.exists() and "zentygo" in log_file.read_text()


def test_untrusted_file_cannot_override_the_users_cloud(
    project, cloud, evil, tmp_path, user_config, record_property
):
    """The user configured a cloud; the repository names another: the user's wins."""
    cloud.scope = "workout"
    cloud.access = {"workout": "read"}
    user_config.write_text(f'[cloud]\nurl = "{cloud.url}"\n')
    evil_url = evil.url_for("").rstrip("/")
    for how in ("user config", "CTXSCOPE_CLOUD_URL"):
        env = env_with(CTXSCOPE_TOKEN=CANARY)
        if how == "user config":
            env.pop("CTXSCOPE_CLOUD_URL", None)
        _hostile(project, evil_url, tmp_path)
        result = run(["resolve", "--refresh"], cwd=project, env=env)
        assert (result.returncode, result.stdout) == (0, "workout\n"), result.stderr
    record_property("bad_inputs", 2)
    assert evil.log == []
    assert {r.headers.get("Authorization") for r in cloud.requests()} == {f"Bearer {CANARY}"}


def test_only_scope_fallback_and_policy_count_before_trust(project, tmp_path, record_property):
    path = project / ".ctxscope.toml"
    path.write_text(
        '[fallback]\npolicy = "project"\nproject = "from-fallback"\n'
        '[policy]\nmode = "enforce"\n[cloud]\nurl = "https://x.invalid"\n'
    )
    record_property("bad_inputs", 1)
    # policy counts: enforce mode without a cloud -> authorization not checked -> exit 4
    assert_clean_failure(run(["resolve"], cwd=project), 4, "enforce")
    data = json.loads(call(["status", "--json"], cwd=project).stdout)
    assert data["resolved_scope"] == "from-fallback" and data["mode"] == "enforce"
    [cloud] = [s for s in data["sources"] if s["source"] == "cloud"]
    assert cloud["state"] == "not_configured"


def test_trust_makes_them_count_and_any_change_needs_trust_again(project, evil, tmp_path, record_property):
    evil_url = evil.url_for("").rstrip("/")
    path, log = _hostile(project, evil_url, tmp_path)
    env = env_with(CTXSCOPE_TOKEN=CANARY, CTX_SCOPE="zentygo")
    record_property("bad_inputs", 1)

    trusted = run(["trust"], cwd=project, env=env)
    assert trusted.returncode == 0 and str(path) in trusted.stdout
    result = run(["resolve"], cwd=project, env=env)
    assert result.stdout == "zentygo\n" and not _trust_warnings(result)
    assert [r.path for r, _ in evil.log][:1] == ["/v1/scope"]  # now it counts
    assert evil.log[0][0].headers["Authorization"] == f"Bearer {CANARY}"
    assert log.exists()  # [log] path counts too
    seen = len(evil.log)

    # One byte changed (a comment): trusted no more, until trusted again.
    path.write_text(path.read_text() + "# edited\n")
    result = run(["resolve"], cwd=project, env=env)
    assert (result.returncode, result.stdout) == (0, "zentygo\n")
    _trust_warning(result, path)
    assert len(evil.log) == seen
    assert run(["trust"], cwd=project, env=env).returncode == 2  # changed: asks, no terminal
    assert run(["trust", "--yes"], cwd=project, env=env).returncode == 0
    assert not _trust_warnings(run(["resolve"], cwd=project, env=env))
    assert len(evil.log) > seen

    # Revoked: ignored again.
    seen = len(evil.log)
    assert run(["trust", "--revoke"], cwd=project, env=env).returncode == 0
    _trust_warning(run(["resolve"], cwd=project, env=env), path)
    assert len(evil.log) == seen


def test_trust_is_bound_to_the_path(project, tmp_path, evil, record_property):
    """The same content in another repository is not trusted."""
    evil_url = evil.url_for("").rstrip("/")
    path, _ = _hostile(project, evil_url, tmp_path)
    assert run(["trust"], cwd=project).returncode == 0
    other = tmp_path / "other-clone"
    other.mkdir()
    (other / ".ctxscope.toml").write_bytes(path.read_bytes())
    record_property("bad_inputs", 1)
    result = run(["resolve"], cwd=other, env=env_with(CTXSCOPE_TOKEN=CANARY))
    assert (result.returncode, result.stdout) == (0, "workout\n")
    _trust_warning(result, other / ".ctxscope.toml")
    assert evil.log == []


def test_trusted_file_still_cannot_read_the_token_as_a_scope(project, record_property):
    path = project / ".ctxscope.toml"
    path.write_text('[runtime]\nenv = ["CTXSCOPE_TOKEN"]\n')
    env = env_with(CTXSCOPE_TOKEN=CANARY)
    record_property("bad_inputs", 1)
    result = run(["resolve"], cwd=project, env=env)  # untrusted: ignored, nothing set
    assert result.returncode == 5 and CANARY not in result.stdout + result.stderr
    assert run(["trust"], cwd=project, env=env).returncode == 0
    result = run(["resolve"], cwd=project, env=env)  # trusted: refused outright
    assert_clean_failure(result, 1, f"{path}:2", "CTXSCOPE_TOKEN")
    assert CANARY not in result.stderr


def test_untrusted_file_in_a_parent_directory(project, evil, record_property):
    """Walking up finds the hostile file from a subdirectory: the same gate applies."""
    evil_url = evil.url_for("").rstrip("/")
    (project / ".ctxscope.toml").write_text(f'scope = "workout"\n[cloud]\nurl = "{evil_url}"\n')
    sub = project / "src" / "pkg"
    sub.mkdir(parents=True)
    record_property("bad_inputs", 1)
    result = run(["resolve"], cwd=sub, env=env_with(CTXSCOPE_TOKEN=CANARY))
    assert (result.returncode, result.stdout) == (0, "workout\n")
    _trust_warning(result, project / ".ctxscope.toml")
    assert evil.log == []


def test_a_file_cannot_declare_itself_trusted(project, evil, isolated_home, record_property):
    evil_url = evil.url_for("").rstrip("/")
    path = project / ".ctxscope.toml"
    path.write_text(
        f'trusted = true\nscope = "workout"\n[cloud]\nurl = "{evil_url}"\n[trust]\nsha256 = "anything"\n'
    )
    record_property("bad_inputs", 1)
    result = run(["resolve"], cwd=project, env=env_with(CTXSCOPE_TOKEN=CANARY))
    assert result.returncode == 0
    _trust_warning(result, path)
    assert any("unknown key `trusted`" in w for w in warning_lines(result.stderr))
    assert evil.log == []
    store = isolated_home / ".local" / "state" / "ctxscope" / "trusted.json"
    assert not store.exists()


def test_untrusted_observe_section_reads_nothing(project, record_property):
    """[observe] could name any file or variable: ignored until trusted."""
    (project / ".ctxscope.toml").write_text(
        'scope = "workout"\n[[observe.sources]]\nname = "x"\nenv = "GITHUB_TOKEN"\n'
    )
    env = env_with(GITHUB_TOKEN="ghp_SECRETSECRETSECRET")
    record_property("bad_inputs", 1)
    data = json.loads(call(["status", "--json"], cwd=project, env=env).stdout)
    assert "ghp_SECRET" not in json.dumps(data)
    assert not data.get("observed")
