"""The resolver against real files and a real cloud on loopback: the chain, the states and authorization."""

from __future__ import annotations

import pytest

from ctxscope.errors import ConfigError, ExitCode
from ctxscope.resolver import resolve


def write(path, text):
    path.write_text(text)
    return path


def states(res):
    return {r.source: r.state for r in res.sources}


def test_seed_scenario_runtime_wins_local_drifts(project, cloud, monkeypatch, events):
    """The incident: a stale shell env wins, the local file points elsewhere."""
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    write(project / ".ctxscope.toml", 'scope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "write"}

    res = resolve(command="status")

    assert res.resolved_scope == "zentygo"
    assert res.resolved_from == "runtime"
    assert res.state == "DRIFTED"
    assert res.reasons == ["local_mismatch"]
    assert res.actions == ["sync_local"]
    assert res.authorized is True
    assert states(res) == {
        "runtime": "resolved",
        "local": "drifted",
        "cloud": "in_sync",
        "fallback": "standby",
    }
    assert res.source("local").origin == f"{project / '.ctxscope.toml'}:1"
    assert res.source("runtime").origin == "env CTX_SCOPE"
    [event] = events()
    assert event["event"] == "scope_drift_detected"
    assert (event["runtime_scope"], event["local_scope"], event["cloud_scope"]) == (
        "zentygo",
        "workout",
        "zentygo",
    )
    assert event["action_required"] == "sync_local"
    assert event["authorized"] is True


def test_mirror_runtime_unset_cloud_mismatch(project, cloud):
    write(project / ".ctxscope.toml", '# linked\nscope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "read"}

    res = resolve()

    assert (res.resolved_scope, res.resolved_from) == ("workout", "local")
    assert res.state == "DRIFTED"
    assert res.reasons == ["cloud_mismatch"]
    assert res.actions == ["sync_cloud"]
    assert res.source("local").origin.endswith(".ctxscope.toml:2")


def test_cloud_wins_when_nothing_above_is_set(project, cloud):
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "read"}
    res = resolve()
    assert (res.resolved_scope, res.resolved_from, res.state) == ("zentygo", "cloud", "SYNCED")
    assert res.source("cloud").origin == cloud.url + "/v1/scope"


def test_unauthorized_fails_closed(project, cloud, monkeypatch, events):
    monkeypatch.setenv("CTX_SCOPE", "secret-project")
    cloud.scope = "secret-project"
    res = resolve()
    assert res.state == "UNAUTHORIZED"
    assert res.authorized is False
    assert res.scope_error().exit_code == ExitCode.UNAUTHORIZED
    assert [e["event"] for e in events()] == ["scope_unauthorized"]


def test_unresolved_with_policy_fail(project, events):
    res = resolve()
    assert res.state == "UNRESOLVED"
    assert res.resolved_scope is None
    assert res.scope_error().exit_code == ExitCode.UNRESOLVED
    assert res.authorization == "not_checked"
    assert [e["event"] for e in events()] == ["scope_unresolved"]


def test_broken_toml_stops_resolution_with_file_line_column(project):
    write(project / ".ctxscope.toml", 'scope = "a"\nfoo = = 1\n')
    res = resolve()
    assert res.state == "INVALID"
    assert res.resolved_scope is None
    assert res.error.exit_code == ExitCode.ERROR
    assert f"{project / '.ctxscope.toml'}:2:" in res.error.message
    assert res.source("local").state == "unreadable"


def test_invalid_env_value_is_not_skipped(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", " workout")
    write(project / ".ctxscope.toml", 'scope = "workout"\n')
    res = resolve()
    assert res.state == "INVALID"
    assert res.resolved_scope is None  # never falls through to local
    assert "surrounding whitespace" in res.error.message
    assert res.source("runtime").state == "invalid"
    assert res.source("local").state == "set"


def test_empty_env_counts_as_unset(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "")
    write(project / ".ctxscope.toml", 'scope = "workout"\n')
    assert resolve().resolved_from == "local"


def test_cloud_down_runtime_set_is_degraded_but_resolves(project, monkeypatch, dead_url):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    res = resolve()
    assert res.resolved_scope == "zentygo"
    assert res.state == "DEGRADED"
    assert res.authorization == "unknown"
    assert "cloud_unreachable" in res.reasons
    assert res.scope_error() is None


def test_cloud_down_nothing_above_exit_6_no_fallback(project, monkeypatch, dead_url, user_config):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    write(user_config, '[fallback]\npolicy = "project"\nproject = "safe"\n')
    res = resolve()
    assert res.resolved_scope is None
    assert res.error.exit_code == ExitCode.CLOUD
    assert res.source("fallback").state == "standby"
    assert res.state == "DEGRADED"


def test_local_below_runtime_invalid_is_drift(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    write(project / ".ctxscope.toml", 'scope = "a..b"\n')
    res = resolve()
    assert res.resolved_scope == "zentygo"
    assert res.state == "DRIFTED"
    assert res.reasons == ["local_invalid"]


def test_user_config_scope_when_project_file_has_none(project, user_config):
    write(project / ".ctxscope.toml", '[policy]\nmode = "observe"\n')
    write(user_config, 'scope = "personal"\n')
    res = resolve()
    assert (res.resolved_scope, res.resolved_from) == ("personal", "local")
    assert res.source("local").origin == f"{user_config}:1"
    assert res.mode == "observe"


def test_nearest_project_file_stops_the_walk(project, monkeypatch):
    write(project / ".ctxscope.toml", 'scope = "outer"\n')
    inner = project / "sub" / "deeper"
    inner.mkdir(parents=True)
    write(project / "sub" / ".ctxscope.toml", "# no scope here\n")
    monkeypatch.chdir(inner)
    res = resolve()
    assert res.resolved_scope is None
    assert res.source("local").origin == str(project / "sub" / ".ctxscope.toml")


@pytest.mark.parametrize(
    ("policy", "extra", "env", "expected"),
    [
        ("project", 'project = "safe-default"\n', {}, "safe-default"),
        ("identity", 'identity_prefix = "user-"\n', {"CTXSCOPE_IDENTITY": "Jane Doe"}, "user-jane-doe"),
    ],
)
def test_fallback_policies(project, user_config, monkeypatch, policy, extra, env, expected):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    write(user_config, f'[fallback]\npolicy = "{policy}"\n{extra}')
    res = resolve()
    assert (res.resolved_scope, res.resolved_from, res.state) == (expected, "fallback", "SYNCED")
    assert res.source("fallback").origin.startswith(f"policy {policy}")


def test_identity_fallback_from_cloud_whoami(project, user_config, cloud):
    cloud.identity = "ops@example.com"
    cloud.access = {"me-ops-example.com": "read"}
    write(user_config, '[fallback]\npolicy = "identity"\nidentity_prefix = "me-"\n')
    res = resolve()
    assert res.resolved_scope == "me-ops-example.com"
    assert res.authorized is True


def test_runtime_env_names_disagree(project, user_config, monkeypatch):
    write(user_config, '[runtime]\nenv = ["AGENT_SCOPE", "CTX_SCOPE"]\n')
    monkeypatch.setenv("AGENT_SCOPE", "alpha")
    monkeypatch.setenv("CTX_SCOPE", "beta")
    res = resolve()
    assert (res.resolved_scope, res.source("runtime").origin) == ("alpha", "env AGENT_SCOPE")
    assert res.reasons == ["runtime_mismatch"]
    assert res.state == "DRIFTED"


def test_flag_beats_env(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "from-env")
    res = resolve(scope="from-flag")
    assert (res.resolved_scope, res.source("runtime").origin) == ("from-flag", "flag --scope")


def test_token_in_config_file_is_an_error(project, user_config):
    write(user_config, '[cloud]\nurl = "https://x.example"\ntoken = "abc"\n')
    with pytest.raises(ConfigError, match=r"config.toml:3: `cloud.token`"):
        resolve()


def test_an_empty_cloud_url_configures_no_cloud(project, user_config):
    """`url = ""` is no cloud, as for the cloud source: authorization is not checked (it
    used to crash with an AttributeError, asking a cloud that was never built)."""
    write(user_config, '[cloud]\nurl = ""\n')
    write(project / ".ctxscope.toml", 'scope = "demo"\n')
    res = resolve()
    assert (res.resolved_scope, res.state, res.authorization) == ("demo", "SYNCED", "not_checked")
    assert res.source("cloud").state == "not_configured"


def test_plain_http_only_to_loopback(project, monkeypatch):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", "http://cloud.example.com")
    with pytest.raises(ConfigError, match="plain http"):
        resolve()


def test_cloud_answers_are_cached_and_refresh_bypasses(project, cloud):
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "read"}
    resolve()
    first = len(cloud.requests())
    assert first == 2  # /v1/scope and /v1/scopes/zentygo
    res = resolve()
    assert len(cloud.requests()) == first  # both answered from the cache
    assert "cached" in res.source("cloud").origin
    resolve(refresh=True)
    assert len(cloud.requests()) == first + 2


def test_offline_uses_cache_of_any_age_and_never_the_network(project, cloud, user_config):
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "read"}
    write(user_config, "[cloud]\ncache_ttl = 0\n")
    resolve()
    before = len(cloud.requests())
    res = resolve(offline=True)
    assert len(cloud.requests()) == before
    assert res.resolved_scope == "zentygo"
    assert res.authorized is True


def test_offline_without_cache_is_unreachable(project, cloud):
    res = resolve(offline=True)
    assert res.state == "DEGRADED"
    assert res.error.exit_code == ExitCode.CLOUD
    assert cloud.requests() == []


def test_untrusted_project_cloud_url_is_ignored(project, httpserver, monkeypatch):
    write(
        project / ".ctxscope.toml",
        f'scope = "workout"\n[cloud]\nurl = "{httpserver.url_for("/").rstrip("/")}"\n',
    )
    res = resolve()
    assert res.source("cloud").state == "not_configured"
    assert any("not trusted" in w and "ctxscope trust" in w for w in res.warnings)
    assert httpserver.log == []


def test_trusted_project_cloud_url_counts_until_changed(project, cloud, monkeypatch):
    from ctxscope.trust import trust_file

    monkeypatch.delenv("CTXSCOPE_CLOUD_URL")
    cloud.scope = "workout"
    cloud.access = {"workout": "read"}
    path = write(project / ".ctxscope.toml", f'scope = "workout"\n[cloud]\nurl = "{cloud.url}"\n')
    trust_file(str(path))
    assert resolve().source("cloud").state == "in_sync"
    path.write_text(path.read_text() + "# edited\n")
    assert resolve().source("cloud").state == "ignored"  # changed since trusted: said so


def test_sources_below_winner_are_compared_cloud_invalid(project, httpserver, monkeypatch):
    httpserver.expect_request("/v1/scope").respond_with_json({"scope": "bad scope", "revision": "1"})
    httpserver.expect_request("/v1/scopes/zentygo").respond_with_json({"scope": "zentygo", "access": "read"})
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    res = resolve()
    assert res.resolved_scope == "zentygo"
    assert res.source("cloud").state in ("error", "invalid")
    assert any(r.startswith("cloud_") for r in res.reasons)


def test_resolver_does_not_import_typer_or_rich():
    import subprocess
    import sys

    code = (
        "import sys, ctxscope.resolver, ctxscope.report; "
        "bad = [m for m in ('typer', 'rich', 'httpx', 'pydantic') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_broken_user_config_is_seen_even_when_the_project_file_holds_the_scope(
    project, user_config, monkeypatch
):
    user_config.write_text('[policy]\nmode = "enforce"\n[cloud\n')
    write(project / ".ctxscope.toml", 'scope = "workout"\n')
    res = resolve()
    assert res.state == "INVALID"
    assert res.source("local").state == "unreadable"
    assert f"{user_config}:3:" in res.error.message
    monkeypatch.setenv("CTX_SCOPE", "other")
    res = resolve()
    assert res.resolved_scope == "other"
    assert res.reasons == ["local_invalid"]


def test_an_invalid_cloud_default_is_cached_like_any_answer(project, httpserver, monkeypatch):
    httpserver.expect_request("/v1/scope").respond_with_json({"scope": "a..b", "revision": "1"})
    httpserver.expect_request("/v1/scopes/zentygo").respond_with_json({"scope": "zentygo", "access": "read"})
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    first = resolve()
    second = resolve()
    scope_calls = [r for r, _ in httpserver.log if r.path == "/v1/scope"]
    assert len(scope_calls) == 1
    assert second.reasons == first.reasons == ["cloud_invalid"]
    assert resolve(offline=True).reasons == ["cloud_invalid"]
