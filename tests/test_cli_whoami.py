"""`ctxscope whoami`, through the installed command against a real loopback cloud."""

from __future__ import annotations

import json

import pytest

TOKEN = "whoami-token-7Q2"


@pytest.fixture
def repo(project):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    return project


def test_identity_and_access_and_never_the_token(ctx, repo, cloud, monkeypatch):
    monkeypatch.setenv("CTXSCOPE_TOKEN", TOKEN)
    cloud.identity = "ana@example.com"
    cloud.access = {"workout": "write"}
    done = ctx("whoami")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert cloud.url in lines["cloud"] and "env CTXSCOPE_CLOUD_URL" in lines["cloud"]
    assert "set" in lines["token"] and "never shown" in lines["token"]
    assert "ana@example.com" in lines["identity"]
    assert "workout" in lines["scope"] and "write" in lines["access"]
    assert TOKEN not in done.stdout + done.stderr
    report = json.loads(ctx("whoami", "--json").stdout)
    assert {k: report[k] for k in ("identity", "token", "scope", "access", "exit_code")} == {
        "identity": "ana@example.com",
        "token": "set",
        "scope": "workout",
        "access": "write",
        "exit_code": 0,
    }
    assert all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in cloud.requests())


def test_a_scope_the_token_cannot_see_exits_4(ctx, repo, cloud, monkeypatch):
    monkeypatch.setenv("CTXSCOPE_TOKEN", TOKEN)
    done = ctx("whoami", "--json")
    assert done.returncode == 4
    assert json.loads(done.stdout)["access"] == "none"


def test_no_cloud_configured(ctx, repo):
    done = ctx("whoami")
    assert done.returncode == 1
    assert "no cloud is configured" in done.stderr
    assert "not configured" in done.stdout


def test_an_empty_cloud_url_is_no_cloud_configured(ctx, repo, user_config):
    user_config.write_text('[cloud]\nurl = ""\n')
    done = ctx("whoami")
    assert done.returncode == 1
    assert "no cloud is configured" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_refused_token_that_is_not_set_says_how_to_set_it(ctx, repo, httpserver, monkeypatch):
    httpserver.expect_request("/v1/whoami").respond_with_json({"error": "no"}, status=401)
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", httpserver.url_for("").rstrip("/"))
    done = ctx("whoami")
    assert done.returncode == 4
    assert "CTXSCOPE_TOKEN is not set" in done.stderr and "export CTXSCOPE_TOKEN=" in done.stderr
    assert "not set" in done.stdout


def test_a_refused_token_that_is_set(ctx, repo, httpserver, monkeypatch):
    httpserver.expect_request("/v1/whoami").respond_with_json({"error": "no"}, status=403)
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", httpserver.url_for("").rstrip("/"))
    monkeypatch.setenv("CTXSCOPE_TOKEN", TOKEN)
    done = ctx("whoami")
    assert done.returncode == 4
    assert "refused the token in CTXSCOPE_TOKEN" in done.stderr
    assert TOKEN not in done.stdout + done.stderr


def test_an_unreachable_cloud_exits_6(ctx, repo, dead_url, monkeypatch):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    done = ctx("whoami")
    assert done.returncode == 6
    assert dead_url in done.stderr
