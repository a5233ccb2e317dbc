"""`ctxscope resolve`: only the scope on stdout; nothing on stdout when there is none."""

from __future__ import annotations

import json

import pytest


def test_prints_only_the_scope(ctx, project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    result = ctx("resolve")
    assert (result.returncode, result.stdout, result.stderr) == (0, "workout\n", "")


def test_drift_warns_on_stderr_but_prints(ctx, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    result = ctx("resolve")
    assert result.returncode == 0
    assert result.stdout == "zentygo\n"
    assert "local_mismatch" in result.stderr


def test_explain_shows_chain_on_stderr(ctx, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("resolve", "--explain")
    assert result.stdout == "zentygo\n"
    assert "runtime" in result.stderr and "fallback" in result.stderr


@pytest.mark.parametrize(("setup", "code"), [("unresolved", 5), ("invalid", 1)])
def test_no_scope_nothing_on_stdout(ctx, project, monkeypatch, setup, code):
    if setup == "invalid":
        monkeypatch.setenv("CTX_SCOPE", "has space")
    result = ctx("resolve")
    assert result.returncode == code
    assert result.stdout == ""
    assert result.stderr.startswith("ctxscope: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_unauthorized_exit_4(ctx, project, monkeypatch, cloud):
    monkeypatch.setenv("CTX_SCOPE", "hidden")
    result = ctx("resolve")
    assert (result.returncode, result.stdout) == (4, "")
    assert "not visible to the token" in result.stderr


def test_cloud_down_runtime_set_prints_with_warning(ctx, project, monkeypatch, dead_url):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    result = ctx("resolve")
    assert (result.returncode, result.stdout) == (0, "zentygo\n")
    assert "authorization of 'zentygo' unknown" in result.stderr


def test_cloud_down_nothing_above_exit_6(ctx, project, monkeypatch, dead_url):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    result = ctx("resolve")
    assert (result.returncode, result.stdout) == (6, "")
    assert "cannot connect" in result.stderr


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("drift", 3),
        ("no-cloud", 4),
        ("cloud-down", 6),
        ("unresolved", 5),
        ("synced", 0),
    ],
)
def test_enforce_mode(ctx, project, monkeypatch, user_config, httpserver, dead_url, setup, code):
    user_config.write_text('[policy]\nmode = "enforce"\n')
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    if setup == "drift":
        monkeypatch.setenv("CTX_SCOPE", "other")
    if setup == "unresolved":
        (project / ".ctxscope.toml").write_text("")
    if setup == "cloud-down":
        monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    if setup in ("drift", "synced", "unresolved"):
        httpserver.expect_request("/v1/scope").respond_with_json({"scope": None, "revision": "1"})
        for name in ("workout", "other"):
            httpserver.expect_request(f"/v1/scopes/{name}").respond_with_json(
                {"scope": name, "access": "read"}
            )
        monkeypatch.setenv("CTXSCOPE_CLOUD_URL", httpserver.url_for("/").rstrip("/"))
    result = ctx("resolve")
    assert result.returncode == code, result.stderr
    assert (result.stdout == "") == (code != 0)


def test_json(ctx, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    data = json.loads(ctx("resolve", "--json").stdout)
    assert data["resolved_scope"] == "zentygo" and data["exit_code"] == 0


def test_enforce_refusal_says_what_to_do_next(ctx, project, monkeypatch, user_config):
    user_config.write_text('[policy]\nmode = "enforce"\n')
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "other")
    result = ctx("resolve")
    assert result.returncode == 3
    assert "enforce mode: drift (local_mismatch)" in result.stderr
    # the first fix drops the override; keeping it (sync runtime-to-local) is the alternative
    assert 'fix: eval "$(ctxscope repair --to workout --shell bash)"' in result.stderr
    assert "ctxscope sync --direction runtime-to-local" in result.stderr
