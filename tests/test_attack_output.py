"""Attacks on what ctxscope prints: the token in error text, terminal escapes, proxies,
secrets in observed values and flags that used to crash.

Each test plants hostile input where an attacker can put it (a cloned repository's
project file, a file an observer reads, a cloud answer, a drift log line, another
process's environment, a flag, the token variable itself), runs the installed
`ctxscope` the way a user would, and checks everything it printed. Each records
`attacks` (the number of hostile cases it tried) for benchmarks/reliability.py.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from _attack import ALL_PAYLOADS, PAYLOADS, RecordingProxy, raw_controls
from _hardening import (
    CANARY,
    assert_clean_failure,
    call,
    env_with,
    make_pki,
    run,
    start_tls_server,
)
from werkzeug import Response

pytestmark = pytest.mark.attack


def toml_str(value: str) -> str:
    """`value` as a TOML basic string: every character outside printable ASCII escaped."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def assert_no_raw_controls(result, what: str, *, allow_colour: bool = False) -> None:
    text = result.stdout + result.stderr
    assert "Traceback" not in result.stderr, (what, result.stderr)
    found = raw_controls(text, allow_colour=allow_colour)
    assert not found, (what, found, text[:2000])


# --- 3. the token in error text -----------------------------------------------------------

BAD_TOKENS = {
    "trailing CR (a CRLF file)": CANARY + "\r",
    "trailing LF": CANARY + "\n",
    "trailing CRLF": CANARY + "\r\n",
    "trailing space": CANARY + " ",
    "leading space": " " + CANARY,
    "tab inside": CANARY[:8] + "\t" + CANARY[8:],
    "non-ASCII": CANARY + "é",
    "non-Latin": CANARY + "ключ",
    "control character": CANARY + "\x01",
    "DEL": CANARY + "\x7f",
    "header injection": CANARY + "\r\nX-Evil: 1",
    "escape sequence": CANARY + "\x1b[2J",
}

TOKEN_COMMANDS = [
    ["status"],
    ["status", "--json"],
    ["resolve"],
    ["resolve", "--explain"],
    ["diff"],
    ["diff", "--json"],
    ["sync", "--direction", "resolved-to-cloud", "--yes"],
    ["repair", "--to", "workout", "--yes"],
]


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_token_that_is_no_header_value_is_refused_before_any_request(
    project, cloud, token, record_property
):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope, cloud.access = "workout", {"workout": "write"}
    env = env_with(CTXSCOPE_TOKEN=token)
    tried = 0
    for args in TOKEN_COMMANDS:
        result = run(args, cwd=project, env=env)
        line = assert_clean_failure(result, 1, "CTXSCOPE_TOKEN", "not a valid HTTP header value")
        assert CANARY not in result.stdout + result.stderr, args
        assert "\r" not in line and "é" not in line
        tried += 1
    # The startup hook and the prompt never fail the shell: one line, or the mark.
    hook = run(["hook", "bash", "--run"], cwd=project, env=env)
    # (The hook gives up silently past its one-second deadline on a loaded machine.)
    assert hook.returncode == 0 and (hook.stderr == "" or "CTXSCOPE_TOKEN" in hook.stderr)
    prompt = run(["prompt"], cwd=project, env=env)
    assert prompt.returncode == 0 and prompt.stdout.strip() in ("!", "")  # (its deadline)
    config = run(["config", "--json"], cwd=project, env=env)
    settings = json.loads(config.stdout)["settings"]
    row = next(r for r in settings if r["key"] == "cloud.token")
    assert row["value"].startswith("set, but not usable")
    for result in (hook, prompt, config):
        assert CANARY not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    tried += 3
    assert cloud.requests() == [], "a request went out with a bad token"
    record_property("attacks", tried)


def test_a_bad_token_in_mcp_answers_is_named_never_shown(project, cloud, monkeypatch, record_property):
    pytest.importorskip("mcp")
    from ctxscope.mcp_server import answer, diff_answer, resolve_answer, status_answer

    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    tried = 0
    for token in BAD_TOKENS.values():
        monkeypatch.setenv("CTXSCOPE_TOKEN", token)
        for tool in (status_answer, diff_answer, resolve_answer):
            obj, is_error = answer(tool, cwd=str(project))
            text = json.dumps(obj, ensure_ascii=False)
            assert is_error and "CTXSCOPE_TOKEN" in text, text
            assert CANARY not in text
            tried += 1
    monkeypatch.delenv("CTXSCOPE_TOKEN")
    assert cloud.requests() == []
    record_property("attacks", tried)


# A token the header accepts but whose encodings all differ: quotes, a backslash, a
# percent sign, a plus, a slash. A cloud that echoes it back (as the scope, inside an
# invalid scope, in a redirect's Location) must not get it printed in any encoding.
ODD_TOKEN = "ctxs\"odd'tok\\Q7%2F+Z=/K2"


def _forms(token: str) -> dict[str, str]:
    return {
        "raw": token,
        "repr": repr(token)[1:-1],
        "json": json.dumps(token)[1:-1],
        "url-quoted": quote(token, safe=""),
        "url-quoted path": quote(token),
        "form-quoted": quote_plus(token),
        "bytes repr": repr(token.encode())[2:-1],
        "double json": json.dumps(json.dumps(token))[1:-1],
        "repr of json": repr(json.dumps(token))[1:-1],
        "json of repr": json.dumps(repr(token))[1:-1],
        "repr of url-quoted": repr(quote(token, safe=""))[1:-1],
    }


def _echoing_cloud(httpserver, how: str) -> None:
    httpserver.clear()

    def scope(request):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if how == "location":
            return Response(
                "",
                status=302,
                headers={"Location": "https://elsewhere.example/login?t=" + quote(token, safe="")},
            )
        value = {
            "as the scope": token,
            "inside an invalid scope": f"bad {token} value",
            "json-escaped": json.dumps(token),
        }[how]
        return Response(json.dumps({"scope": value, "revision": "1"}), content_type="application/json")

    def access(request):
        return Response(json.dumps({"error": "nope"}), status=404, content_type="application/json")

    httpserver.expect_request("/v1/scope").respond_with_handler(scope)
    httpserver.expect_request(re.compile(r"^/v1/scopes/.+")).respond_with_handler(access)


@pytest.mark.parametrize("how", ["as the scope", "inside an invalid scope", "json-escaped", "location"])
def test_a_cloud_echoing_the_token_gets_it_printed_in_no_encoding(
    project, cloud, httpserver, monkeypatch, how, record_property
):
    _echoing_cloud(httpserver, how)
    monkeypatch.setenv("CTXSCOPE_TOKEN", ODD_TOKEN)  # conftest's leak check looks for it too
    env = env_with(CTX_SCOPE="other")
    outputs = {}
    for args in (
        ["status"],
        ["status", "--json"],
        ["diff"],
        ["diff", "--json"],
        ["resolve", "--explain"],
        ["status", "--refresh", "--json"],
        ["log"],
        ["log", "--json"],
    ):
        result = run(args, cwd=project, env=env)
        assert "Traceback" not in result.stderr
        outputs[" ".join(args)] = result.stdout + result.stderr
    if how != "location":
        assert any("***" in text for text in outputs.values()), outputs
    pytest.importorskip("mcp")
    from ctxscope.mcp_server import answer, diff_answer, status_answer

    monkeypatch.setenv("CTX_SCOPE", "other")
    for tool in (status_answer, diff_answer):
        outputs[tool.__name__] = json.dumps(
            answer(tool, cwd=str(project), refresh=True)
            if "refresh" in tool.__code__.co_varnames
            else answer(tool, cwd=str(project))
        )
    log = Path(os.environ["XDG_STATE_HOME"]) / "ctxscope" / "drift.jsonl"
    if log.exists():
        outputs["drift log"] = log.read_text()
    leaks = [
        (where, form)
        for where, text in outputs.items()
        for form, shown in _forms(ODD_TOKEN).items()
        if shown in text
    ]
    assert not leaks, leaks
    record_property("attacks", len(outputs))


