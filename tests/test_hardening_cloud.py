"""Cloud faults against real servers on loopback.

pytest-httpserver answers with every status and body the contract does not
allow; a raw socket server written here accepts and never answers, trickles
bytes, cuts the connection or speaks another protocol; an HTTPS server uses a
certificate from a private CA made for the test. Each fault, through the
installed command: a bounded run (the whole command, with the time measured
only loosely), one `ctxscope: error:` line, exit 6 where the cloud was needed
(4 where the answer means "not visible"), nothing written anywhere (project
files, the cache, the cloud itself) and the token never shown.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from _hardening import (
    CANARY,
    assert_clean_failure,
    call,
    env_with,
    error_lines,
    make_pki,
    run,
    start_tls_server,
    tree_snapshot,
    warning_lines,
)
from werkzeug import Response

pytestmark = pytest.mark.hardening

TIMEOUT = 1.0  # [cloud] timeout for these tests; a hang must end within it
BOUND = TIMEOUT * 3 + 5  # loose: the whole command, start-up included


@pytest.fixture
def cloud_env(project, user_config):
    """User config with a short cloud budget; a token in the environment; a local file
    with no scope (so the cloud is the first source consulted)."""
    user_config.write_text(f"[cloud]\ntimeout = {TIMEOUT}\n")
    return env_with(CTXSCOPE_TOKEN=CANARY)


def timed(args, *, cwd, env):
    started = time.monotonic()
    result = run(args, cwd=cwd, env=env)
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"`ctxscope {' '.join(args)}` took {elapsed:.1f}s"
    return result


def _cache_entries(url: str) -> dict:
    from ctxscope.cache import CloudCache

    path = Path(CloudCache(url, CANARY).path)
    if not path.exists():
        return {}
    return json.loads(path.read_text()).get("entries", {})


def _nothing_written(before: dict, project, url: str, *, allowed_cache=()) -> None:
    assert tree_snapshot(project) == before
    # "unreachable" is the memo of a timeout (no answer), never an answer kept.
    assert set(_cache_entries(url)) - {"unreachable"} <= set(allowed_cache)


# --- HTTP statuses ---------------------------------------------------------------------------

STATUSES = [401, 403, 404, 409, 412, 429, 500, 503]


def _answer_everything_with(httpserver, status: int, body: str = '{"error": "nope"}') -> str:
    httpserver.expect_request(re.compile("^/")).respond_with_response(
        Response(body, status=status, content_type="application/json")
    )
    return httpserver.url_for("").rstrip("/")


@pytest.mark.parametrize("status", STATUSES)
def test_http_status_faults(httpserver, project, cloud_env, status, record_property):
    url = _answer_everything_with(httpserver, status)
    env = {**cloud_env, "CTXSCOPE_CLOUD_URL": url}
    (project / ".ctxscope.toml").write_text("# no scope here\n")
    before = tree_snapshot(project)
    record_property("faults", 4)

    # The cloud is the first source consulted: nothing to print, exit 6.
    assert_clean_failure(timed(["resolve"], cwd=project, env=env), 6, f"HTTP {status}", url + "/v1/scope")
    # (in-process from here: the server answers at once, nothing can hang)
    checked = call(["status", "--check"], cwd=project, env=env)
    assert checked.returncode == 6 and "DEGRADED" in checked.stdout

    # A runtime scope needs the cloud only to authorize it. 403/404 mean "not visible":
    # fail closed (4). Anything else leaves authorization unknown: printed, with a warning.
    resolved = call(["resolve", "--scope", "x"], cwd=project, env=env)
    if status in (403, 404):
        assert_clean_failure(resolved, 4, "'x'")
    else:
        assert (resolved.returncode, resolved.stdout) == (0, "x\n"), resolved.stderr
        assert any("authorization" in w and "unknown" in w for w in warning_lines(resolved.stderr))

    # A write that needs the target authorized writes nothing.
    wrote = call(["sync", "--direction", "runtime-to-local", "--scope", "x", "--yes"], cwd=project, env=env)
    assert wrote.returncode == (4 if status in (403, 404) else 6), wrote.stderr
    assert len(error_lines(wrote.stderr)) == 1 and "Traceback" not in wrote.stderr
    assert not [r for r, _ in httpserver.log if r.method != "GET"]
    # Only a real answer is cached: 403/404 mean "not visible" (an answer), the rest nothing.
    _nothing_written(before, project, url, allowed_cache=("access:x",) if status in (403, 404) else ())


@pytest.mark.parametrize("status", [401, 500, 503])
def test_enforce_mode_fails_when_authorization_is_unknown(
    httpserver, project, cloud_env, user_config, status, record_property
):
    user_config.write_text(f'[cloud]\ntimeout = {TIMEOUT}\n[policy]\nmode = "enforce"\n')
    url = _answer_everything_with(httpserver, status)
    record_property("faults", 1)
    result = timed(["resolve", "--scope", "x"], cwd=project, env={**cloud_env, "CTXSCOPE_CLOUD_URL": url})
    assert_clean_failure(result, 6, "enforce")


# --- bodies outside the contract -----------------------------------------------------------------

BIG = 70 * 1024
BODIES = {
    "garbage": (b"\x00\xff<html>not json", "not JSON"),
    "empty body": (b"", "shape"),
    "HTML error page": (b"<html><body>502 Bad Gateway</body></html>", "not JSON"),
    "JSON list": (b'["a"]', "shape"),
    "JSON string": (b'"zentygo"', "shape"),
    "missing revision": (b'{"scope": "a"}', "shape"),
    "revision not a string": (b'{"scope": "a", "revision": 7}', "shape"),
    "scope not a string": (b'{"scope": 3, "revision": "1"}', "shape"),
    "scope that is itself invalid": (b'{"scope": "a b", "revision": "1"}', "not allowed"),
    "scope with '..'": (b'{"scope": "a/../b", "revision": "1"}', "'..'"),
    "scope of 129 characters": (json.dumps({"scope": "a" * 129, "revision": "1"}).encode(), "129 characters"),
    "scope with an escape sequence": (b'{"scope": "a\\u001b[2Jb", "revision": "1"}', "not allowed"),
    "oversized valid JSON": (
        json.dumps({"scope": "a", "revision": "x" * BIG}).encode(),
        "larger than 64 KiB",
    ),
    "oversized garbage": (b"x" * (BIG * 4), "larger than 64 KiB"),
    "deeply nested JSON": (b"[" * 5000 + b"]" * 5000, ""),
}


@pytest.mark.parametrize("case", sorted(BODIES))
def test_bodies_outside_the_contract(httpserver, project, cloud_env, case, record_property):
    body, reason = BODIES[case]
    httpserver.expect_request("/v1/scope").respond_with_response(
        Response(body, status=200, content_type="application/json")
    )
    url = httpserver.url_for("").rstrip("/")
    env = {**cloud_env, "CTXSCOPE_CLOUD_URL": url}
    before = tree_snapshot(project)
    record_property("faults", 1)
    result = timed(["resolve"], cwd=project, env=env)
    line = assert_clean_failure(result, 6, url + "/v1/scope", reason)
    assert "\x1b" not in result.stderr and len(line) < 600
    data = json.loads(call(["status", "--json"], cwd=project, env=env).stdout)
    [cloud_row] = [s for s in data["sources"] if s["source"] == "cloud"]
    assert cloud_row["value"] is None and cloud_row["state"] in ("error", "invalid")
    assert data["resolved_scope"] is None
    _nothing_written(
        before,
        project,
        url,
        allowed_cache=("scope",)
        if "invalid" in case or "'..'" in case or "129" in case or "escape" in case
        else (),
    )


def test_invalid_cloud_scope_below_the_winner_is_drift(httpserver, project, cloud_env, record_property):
    httpserver.expect_request("/v1/scope").respond_with_json({"scope": "a b", "revision": "1"})
    httpserver.expect_request("/v1/scopes/zentygo").respond_with_json({"scope": "zentygo", "access": "read"})
    env = {**cloud_env, "CTXSCOPE_CLOUD_URL": httpserver.url_for("").rstrip("/"), "CTX_SCOPE": "zentygo"}
    record_property("faults", 1)
    resolved = timed(["resolve"], cwd=project, env=env)
    assert (resolved.returncode, resolved.stdout) == (0, "zentygo\n")
    data = json.loads(call(["status", "--json"], cwd=project, env=env).stdout)
    assert data["state"] == "DRIFTED" and data["reasons"] == ["cloud_invalid"]
    assert data["actions"] == ["repair"]


ACCESS_BODIES = {
    "access not read/write": {"scope": "x", "access": "admin"},
    "access for another scope": {"scope": "y", "access": "write"},
    "access missing": {"scope": "x"},
}


@pytest.mark.parametrize("case", sorted(ACCESS_BODIES))
def test_authorization_answers_outside_the_contract(httpserver, project, cloud_env, case, record_property):
    httpserver.expect_request("/v1/scopes/x").respond_with_json(ACCESS_BODIES[case])
    env = {**cloud_env, "CTXSCOPE_CLOUD_URL": httpserver.url_for("").rstrip("/")}
    record_property("faults", 1)
    resolved = timed(["resolve", "--scope", "x"], cwd=project, env=env)
    assert (resolved.returncode, resolved.stdout) == (0, "x\n")  # unknown, never "authorized"
    assert any("unknown" in w for w in warning_lines(resolved.stderr))
    data = json.loads(call(["status", "--json", "--scope", "x"], cwd=project, env=env).stdout)
    assert data["authorization"] == "unknown" and data["authorized"] is None


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_refused_and_not_followed(httpserver, project, cloud_env, status, record_property):
    target = httpserver.url_for("/elsewhere/v1/scope")
    httpserver.expect_request("/v1/scope").respond_with_response(
        Response("", status=status, headers={"Location": target})
    )
    httpserver.expect_request("/elsewhere/v1/scope").respond_with_json({"scope": "hijacked", "revision": "1"})
    url = httpserver.url_for("").rstrip("/")
    record_property("faults", 1)
    result = timed(["resolve"], cwd=project, env={**cloud_env, "CTXSCOPE_CLOUD_URL": url})
    assert_clean_failure(result, 6, f"redirect (HTTP {status})", "refused")
    assert [r.path for r, _ in httpserver.log] == ["/v1/scope"]  # never followed


# --- servers that misbehave below HTTP -------------------------------------------------------


class RawServer:
    """A TCP server on loopback that does one bad thing to every connection."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.stop = threading.Event()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        b = self.behaviour
        try:
            if b == "close at once":
                conn.close()
                return
            conn.recv(65536)
            if b == "never answers":
                self.stop.wait()
            elif b == "trickles the headers":
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not self.stop.wait(0.1):
                    conn.sendall(b"a")
            elif b == "trickles the body":
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b'Content-Length: 100000\r\n\r\n{"scope": "'
                )
                while not self.stop.wait(0.1):
                    conn.sendall(b"a")
            elif b == "cuts the headers":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
                conn.close()
            elif b == "cuts the body":
                conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"scope"')
                conn.close()
            elif b == "resets":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()
            elif b == "speaks another protocol":
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
                self.stop.wait()
            elif b == "answers HTTP to HTTPS":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                conn.close()
        except OSError:
            pass

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.close()


