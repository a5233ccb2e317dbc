"""`ctxscope mcp`: serve the resolver to an MCP client over stdio (read-only tools)."""

from __future__ import annotations

import sys


def mcp() -> int:
    """Serve the read-only scope tools over stdio until the client closes; exit 0."""
    from ..mcp_server import build_server

    server = build_server()  # McpUnavailable (exit 1, with the install hint) without the SDK
    if sys.stdin.isatty():
        sys.stderr.write(
            "ctxscope mcp: serving MCP over stdio; an MCP client starts this command (Ctrl-D to stop)\n"
        )
    server.run("stdio")
    return 0
