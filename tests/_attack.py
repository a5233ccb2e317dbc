"""Helpers for the attack suites on output (tests/test_attack_output.py, test_pipes.py).

- `PAYLOADS`: terminal control sequences an attacker would plant (OSC title and
  clipboard writes, CSI screen clears, C1 controls, bidi overrides, ...).
- `raw_controls(text)`: the characters in `text` that must never reach a
  terminal raw (what ctxscope shows escaped instead).
- `RecordingProxy`: an HTTP proxy on loopback that records every request it is
  asked to forward (request line and headers) and tunnels CONNECT to a fixed
  loopback port, so a test can see exactly what a proxy would have seen.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import socketserver
import threading

# Each is a complete attack on its own; tests plant them one at a time and all at once.
PAYLOADS = {
    "osc title": "\x1b]0;PWNED\x07",
    "osc 52 clipboard": "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "osc 8 hyperlink": "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "csi clear screen": "\x1b[2J\x1b[H",
    "csi colour": "\x1b[31;1m",
    "c1 csi": "\x9b2J",
    "c1 osc": "\x9d0;PWNED\x9c",
    "carriage return overwrite": "safe\rEVIL",
    "backspace": "abc\x08\x08\x08xyz",
    "bell": "\x07",
    "bidi override": "\u202eevil\u202c",
    "bidi isolate": "\u2066evil\u2069",
    "zero width": "a\u200bb",
    "nul": "a\x00b",
    "del": "a\x7fb",
}
ALL_PAYLOADS = "".join(PAYLOADS.values())

_RAW = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
# What a coloured console may legitimately write: SGR colour sequences only.
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def raw_controls(text: str, *, allow_colour: bool = False) -> list[str]:
    """Characters that a terminal would act on (tab and newline allowed)."""
    if allow_colour:
        text = _SGR.sub("", text)
    return sorted(set(_RAW.findall(text)))


class _ProxyHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock = self.request
        sock.settimeout(10)
        data = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        self.server.seen.append(head)
        if head.startswith("CONNECT ") and self.server.tunnel_port:
            self._tunnel(sock)
            return
        body = b"proxy says no"
        with contextlib.suppress(OSError):
            sock.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s" % (len(body), body)
            )

    def _tunnel(self, sock) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.server.tunnel_port), timeout=10)
        except OSError:
            sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with upstream:
            pair = [sock, upstream]
            while True:
                ready, _, _ = select.select(pair, [], [], 10)
                if not ready:
                    return
                for src in ready:
                    dst = upstream if src is sock else sock
                    try:
                        chunk = src.recv(65536)
                    except OSError:
                        return
                    if not chunk:
                        return
                    self.server.tunnelled += len(chunk)
                    dst.sendall(chunk)


class RecordingProxy(socketserver.ThreadingTCPServer):
    """`with RecordingProxy() as proxy:` ... `proxy.url`, `proxy.seen` (request heads)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tunnel_port: int | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.seen: list[str] = []
        self.tunnelled = 0
        self.tunnel_port = tunnel_port
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
