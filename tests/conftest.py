"""Shared test fixtures.

Every test runs with HOME and the XDG dirs in tmp_path, with CTX_SCOPE, tokens,
ctxscope's own variables and colour variables cleared (one autouse fixture), so
no test reads or writes the real home.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _command import TIMEOUT, run_installed, validate_event

CLEARED_PREFIXES = ("CTXSCOPE_", "CTX_SCOPE", "OTEL_")
CLEARED = (
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "TERM",
    "COLUMNS",
    "LINES",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "XDG_CONFIG_DIRS",
    "XDG_DATA_DIRS",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    for name in list(os.environ):
        if name.startswith(CLEARED_PREFIXES) or name in CLEARED:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("COLUMNS", "200")
    # The installed `ctxscope` lives beside this interpreter, even when the venv is not activated.
    bindir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    return home


@pytest.fixture
def ctx():
    """Run the installed `ctxscope` console script in a subprocess, as a user would:
    `ctx(*args, cwd=None, env=None, input=None, timeout=60)` returns a result with
    `.returncode`, `.stdout`, `.stderr` and `.success`. `env` is the command's whole
    environment (default: this test's, isolated by `isolated_home`); stdin is `input`
    or /dev/null (bytes in, bytes out). See tests/_command.py.

    The only other ways the tests start ctxscope, each for a reason:
    - `subprocess` directly where a test needs the process itself: to signal or kill
      it, talk to it while it runs (MCP over stdio, a followed log), give it a terminal
      (pty, tmux), a umask or interpreter flags (-X importtime), or have a shell run it
      and evaluate what it prints;
    - tests/_helptext.py renders the Typer app's own help in-process (CliRunner): it
      reads what the app declares, the source the completions and man page are checked
      against;
    - `call` in tests/_hardening.py runs the entry point in-process for the large input
      matrices, each of which also runs its key command through a real process;
    - a test that replaces a module attribute first (monkeypatch.setattr), which a
      subprocess would not see;
    - tests/test_packaging.py runs the copy installed from the built wheel.

    Module-level helpers that cannot take a fixture call `run_installed` (tests/
    _command.py) directly, the function this fixture calls.
    """

    def run(*args, cwd=None, env=None, input=None, timeout=TIMEOUT):
        return run_installed(args, cwd=cwd, env=env, input=input, timeout=timeout)

    return run


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A working directory for the test (a 'repository'), made the cwd."""
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def user_config(isolated_home):
    path = isolated_home / ".config" / "ctxscope" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def log_file(isolated_home):
    return isolated_home / ".local" / "state" / "ctxscope" / "drift.jsonl"


def read_events(path) -> list[dict]:
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


@pytest.fixture
def events(log_file):
    """Read the drift log; every event is validated against the shipped JSON Schema."""

    def read():
        found = read_events(log_file)
        for event in found:
            validate_event(event)
        return found

    return read


class FakeCloud:
    """The v1 contract served by a real HTTP server on loopback (pytest-httpserver)."""

    def __init__(self, server):
        self.server = server
        self.url = server.url_for("").rstrip("/")
        self.scope: str | None = None
        self.revision = 1
        self.access: dict[str, str] = {}  # scope -> "read" | "write"; missing -> 404
        self.identity = "jane"
        self.puts: list[dict] = []
        # Switches for reconciliation tests:
        self.put_status: int | None = None  # answer every PUT with this status instead
        self.race: str | None = None  # another writer sets this just before our PUT
        self.after_put: str | None = None  # another writer sets this just after our PUT
        self._install()

    def _install(self):
        from werkzeug import Response

        def get_scope(request):
            return Response(
                json.dumps({"scope": self.scope, "revision": str(self.revision)}),
                content_type="application/json",
            )

        def put_scope(request):
            if self.put_status is not None:
                return Response(
                    json.dumps({"error": "refused"}), status=self.put_status, content_type="application/json"
                )
            if self.race is not None:
                self.scope, self.race = self.race, None
                self.revision += 1
            want = f'"{self.revision}"'
            if request.headers.get("If-Match") != want:
                return Response(
                    json.dumps({"error": "precondition failed"}), status=412, content_type="application/json"
                )
            body = json.loads(request.data)
            self.puts.append(body)
            self.scope = body["scope"]
            self.revision += 1
            answer = {"scope": self.scope, "revision": str(self.revision)}
            if self.after_put is not None:
                self.scope, self.after_put = self.after_put, None
                self.revision += 1
            return Response(json.dumps(answer), content_type="application/json")

        def get_access(request):
            from urllib.parse import unquote

            name = unquote(request.path[len("/v1/scopes/") :])
            if name not in self.access:
                return Response(
                    json.dumps({"error": "not found"}), status=404, content_type="application/json"
                )
            return Response(
                json.dumps({"scope": name, "access": self.access[name]}), content_type="application/json"
            )

        def whoami(request):
            return Response(json.dumps({"identity": self.identity}), content_type="application/json")

        import re

        self.server.expect_request("/v1/scope", method="GET").respond_with_handler(get_scope)
        self.server.expect_request("/v1/scope", method="PUT").respond_with_handler(put_scope)
        self.server.expect_request(re.compile(r"^/v1/scopes/.+"), method="GET").respond_with_handler(
            get_access
        )
        self.server.expect_request("/v1/whoami", method="GET").respond_with_handler(whoami)

    def requests(self, path_prefix: str = "/v1/") -> list:
        return [r for r, _ in self.server.log if r.path.startswith(path_prefix)]


@pytest.fixture
def cloud(httpserver, monkeypatch):
    """A fake cloud on loopback, configured through CTXSCOPE_CLOUD_URL."""
    fake = FakeCloud(httpserver)
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", fake.url)
    return fake


@pytest.fixture
def dead_url():
    """A loopback URL where nothing listens: connections are refused at once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ---- no token ever leaks: checked after every test ---------------------------------------

LEAK_CANARY = "ctxs-canary-Q7ZK2M9X4T"  # the hardening suites' token (tests/_hardening.py)
_CALL_REPORT = pytest.StashKey()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_CALL_REPORT] = report


def _text_of(path: Path) -> str | None:
    """A regular file's text (bounded); None for anything else (/dev/full, FIFOs, dirs)."""
    try:
        if not path.is_file():
            return None
        with open(path, "rb") as fh:
            return fh.read(16 << 20).decode("utf-8", "replace")
    except OSError:
        return None


@pytest.fixture(autouse=True)
def no_token_leaks(request, isolated_home):
    """After each test, the canary token and any CTXSCOPE_TOKEN the test set (8 characters
    or more, so that short words are not flagged) must not appear in the test's captured
    output nor in the files ctxscope keeps: its state and cache directories and the log
    named by CTXSCOPE_LOG. Changes nothing a test sees; only looks afterwards."""
    yield
    tokens = {LEAK_CANARY}
    for name in ("CTXSCOPE_TOKEN", "CTXSCOPE_ETCD_PASSWORD"):
        token = os.environ.get(name)
        if token and len(token) >= 8:
            tokens.add(token)
    report = request.node.stash.get(_CALL_REPORT, None)
    places = list(report.sections) if report is not None else []
    files = []
    for root in (isolated_home / ".local" / "state", isolated_home / ".cache"):
        if root.is_dir():
            files.extend(p for p in root.rglob("*"))
    if os.environ.get("CTXSCOPE_LOG"):
        log = Path(os.environ["CTXSCOPE_LOG"])
        files.extend([log, *log.parent.glob(log.name + ".*")] if log.parent.is_dir() else [log])
    for path in files:
        text = _text_of(path)
        if text is not None:
            places.append((str(path), text))
    leaks = sorted({where for where, text in places if any(t in text for t in tokens)})
    if leaks:
        pytest.fail("the token leaked into: " + "; ".join(leaks), pytrace=False)


@pytest.fixture
def spawn():
    """Start sleeping children with a given env and cwd; kill them afterwards."""
    started: list[subprocess.Popen] = []

    def start(cwd, scope=None, *, var="CTX_SCOPE", env=None, argv=None):
        child_env = {"PATH": os.environ["PATH"]}
        if scope is not None:
            child_env[var] = scope
        child_env.update(env or {})
        p = subprocess.Popen(
            argv or ["sleep", "300"],
            cwd=str(cwd),
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()
        p.wait()