@pytest.fixture
def raw_server():
    servers = []

    def start(behaviour):
        server = RawServer(behaviour)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


RAW = {
    "never answers": "no answer within",
    "trickles the headers": "no answer within",
    "trickles the body": "no answer within",
    "close at once": "",
    "cuts the headers": "",
    "cuts the body": "",
    "resets": "",
    "speaks another protocol": "",
}


@pytest.mark.parametrize("behaviour", sorted(RAW))
def test_servers_that_misbehave_below_http(
    raw_server, project, cloud_env, user_config, behaviour, record_property
):
    user_config.write_text("[cloud]\ntimeout = 0.5\n")  # nothing will answer: a short budget
    server = raw_server(behaviour)
    env = {**cloud_env, "CTXSCOPE_CLOUD_URL": server.url}
    before = tree_snapshot(project)
    record_property("faults", 3)
    line = assert_clean_failure(timed(["resolve"], cwd=project, env=env), 6, server.url, RAW[behaviour])
    assert "Traceback" not in line

    # One budget for the whole command: after the first failure no further call is made.
    server.connections = 0
    checked = timed(["status", "--check"], cwd=project, env=env)
    assert checked.returncode == 6
    assert server.connections <= 1 if behaviour != "close at once" else server.connections <= 2

    _nothing_written(before, project, server.url)


