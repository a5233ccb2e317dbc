"""`ctxscope mcp` through the official SDK's own stdio client, as a real subprocess.

The installed `ctxscope mcp` is started by `mcp.client.stdio.stdio_client` with the
test's environment passed explicitly (HOME, XDG dirs, cloud URL, token, CTX_SCOPE),
against the loopback cloud. Each setup the issue names (synced, drifted,
unauthorized, unresolved) is checked tool by tool against what the CLI says for
the same environment, the drift log is validated, and the token must never
appear in a result or on the server's stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client  # the test extra has it

from ctxscope import __version__
from ctxscope.mcp_server import redact

TOKEN = "sk-ctxscope-MCP-SECRET-8e7f6a5b"
CTXSCOPE = os.path.join(os.path.dirname(sys.executable), "ctxscope")
TOOLS = {"scope_status", "scope_resolve", "scope_diff"}


def child_env() -> dict[str, str]:
    """The test's environment for the server, spelled out: isolated HOME, XDG, cloud, token."""
    keep = ("HOME", "PATH", "NO_PROXY", "LANG", "LC_ALL", "COLUMNS")
    return {
        k: v for k, v in os.environ.items() if k in keep or k.startswith(("XDG_", "CTXSCOPE_", "CTX_SCOPE"))
    }


def mcp_session(cwd, calls, errlog_path):
    """Start `ctxscope mcp`, initialize, list tools, make `calls`; return what came back."""

    async def main():
        params = StdioServerParameters(command=CTXSCOPE, args=["mcp"], env=child_env(), cwd=str(cwd))
        with open(errlog_path, "w") as errlog, anyio.fail_after(120):
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                init = await session.initialize()
                listed = await session.list_tools()
                results = []
                for name, args in calls:
                    results.append(await session.call_tool(name, args))
                return init, listed.tools, results

    return anyio.run(main)


def cli(ctx, cwd, *args):
    """The installed command with the server's environment (child_env), never a traceback."""
    proc = ctx(*args, cwd=cwd, env=child_env())
    assert "Traceback" not in proc.stderr
    return proc


def structured(result) -> dict:
    """The tool's JSON object; its text content must say exactly the same."""
    [content] = result.content
    assert json.loads(content.text) == result.structured_content
    return result.structured_content


def no_token_anywhere(results, errlog_path):
    for r in results:
        assert TOKEN not in r.model_dump_json()
    text = errlog_path.read_text()
    assert TOKEN not in text
    assert "Traceback" not in text


# ---- setups (the same as tests/test_gate.py) ----


def synced(project, cloud, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope = "workout"
    cloud.access = {"workout": "write"}


def drifted(project, cloud, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "write", "workout": "write"}


def unauthorized(project, cloud, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "secret-project")
    cloud.scope = "workout"
    cloud.access = {"workout": "read"}


def unresolved(project, cloud, monkeypatch):
    cloud.scope = None


# setup -> (state, scope from scope_resolve, its exit code, error reason, event, diff's code)
EXPECTED = {
    synced: ("SYNCED", "workout", 0, None, None, 0),
    drifted: ("DRIFTED", "zentygo", 0, None, "scope_drift_detected", 3),
    unauthorized: ("UNAUTHORIZED", None, 4, "scope_unauthorized", "scope_unauthorized", 4),
    unresolved: ("UNRESOLVED", None, 5, "scope_unresolved", "scope_unresolved", 5),
}


@pytest.mark.parametrize("setup", list(EXPECTED), ids=lambda f: f.__name__)
def test_each_tool_in_each_setup_gives_the_cli_answer(
    ctx, setup, project, cloud, monkeypatch, events, tmp_path
):
    monkeypatch.setenv("CTXSCOPE_TOKEN", TOKEN)
    setup(project, cloud, monkeypatch)
    state, scope, code, reason, event, diff_code = EXPECTED[setup]
    errlog = tmp_path / "server.err"

    init, tools, (status, resolved, diff) = mcp_session(
        project,
        [
            ("scope_status", {"refresh": True}),
            ("scope_resolve", {}),
            ("scope_diff", {"refresh": True}),
        ],
        errlog,
    )
    server_requests = cloud.requests()

    # initialize and list: three read-only tools, nothing that writes
    assert (init.server_info.name, init.server_info.version) == ("ctxscope", __version__)
    assert "read-only" in init.instructions
    assert {t.name for t in tools} == TOOLS
    assert all(t.annotations.read_only_hint and not t.annotations.destructive_hint for t in tools)

    # scope_status is `status --json`
    status_obj = structured(status)
    assert status.is_error is False
    assert status_obj["state"] == state
    cli_status = json.loads(cli(ctx, project, "status", "--json", "--refresh").stdout)
    assert status_obj.keys() == cli_status.keys()
    live = ("processes",)  # a scan of the machine's processes at that moment: shape only
    assert {k: v for k, v in status_obj.items() if k not in live} == {
        k: v for k, v in cli_status.items() if k not in live
    }

    # scope_resolve is `resolve`: the scope, or a structured error with resolve's code
    resolve_obj = structured(resolved)
    cli_resolve = cli(ctx, project, "resolve")
    assert resolve_obj["scope"] == scope == (cli_resolve.stdout.strip() or None)
    assert resolve_obj["exit_code"] == code == cli_resolve.returncode
    assert resolved.is_error is (code != 0)
    assert resolve_obj["state"] == state
    if reason is None:
        assert "error" not in resolve_obj
        assert resolve_obj["source"] == ("runtime" if setup is drifted else "local")
        assert resolve_obj["authorization"] == "authorized"
        assert resolve_obj["authorized"] is True
    else:
        error = resolve_obj["error"]
        assert (error["reason"], error["exit_code"]) == (reason, code)
        assert cli_resolve.stderr.startswith(f"ctxscope: error: {error['message']}")
        assert resolve_obj["warnings"] == []  # a refusal is the message, not a warning too
    if setup is drifted:
        assert any("local_mismatch" in w for w in resolve_obj["warnings"])

    # scope_diff is `diff --json`, plus diff's exit code
    diff_obj = structured(diff)
    cli_diff = cli(ctx, project, "diff", "--json", "--refresh")
    assert diff_obj.pop("exit_code") == diff_code == cli_diff.returncode
    assert diff_obj == json.loads(cli_diff.stdout)
    assert diff.is_error is False

    # the server used the token it was given, and never showed it
    assert server_requests
    assert all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in server_requests)
    no_token_anywhere([status, resolved, diff], errlog)

    # every call logs like the CLI, as command "mcp" (the CLI's identical event is de-duplicated)
    logged = events()
    if event is None:
        assert logged == []
    else:
        assert logged[0]["event"] == event
        assert logged[0]["command"] == "mcp"
        assert logged[0]["pid"] != os.getpid()  # written by the server process
        assert logged[0]["resolved_scope"] == status_obj["resolved_scope"]


