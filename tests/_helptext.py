"""What `ctxscope --help` lists, read from the help text itself (independently of
tools/docgen.py), for the tests that check completions and the man page against it.

In-process (CliRunner), not the installed command: this reads what the Typer app itself
declares and renders, the source the generated files are checked against."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from ctxscope.cli import app


def _help(*args) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="ctxscope", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def _section(text: str, title: str) -> list[str]:
    lines, inside = [], False
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            inside = line.rstrip(":") == title
            continue
        if inside and line.strip():
            lines.append(line)
    return lines


def help_commands() -> list[str]:
    return [
        line.split()[0]
        for line in _section(_help(), "Commands")
        if line.startswith("  ") and not line.startswith("   ")
    ]


def help_options(command: str) -> list[str]:
    found = []
    for line in _section(_help(command), "Options"):
        head = line.strip().split("  ")[0]  # "-n, --tail N" / "--json"
        found += re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", head)
    return found