# --- 4. terminal escapes ------------------------------------------------------------------


def _hostile_project(project: Path, payload: str) -> None:
    (project / ".ctxscope.toml").write_text(
        f"scope = {toml_str('work' + payload + 'out')}\n"
        f"{toml_str('key' + payload)} = 1\n"
        f"[cloud]\n{toml_str('sub' + payload)} = 2\n"
    )


PROJECT_COMMANDS = [
    ["status"],
    ["status", "--json"],
    ["diff"],
    ["diff", "--json"],
    ["resolve"],
    ["resolve", "--explain"],
    ["resolve", "--json"],
    ["config"],
    ["config", "--json"],
    ["config", "scope"],
    ["hook", "bash", "--run"],
    ["hook", "fish", "--run", "--json"],
    ["prompt"],
    ["prompt", "--json"],
    ["log"],
    ["log", "--json"],
    ["repair", "--to", "workout", "--dry-run"],
    ["sync", "--direction", "runtime-to-local", "--dry-run"],
    ["trust", "--json"],
    ["trust"],
]


@pytest.mark.parametrize("name", PAYLOADS)
def test_project_file_escapes_never_reach_the_terminal(project, name, record_property):
    """Every command that reads a project file, over one payload each (in-process runs)."""
    _hostile_project(project, PAYLOADS[name])
    env = env_with(CTX_SCOPE="other" + PAYLOADS[name].replace("\x00", ""))
    for args in PROJECT_COMMANDS:
        result = call(args, cwd=project, env=env)
        assert_no_raw_controls(result, " ".join(args))
    record_property("attacks", len(PROJECT_COMMANDS))


def test_project_file_escapes_through_the_installed_command(project, record_property):
    """All payloads at once, as real processes, plain and with colours forced on."""
    _hostile_project(project, ALL_PAYLOADS)
    env = env_with(CTX_SCOPE="other" + ALL_PAYLOADS.replace("\x00", ""))
    tried = 0
    for args in PROJECT_COMMANDS:
        assert_no_raw_controls(run(args, cwd=project, env=env), " ".join(args))
        tried += 1
    coloured = env_with(CTX_SCOPE=env["CTX_SCOPE"], FORCE_COLOR="1")
    for args in (["status"], ["diff"], ["config"], ["log"]):
        result = run(args, cwd=project, env=coloured)
        assert "\x1b[" in result.stdout  # colours really are on
        assert_no_raw_controls(result, " ".join(args), allow_colour=True)
        tried += 1
    record_property("attacks", tried)


def test_observed_file_escapes_never_reach_the_terminal(project, user_config, record_property):
    (project / ".git").mkdir()
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    (project / ".vercel").mkdir()
    (project / ".vercel" / "project.json").write_text(json.dumps({"projectId": "prj" + ALL_PAYLOADS}))
    user_config.write_text('observe = ["vercel", "langsmith"]\n')
    env = env_with(LANGSMITH_PROJECT="trace" + ALL_PAYLOADS.replace("\x00", ""))
    tried = 0
    for args in (
        ["status"],
        ["status", "--json"],
        ["diff"],
        ["diff", "--json"],
        ["config"],
        ["hook", "bash", "--run"],
        ["log"],
        ["log", "--json"],
    ):
        result = run(args, cwd=project, env=env)
        assert_no_raw_controls(result, " ".join(args))
        tried += 1
    status = json.loads(run(["status", "--json"], cwd=project, env=env).stdout)
    assert {o["name"]: o["state"] for o in status["observed"]} == {
        "vercel": "drifted",
        "langsmith": "drifted",
    }
    record_property("attacks", tried)


