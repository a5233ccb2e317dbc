"""`ctxscope serve`: the installed command on a free loopback port, over real HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from ctxscope.commands.serve import is_loopback


def start(cwd, *args, env=None) -> tuple[subprocess.Popen, str]:
    """Start `ctxscope serve --port 0 ...` and return it with the URL its stderr line names."""
    proc = subprocess.Popen(
        ["ctxscope", "serve", "--port", "0", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    line = proc.stderr.readline()
    match = re.match(
        r"ctxscope serve: (http://\S+)/healthz \(also /status, /metrics\); "
        r"Ctrl-C stops\n$",
        line,
    )
    if match is None:
        proc.kill()
        rest = proc.communicate(timeout=10)
        pytest.fail(f"unexpected first line {line!r}; then {rest!r}")
    return proc, match.group(1)


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url + "/healthz", timeout=5)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.05)


@pytest.fixture
def served(project):
    procs = []

    def serve(*args, env=None):
        proc, url = start(project, *args, env=env)
        procs.append(proc)
        wait_ready(url)
        return proc, url

    yield serve
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_over_http_and_stops_cleanly(served, project, sig):
    (project / ".ctxscope.toml").write_text('scope = "demo"\n')
    proc, url = served()
    assert url.startswith("http://127.0.0.1:")
    answer = httpx.get(url + "/healthz", timeout=30)
    assert (answer.status_code, answer.json()) == (
        200,
        {"state": "SYNCED", "resolved_scope": "demo", "reasons": []},
    )
    assert httpx.get(url + "/status", timeout=30).json()["resolved_scope"] == "demo"
    assert 'ctxscope_state{state="SYNCED"} 1.0' in httpx.get(url + "/metrics", timeout=30).text
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert (out, err) == ("", "")  # no access log, no shutdown chatter, no traceback


def test_a_drifted_enforced_host_is_503(served, project):
    (project / ".ctxscope.toml").write_text('scope = "local"\n[policy]\nmode = "enforce"\n')
    _proc, url = served(env={"CTX_SCOPE": "runtime"})
    answer = httpx.get(url + "/healthz", timeout=30)
    assert answer.status_code == 503
    assert answer.json() == {"state": "DRIFTED", "resolved_scope": "runtime", "reasons": ["local_mismatch"]}


def test_ipv6_loopback(served, project):
    import socket

    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1 here")
    _proc, url = served("--host", "::1")
    assert url.startswith("http://[::1]:")
    assert httpx.get(url + "/healthz", timeout=30).status_code == 503  # nothing set: UNRESOLVED


def test_a_busy_port_is_one_line(ctx, project):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = ctx("serve", "--port", str(port), cwd=project)
    assert done.returncode == 1
    assert done.stderr.startswith(f"ctxscope: error: cannot listen on 127.0.0.1:{port}: ")
    assert done.stderr.count("\n") == 1


def test_a_non_loopback_host_is_warned_about(ctx, project):
    # 192.0.2.1 (TEST-NET-1) is not on this machine: the warning comes, then the bind fails,
    # so nothing ever listens beyond loopback.
    done = ctx("serve", "--host", "192.0.2.1", "--port", "0", cwd=project)
    lines = done.stderr.splitlines()
    assert lines[0].startswith("ctxscope: warning: serving on 192.0.2.1, not loopback")
    assert lines[1].startswith("ctxscope: error: cannot listen on 192.0.2.1:0")
    assert done.returncode == 1


def test_without_uvicorn_one_line_and_exit_1(project):
    code = "import sys; sys.modules['uvicorn'] = None\nfrom ctxscope._entry import main\nmain(['serve'])"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr == ("ctxscope: error: ctxscope serve needs uvicorn (pip install 'ctxscope[serve]')\n")


@pytest.mark.parametrize(
    "host, loopback",
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback
