"""One deadline for every socket operation of an httpx client.

httpx's timeouts bound each connect, read and write separately. A server that
sends one byte a second (even inside the status line and headers, before
httpx hands us anything) therefore keeps a request alive for ever, and the
cloud's `timeout` would not be the budget for the whole command that the cloud
contract promises. This module wraps httpcore's network backend so every
operation's timeout is cut to what is left of the command's budget, and an
operation started after the deadline fails at once as a timeout.

Imported only when a request is really made (it imports httpcore).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpcore


def bound(client, deadline: Callable[[], float]) -> None:
    """Make every connection `client` opens from now on honour `deadline()` (monotonic).

    Covers the direct transport and every proxy transport httpx built from the
    environment. Uses httpcore's pool attribute `_network_backend`; a test
    (tests/test_hardening_cloud.py, the trickling server) fails if that changes.
    """
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        inner = getattr(pool, "_network_backend", None)
        if pool is not None and inner is not None and not isinstance(inner, DeadlineBackend):
            pool._network_backend = DeadlineBackend(inner, deadline)


class DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, deadline: Callable[[], float]) -> None:
        self._inner = inner
        self._deadline = deadline

    def clamp(self, timeout: float | None, timeout_error: type[Exception]) -> float:
        remaining = self._deadline() - time.monotonic()
        if remaining <= 0:
            raise timeout_error("the command's time budget for the cloud is spent")
        return remaining if timeout is None else min(timeout, remaining)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._inner.connect_tcp(
            host,
            port,
            timeout=self.clamp(timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return DeadlineStream(stream, self)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        stream = self._inner.connect_unix_socket(
            path,
            timeout=self.clamp(timeout, httpcore.ConnectTimeout),
            socket_options=socket_options,
        )
        return DeadlineStream(stream, self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, backend: DeadlineBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._backend.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._backend.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        stream = self._inner.start_tls(
            ssl_context,
            server_hostname=server_hostname,
            timeout=self._backend.clamp(timeout, httpcore.ConnectTimeout),
        )
        return DeadlineStream(stream, self._backend)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)