def test_cloud_answer_escapes_never_reach_the_terminal(project, cloud, record_property):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope = "cloud" + ALL_PAYLOADS
    cloud.access = {"workout": "write"}
    env = env_with(CTXSCOPE_TOKEN=CANARY)
    tried = 0
    for args in (
        ["status"],
        ["status", "--json"],
        ["diff"],
        ["resolve", "--explain"],
        ["hook", "bash", "--run"],
        ["prompt"],
        ["log"],
        ["log", "--json"],
        ["repair", "--to", "workout", "--dry-run"],
    ):
        result = run(args, cwd=project, env=env)
        assert_no_raw_controls(result, " ".join(args))
        tried += 1
    record_property("attacks", tried)


def test_log_line_escapes_never_reach_the_terminal(project, log_file, record_property):
    log_file.parent.mkdir(parents=True, exist_ok=True)
    events = []
    for i, (name, payload) in enumerate(PAYLOADS.items()):
        events.append(
            {
                "ts": f"2026-11-24T10:00:{i:02d}Z",
                "event": "scope_drift_detected" + payload,
                "resolved_scope": "s" + payload,
                "reason": name + payload,
                "action_required": "repair" + payload,
                "command": "status" + payload,
                "cwd": "/tmp/" + payload,
                "direction": payload,
            }
        )
    # C0 controls are escaped by JSON itself; C1, bidi and the rest are written raw.
    log_file.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events))
    tried = 0
    for args in (
        ["log"],
        ["log", "--tail", "3"],
        ["log", "--since", "2026-01-01"],
        ["log", "--json"],
        ["log", "--scope", "s" + PAYLOADS["c1 csi"]],
    ):
        result = run(args, cwd=project)
        assert_no_raw_controls(result, " ".join(args))
        tried += 1
    # `log --json` stays JSON: the escapes it uses are JSON escapes.
    raw = run(["log", "--json"], cwd=project)
    assert [json.loads(line) for line in raw.stdout.splitlines()] == events
    record_property("attacks", tried * len(PAYLOADS))


def test_process_environment_and_argv_escapes_never_reach_the_terminal(project, spawn, record_property):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    payload = ALL_PAYLOADS.replace("\x00", "")
    child = spawn(
        project, "stale" + payload, argv=[sys.executable, "-c", "import time; time.sleep(300)", payload]
    )
    tried = 0
    for args in (
        ["ps", "--pid", str(child.pid)],
        ["ps", "--json", "--pid", str(child.pid)],
        ["ps"],
        ["status"],
    ):
        result = run(args, cwd=project)
        assert_no_raw_controls(result, " ".join(args))
        tried += 1
    shown = run(["ps", "--pid", str(child.pid)], cwd=project)
    assert str(child.pid) in shown.stdout
    record_property("attacks", tried)


def test_error_messages_with_outside_text_are_escaped(project, record_property):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    hostile = project / ("file" + ALL_PAYLOADS.replace("\x00", "").replace("/", ""))
    hostile.write_text('scope = "x"\nbroken = \n')
    payload = ALL_PAYLOADS.replace("\x00", "")
    cases = [
        ["trust", str(hostile)],
        ["trust", str(hostile) + "-missing"],
        ["config", "cloud." + payload],
        ["status", f"--scope={payload}"],
        ["resolve", f"--scope={payload}"],
        ["log", f"--since={payload}"],
        ["log", f"--event={payload}"],
        ["prompt", f"--format={{{payload}}}"],
        ["sync", f"--direction={payload}"],
        ["repair", f"--to={payload}", "--dry-run"],
        ["init", f"--scope={payload}", "--dry-run"],
        ["hook", payload],
        ["status", f"--interval={payload}"],
        ["ps", f"--pid={payload}"],
        [payload],
    ]
    for args in cases:
        result = run(args, cwd=project)
        assert_no_raw_controls(result, repr(args))
    record_property("attacks", len(cases))


# --- 5. proxies and the loopback token ----------------------------------------------------

