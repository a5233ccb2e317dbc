"""The README against the CLI (STYLE point 12): every command `--help` lists has a row in
the README's command table, and the files its install instructions name exist."""

from __future__ import annotations

import re
from pathlib import Path

from _helptext import help_commands

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_every_command_has_a_row_in_the_commands_table():
    rows = [line for line in _section("Commands").splitlines() if line.startswith("| `ctxscope ")]
    documented = {line.split("`")[1].split()[1] for line in rows}
    missing = set(help_commands()) - documented
    assert not missing, f"README.md ## Commands has no row for: {sorted(missing)}"


def test_install_instructions_name_files_that_exist():
    shell = _section("Shell integration")
    named = set(re.findall(r"(?<![\w/])((?:completions|man)/[\w.]+)", shell))
    assert {"completions/ctxscope.bash", "completions/_ctxscope", "completions/ctxscope.fish",
            "man/ctxscope.1"} <= named
    for rel in named:
        assert (ROOT / rel).is_file(), rel
