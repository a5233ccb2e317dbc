"""Drift events over OTLP/HTTP: a loopback receiver decodes what the official exporter sent
with the official protobuf definitions (opentelemetry-proto)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from ctxscope import otel


class Receiver:
    """An OTLP/HTTP logs endpoint on a free loopback port."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[str, dict, ExportLogsServiceRequest]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                message = ExportLogsServiceRequest()
                message.ParseFromString(body)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append((self.path, headers, message))
                reply = ExportLogsServiceResponse().SerializeToString()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def records(self) -> list[tuple[dict, dict]]:
        """(resource attributes, record) per log record received, values decoded."""
        found = []
        for _path, _headers, message in self.requests:
            for resource_logs in message.resource_logs:
                resource = {a.key: _value(a.value) for a in resource_logs.resource.attributes}
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        found.append(
                            (
                                resource,
                                {
                                    "body": _value(record.body),
                                    "severity_text": record.severity_text,
                                    "severity_number": record.severity_number,
                                    "time_unix_nano": record.time_unix_nano,
                                    "attributes": {a.key: _value(a.value) for a in record.attributes},
                                },
                            )
                        )
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _value(any_value):
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


def test_a_drift_event_goes_out_as_a_log_record(ctx, project, receiver, events):
    (project / ".ctxscope.toml").write_text('scope = "local"\n')
    done = ctx(
        "status",
        cwd=project,
        env={**os.environ, "CTX_SCOPE": "runtime", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url},
    )
    assert done.returncode == 0
    assert "warning" not in done.stderr
    logged = events()
    assert [e["event"] for e in logged] == ["scope_drift_detected"]  # the JSONL line is there
    assert [path for path, _h, _m in receiver.requests] == ["/v1/logs"]
    assert receiver.requests[0][1]["content-type"] == "application/x-protobuf"
    [(resource, record)] = receiver.records()
    assert resource["service.name"] == "ctxscope"
    assert resource["host.name"] == logged[0]["host"]
    assert resource["service.version"] == logged[0]["version"]
    assert record["body"] == "scope_drift_detected"
    assert record["severity_text"] == "WARN"
    attrs = record["attributes"]
    event = logged[0]
    assert attrs["event.name"] == "scope_drift_detected"
    for key in (
        "event",
        "ts",
        "runtime_scope",
        "local_scope",
        "resolved_scope",
        "resolved_from",
        "reason",
        "action_required",
        "command",
        "pid",
        "host",
        "cwd",
        "version",
    ):
        assert attrs[key] == event[key], key
    assert attrs["reasons"] == ["local_mismatch"]
    assert attrs["drift_snapshot.state"] == "DRIFTED"
    assert attrs["drift_snapshot.source_precedence"] == ["runtime", "local", "cloud", "fallback"]
    assert "cloud_scope" not in attrs  # null fields are left out
    assert record["time_unix_nano"] // 1_000_000_000 == _epoch(event["ts"])


def _epoch(ts: str) -> int:
    from calendar import timegm

    return timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))


def test_the_logs_endpoint_variable_is_used_as_is(ctx, project, receiver):
    (project / ".ctxscope.toml").write_text('scope = "local"\n')
    done = ctx(
        "resolve",
        cwd=project,
        env={
            **os.environ,
            "CTX_SCOPE": "runtime",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": receiver.url + "/custom/logs",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-team=agents",
        },
    )
    assert (done.returncode, done.stdout) == (0, "runtime\n")
    [(path, headers, _m)] = receiver.requests
    assert path == "/custom/logs"
    assert headers["x-team"] == "agents"


def test_a_log_setting_in_a_trusted_file_and_not_in_an_untrusted_one(ctx, project, receiver, user_config):
    (project / ".ctxscope.toml").write_text(f'scope = "local"\n[log]\notlp_endpoint = "{receiver.url}"\n')
    done = ctx("status", cwd=project, env={**os.environ, "CTX_SCOPE": "runtime"})
    assert done.returncode == 0
    assert "ctxscope trust" in done.stderr  # the usual warning about an untrusted [log]
    assert receiver.requests == []  # a cloned repository cannot send events anywhere

    (project / ".ctxscope.toml").write_text('scope = "local"\n')
    user_config.write_text(f'[log]\notlp_endpoint = "{receiver.url}/"\n')
    done = ctx("status", cwd=project, env={**os.environ, "CTX_SCOPE": "other"})  # a new event, not a repeat
    assert done.returncode == 0, done.stderr
    assert [path for path, _h, _m in receiver.requests] == ["/v1/logs"]