PROXY_VARS = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_loopback_cloud_is_never_reached_through_a_proxy(project, cloud, host, record_property):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope, cloud.access = "workout", {"workout": "write"}
    url = cloud.url.replace("127.0.0.1", host) if host != "127.0.0.1" else cloud.url
    tried = 0
    with RecordingProxy() as proxy:
        for var in PROXY_VARS:
            env = env_with(
                CTXSCOPE_TOKEN=CANARY,
                CTXSCOPE_CLOUD_URL=url,
                NO_PROXY=None,
                no_proxy=None,
                **{var: proxy.url},
            )
            result = run(["status", "--json", "--refresh"], cwd=project, env=env)
            data = json.loads(result.stdout)
            assert data["state"] == "SYNCED", result.stdout
            assert data["authorization"] == "authorized"
            tried += 1
        assert proxy.seen == [], proxy.seen
    assert any(r.headers.get("Authorization") == f"Bearer {CANARY}" for r in cloud.requests())
    record_property("attacks", tried)


@pytest.fixture
def pki(tmp_path):
    pytest.importorskip("cryptography")
    directory = tmp_path / "pki"
    directory.mkdir()
    return make_pki(directory)


def test_https_through_a_proxy_still_works_and_no_proxy_is_respected(project, pki, record_property):
    # The certificate is for other.example; the proxy tunnels every CONNECT to the
    # test server on loopback, so the name never needs to resolve.
    server = start_tls_server(*pki["wrong name"])
    port = server.server_address[1]
    (project / ".ctxscope.toml").write_text('scope = "tls-scope"\n')
    try:
        with RecordingProxy(tunnel_port=port) as proxy:
            env = env_with(
                CTXSCOPE_TOKEN=CANARY,
                SSL_CERT_FILE=pki["ca"],
                NO_PROXY=None,
                CTXSCOPE_CLOUD_URL=f"https://other.example:{port}",
                HTTPS_PROXY=proxy.url,
            )
            result = run(["status", "--json", "--refresh"], cwd=project, env=env)
            data = json.loads(result.stdout)
            assert data["state"] == "SYNCED" and data["authorization"] == "authorized", data
            assert proxy.seen and all(h.startswith(f"CONNECT other.example:{port} ") for h in proxy.seen), (
                proxy.seen
            )
            assert all(CANARY not in h for h in proxy.seen)  # the token went inside TLS
            assert f"Bearer {CANARY}" in server.auth
            seen = len(proxy.seen)
            env["NO_PROXY"] = "other.example"
            result = run(["status", "--json", "--refresh"], cwd=project, env=env)
            assert len(proxy.seen) == seen  # NO_PROXY: the proxy is not asked
            assert json.loads(result.stdout)["state"] == "DEGRADED"
    finally:
        server.shutdown()
        server.server_close()
    record_property("attacks", 2)


# --- 6. secrets in observed values --------------------------------------------------------

SECRET = "hunter2-s3cr3t-Pw"

URL_VALUES = {
    "postgres DSN": f"postgres://app:{SECRET}@db.internal:5432/app",
    "redis URL": f"redis://:{SECRET}@cache:6379/0",
    "https basic auth": f"https://deploy:{SECRET}@git.example.com/org/repo.git",
    "user only (sentry-style key)": f"https://{SECRET}@o1.ingest.example.io/42",
    "amqp": f"amqps://guest:{SECRET}@mq/vhost",
}