def test_connection_refused(project, cloud_env, dead_url, record_property):
    record_property("faults", 1)
    env = {**cloud_env, "CTXSCOPE_CLOUD_URL": dead_url}
    assert_clean_failure(timed(["resolve"], cwd=project, env=env), 6, "cannot connect", dead_url)
    wrote = timed(["sync", "--direction", "runtime-to-local", "--scope", "x", "--yes"], cwd=project, env=env)
    assert wrote.returncode == 6 and not (project / ".ctxscope.toml").exists()


def test_name_that_does_not_resolve(project, cloud_env, record_property):
    """`.invalid` never resolves (RFC 2606): this fails at DNS without touching the network."""
    record_property("faults", 1)
    url = "https://ctxscope-hardening.invalid"
    result = timed(["resolve"], cwd=project, env={**cloud_env, "CTXSCOPE_CLOUD_URL": url})
    assert_clean_failure(result, 6, "cannot connect", url)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://example.com", "plain http to a non-loopback host"),
        ("ftp://127.0.0.1/", "not an http(s) URL"),
        ("https://user:pw@127.0.0.1", "must not carry credentials"),
        ("not a url", "not an http(s) URL"),
    ],
)
def test_unsafe_cloud_urls_are_config_errors(project, cloud_env, url, reason, record_property):
    record_property("bad_inputs", 1)
    result = run(["resolve"], cwd=project, env={**cloud_env, "CTXSCOPE_CLOUD_URL": url})
    line = assert_clean_failure(result, 1, reason)
    assert ":pw@" not in line


