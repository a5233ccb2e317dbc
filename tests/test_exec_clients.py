"""Real clients under `ctxscope exec`, not our reading of their variables.

- the LangSmith SDK's own `langsmith.utils.get_tracer_project()` and the OpenAI SDK's
  `OpenAI().project` report the mapped project in the launched process (no network:
  both read the environment when asked);
- the MCP SDK's stdio client launches `ctxscope exec -- python server.py` exactly as a
  desktop client does from its JSON config, and a tool of that server reports the
  resolved scope and the memory server's group id; a refused launch leaves the client
  an error it can show, with ctxscope's reason in the server's stderr.
"""

from __future__ import annotations

import json
import os
import sys

import anyio
import langsmith  # noqa: F401  (the test extra has it; the child process imports it again)
import openai  # noqa: F401
import pytest
from _command import CTXSCOPE, run_installed
from mcp import ClientSession, StdioServerParameters, stdio_client

OBSERVE = """
[[observe.sources]]
preset = "langsmith"
map = { workout = "workout-traces" }

[[observe.sources]]
preset = "openai"
map = { workout = "proj_workout123" }

[[observe.sources]]
preset = "graphiti"
map = { workout = "workout-graph" }
"""


@pytest.fixture
def workout(project, user_config, monkeypatch):
    """A project on scope 'workout', observers mapped, stale ids in the parent's env."""
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    user_config.write_text(OBSERVE)
    monkeypatch.setenv("LANGSMITH_PROJECT", "zentygo-traces")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_zentygo")
    monkeypatch.setenv("GRAPHITI_GROUP_ID", "main")
    return project


def under_exec(cwd, code: str) -> str:
    done = run_installed(["exec", "--", sys.executable, "-c", code], cwd=cwd, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_langsmith_sdk_reports_the_mapped_project(workout):
    code = "from langsmith import utils; print(utils.get_tracer_project())"
    assert under_exec(workout, code) == "workout-traces"


def test_openai_sdk_reports_the_mapped_project(workout):
    code = (
        "import openai; c = openai.OpenAI(api_key='sk-test-not-used'); "
        "print(c.project, c.default_headers.get('OpenAI-Project'))"
    )
    assert under_exec(workout, code) == "proj_workout123 proj_workout123"


SERVER = '''
import os
from mcp.server.mcpserver import MCPServer

server = MCPServer("memory-demo")


@server.tool()
def whoami() -> dict:
    """The scope this memory server was launched in."""
    return {"scope": os.environ.get("CTX_SCOPE"),
            "group_id": os.environ.get("GRAPHITI_GROUP_ID"),
            "marker": os.environ.get("CTXSCOPE_EXEC"),
            "pid": os.getpid(), "ppid": os.getppid()}


server.run("stdio")
'''


def _client_env() -> dict[str, str]:
    keep = ("HOME", "PATH", "NO_PROXY", "LANG", "LC_ALL", "GRAPHITI_GROUP_ID")
    return {
        k: v for k, v in os.environ.items() if k in keep or k.startswith(("XDG_", "CTXSCOPE_", "CTX_SCOPE"))
    }


def _session(cwd, server_path, errlog_path):
    async def main():
        params = StdioServerParameters(
            command=CTXSCOPE,
            args=["exec", "--", sys.executable, str(server_path)],
            env=_client_env(),
            cwd=str(cwd),
        )
        with open(errlog_path, "w") as errlog, anyio.fail_after(60):
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                result = await session.call_tool("whoami", {})
                return result.structured_content or json.loads(result.content[0].text)

    return anyio.run(main)


def test_mcp_stdio_client_talks_to_a_server_launched_through_exec(workout, tmp_path):
    server = tmp_path / "server.py"
    server.write_text(SERVER)
    errlog = tmp_path / "server.err"
    got = _session(workout, server, errlog)
    if "result" in got and isinstance(got["result"], dict):
        got = got["result"]
    assert got["scope"] == "workout"
    assert got["group_id"] == "workout-graph"
    assert got["marker"].startswith("scope=workout;from=local;t=")
    assert "ctxscope" not in errlog.read_text()  # nothing said: in sync


def test_a_refused_launch_leaves_the_mcp_client_a_clear_error(project, cloud, monkeypatch, tmp_path):
    cloud.scope = "workout"
    cloud.access = {"workout": "read"}
    monkeypatch.setenv("CTX_SCOPE", "payroll")  # not visible to the token
    monkeypatch.setenv("CTXSCOPE_TOKEN", "tok-not-for-payroll")
    server = tmp_path / "server.py"
    server.write_text(SERVER + "\nopen('started', 'w').close()\n")
    errlog = tmp_path / "server.err"
    with pytest.raises(Exception) as caught:  # the SDK's own error type for a dead server
        _session(project, server, errlog)
    assert not (project / "started").exists()
    said = errlog.read_text()
    assert said.startswith(f"ctxscope: error: not starting {sys.executable}: scope 'payroll'")
    assert "not visible to the token" in said
    assert "Traceback" not in said
    leaves = list(_leaves(caught.value))
    # What the client shows: the connection closed before initialize; the server's stderr
    # (which desktop clients put in their MCP log) says why.
    assert [(type(e).__name__, str(e)) for e in leaves] == [("MCPError", "Connection closed")]


def _leaves(exc):
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
