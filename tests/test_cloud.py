"""The cloud client against a real HTTP server on loopback: the v1 contract and its faults."""

from __future__ import annotations

import re
import threading
import time

import pytest
from werkzeug import Response

from ctxscope.cloud import CloudClient, check_url
from ctxscope.errors import CloudError, CloudUnreachable, ConfigError, ExitCode
from ctxscope.resolver import resolve


@pytest.fixture
def url(httpserver, monkeypatch):
    base = httpserver.url_for("/").rstrip("/")
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", base)
    return base


def test_success_sends_bearer_token(httpserver, url, monkeypatch, project):
    monkeypatch.setenv("CTXSCOPE_TOKEN", "t0ken")
    httpserver.expect_request("/v1/scope", headers={"Authorization": "Bearer t0ken"}).respond_with_json(
        {"scope": "zentygo", "revision": "r1"}
    )
    httpserver.expect_request("/v1/scopes/zentygo").respond_with_json({"scope": "zentygo", "access": "write"})
    res = resolve()
    assert (res.resolved_scope, res.resolved_from, res.authorized) == ("zentygo", "cloud", True)


def test_scope_is_one_percent_encoded_segment(httpserver, url):
    seen = []

    def handler(request):
        seen.append(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI"))
        return Response('{"scope": "org/team:x", "access": "read"}', content_type="application/json")

    httpserver.expect_request(re.compile("^/v1/scopes/")).respond_with_handler(handler)
    client = CloudClient(url, None, timeout=2)
    assert client.get_access("org/team:x") == "read"
    # The slash is encoded, so the scope stays one path segment (':' may stay literal).
    assert seen[0].replace("%3A", ":") == "/v1/scopes/org%2Fteam:x"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (401, '{"error": "no"}', "HTTP 401: CTXSCOPE_TOKEN is not set"),
        (403, '{"error": "no"}', "HTTP 403"),
        (404, '{"error": "no"}', "HTTP 404"),
        (500, "oops", "HTTP 500"),
        (200, "not json", "answer is not JSON"),
        (200, '{"scope": "a"}', "does not have the shape"),
        (200, '["a"]', "does not have the shape"),
        (200, '{"scope": "a b", "revision": "1"}', "not allowed"),
        (200, '{"scope": "a", "revision": "' + "x" * 70000 + '"}', "larger than 64 KiB"),
        (302, "", "redirect (HTTP 302)"),
    ],
)
def test_faults_are_one_line_cloud_errors_exit_6(httpserver, url, project, status, body, message):
    headers = {"Location": "https://elsewhere.example/v1/scope"} if status == 302 else {}
    httpserver.expect_request("/v1/scope").respond_with_response(
        Response(body, status=status, headers=headers, content_type="application/json")
    )
    res = resolve()
    assert res.resolved_scope is None
    assert res.error is not None and res.error.exit_code == ExitCode.CLOUD
    assert message in res.error.message
    assert "\n" not in res.error.message
    assert url in res.error.message


def test_slow_answer_past_the_timeout(httpserver, url, project, user_config):
    user_config.write_text("[cloud]\ntimeout = 0.5\n")

    released = threading.Event()

    def slow(request):
        released.wait(10)  # 10 s, or until the test is done (the server serves one at a time)
        return Response('{"scope": "a", "revision": "1"}', content_type="application/json")

    httpserver.expect_request("/v1/scope").respond_with_handler(slow)
    started = time.monotonic()
    try:
        res = resolve()
        elapsed = time.monotonic() - started
    finally:
        released.set()
    assert isinstance(res.error, CloudUnreachable)
    assert "no answer within 0.5s" in res.error.message
    assert elapsed < 5  # bounded by the budget (0.5 s, loose for a busy machine), not the server's 10 s


def test_budget_spent_means_no_further_calls(dead_url, monkeypatch, project):
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    client = CloudClient(dead_url, None, timeout=2)
    with pytest.raises(CloudUnreachable, match="cannot connect"):
        client.get_scope()
    with pytest.raises(CloudUnreachable):
        client.get_access("zentygo")
    assert client.down is not None


def test_403_on_access_is_not_authorized(httpserver, url):
    httpserver.expect_request("/v1/scopes/x").respond_with_json({"error": "no"}, status=403)
    assert CloudClient(url, None, timeout=2).get_access("x") is None


def test_access_answer_must_name_the_scope(httpserver, url):
    httpserver.expect_request("/v1/scopes/x").respond_with_json({"scope": "y", "access": "write"})
    with pytest.raises(CloudError, match="shape"):
        CloudClient(url, None, timeout=2).get_access("x")


@pytest.mark.parametrize(
    ("candidate", "ok"),
    [
        ("https://scopes.example.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:1", True),
        ("http://[::1]:1", True),
        ("http://scopes.example.com", False),
        ("ftp://x", False),
        ("https://user:pw@x.example", False),
        ("not a url", False),
    ],
)
def test_check_url(candidate, ok):
    if ok:
        assert check_url(candidate, "env CTXSCOPE_CLOUD_URL") == candidate.rstrip("/")
    else:
        with pytest.raises(ConfigError, match="env CTXSCOPE_CLOUD_URL"):
            check_url(candidate, "env CTXSCOPE_CLOUD_URL")


def test_get_scope_returns_a_value_of_any_type_only_when_asked(httpserver, url):
    """`repair` replaces a cloud default of the wrong JSON type: it reads it as it is."""
    httpserver.expect_request("/v1/scope").respond_with_json({"scope": 42, "revision": "r7"})
    with pytest.raises(CloudError, match="does not have the shape"):
        CloudClient(url, None, timeout=2).get_scope()
    assert CloudClient(url, None, timeout=2).get_scope(allow_invalid=True) == {"scope": 42, "revision": "r7"}
    httpserver.clear()
    httpserver.expect_request("/v1/scope").respond_with_json({"scope": 42})
    with pytest.raises(CloudError, match="does not have the shape"):  # the shape still counts
        CloudClient(url, None, timeout=2).get_scope(allow_invalid=True)
