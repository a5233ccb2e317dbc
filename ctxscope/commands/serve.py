"""`ctxscope serve`: the health app (`ctxscope.health`) on uvicorn, for probes and scrapes."""

from __future__ import annotations

import ipaddress
import signal
import socket
import sys
from types import FrameType

from ..errors import CtxScopeError
from ..output import err


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket here, so a busy port is one line, and port 0 works."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        raise CtxScopeError(
            f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}", hint="check --host"
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise CtxScopeError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint="choose another --port"
        ) from None
    sock.set_inheritable(True)
    return sock


def serve(*, host: str = "127.0.0.1", port: int = 9464) -> int:
    """Serve /healthz, /status and /metrics until SIGINT or SIGTERM; exit 0 then."""
    try:
        import uvicorn
    except ImportError:
        raise CtxScopeError("ctxscope serve needs uvicorn", hint="pip install 'ctxscope[serve]'") from None
    import os

    from .. import config as config_mod
    from .. import paths
    from ..health import asgi_app

    # A config that stops every command (a token in a file, a wrong type) stops this one
    # too, before anything listens; each request then loads the config afresh.
    config_mod.load(paths.working_dir(), os.environ)
    if not is_loopback(host):
        err(
            "warning",
            f"serving on {host}, not loopback: anyone who can reach it can read the "
            "scope, its sources and working directories (there is no authentication)",
        )
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # Shut down gracefully and return, instead of re-raising the signal afterwards
            # (uvicorn's default): SIGINT and SIGTERM are the normal way to stop, exit 0.
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            else:
                self.should_exit = True

    config = uvicorn.Config(
        asgi_app(command="serve"), log_level="warning", access_log=False, lifespan="off", server_header=False
    )
    server = Server(config)
    sys.stderr.write(
        f"ctxscope serve: http://{shown}:{bound}/healthz (also /status, /metrics); Ctrl-C stops\n"
    )
    sys.stderr.flush()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
