"""Secrets: the token never appears in any output, JSON, log line,
error or exception text; ctxscope's files are 0600 in 0700 directories; TLS
verification is always on.

Every test in the suite is also checked afterwards by `no_token_leaks` in
tests/conftest.py (captured output, state and cache files); here every
command is run, in every state, with the token set, and everything it could
touch is searched.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import traceback
from pathlib import Path

import pytest
from _hardening import CANARY, CTXSCOPE, call, env_with, make_pki, run, start_tls_server
from werkzeug import Response

pytestmark = pytest.mark.hardening

PACKAGE = Path(__file__).resolve().parents[1] / "ctxscope"


def _registered_commands() -> list[str]:
    from ctxscope.cli import app

    return sorted(c.name or c.callback.__name__ for c in app.registered_commands)


# What to run for each command: every output path it has that does not block.
RUNS = {
    "status": [["status"], ["status", "--json"], ["status", "--check"]],
    "resolve": [["resolve"], ["resolve", "--json", "--explain"]],
    "diff": [["diff"], ["diff", "--json"]],
    "trust": [["trust"], ["trust", "--json"]],
    "sync": [
        ["sync", "--direction", "runtime-to-local", "--yes", "--json"],
        ["sync", "--direction", "resolved-to-cloud", "--yes"],
        ["sync", "--direction", "runtime-to-local", "--dry-run"],
    ],
    "repair": [
        ["repair", "--to", "zentygo", "--yes", "--json"],
        ["repair", "--to", "zentygo", "--shell", "bash"],
        ["repair", "--dry-run", "--to", "other"],
    ],
    "init": [["init", "--scope", "zentygo", "--dry-run", "--json"]],
    "config": [["config"], ["config", "--json"], ["config", "cloud.url"]],
    "log": [["log"], ["log", "--json"]],
    "ps": [["ps"], ["ps", "--json"]],
    "prompt": [["prompt"]],
    "hook": [["hook", "bash"]],
    "completion": [["completion", "bash"]],
    "mcp": [],  # a stdio server: its answers are checked through mcp_server below
    "metrics": [["metrics"], ["metrics", "--output", "out.prom"]],
    "serve": [],  # an HTTP server: its answers are checked over HTTP in tests/test_health.py
}

SCENARIOS = ["synced", "drifted", "unauthorized", "cloud says 401", "cloud down", "broken local file"]


def _scenario(name, project, cloud, httpserver, user_config, dead_url) -> dict:
    user_config.write_text('[cloud]\ntimeout = 1\n[policy]\nmode = "cloud"\n')
    (project / ".ctxscope.toml").write_text('# linked\nscope = "workout"\n')
    cloud.scope = "workout"
    cloud.access = {"workout": "write", "zentygo": "write", "other": "read"}
    env = env_with(CTXSCOPE_TOKEN=CANARY)
    if name == "drifted":
        env["CTX_SCOPE"] = "zentygo"
        cloud.scope = "other"
    elif name == "unauthorized":
        cloud.access = {}
    elif name == "cloud says 401":
        httpserver.clear()
        httpserver.expect_request(re.compile("^/")).respond_with_response(
            Response(f'{{"error": "bad token {CANARY[:6]}"}}', status=401, content_type="application/json")
        )
    elif name == "cloud down":
        env["CTXSCOPE_CLOUD_URL"] = dead_url
    elif name == "broken local file":
        (project / ".ctxscope.toml").write_text('scope = "workout\n')
        env["CTX_SCOPE"] = "zentygo"
    return env


def _everything_written(home: Path, project: Path) -> list[tuple[str, str]]:
    found = []
    for root in (home, project):
        for path in root.rglob("*"):
            if path.is_file():
                found.append((str(path), path.read_bytes().decode("utf-8", "replace")))
    return found


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_command_shows_the_token(
    project, cloud, httpserver, user_config, dead_url, isolated_home, scenario, record_property
):
    env = _scenario(scenario, project, cloud, httpserver, user_config, dead_url)
    checked = 0
    outputs = []
    for name in _registered_commands():
        for args in RUNS.get(name, [[name]]):
            result = call(args, cwd=project, env=env)
            assert "Traceback" not in result.stderr, (args, result.stderr)
            outputs.append((" ".join(args), result.stdout + result.stderr))
            checked += 1
    # The hot paths once more as real processes (the fast path skips Typer).
    for args in (["resolve"], ["status", "--json"], ["prompt"]):
        result = run(args, cwd=project, env=env)
        outputs.append(("process: " + " ".join(args), result.stdout + result.stderr))
        checked += 1
    places = outputs + _everything_written(isolated_home, project)
    leaks = [where for where, text in places if CANARY in text]
    record_property("leak_checks", len(places))
    record_property("leaks", len(leaks))
    assert checked >= len(_registered_commands())
    assert not leaks, leaks


def test_mcp_answers_never_hold_the_token(project, cloud, monkeypatch, record_property):
    pytest.importorskip("mcp")
    from ctxscope.mcp_server import answer, diff_answer, resolve_answer, status_answer

    monkeypatch.setenv("CTXSCOPE_TOKEN", CANARY)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    answers = [answer(tool, cwd=str(project)) for tool in (status_answer, diff_answer, resolve_answer)]
    record_property("leak_checks", len(answers))
    assert CANARY not in json.dumps(answers)


# --- exception texts ---------------------------------------------------------------------


def _all_text(exc: BaseException) -> str:
    parts = ["".join(traceback.format_exception(exc)), repr(exc), str(exc)]
    for link in (exc.__cause__, exc.__context__):
        if link is not None:
            parts.append(_all_text(link))
    for attr in ("message", "hint"):
        parts.append(str(getattr(exc, attr, "")))
    return "\n".join(parts)


@pytest.mark.parametrize("fault", ["401", "500", "garbage", "redirect", "refused", "oversized"])
def test_exceptions_never_hold_the_token(httpserver, dead_url, fault, record_property):
    from ctxscope.cloud import CloudClient
    from ctxscope.errors import CtxScopeError

    bodies = {
        "401": (401, "{}"),
        "500": (500, "oops"),
        "garbage": (200, "\x00garbage"),
        "redirect": (302, ""),
        "oversized": (200, "x" * 70000),
    }
    url = dead_url
    if fault != "refused":
        status, body = bodies[fault]
        headers = {"Location": "https://elsewhere.example/"} if status == 302 else {}
        httpserver.expect_request(re.compile("^/")).respond_with_response(
            Response(body, status=status, headers=headers)
        )
        url = httpserver.url_for("").rstrip("/")
    texts = []
    for method in ("get_scope", "whoami", "put"):
        client = CloudClient(url, CANARY, timeout=2)
        try:
            if method == "put":
                client.put_scope("zentygo", "1")
            else:
                getattr(client, method)()
        except CtxScopeError as exc:
            texts.append(_all_text(exc))
        finally:
            client.close()
    record_property("leak_checks", len(texts))
    assert len(texts) == 3
    assert not [t for t in texts if CANARY in t]


def test_resolution_objects_never_hold_the_token(project, cloud, monkeypatch, record_property):
    from ctxscope.errors import CtxScopeError
    from ctxscope.resolver import resolve

    monkeypatch.setenv("CTXSCOPE_TOKEN", CANARY)
    monkeypatch.setenv("CTX_SCOPE", "secret-scope")  # not visible to the token: denied
    res = resolve()
    texts = [repr(res), json.dumps(res.to_dict()), repr(res.config.settings)]
    failure = res.scope_error()
    assert isinstance(failure, CtxScopeError)
    texts.append(_all_text(failure))
    try:
        from ctxscope.gate import require_scope

        require_scope()
    except CtxScopeError as exc:
        texts.append(_all_text(exc))
        texts.append(repr(vars(exc)))
    record_property("leak_checks", len(texts))
    assert not [t for t in texts if CANARY in t]


# --- file modes --------------------------------------------------------------------------


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("umask", [0o000, 0o077, 0o277])
def test_files_0600_directories_0700_whatever_the_umask(
    project, cloud, isolated_home, user_config, umask, record_property
):
    """ctxscope's own files (drift log and its rotations, cache, trust store, locks) are
    0600 and the directories it creates 0700, even with umask 0."""
    user_config.write_text("[log]\nmax_bytes = 600\nkeep = 2\n")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope = "other"
    cloud.access = {"zentygo": "read", "workout": "read"}
    env = env_with(CTXSCOPE_TOKEN=CANARY)
    for i in range(2):  # each run differs, so each is logged; the small max_bytes rotates
        result = subprocess.run(
            [CTXSCOPE, "status", "--scope", f"s{i}"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=lambda: os.umask(umask),
        )
        assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [CTXSCOPE, "trust"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.umask(umask),
    )
    assert result.returncode == 0, result.stderr

    state = isolated_home / ".local" / "state" / "ctxscope"
    cache = isolated_home / ".cache" / "ctxscope"
    subdirs = [p for d in (state, cache) for p in d.iterdir() if p.is_dir()]
    assert {p.name: oct(_mode(p)) for p in subdirs} == {p.name: oct(0o700) for p in subdirs}
    files = [p for d in (state, cache, *subdirs) for p in d.iterdir() if not p.is_dir()]
    assert any(p.name == "drift.jsonl.1" for p in files), sorted(p.name for p in files)
    assert any(p.name.startswith("cloud-") for p in files)
    assert any(p.name == "trusted.json" for p in files)
    record_property("leak_checks", len(files) + 2)
    assert {p.name: oct(_mode(p)) for p in files} == {p.name: oct(0o600) for p in files}
    assert (oct(_mode(state)), oct(_mode(cache))) == (oct(0o700), oct(0o700))
    for parent in (state.parent, cache.parent):  # created by ctxscope too: .local/state, .cache
        assert _mode(parent) & 0o077 == 0, oct(_mode(parent))


def test_log_named_by_the_user_is_0600_in_a_new_0700_directory(project, tmp_path):
    log = tmp_path / "logs" / "sub" / "drift.jsonl"
    result = run(["resolve"], cwd=project, env=env_with(CTX_SCOPE="bad value", CTXSCOPE_LOG=str(log)))
    assert result.returncode == 1
    assert oct(_mode(log)) == oct(0o600)
    assert oct(_mode(log.parent)) == oct(0o700) and oct(_mode(log.parent.parent)) == oct(0o700)


# --- TLS verification is always on ----------------------------------------------------------

_DISABLING = re.compile(
    r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context"
    r"|PYTHONHTTPSVERIFY|INSECURE",
    re.IGNORECASE,
)


def test_no_code_path_turns_verification_off():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _DISABLING.search(line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    pytest.importorskip("cryptography")
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"PYTHONHTTPSVERIFY": "0", "CURL_CA_BUNDLE": "", "REQUESTS_CA_BUNDLE": ""},
        {"SSL_CERT_FILE": ""},
        {"CTXSCOPE_INSECURE": "1", "CTXSCOPE_VERIFY": "0", "CTXSCOPE_TLS_VERIFY": "false"},
    ],
)
def test_untrusted_certificate_is_refused_whatever_the_environment(pki, project, extra, record_property):
    server = start_tls_server(*pki["self-signed"])
    try:
        env = env_with(CTXSCOPE_CLOUD_URL=server.url, CTXSCOPE_TOKEN=CANARY, **extra)
        for args in (["resolve", "--refresh"], ["status", "--check"]):
            result = run(args, cwd=project, env=env)
            assert result.returncode == 6, (args, result.stderr)
            assert "certificate" in result.stdout + result.stderr
        assert server.paths == [] and server.auth == []  # the token never left
    finally:
        server.shutdown()
        server.server_close()
    record_property("faults", 1)