# --- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    pytest.importorskip("cryptography")
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_server(pki):
    servers = []

    def start(leaf: str):
        server = start_tls_server(*pki[leaf])
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("leaf", ["good", "self-signed", "wrong name", "expired"])
def test_untrusted_certificates_are_refused(tls_server, project, cloud_env, leaf, record_property):
    """Without the private CA in the trust store every one of these fails: verification
    is always on, and there is no switch to turn it off."""
    server = tls_server(leaf)
    env = {**cloud_env, "CTXSCOPE_CLOUD_URL": server.url}
    record_property("faults", 1)
    line = assert_clean_failure(timed(["resolve"], cwd=project, env=env), 6, server.url, "certificate")
    assert "ca_file" in line  # says how to trust a private CA
    assert server.paths == []  # no request (and so no token) went out
    assert _cache_entries(server.url) == {}


def test_private_ca_trusted_with_ca_file(tls_server, pki, project, cloud_env, user_config, record_property):
    server = tls_server("good")
    user_config.write_text(f'[cloud]\ntimeout = {TIMEOUT}\nca_file = "{pki["ca"]}"\n')
    env = {**cloud_env, "CTXSCOPE_CLOUD_URL": server.url}
    record_property("faults", 1)
    result = timed(["resolve"], cwd=project, env=env)
    assert (result.returncode, result.stdout) == (0, "tls-scope\n"), result.stderr
    assert server.auth[0] == f"Bearer {CANARY}"


def test_private_ca_trusted_with_ssl_cert_file(tls_server, pki, project, cloud_env, record_property):
    server = tls_server("good")
    env = {**cloud_env, "CTXSCOPE_CLOUD_URL": server.url, "SSL_CERT_FILE": pki["ca"]}
    record_property("faults", 1)
    result = timed(["resolve"], cwd=project, env=env)
    assert (result.returncode, result.stdout) == (0, "tls-scope\n"), result.stderr


@pytest.mark.parametrize("leaf", ["wrong name", "expired"])
def test_trusted_ca_still_checks_name_and_dates(
    tls_server, pki, project, cloud_env, user_config, leaf, record_property
):
    server = tls_server(leaf)
    user_config.write_text(f'[cloud]\ntimeout = {TIMEOUT}\nca_file = "{pki["ca"]}"\n')
    record_property("faults", 1)
    result = timed(["resolve"], cwd=project, env={**cloud_env, "CTXSCOPE_CLOUD_URL": server.url})
    assert_clean_failure(result, 6, "certificate")
    assert server.paths == []