def test_a_dead_collector_is_one_warning_and_the_line_is_still_written(ctx, project, dead_url, events):
    (project / ".ctxscope.toml").write_text('scope = "local"\n')
    done = ctx(
        "resolve",
        cwd=project,
        env={**os.environ, "CTX_SCOPE": "runtime", "OTEL_EXPORTER_OTLP_ENDPOINT": dead_url},
    )
    assert (done.returncode, done.stdout) == (0, "runtime\n")
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"ctxscope: warning: could not send the event to {dead_url}/v1/logs")
    assert lines[1:] == ["ctxscope: warning: drift: local_mismatch (run `ctxscope status`)"]
    assert len(events()) == 1


def test_a_silent_collector_costs_at_most_the_budget(ctx, project, user_config, events):
    user_config.write_text("[cloud]\ntimeout = 0.5\n")
    (project / ".ctxscope.toml").write_text('scope = "local"\n')
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        done = ctx(
            "resolve",
            cwd=project,
            env={**os.environ, "CTX_SCOPE": "runtime", "OTEL_EXPORTER_OTLP_ENDPOINT": url},
        )
        took = time.monotonic() - started
    assert (done.returncode, done.stdout) == (0, "runtime\n")
    assert "warning: could not send the event" in done.stderr
    assert len(events()) == 1
    # The same run without OTLP (another scope, so the event is not a repeat), for the
    # machine's own speed: export adds at most the budget, plus the SDK's import.
    started = time.monotonic()
    base = ctx("resolve", cwd=project, env={**os.environ, "CTX_SCOPE": "other"})
    baseline = time.monotonic() - started
    assert base.returncode == 0
    assert took < baseline + 0.5 + 5.0, (took, baseline)  # without the budget: the exporter's 10 s


def test_a_collector_error_status_is_a_warning(ctx, project):
    failing = Receiver(status=400)
    try:
        (project / ".ctxscope.toml").write_text('scope = "local"\n')
        done = ctx(
            "status",
            "--json",
            cwd=project,
            env={**os.environ, "CTX_SCOPE": "runtime", "OTEL_EXPORTER_OTLP_ENDPOINT": failing.url},
        )
    finally:
        failing.close()
    assert done.returncode == 0
    assert json.loads(done.stdout)["state"] == "DRIFTED"
    assert "ctxscope: warning: could not send the event" in done.stderr
    assert "Traceback" not in done.stderr


def test_sdk_disabled_turns_it_off(ctx, project, receiver):
    (project / ".ctxscope.toml").write_text('scope = "local"\n')
    ctx(
        "status",
        cwd=project,
        env={
            **os.environ,
            "CTX_SCOPE": "runtime",
            "OTEL_SDK_DISABLED": "true",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        },
    )
    assert receiver.requests == []


def test_attributes_flatten_and_drop_nulls():
    assert otel.attributes(
        {"a": None, "b": 1, "c": {"d": "x", "e": {"f": True}}, "g": ["s"], "h": [1, "two"], "i": []}
    ) == {"b": 1, "c.d": "x", "c.e.f": True, "g": ["s"], "h": '[1, "two"]', "i": []}


def test_endpoint_precedence(monkeypatch):
    class Config(dict):
        pass

    config = Config({"log.otlp_endpoint": "http://from-config:4318"})
    assert otel.endpoint(config, {}) == "http://from-config:4318/v1/logs"
    assert (
        otel.endpoint(config, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://base:4318/"})
        == "http://base:4318/v1/logs"
    )
    assert (
        otel.endpoint(
            config,
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://base:4318",
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://logs/x",
            },
        )
        == "http://logs/x"
    )
    assert otel.endpoint(config, {"OTEL_SDK_DISABLED": "TRUE"}) is None
    assert otel.endpoint(Config({"log.otlp_endpoint": None}), {}) is None
