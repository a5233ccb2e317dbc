"""`ctxscope mcp`: serve the resolver to an MCP client over stdio (read-only tools)."""

from __future__ import annotations

import sys

import typer

from ..cli import app


@app.command()
def mcp() -> None:
    """Serve read-only scope tools to an MCP client over stdio.

    Tools: scope_status, scope_resolve, scope_diff. Meant to be started by an
    MCP client (see the README for a configuration snippet). Every call resolves
    like the CLI and logs drift with command "mcp"; nothing is written over MCP.
    Needs the optional extra: pip install 'ctxscope[mcp]'.
    """
    from ..mcp_server import build_server

    server = build_server()  # McpUnavailable (exit 1, with the install hint) without the SDK
    if sys.stdin.isatty():
        sys.stderr.write("ctxscope mcp: serving MCP over stdio; an MCP client starts this "
                         "command (Ctrl-D to stop)\n")
    server.run("stdio")
    raise typer.Exit(0)