@pytest.mark.parametrize("where", ["ca_file", "SSL_CERT_FILE"])
@pytest.mark.parametrize("content", ["missing", "not a certificate"])
def test_a_ca_file_that_cannot_be_loaded_is_one_line(
    project, cloud_env, user_config, tmp_path, where, content, record_property
):
    path = tmp_path / "ca.pem"
    if content != "missing":
        path.write_text("-----BEGIN NOTHING-----\n")
    env = {**cloud_env, "CTXSCOPE_CLOUD_URL": "https://ctxscope-hardening.invalid"}
    if where == "ca_file":
        user_config.write_text(f'[cloud]\ntimeout = {TIMEOUT}\nca_file = "{path}"\n')
    else:
        env["SSL_CERT_FILE"] = str(path)
    record_property("bad_inputs", 1)
    assert_clean_failure(run(["resolve"], cwd=project, env=env), 1, where, str(path))


def test_https_server_answering_plain_http(raw_server, project, cloud_env, record_property):
    server = raw_server("answers HTTP to HTTPS")
    url = f"https://127.0.0.1:{server.port}"
    record_property("faults", 1)
    assert_clean_failure(
        timed(["resolve"], cwd=project, env={**cloud_env, "CTXSCOPE_CLOUD_URL": url}), 6, url
    )


# --- writes against a faulty cloud ----------------------------------------------------------


@pytest.mark.parametrize(
    "put_status, code", [(500, 6), (503, 6), (429, 6), (401, 4), (403, 4), (412, 1), (409, 6)]
)
def test_cloud_write_faults_write_nothing_else(
    project, cloud, user_config, put_status, code, events, record_property
):
    user_config.write_text(f'[cloud]\ntimeout = {TIMEOUT}\n[policy]\nmode = "cloud"\n')
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    cloud.scope = "zentygo"
    cloud.access = {"workout": "write", "zentygo": "write"}
    cloud.put_status = put_status
    before = tree_snapshot(project)
    record_property("faults", 1)
    result = timed(
        ["sync", "--direction", "resolved-to-cloud", "--yes"],
        cwd=project,
        env=env_with(CTXSCOPE_TOKEN=CANARY),
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == code, result.stderr
    assert len(error_lines(result.stderr)) == 1
    assert cloud.scope == "zentygo" and cloud.puts == []
    assert tree_snapshot(project) == before
    assert not [e for e in events() if e["event"] == "scope_synced"]


def test_cloud_write_to_a_server_that_never_answers(project, raw_server, user_config, record_property):
    """A write command against a cloud that hangs: bounded, exit 6, the file untouched."""
    server = raw_server("never answers")
    user_config.write_text(f'[cloud]\ntimeout = {TIMEOUT}\n[policy]\nmode = "cloud"\n')
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    before = tree_snapshot(project)
    record_property("faults", 1)
    result = timed(
        ["sync", "--direction", "resolved-to-cloud", "--yes"],
        cwd=project,
        env=env_with(CTXSCOPE_CLOUD_URL=server.url, CTXSCOPE_TOKEN=CANARY),
    )
    assert result.returncode == 6 and len(error_lines(result.stderr)) == 1
    assert tree_snapshot(project) == before


@pytest.mark.parametrize("behaviour", ["never answers", "trickles the headers"])
def test_a_proxy_that_hangs_is_bounded_too(
    raw_server, project, cloud_env, user_config, behaviour, record_property
):
    """HTTPS_PROXY is honoured, and the budget holds through it."""
    user_config.write_text("[cloud]\ntimeout = 0.5\n")
    proxy = raw_server(behaviour)
    env = {
        **cloud_env,
        "CTXSCOPE_CLOUD_URL": "https://ctxscope-hardening.invalid",
        "HTTPS_PROXY": proxy.url,
        "NO_PROXY": "",
    }
    record_property("faults", 1)
    assert_clean_failure(timed(["resolve"], cwd=project, env=env), 6, "no answer within 0.5s")
    assert proxy.connections == 1


def test_a_proxy_that_is_down(project, cloud_env, dead_url, record_property):
    env = {
        **cloud_env,
        "CTXSCOPE_CLOUD_URL": "https://ctxscope-hardening.invalid",
        "HTTPS_PROXY": dead_url,
        "NO_PROXY": "",
    }
    record_property("faults", 1)
    assert_clean_failure(timed(["resolve"], cwd=project, env=env), 6, "cannot connect")
