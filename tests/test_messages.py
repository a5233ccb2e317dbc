"""Messages that name the cause: a missing token, a trusted file that changed, a cloud
that is down (and remembered for a while), a bad scope on a flag. Through the installed
command, as a user runs it."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest
from _hardening import env_with, run


def status_json(cwd, *args, env=None):
    result = run(["status", "--json", *args], cwd=cwd, env=env)
    return json.loads(result.stdout), result


# --- no token --------------------------------------------------------------------------


@pytest.fixture
def token_cloud(httpserver):
    """A cloud that answers 401 to a request without a token."""
    from werkzeug import Response

    def handler(request):
        if not request.headers.get("Authorization"):
            return Response('{"error": "unauthenticated"}', status=401, content_type="application/json")
        return Response('{"scope": "workout", "revision": "1"}', content_type="application/json")

    httpserver.expect_request("/v1/scope").respond_with_handler(handler)
    return httpserver.url_for("").rstrip("/")


def test_no_token_says_the_token_is_not_set(project, token_cloud):
    env = env_with(CTXSCOPE_CLOUD_URL=token_cloud)
    data, _result = status_json(project, env=env)
    assert data["state"] == "DEGRADED"
    [problem] = [p for p in data["problems"] if p["source"] == "cloud"]
    assert "CTXSCOPE_TOKEN is not set" in problem["detail"]
    assert data["fix"].startswith("export CTXSCOPE_TOKEN=")
    text = run(["status"], cwd=project, env=env).stdout
    assert "CTXSCOPE_TOKEN is not set" in text and "check the network" not in text
    resolve = run(["resolve"], cwd=project, env=env)
    assert resolve.returncode == 6 and "CTXSCOPE_TOKEN" in resolve.stderr
    assert "export CTXSCOPE_TOKEN" in resolve.stderr  # the hint: how to set it


def test_with_a_token_the_cloud_is_asked_with_it(project, token_cloud):
    env = env_with(CTXSCOPE_CLOUD_URL=token_cloud, CTXSCOPE_TOKEN="some-token-value")
    data, _ = status_json(project, env=env)
    assert data["state"] == "SYNCED" and data["resolved_scope"] == "workout"


# --- a trusted project file that changed ---------------------------------------------


def test_a_changed_trusted_file_says_so_everywhere(project, cloud):
    path = project / ".ctxscope.toml"
    path.write_text(f'scope = "workout"\n\n[cloud]\nurl = "{cloud.url}"\n')
    cloud.scope = "workout"
    cloud.access = {"workout": "write"}
    env = env_with(CTXSCOPE_CLOUD_URL=None, CTXSCOPE_TOKEN="some-token-value")
    assert run(["trust"], cwd=project, env=env).returncode == 0
    data, _ = status_json(project, env=env)
    assert data["sources"][2]["state"] == "set" or data["sources"][2]["state"] == "in_sync"

    path.write_text(path.read_text().replace('"workout"\n', '"workout"\n# pulled\n', 1))
    data, _ = status_json(project, env=env)
    row = data["sources"][2]
    expected = f"ignored: {path}:5 changed since trusted (ctxscope trust)"
    assert (row["state"], row["origin"], row["problem"]) == ("ignored", expected, expected)
    assert "config_changed" in data["reasons"]
    assert data["state"] == "SYNCED" and data["fix"].startswith("ctxscope trust")
    text = run(["status"], cwd=project, env=env).stdout
    assert expected in text and "not configured" not in text
    assert "but [cloud] is ignored" in text  # not a silent SYNCED

    # The startup hook says it once for this content, then keeps quiet.
    first = run(["hook", "bash", "--run"], cwd=project, env=env)
    assert expected in first.stderr
    second = run(["hook", "bash", "--run"], cwd=project, env=env)
    assert second.stderr == ""


def test_trust_shows_what_changed_since_the_last_trust(project, isolated_home):
    path = project / ".ctxscope.toml"
    path.write_text('scope = "workout"\n[cloud]\nurl = "https://cloud.example"\n')
    first = run(["trust"], cwd=project)
    assert first.returncode == 0 and "changed since" not in first.stdout
    kept = list((isolated_home / ".local" / "state" / "ctxscope" / "trusted").iterdir())
    assert len(kept) == 1 and stat.S_IMODE(os.stat(kept[0]).st_mode) == 0o600

    path.write_text('scope = "workout"\n[cloud]\nurl = "https://evil.example"\n')
    asked = run(["trust"], cwd=project)  # no terminal to ask: refuses, after the diff
    assert asked.returncode == 2 and "--yes" in asked.stderr
    assert '-url = "https://cloud.example"' in asked.stdout
    assert '+url = "https://evil.example"' in asked.stdout
    done = run(["trust", "--yes", "--json"], cwd=project)
    assert done.returncode == 0
    assert '+url = "https://evil.example"' in json.loads(done.stdout)["changed"]
    assert run(["trust"], cwd=project).returncode == 0  # nothing changed since: no question


# --- diff with the cloud unreachable ----------------------------------------------------


def test_diff_says_why_the_cloud_has_no_value(project, dead_url):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    result = run(["diff"], cwd=project, env=env_with(CTXSCOPE_CLOUD_URL=dead_url))
    assert result.returncode == 6
    lines = result.stdout.splitlines()
    assert "--" not in lines
    assert any(line.startswith("- (no value: cloud ") and "cannot connect" in line for line in lines), (
        result.stdout
    )


# --- a bad scope on a flag --------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--scope"],
        ["status", "--json", "--scope"],
        ["resolve", "--scope"],
        ["diff", "--scope"],
        ["sync", "--direction", "runtime-to-local", "--scope"],
        ["init", "--scope"],
        ["repair", "--to"],
    ],
)
def test_a_bad_scope_on_a_flag_is_a_usage_error(project, args):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    result = run([*args, "work out"], cwd=project)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    flag = args[-1]
    assert f"change the {flag} value" in result.stderr


# --- a cloud that timed out is remembered for a while ----------------------------------


def test_a_timed_out_cloud_costs_its_timeout_once_per_window(project, httpserver, user_config):
    from werkzeug import Response

    asked = []

    def slow(request):
        asked.append(time.monotonic())
        time.sleep(1.5)
        return Response('{"scope": "workout", "revision": "1"}', content_type="application/json")

    httpserver.expect_request("/v1/scope").respond_with_handler(slow)
    user_config.write_text("[cloud]\ntimeout = 0.5\n")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    env = env_with(CTXSCOPE_CLOUD_URL=httpserver.url_for("").rstrip("/"))
    data, _ = status_json(project, env=env)
    assert data["state"] == "DEGRADED" and len(asked) == 1
    time.sleep(1.6)  # the server is free again
    data, _ = status_json(project, env=env)
    row = data["sources"][2]
    assert "unreachable, checked" in row["problem"] and "s ago" in row["problem"]
    assert len(asked) == 1  # not asked again inside the window
    text = run(["status"], cwd=project, env=env).stdout
    assert "unreachable, checked" in text
    status_json(project, "--refresh", env=env)
    assert len(asked) == 2  # --refresh asks again


# --- no validation library's wording --------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["sync", "--direction", "bogus"], "'bogus' is not one of"),
        (["ps", "--pid", "abc"], "not a whole number"),
        (["status", "--watch", "--interval", "x"], "not a number"),
    ],
)
def test_a_bad_option_value_is_said_in_plain_words(project, args, said):
    result = run(args, cwd=project)
    assert result.returncode == 2
    assert said in result.stderr
    for leak in ("Value error", "Input should be", "unable to parse", "pydantic"):
        assert leak not in result.stderr, result.stderr
