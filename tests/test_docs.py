"""The README against the CLI (STYLE point 12): every command `--help` lists has a row in
the README's command table, and the files its install instructions name exist."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
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


def _console_json(command: str) -> dict:
    """The JSON object a ```console block of the README shows for `$ command`."""
    match = re.search(r"```console\n\$ " + re.escape(command) + r"\n(\{\n.*?\n\})\n```", README,
                      re.S)
    assert match, f"README.md shows no output of `{command}`"
    return json.loads(match.group(1))


@pytest.mark.parametrize("command", [
    "ctxscope hook bash --run --json",
    "ctxscope prompt --json --format '[{scope}{mark}]'",
])
def test_the_shell_integration_json_examples_match_the_commands(command, project, monkeypatch):
    """The README's example objects are what the commands print in the drift they show."""
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    shown = _console_json(command)
    done = subprocess.run(command, shell=True, cwd=project, capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == shown
