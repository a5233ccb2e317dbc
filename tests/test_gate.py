"""`ctxscope.require_scope()`: the gate agent code calls before every scoped operation.

Real files, a real cloud on loopback, the real drift log. The gate must give the
answer `ctxscope resolve` gives (same scope, same exit code, same message), raise
a typed error carrying the Resolution, log like the CLI, and not touch the
network when the cloud's answer is cached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import ctxscope
from ctxscope import gate
from ctxscope.errors import (
    CloudError,
    ConfigError,
    CtxScopeError,
    DriftError,
    ExitCode,
    InvalidScopeError,
    UnauthorizedError,
    UnresolvedError,
)

TOKEN = "sk-ctxscope-GATE-SECRET-4d3c2b1a"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(path, text):
    path.write_text(text)
    return path


# ---- the setups the issue names, shared by the tests below ----


def synced(project, cloud, monkeypatch):
    monkeypatch.setenv("CTXSCOPE_TOKEN", TOKEN)
    write(project / ".ctxscope.toml", 'scope = "workout"\n')
    cloud.scope = "workout"
    cloud.access = {"workout": "write"}


def drifted(project, cloud, monkeypatch):
    """The seed incident: a stale shell override wins, the local file points elsewhere."""
    monkeypatch.setenv("CTXSCOPE_TOKEN", TOKEN)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    write(project / ".ctxscope.toml", 'scope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "write", "workout": "write"}


def unauthorized(project, cloud, monkeypatch):
    monkeypatch.setenv("CTXSCOPE_TOKEN", TOKEN)
    monkeypatch.setenv("CTX_SCOPE", "secret-project")
    cloud.scope = "workout"
    cloud.access = {"workout": "read"}


def unresolved(project, cloud, monkeypatch):
    monkeypatch.setenv("CTXSCOPE_TOKEN", TOKEN)
    cloud.scope = None


SETUPS = {"synced": synced, "drifted": drifted, "unauthorized": unauthorized, "unresolved": unresolved}


# ---- each setup: the scope or the typed error ----


def test_synced_returns_the_scope_and_logs_nothing(project, cloud, monkeypatch, events):
    synced(project, cloud, monkeypatch)
    assert ctxscope.require_scope() == "workout"
    assert events() == []


def test_drifted_returns_the_winner_and_logs_the_drift(project, cloud, monkeypatch, events):
    drifted(project, cloud, monkeypatch)
    assert ctxscope.require_scope() == "zentygo"  # mode "local": drift is logged, not fatal
    [event] = events()
    assert event["event"] == "scope_drift_detected"
    assert event["command"] == "require_scope"
    assert (event["runtime_scope"], event["local_scope"], event["cloud_scope"]) == (
        "zentygo",
        "workout",
        "zentygo",
    )
    assert event["reasons"] == ["local_mismatch"]
    assert event["authorized"] is True


def test_unauthorized_raises_scope_unauthorized(project, cloud, monkeypatch, events):
    unauthorized(project, cloud, monkeypatch)
    with pytest.raises(ctxscope.ScopeUnauthorized) as info:
        ctxscope.require_scope()
    exc = info.value
    assert isinstance(exc, UnauthorizedError) and isinstance(exc, ctxscope.ScopeError)
    assert exc.exit_code == ExitCode.UNAUTHORIZED
    assert exc.reason == "scope_unauthorized"
    assert exc.resolution.state == "UNAUTHORIZED"
    assert exc.resolution.resolved_scope == "secret-project"
    assert "not visible to the token" in str(exc)
    assert exc.hint
    [event] = events()
    assert (event["event"], event["command"], event["authorized"]) == (
        "scope_unauthorized",
        "require_scope",
        False,
    )


def test_unresolved_raises_scope_unresolved(project, cloud, monkeypatch, events):
    unresolved(project, cloud, monkeypatch)
    with pytest.raises(ctxscope.ScopeUnresolved) as info:
        ctxscope.require_scope()
    exc = info.value
    assert isinstance(exc, UnresolvedError)
    assert (exc.exit_code, exc.reason) == (ExitCode.UNRESOLVED, "scope_unresolved")
    assert exc.resolution.state == "UNRESOLVED"
    assert exc.resolution.source("cloud").state == "unset"
    assert [(e["event"], e["command"]) for e in events()] == [("scope_unresolved", "require_scope")]


def test_invalid_runtime_value_raises_scope_invalid_and_never_falls_through(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", " workout")
    write(project / ".ctxscope.toml", 'scope = "workout"\n')
    with pytest.raises(ctxscope.ScopeInvalid) as info:
        ctxscope.require_scope()
    exc = info.value
    assert isinstance(exc, InvalidScopeError)
    assert (exc.exit_code, exc.reason) == (ExitCode.ERROR, "runtime_invalid")
    assert "surrounding whitespace" in exc.message
    assert exc.resolution.state == "INVALID"
    assert isinstance(exc.__cause__, CtxScopeError)


def test_broken_project_file_raises_scope_invalid_naming_file_and_line(project):
    path = write(project / ".ctxscope.toml", 'scope = "a"\nfoo = = 1\n')
    with pytest.raises(ctxscope.ScopeInvalid) as info:
        ctxscope.require_scope()
    assert info.value.reason == "local_invalid"
    assert f"{path}:2:" in info.value.message


def test_cloud_down_with_nothing_above_raises_scope_cloud_error(project, monkeypatch, dead_url):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    with pytest.raises(ctxscope.ScopeCloudError) as info:
        ctxscope.require_scope()
    exc = info.value
    assert isinstance(exc, CloudError)
    assert (exc.exit_code, exc.reason) == (ExitCode.CLOUD, "cloud_unreachable")
    assert exc.resolution.state == "DEGRADED"


def test_cloud_down_runtime_set_returns_scope_outside_enforce(project, monkeypatch, dead_url):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    assert ctxscope.require_scope() == "zentygo"  # like resolve: printed, with a warning


# ---- enforce mode: drift and unverified authorization are refusals too ----


def enforce(project, extra=""):
    write(project / ".ctxscope.toml", f'{extra}[policy]\nmode = "enforce"\n')


def test_enforce_drift_raises_scope_drifted(project, cloud, monkeypatch, events):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    enforce(project, 'scope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "write"}
    with pytest.raises(ctxscope.ScopeDrifted) as info:
        ctxscope.require_scope()
    exc = info.value
    assert isinstance(exc, DriftError)
    assert (exc.exit_code, exc.reason) == (ExitCode.DRIFT, "drift")
    assert "local_mismatch" in exc.message
    assert exc.resolution.resolved_scope == "zentygo"
    assert [e["event"] for e in events()] == ["scope_drift_detected"]


def test_enforce_synced_returns_the_scope(project, cloud):
    enforce(project, 'scope = "workout"\n')
    cloud.scope = "workout"
    cloud.access = {"workout": "read"}
    assert ctxscope.require_scope() == "workout"


def test_enforce_without_cloud_is_unauthorized_not_checked(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    enforce(project)
    with pytest.raises(ctxscope.ScopeUnauthorized) as info:
        ctxscope.require_scope()
    assert info.value.reason == "authorization_not_checked"
    assert info.value.exit_code == ExitCode.UNAUTHORIZED
    assert info.value.resolution.authorization == "not_checked"


def test_enforce_cloud_down_is_cloud_error_authorization_unknown(project, monkeypatch, dead_url):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    enforce(project)
    with pytest.raises(ctxscope.ScopeCloudError) as info:
        ctxscope.require_scope()
    assert info.value.reason == "authorization_unknown"
    assert info.value.exit_code == ExitCode.CLOUD


# ---- the same answer as `ctxscope resolve` ----

PARITY = [*SETUPS, "invalid", "enforce_drift", "enforce_no_cloud"]


@pytest.mark.parametrize("name", PARITY)
def test_gate_and_cli_resolve_agree(ctx, name, project, cloud, monkeypatch):
    if name in SETUPS:
        SETUPS[name](project, cloud, monkeypatch)
    elif name == "invalid":
        monkeypatch.setenv("CTX_SCOPE", "has space")
    elif name == "enforce_drift":
        drifted(project, cloud, monkeypatch)
        enforce(project, 'scope = "workout"\n')
    else:
        monkeypatch.delenv("CTXSCOPE_CLOUD_URL")
        monkeypatch.setenv("CTX_SCOPE", "zentygo")
        enforce(project)

    cli = ctx("resolve")
    try:
        scope, code, message = ctxscope.require_scope(), 0, None
    except ctxscope.ScopeError as exc:
        scope, code, message = None, int(exc.exit_code), str(exc)

    assert code == cli.returncode
    assert (scope + "\n" if scope else "") == cli.stdout
    if message is not None:
        assert cli.stderr.startswith(f"ctxscope: error: {message}")


def test_resolve_exit_code_is_the_gate_rule(project, monkeypatch):
    """`commands.resolve.exit_code` delegates to `gate.scope_failure`: one rule, not two."""
    from ctxscope.commands.resolve import exit_code
    from ctxscope.output import error_line
    from ctxscope.resolver import resolve

    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    enforce(project)
    res = resolve(log=False)
    failure = gate.scope_failure(res)
    code, line = exit_code(res)
    assert (code, line) == (failure.exit_code, error_line(failure))
    assert line.startswith(failure.message)
    assert gate.scope_failure(res._replace(config=_mode(res.config, "local"))) is None


def _mode(config, mode):
    from ctxscope.config import Config, Setting

    settings = dict(config.settings, **{"policy.mode": Setting("policy.mode", mode, "test")})
    return Config(config.project, config.user, settings, config.warnings)


# ---- arguments ----


def test_scope_argument_is_the_runtime_flag(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "from-env")
    assert ctxscope.require_scope(scope="from-flag") == "from-flag"


def test_env_argument_replaces_os_environ(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "from-process")
    assert ctxscope.require_scope(env={"CTX_SCOPE": "from-argument"}) == "from-argument"
    with pytest.raises(ctxscope.ScopeUnresolved):
        ctxscope.require_scope(env={})


def test_cwd_argument_resolves_for_another_directory(project, tmp_path):
    other = tmp_path / "other"
    (other / "deep").mkdir(parents=True)
    write(other / ".ctxscope.toml", 'scope = "other-project"\n')
    write(project / ".ctxscope.toml", 'scope = "this-project"\n')
    assert ctxscope.require_scope() == "this-project"
    assert ctxscope.require_scope(cwd=str(other / "deep")) == "other-project"


def test_command_argument_names_the_caller_in_events(project, monkeypatch, events):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    write(project / ".ctxscope.toml", 'scope = "workout"\n')
    ctxscope.require_scope(command="memory-agent")
    assert [e["command"] for e in events()] == ["memory-agent"]


def test_broken_config_raises_config_error_like_the_cli(ctx, project, monkeypatch):
    write(project / ".ctxscope.toml", f'scope = "workout"\ntoken = "{TOKEN}"\n')
    with pytest.raises(ConfigError) as info:
        ctxscope.require_scope()
    assert not isinstance(info.value, ctxscope.ScopeError)
    assert TOKEN not in str(info.value)
    assert ctx("resolve").returncode == ConfigError.exit_code


def test_structured_error_has_reason_message_hint_code(project, cloud, monkeypatch):
    unauthorized(project, cloud, monkeypatch)
    with pytest.raises(ctxscope.ScopeError) as info:
        ctxscope.require_scope()
    assert info.value.to_dict() == {
        "reason": "scope_unauthorized",
        "message": info.value.message,
        "hint": info.value.hint,
        "exit_code": 4,
    }


# ---- cheap: a cached cloud answer means no network ----


def test_cached_cloud_answer_means_no_request(project, cloud, monkeypatch):
    synced(project, cloud, monkeypatch)
    assert ctxscope.require_scope() == "workout"
    asked = len(cloud.requests())
    assert asked == 2  # the default scope and the authorization, once
    for _ in range(5):
        assert ctxscope.require_scope() == "workout"
    assert len(cloud.requests()) == asked


def test_refresh_asks_again_and_offline_never_asks(project, cloud, monkeypatch):
    synced(project, cloud, monkeypatch)
    ctxscope.require_scope()
    asked = len(cloud.requests())
    assert ctxscope.require_scope(offline=True) == "workout"
    assert len(cloud.requests()) == asked
    assert ctxscope.require_scope(refresh=True) == "workout"
    assert len(cloud.requests()) == asked + 2


def test_expired_cache_is_not_used_to_authorize(project, cloud, monkeypatch, user_config):
    synced(project, cloud, monkeypatch)
    write(user_config, "[cloud]\ncache_ttl = 0\n")
    ctxscope.require_scope()
    asked = len(cloud.requests())
    cloud.access = {}  # access revoked since the last answer
    with pytest.raises(ctxscope.ScopeUnauthorized):
        ctxscope.require_scope()
    assert len(cloud.requests()) > asked


def test_warm_gate_in_a_fresh_process_imports_nothing_heavy(project, cloud, monkeypatch):
    """With the answer cached, a gate call loads no HTTP client, CLI or MCP code."""
    synced(project, cloud, monkeypatch)
    ctxscope.require_scope()  # fills the cache
    asked = len(cloud.requests())
    code = (
        "import sys, json, ctxscope\n"
        "scope = ctxscope.require_scope()\n"
        "heavy = ['httpx', 'typer', 'rich', 'mcp', 'platformdirs']\n"
        "print(json.dumps([scope, [m for m in heavy if m in sys.modules]]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ),
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == ["workout", []]
    assert len(cloud.requests()) == asked


# ---- the package's top level ----


def test_exported_lazily_from_the_top_level():
    names = [
        "require_scope",
        "ScopeError",
        "ScopeInvalid",
        "ScopeDrifted",
        "ScopeUnauthorized",
        "ScopeUnresolved",
        "ScopeCloudError",
    ]
    assert all(name in ctxscope.__all__ for name in names)
    assert ctxscope.require_scope is gate.require_scope
    assert ctxscope.ScopeDrifted is gate.ScopeDrifted
    code = "import sys, ctxscope; print('ctxscope.gate' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT),
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("cls", "base", "code"),
    [
        (gate.ScopeInvalid, InvalidScopeError, 1),
        (gate.ScopeDrifted, DriftError, 3),
        (gate.ScopeUnauthorized, UnauthorizedError, 4),
        (gate.ScopeUnresolved, UnresolvedError, 5),
        (gate.ScopeCloudError, CloudError, 6),
    ],
)
def test_error_classes_keep_the_exit_codes_of_their_bases(cls, base, code):
    assert issubclass(cls, base) and issubclass(cls, gate.ScopeError)
    assert cls.exit_code == code


def test_token_never_in_errors_or_log(project, cloud, monkeypatch, log_file):
    for setup in SETUPS.values():
        (project / ".ctxscope.toml").unlink(missing_ok=True)
        setup(project, cloud, monkeypatch)
        try:
            ctxscope.require_scope(refresh=True)
        except ctxscope.ScopeError as exc:
            assert TOKEN not in repr(exc.to_dict())
            assert TOKEN not in repr(exc.resolution.to_dict())
        monkeypatch.delenv("CTX_SCOPE", raising=False)
    assert TOKEN not in log_file.read_text()
    assert all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in cloud.requests())