def test_arguments_and_failures_come_back_structured(project, cloud, monkeypatch, tmp_path, events):
    monkeypatch.setenv("CTXSCOPE_TOKEN", TOKEN)
    synced(project, cloud, monkeypatch)
    other = tmp_path / "other"
    other.mkdir()
    (other / ".ctxscope.toml").write_text('scope = "other-project"\n')
    leaky = tmp_path / "leaky"
    leaky.mkdir()
    (leaky / ".ctxscope.toml").write_text(f'scope = "x"\ntoken = "{TOKEN}"\n')
    errlog = tmp_path / "server.err"

    _init, _tools, results = mcp_session(
        project,
        [
            ("scope_resolve", {"scope": "from-client"}),
            ("scope_resolve", {"cwd": str(other)}),
            ("scope_resolve", {"cwd": str(tmp_path / "missing")}),
            ("scope_status", {"cwd": str(leaky)}),
            ("scope_resolve", {"offline": True}),
            ("scope_resolve", {"scope": "has space"}),
        ],
        errlog,
    )
    flag, other_dir, missing, leak, offline, invalid = (structured(r) for r in results)

    assert (flag["scope"], flag["source"]) == (None, "runtime")  # not visible to the token
    assert flag["error"]["reason"] == "scope_unauthorized"
    assert (other_dir["scope"], other_dir["source"]) == (None, "local")
    assert other_dir["error"]["exit_code"] == 4  # "other-project" is not visible either
    assert results[2].is_error and missing["error"]["reason"] == "usage"
    assert missing["error"]["exit_code"] == 2
    assert results[3].is_error and leak["error"] == {
        "reason": "config",
        "exit_code": 1,
        "hint": None,
        "message": leak["error"]["message"],
    }
    assert "looks like a secret" in leak["error"]["message"]
    assert (offline["scope"], offline["exit_code"]) == ("workout", 0)
    assert results[5].is_error
    # a bad scope argument is a usage error, like a bad --scope flag
    assert (invalid["error"]["reason"], invalid["error"]["exit_code"]) == ("usage", 2)
    no_token_anywhere(results, errlog)
    assert {e["command"] for e in events()} == {"mcp"}


def test_without_the_sdk_says_how_to_install_and_exits_1(project):
    code = (
        "import sys\nsys.modules['mcp'] = None  # as if not installed\n"
        "from ctxscope._entry import main\nmain(['mcp'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=project, env=child_env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "pip install 'ctxscope[mcp]'" in proc.stderr
    assert proc.stderr.startswith("ctxscope: error: ")
    assert "Traceback" not in proc.stderr


def test_mcp_is_a_listed_command(ctx, project):
    proc = cli(ctx, project, "mcp", "--help")
    assert proc.returncode == 0
    assert "scope_status" in proc.stdout and "ctxscope[mcp]" in proc.stdout


def test_redact_scrubs_every_string_but_ignores_short_secrets():
    obj = {"a": [f"x{TOKEN}y", {"k": TOKEN}], TOKEN: 1, "n": None}
    assert TOKEN not in json.dumps(redact(obj, TOKEN))
    assert redact(obj, TOKEN)["a"][0] == "x***y"
    assert redact({"word": "abc"}, "abc") == {"word": "abc"}
    assert redact(obj, None) is obj