@pytest.mark.parametrize("what", URL_VALUES)
def test_credentials_inside_an_observed_url_are_masked_everywhere(
    project, user_config, isolated_home, what, monkeypatch, record_property
):
    (project / ".git").mkdir()
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    (project / "svc.json").write_text(json.dumps({"service": {"url": URL_VALUES[what]}}))
    user_config.write_text(
        '[[observe.sources]]\nname = "database"\nenv = "DATABASE_URL"\n'
        '[[observe.sources]]\nname = "service"\nfile = "svc.json"\nkey = "service.url"\n'
    )
    env = env_with(DATABASE_URL=URL_VALUES[what])
    outputs = {}
    for args in (
        ["status"],
        ["status", "--json"],
        ["diff"],
        ["diff", "--json"],
        ["log"],
        ["log", "--json"],
        ["hook", "bash", "--run"],
    ):
        result = run(args, cwd=project, env=env)
        assert "Traceback" not in result.stderr
        outputs[" ".join(args)] = result.stdout + result.stderr
    status = json.loads(run(["status", "--json"], cwd=project, env=env).stdout)
    values = {o["name"]: o["value"] for o in status["observed"]}
    assert all("***@" in v for v in values.values()), values
    pytest.importorskip("mcp")
    from ctxscope.mcp_server import answer, status_answer

    monkeypatch.setenv("DATABASE_URL", URL_VALUES[what])
    outputs["mcp"] = json.dumps(answer(status_answer, cwd=str(project)))
    for path in (isolated_home / ".local").rglob("*"):
        if path.is_file():
            outputs[str(path)] = path.read_text(errors="replace")
    leaks = [where for where, text in outputs.items() if SECRET in text]
    assert not leaks, leaks
    record_property("attacks", len(outputs))


SECRET_NAMES = {
    "env": [
        "SENTRY_DSN",
        "DATABASE_DSN",
        "PGPASSWORD",
        "DB_PASSWORD",
        "CLIENT_SECRET",
        "AWS_SECRET_ACCESS_KEY",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "NPM_AUTH",
        "GH_AUTH_TOKEN",
        "SSH_PRIVATE_KEY",
        "SESSION_COOKIE",
        "GPG_PASSPHRASE",
        "OPENAI_API_KEY",
    ],
    "key": [
        "auths.registry.example.com.auth",
        "auths.ghcr.io.identitytoken",
        "database.password",
        "oauth.client_secret",
        "gcp.private_key",
        "aws.credentials.key",
        "sentry.dsn",
        "docker.auth",
        "session",
        "api-key",
        "cookie",
        "auth_header",
        "credsStore.credential",
    ],
}


def test_observers_of_secret_names_are_refused_and_never_read(project, user_config, record_property):
    (project / ".git").mkdir()
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    doc: dict = {}
    for key in SECRET_NAMES["key"]:
        node = doc
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = SECRET
    (project / "tool.json").write_text(json.dumps(doc))
    entries = [
        f'[[observe.sources]]\nname = "env{i}"\nenv = "{name}"\n'
        for i, name in enumerate(SECRET_NAMES["env"])
    ]
    entries += [
        f'[[observe.sources]]\nname = "key{i}"\nfile = "tool.json"\nkey = "{key}"\n'
        for i, key in enumerate(SECRET_NAMES["key"])
    ]
    user_config.write_text("".join(entries))
    env = env_with(**dict.fromkeys(SECRET_NAMES["env"], SECRET))
    result = run(["status", "--json"], cwd=project, env=env)
    observed = json.loads(result.stdout)["observed"]
    assert len(observed) == len(entries)
    for row in observed:
        assert row["state"] == "invalid" and "looks like a secret" in row["problem"], row
    table = run(["status"], cwd=project, env=env)
    assert SECRET not in result.stdout + result.stderr + table.stdout + table.stderr
    record_property("attacks", len(entries))


def test_ordinary_project_id_names_are_still_observed(project, user_config):
    """The secret rules do not catch ordinary names."""
    (project / ".git").mkdir()
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    (project / "tool.json").write_text(
        json.dumps({"projectId": "p1", "author": {"project": "p2"}, "session_name": {"id": "p3"}})
    )
    user_config.write_text(
        '[[observe.sources]]\nname = "a"\nfile = "tool.json"\nkey = "projectId"\n'
        '[[observe.sources]]\nname = "b"\nfile = "tool.json"\nkey = "author.project"\n'
        '[[observe.sources]]\nname = "c"\nenv = "SERVICE_URL"\n'
        '[[observe.sources]]\nname = "d"\nenv = "OAUTHLIB_PROJECT"\n'
    )
    env = env_with(SERVICE_URL="https://api.example.com/v1", OAUTHLIB_PROJECT="p4")
    observed = json.loads(run(["status", "--json"], cwd=project, env=env).stdout)["observed"]
    assert {o["name"]: o["value"] for o in observed} == {
        "a": "p1",
        "b": "p2",
        "c": "https://api.example.com/v1",
        "d": "p4",
    }


