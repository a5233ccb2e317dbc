"""Commands that live in their own modules. Each module defines its commands with
`@app.command()` on `ctxscope.cli.app`; importing it registers them. Add a module
name to MODULES to add it to the CLI (and so to completions and the man page)."""

from __future__ import annotations

import importlib

MODULES: tuple[str, ...] = (
    "mcp", "ps", "log", "init", "config_cmd", "sync", "repair", "hook", "prompt",
)


def register() -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
