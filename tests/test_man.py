"""ctxscope/data/man/ctxscope.1: current, complete against --help, lint-clean, and readable with man(1)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from _docgen import docgen
from _helptext import help_commands, help_options

from ctxscope.errors import ExitCode

ROOT = Path(__file__).resolve().parents[1]
MAN = ROOT / "ctxscope" / "data" / "man" / "ctxscope.1"
SECTIONS = [
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "COMMANDS",
    "OPTIONS",
    "FILES",
    "ENVIRONMENT",
    "EXIT STATUS",
    "EXAMPLES",
]


def _plain() -> str:
    """The page's text with roff escapes for dashes and fonts undone."""
    text = MAN.read_text(encoding="utf-8")
    return re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-").replace("\\e", "\\")


def test_committed_man_page_is_current():
    generated = docgen.render_all()["ctxscope/data/man/ctxscope.1"]
    assert MAN.read_text(encoding="utf-8") == generated, (
        "ctxscope/data/man/ctxscope.1 is out of date: run `python tools/docgen.py` and commit the result"
    )


def test_sections_in_order():
    headings = re.findall(r"^\.SH (.+)$", MAN.read_text(), flags=re.M)
    headings = [h.strip('"') for h in headings]
    assert [h for h in headings if h in SECTIONS] == SECTIONS


def test_every_command_and_option_in_help_is_in_the_page():
    plain = _plain()
    commands = help_commands()
    assert commands
    for command in commands:
        assert re.search(rf"^\.SS {re.escape(command)}$", plain, flags=re.M), command
        section = plain.split(f".SS {command}\n", 1)[1].split("\n.SS ", 1)[0]
        for option in help_options(command):
            if option in ("-h", "--help"):
                continue  # said once for every command, under OPTIONS
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", section), (command, option)
    options = plain.split(".SH OPTIONS", 1)[1].split(".SH ", 1)[0]
    for option in ("--version", "-h", "--help"):
        assert option in options


def test_every_exit_code_is_explained():
    status = _plain().split(".SH EXIT STATUS", 1)[1].split(".SH ", 1)[0]
    for code in ExitCode:
        assert f".TP\n{int(code)}\n" in status


def test_mandoc_lint_is_clean():
    if shutil.which("mandoc") is None:
        pytest.skip("mandoc is not installed (.ci/run installs it)")
    done = subprocess.run(
        ["mandoc", "-T", "lint", "-W", "warning", str(MAN)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_groff_prints_no_warning():
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed (.ci/run installs groff-base)")
    done = subprocess.run(
        ["groff", "-man", "-ww", "-z", str(MAN)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_man_shows_it_once_installed_by_hand(isolated_home):
    """From a clone: `install -Dm644 ctxscope/data/man/ctxscope.1 ~/.local/share/man/man1/`,
    then `man ctxscope` (docs/how-to/shell.md)."""
    if shutil.which("man") is None:
        pytest.skip("man is not installed (.ci/run installs man-db)")
    target = isolated_home / ".local" / "share" / "man" / "man1" / "ctxscope.1"
    target.parent.mkdir(parents=True)
    shutil.copy(MAN, target)
    env = {
        **os.environ,
        "MANPATH": str(isolated_home / ".local" / "share" / "man"),
        "MANPAGER": "cat",
        "PAGER": "cat",
        "MANWIDTH": "80",
        "LANG": "C.UTF-8",
    }
    done = subprocess.run(["man", "ctxscope"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    text = re.sub(r".\x08", "", done.stdout)  # overstrike bold and underline
    for heading in SECTIONS:
        assert f"\n{heading}\n" in text
    assert "ctxscope - one resolver for AI-agent project scope" in text
    assert "--direction" in text and "runtime-to-local" in text
