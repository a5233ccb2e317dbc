"""The README against the CLI (STYLE point 12): every command `--help` lists has a row in
the README's command table, and the files its install instructions name exist."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from _helptext import help_commands, help_options

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


def _rows() -> dict[str, str]:
    """Each command's usage column in the Commands table (all its rows together)."""
    usage: dict[str, str] = {}
    for line in _section("Commands").splitlines():
        if line.startswith("| `ctxscope "):
            cell = line.split("` |", 1)[0]
            name = cell.split()[2]
            usage[name] = usage.get(name, "") + " " + cell
    return usage


def test_every_option_is_in_its_commands_row():
    rows = _rows()
    for command in help_commands():
        shown = set(re.findall(r"--[\w-]+", rows[command]))
        missing = [o for o in help_options(command)
                   if o.startswith("--") and o != "--help" and o not in shown]
        assert not missing, f"README.md row for `ctxscope {command}` leaves out {missing}"


def _json_exceptions() -> set[str]:
    """The commands the Commands intro names as not printing one object for --json."""
    intro = _section("Commands").split("\n|", 1)[0]
    return set(re.findall(r"^- `(\w+)(?: --json)?`", intro, re.M))


# The arguments that make each command print its --json output here without writing.
JSON_ARGS = {
    "status": [], "resolve": [], "diff": [], "ps": [], "log": [], "config": [], "trust": [],
    "sync": ["--direction", "runtime-to-local", "--dry-run"], "repair": ["--dry-run"],
    "init": ["--dry-run"], "hook": ["bash"], "prompt": [], "mcp": None,
}


def test_every_json_is_one_object_except_the_ones_the_readme_names(project, monkeypatch,
                                                                 capsys):
    """DESIGN section 10: `--json` is one object; the README's Commands intro names every
    command where it is not, and each one named prints what the intro says."""
    from ctxscope import cli

    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    cli.run(["resolve"])  # one drift event in the log, for `log --json`
    capsys.readouterr()
    exceptions = _json_exceptions()
    assert exceptions == {"ps", "log", "mcp"}
    for command in help_commands():
        assert command in JSON_ARGS, f"add `{command}` to JSON_ARGS"
        has_json = "--json" in help_options(command)
        assert has_json == (JSON_ARGS[command] is not None), command
        if not has_json:
            assert command in exceptions, f"`ctxscope {command}` has no --json: name it"
            continue
        cli.run([command, *JSON_ARGS[command], "--json"])
        out = capsys.readouterr().out
        if command == "ps":
            assert isinstance(json.loads(out), list)
        elif command == "log":
            lines = out.splitlines()
            assert lines and all(isinstance(json.loads(line), dict) for line in lines)
        else:
            assert command not in exceptions, f"`{command} --json` is one object now"
            assert isinstance(json.loads(out), dict), command