def test_a_private_key_or_the_token_in_an_observed_value_is_never_kept(project, user_config, record_property):
    (project / ".git").mkdir()
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    key = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET}\n-----END OPENSSH PRIVATE KEY-----\n"
    (project / "k.json").write_text(json.dumps({"project": key}))
    user_config.write_text(
        '[[observe.sources]]\nname = "pem"\nfile = "k.json"\nkey = "project"\n'
        '[[observe.sources]]\nname = "tok"\nenv = "MY_PROJECT"\n'
    )
    env = env_with(CTXSCOPE_TOKEN=CANARY, MY_PROJECT=f"id-{CANARY}")
    result = run(["status", "--json"], cwd=project, env=env)
    rows = {o["name"]: o for o in json.loads(result.stdout)["observed"]}
    assert rows["pem"]["state"] == rows["tok"]["state"] == "invalid"
    assert rows["pem"]["value"] is None and rows["tok"]["value"] is None
    assert SECRET not in result.stdout
    record_property("attacks", 2)


def test_a_cloud_url_with_credentials_is_masked_in_errors(project, record_property):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    urls = [
        f"ftp://user:{SECRET}@host/x",
        f"http://user:{SECRET}@example.com/",
        f"https://user:{SECRET}@example.com/",
        f"gopher://{SECRET}@h",
    ]
    tried = 0
    for url in urls:
        for args in (["status"], ["status", "--json"], ["config"], ["config", "cloud.url"]):
            result = run(args, cwd=project, env=env_with(CTXSCOPE_CLOUD_URL=url))
            assert "Traceback" not in result.stderr
            assert SECRET not in result.stdout + result.stderr, (url, args)
            tried += 1
    record_property("attacks", tried)


# --- 9. flags that used to crash ----------------------------------------------------------

CRASHERS = [
    ["prompt", "--format", "{scope:>99999999999}"],
    ["prompt", "--format", "{scope:.99999999999}"],
    ["prompt", "--format", "{mark:099999999999}"],
    ["log", "--since", "0001-01-01"],
    ["log", "--since", "9999-12-31T23:59:59-01:00"],
    ["log", "--since", "1000000000000d"],
    ["log", "--since", "1" + "0" * 400 + "s"],
    ["log", "--since", "1969-12-31T00:00:00Z"],
    ["status", "--watch", "--interval", "inf"],
    ["status", "--watch", "--interval", "1e400"],
    ["status", "--watch", "--interval", "nan"],
]


@pytest.mark.parametrize("args", CRASHERS, ids=[" ".join(a) for a in CRASHERS])
def test_flags_that_used_to_crash_are_usage_errors(project, args, record_property):
    result = run(args, cwd=project, timeout=20)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith(("ctxscope: error:", "Error:"))]
    assert len(errors) == 1, result.stderr
    record_property("attacks", 1)


def test_a_long_token_cut_short_for_display_shows_no_long_run_of_it(
    project, cloud, monkeypatch, record_property
):
    token = CANARY + "-" + "k7Qp2Xw9Lm4Rt8Zs" * 4  # longer than a scope may be
    monkeypatch.setenv("CTXSCOPE_TOKEN", token)
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope = token  # a cloud that echoes the token: invalid (too long), shown cut
    outputs = {}
    for args in (["status"], ["status", "--json"], ["diff"], ["resolve", "--explain"]):
        result = run(args, cwd=project, env=env_with())
        outputs[" ".join(args)] = result.stdout + result.stderr
    assert any("***" in text for text in outputs.values()), outputs
    runs = {token[i : i + 12] for i in range(len(token) - 11)}
    leaks = [(where, r) for where, text in outputs.items() for r in runs if r in text]
    assert not leaks, leaks
    record_property("attacks", len(outputs))
