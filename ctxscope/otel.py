"""Drift-log events as OpenTelemetry log records over OTLP/HTTP (protobuf).

Turned on by the standard `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` (the full URL) or
`OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL; `/v1/logs` is added), or by
`[log] otlp_endpoint` in a trusted config file (a base URL, like the latter).
`OTEL_SDK_DISABLED=true` turns it off. The other standard variables (headers,
certificates, compression, `OTEL_RESOURCE_ATTRIBUTES`) apply as the official
exporter reads them.

Each event becomes one record: its name is the body and `event.name`, every
field is an attribute (nested objects flattened with dots), and the resource
carries `service.name=ctxscope`, `service.version` and `host.name`. The JSONL
line is always written first; exporting is extra. It waits at most the
`[cloud] timeout` budget, and after one failure a process exports nothing more
(a shell hook must not wait on a dead collector twice). A failure is a warning
string, never an exception.

Only `wanted()` runs for every event, and it reads two environment variables;
the OpenTelemetry SDK (the `otel` extra) is imported on the first export.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

MISSING = "OTLP export needs the OpenTelemetry SDK: pip install 'ctxscope[otel]'"
_SEVERITY = {
    "scope_drift_detected": ("WARN", 13),
    "scope_unauthorized": ("ERROR", 17),
    "scope_unresolved": ("ERROR", 17),
    "scope_sync_failed": ("ERROR", 17),
    "scope_exec_refused": ("ERROR", 17),
}

_state: dict[str, Any] = {"failed": False, "providers": {}}


def endpoint(config: Any, env: Mapping[str, str] | None = None) -> str | None:
    """The logs endpoint URL to export to, or None when export is off."""
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    url = env.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "").strip()
    if url:
        return url
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not base and config is not None:
        try:
            base = (config["log.otlp_endpoint"] or "").strip()
        except KeyError:
            base = ""
    if not base:
        return None
    return base.rstrip("/") + "/v1/logs"


def wanted(config: Any) -> bool:
    return endpoint(config) is not None


def attributes(event: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The event's fields as OTel attributes: null left out, objects flattened with dots,
    lists of one primitive type kept, other lists as JSON text."""
    out: dict[str, Any] = {}
    for key, value in event.items():
        name = f"{prefix}{key}"
        if value is None:
            continue
        if isinstance(value, dict):
            out.update(attributes(value, name + "."))
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out[name] = list(value)
        elif isinstance(value, list) and not value:
            out[name] = []
        else:
            out[name] = json.dumps(value, ensure_ascii=True, sort_keys=True)
    return out


def _timestamp_ns(event: Mapping[str, Any]) -> int:
    ts = event.get("ts")
    if isinstance(ts, str):
        try:
            from calendar import timegm

            return timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")) * 1_000_000_000
        except ValueError:
            pass
    return time.time_ns()


class _Recorder:
    """The official OTLP/HTTP exporter, remembering whether its last export worked."""

    def __init__(self, exporter: Any) -> None:
        self.exporter = exporter
        self.ok = True

    def export(self, batch: Any) -> Any:
        result = self.exporter.export(batch)
        self.ok = getattr(result, "name", "") == "SUCCESS"
        return result

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        return True


def _provider(url: str, timeout: float, host: str) -> tuple[Any, _Recorder]:
    key = (url, timeout, host)
    found = _state["providers"].get(key)
    if found is not None:
        return found
    import logging

    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import LogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    from ._version import version

    if not logging.getLogger().handlers:
        # A CLI run has no logging set up: keep the exporter's own multi-line complaints
        # off stderr (we print one warning instead). An application that configured
        # logging sees them as it chose.
        logging.getLogger("opentelemetry").addHandler(logging.NullHandler())
        logging.getLogger("opentelemetry").propagate = False

    class Exporter(_Recorder, LogRecordExporter):
        pass

    recorder = Exporter(OTLPLogExporter(endpoint=url, timeout=timeout))
    resource = Resource.create({"service.name": "ctxscope", "service.version": version(), "host.name": host})
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(recorder))
    _state["providers"][key] = (provider, recorder)
    return provider, recorder


def export(event: Mapping[str, Any], config: Any) -> str | None:
    """Send one event; return a warning on failure, None when sent or export is off."""
    url = endpoint(config)
    if url is None or _state["failed"]:
        return None
    try:
        timeout = float(config["cloud.timeout"]) if config is not None else 2.0
    except (KeyError, TypeError, ValueError):
        timeout = 2.0
    host = str(event.get("host") or "")
    try:
        provider, recorder = _provider(url, timeout, host)
    except ImportError:
        _state["failed"] = True
        return MISSING
    except Exception as exc:
        _state["failed"] = True
        return f"OTLP export to {url} is not possible: {exc}"
    name = str(event.get("event") or "ctxscope_event")
    severity_text, number = _SEVERITY.get(name, ("INFO", 9))
    try:
        from opentelemetry._logs import SeverityNumber

        provider.get_logger("ctxscope").emit(
            timestamp=_timestamp_ns(event),
            observed_timestamp=time.time_ns(),
            severity_text=severity_text,
            severity_number=SeverityNumber(number),
            body=name,
            event_name=name,
            attributes={"event.name": name, **attributes(event)},
        )
    except Exception as exc:
        recorder.ok = False
        reason = str(exc) or type(exc).__name__
        _state["failed"] = True
        return f"could not send the event to {url}: {reason}"
    if not recorder.ok:
        _state["failed"] = True
        return f"could not send the event to {url} (OTLP export failed; the drift log has it)"
    return None
