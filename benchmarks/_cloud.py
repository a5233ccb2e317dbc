"""The v1 cloud contract on loopback for the benchmarks (standard library only)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote


class FakeCloud(BaseHTTPRequestHandler):
    """Serves a fixed default scope; `visible` limits which scopes the token can see
    (None: all, with write access). `hits` counts requests, so a benchmark can prove
    that its timed calls made none."""

    scope = "zentygo"
    visible: tuple[str, ...] | None = None
    hits = 0

    def do_GET(self):  # the name http.server calls
        type(self).hits += 1
        if self.path == "/v1/scope":
            body = {"scope": self.scope, "revision": "1"}
        elif self.path.startswith("/v1/scopes/"):
            name = unquote(self.path[len("/v1/scopes/") :])
            if self.visible is not None and name not in self.visible:
                self.send_response(404)
                self.end_headers()
                return
            body = {"scope": name, "access": "write"}
        else:
            body = {"identity": "bench"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass
