"""Convergence health over HTTP: an ASGI app and a WSGI app with no dependencies.

An agent service mounts one of them beside its own routes (Starlette/FastAPI
`mount`, Flask or Django through WSGI dispatch), or `ctxscope serve` runs the
ASGI one on uvicorn:

- `GET /healthz`: 200 when the scope may be used (SYNCED, or DRIFTED outside
  enforce mode), 503 otherwise; body `{"state", "resolved_scope", "reasons"}`.
- `GET /status`: the same object as `ctxscope status --json`.
- `GET /metrics`: Prometheus text (needs the `metrics` extra, prometheus_client).

Every request resolves afresh the way `ctxscope status` does: cloud answers come
from the cache while it is fresh, and a cloud call gets the `[cloud] timeout`
budget. A request never waits longer than that budget: resolution runs in a
worker thread, and when it has not finished in time the answer is a 503 with the
reason `health_timeout`. The token never appears in any body.

Standard library only, and nothing heavy at import time: the resolver is
imported on the first request.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Leave this much of the budget (at most this share of it) for the local work around
# the cloud calls (the first request also imports the HTTP client), so the whole
# request fits in the budget even when the cloud uses all of its share.
_MARGIN = 0.5
_MARGIN_SHARE = 0.4
USABLE_STATES = ("SYNCED", "DRIFTED")
PATHS = ("/healthz", "/status", "/metrics")


class Snapshot:
    """What one request saw: the resolution (or why there is none) and the processes."""

    __slots__ = ("budget", "cloud_up", "config", "error", "mode", "processes", "resolution", "took")

    def __init__(self) -> None:
        self.resolution: Any = None  # a resolver.Resolution when resolution finished
        self.processes: dict | None = None  # procs.status_summary(), when asked and in time
        self.error: str | None = None  # "health_timeout", or a one-line error
        self.mode = "local"
        self.budget = 0.0
        self.took = 0.0
        self.cloud_up: bool | None = None  # None: no cloud configured
        self.config: Any = None  # the loaded config.Config, when it loaded

    @property
    def state(self) -> str:
        if self.resolution is not None:
            return str(self.resolution.state)
        # No answer in time, or a config error that stops every command: not usable.
        return "INVALID" if self.error and self.error != "health_timeout" else "DEGRADED"

    @property
    def usable(self) -> bool:
        """May the scope be used? SYNCED, or DRIFTED when the mode does not enforce."""
        state = self.state
        return state == "SYNCED" or (state == "DRIFTED" and self.mode != "enforce")

    @property
    def reasons(self) -> list[str]:
        if self.resolution is not None:
            return list(self.resolution.reasons)
        return ["health_timeout" if self.error == "health_timeout" else "config_error"]

    def health(self) -> dict:
        """The `/healthz` body."""
        body: dict = {
            "state": self.state,
            "resolved_scope": self.resolution.resolved_scope if self.resolution is not None else None,
            "reasons": self.reasons,
        }
        if self.error:
            body["error"] = self.error
        return body

    def status(self) -> dict:
        """The `/status` body: the `status --json` object, or the health body without one."""
        if self.resolution is None:
            return self.health()
        from .commands.status import status_object

        return status_object(self.resolution, self.processes, scan=False)


def _run_with_deadline(func: Callable[[], Any], timeout: float) -> tuple[bool, Any]:
    """Run `func` in a daemon thread; (finished, result or exception) after at most `timeout`.
    Without a finite timeout, just run it."""
    if timeout == float("inf"):
        return True, func()
    box: list = []

    def work() -> None:
        try:
            box.append((True, func()))
        except BaseException as exc:  # handed back to the caller, never lost in the thread
            box.append((False, exc))

    worker = threading.Thread(target=work, name="ctxscope-health", daemon=True)
    worker.start()
    worker.join(max(timeout, 0.0))
    if not box:
        return False, None
    ok, value = box[0]
    if not ok:
        raise value
    return True, value


def take_snapshot(
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    command: str = "health",
    processes: bool = False,
    bounded: bool = True,
) -> Snapshot:
    """Resolve once for a request, within the cloud budget. Never raises.

    `bounded` (for HTTP requests) puts the whole snapshot under the budget, in a worker
    thread. Unbounded (`ctxscope metrics`), it runs like `ctxscope status`: the cloud
    calls keep their budget and the rest takes what it takes.
    """
    from . import config as config_mod
    from .errors import CtxScopeError

    snap = Snapshot()
    started = time.monotonic()
    environ = dict(os.environ if env is None else env)
    try:
        where = os.path.abspath(cwd) if cwd else os.getcwd()
        config = config_mod.load(where, environ)
    except (CtxScopeError, OSError) as exc:
        snap.error = getattr(exc, "message", None) or str(exc)
        return snap
    snap.config = config
    snap.mode = str(config.mode)
    budget = float(config["cloud.timeout"])
    snap.budget = budget
    if bounded:
        # The resolver's own cloud deadline gets most of the budget; the rest is for local work.
        margin = min(_MARGIN, budget * _MARGIN_SHARE)
        setting = config.settings["cloud.timeout"]
        config.settings["cloud.timeout"] = config_mod.Setting(setting.key, budget - margin, setting.origin)
        deadline = started + budget
    else:
        deadline = float("inf")

    def work() -> Any:
        from .resolver import Context, resolve

        ctx = Context(cwd=where, env=environ, command=command, config=config)
        return resolve(context=ctx)

    try:
        done, res = _run_with_deadline(work, deadline - time.monotonic())
    except CtxScopeError as exc:
        snap.error = exc.message
        return snap
    except Exception as exc:  # a health endpoint answers; it does not crash the service
        snap.error = f"{type(exc).__name__}: {exc}"
        return snap
    if not done:
        snap.error = "health_timeout"
        snap.took = time.monotonic() - started
        return snap
    snap.resolution = res
    cloud_row = res.source("cloud")
    if cloud_row.state != "not_configured":
        snap.cloud_up = cloud_row.state != "error"
    if processes:
        from .procs import status_summary

        try:
            done, found = _run_with_deadline(lambda: status_summary(env=environ), deadline - time.monotonic())
        except Exception:
            done, found = False, None
        snap.processes = found if done else None
    snap.took = time.monotonic() - started
    return snap


def _json(body: dict) -> bytes:
    return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class Answer:
    """One HTTP answer: status, headers and body."""

    __slots__ = ("body", "content_type", "status")

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status, self.body, self.content_type = status, body, content_type

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [
            ("content-type", self.content_type),
            ("content-length", str(len(self.body))),
            ("cache-control", "no-store"),
        ]


_REASONS = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
    501: "Not Implemented",
}
_JSON = "application/json"


def answer(
    method: str,
    path: str,
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    command: str = "health",
) -> Answer:
    """The answer to one request (shared by the ASGI and WSGI apps)."""
    path = "/" + path.strip("/") if path not in ("", "/") else "/"
    if path not in PATHS:
        return Answer(404, _json({"error": "not found", "paths": list(PATHS)}), _JSON)
    if method not in ("GET", "HEAD"):
        return Answer(405, _json({"error": "method not allowed"}), _JSON)
    if path == "/healthz":
        snap = take_snapshot(cwd=cwd, env=env, command=command)
        return Answer(200 if snap.usable else 503, _json(snap.health()), _JSON)
    if path == "/status":
        snap = take_snapshot(cwd=cwd, env=env, command=command, processes=True)
        return Answer(200 if snap.resolution is not None else 503, _json(snap.status()), _JSON)
    from . import metrics

    if not metrics.available():
        return Answer(501, _json({"error": metrics.MISSING}), _JSON)
    snap = take_snapshot(cwd=cwd, env=env, command=command, processes=True)
    text = metrics.exposition(snap, env=env)
    return Answer(200, text, metrics.CONTENT_TYPE)


class ASGIApp:
    """The health endpoints as an ASGI 3 application (HTTP only; lifespan is accepted)."""

    def __init__(
        self, *, cwd: str | None = None, env: Mapping[str, str] | None = None, command: str = "health"
    ) -> None:
        self.cwd, self.env, self.command = cwd, env, command

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if kind != "http":
            return
        import asyncio

        # Resolution reads files and may call the cloud: keep it off the event loop.
        path = scope.get("path", "/")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            # Mounted (Starlette/FastAPI `mount`): the path still holds the mount prefix.
            path = path[len(root) :]
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            None,
            lambda: answer(
                scope.get("method", "GET"), path, cwd=self.cwd, env=self.env, command=self.command
            ),
        )
        await send(
            {
                "type": "http.response.start",
                "status": result.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in result.headers],
            }
        )
        body = b"" if scope.get("method") == "HEAD" else result.body
        await send({"type": "http.response.body", "body": body})


class WSGIApp:
    """The health endpoints as a WSGI application."""

    def __init__(
        self, *, cwd: str | None = None, env: Mapping[str, str] | None = None, command: str = "health"
    ) -> None:
        self.cwd, self.env, self.command = cwd, env, command

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        result = answer(
            method, environ.get("PATH_INFO", "/"), cwd=self.cwd, env=self.env, command=self.command
        )
        start_response(f"{result.status} {_REASONS.get(result.status, '')}".rstrip(), result.headers)
        return [b"" if method == "HEAD" else result.body]


def asgi_app(
    *, cwd: str | None = None, env: Mapping[str, str] | None = None, command: str = "health"
) -> ASGIApp:
    """A new ASGI app. `cwd` and `env` default to the process's at each request."""
    return ASGIApp(cwd=cwd, env=env, command=command)


def wsgi_app(
    *, cwd: str | None = None, env: Mapping[str, str] | None = None, command: str = "health"
) -> WSGIApp:
    """A new WSGI app. `cwd` and `env` default to the process's at each request."""
    return WSGIApp(cwd=cwd, env=env, command=command)


# Ready-made instances: `app.mount("/ctxscope", ctxscope.health.asgi)`.
asgi = asgi_app()
wsgi = wsgi_app()
