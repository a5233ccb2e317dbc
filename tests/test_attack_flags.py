"""Random strings for every option and argument that parses a value: no traceback, ever.

Whatever a flag is given, ctxscope answers with one of its exit codes; a value it
cannot use is a usage error (exit 2) in one line, and nothing it echoes back can
put a control sequence on the terminal. The options are listed from the app
itself, so a new option that takes a value cannot be left out.
"""

from __future__ import annotations

import pytest
from _attack import raw_controls
from _hardening import call
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ctxscope.errors import ExitCode

pytestmark = pytest.mark.attack

# How to give each value-taking parameter a value without the command blocking or
# writing outside the test's home: "{}" is replaced by the generated string.
TEMPLATES = {
    ("status", "--scope"): ["status", "--scope={}"],
    ("status", "--interval"): ["status", "--interval={}"],  # without --watch: parsed, not used
    ("resolve", "--scope"): ["resolve", "--scope={}"],
    ("diff", "--scope"): ["diff", "--scope={}"],
    ("trust", "path"): ["trust", "--json", "--", "{}"],
    ("ps", "--pid"): ["ps", "--pid={}"],
    ("log", "--since"): ["log", "--since={}"],
    ("log", "--event"): ["log", "--event={}"],
    ("log", "--scope"): ["log", "--scope={}"],
    ("log", "--tail"): ["log", "--tail={}"],
    ("init", "--scope"): ["init", "--scope={}", "--dry-run"],
    ("config get", "key"): ["config", "get", "--", "{}"],
    ("config set", "key"): ["config", "set", "--dry-run", "--", "{}", "x"],
    ("config set", "value"): ["config", "set", "--dry-run", "--", "policy.mode", "{}"],
    ("config unset", "key"): ["config", "unset", "--dry-run", "--", "{}"],
    ("whoami", "--scope"): ["whoami", "--offline", "--scope={}"],
    ("completion", "shell"): ["completion", "--", "{}"],
    ("exec", "--scope"): ["exec", "--scope={}", "--dry-run", "--", "true"],
    ("exec", "command"): ["exec", "--dry-run", "--", "{}"],
    # a file name inside the test's directory (the pieces hold at most a few `..`)
    ("metrics", "--output"): ["metrics", "--output=./m-{}"],
    # never a valid pair, so the server never starts listening
    ("serve", "--host"): ["serve", "--host={}", "--port=99999"],
    ("serve", "--port"): ["serve", "--host=256.0.0.1", "--port={}"],
    ("sync", "--direction"): ["sync", "--direction={}", "--dry-run"],
    ("sync", "--scope"): ["sync", "--direction=runtime-to-local", "--scope={}", "--dry-run"],
    ("repair", "--to"): ["repair", "--to={}", "--dry-run"],
    ("repair", "--shell"): ["repair", "--to=workout", "--shell={}"],
    ("hook", "shell"): ["hook", "--", "{}"],
    ("prompt", "--format"): ["prompt", "--format={}"],
}


def _valued_parameters() -> set[tuple[str, str]]:
    from typer.main import get_command

    from ctxscope.cli import app

    found = set()
    commands = list(get_command(app).commands.items())
    for name, command in commands:
        # a group's subcommands (`config set`) are listed as "group sub"
        commands += [(f"{name} {sub}", c) for sub, c in getattr(command, "commands", {}).items()]
        for param in command.params:
            if getattr(param, "is_flag", False) or param.name in ("help",):
                continue
            if param.param_type_name == "argument":
                found.add((name, param.name))
            else:
                found.add((name, max(param.opts, key=len)))
    return found


def test_every_valued_option_is_fuzzed():
    assert _valued_parameters() == set(TEMPLATES), "add the new option to TEMPLATES"


# Pieces that reach the parsers' edges: widths, dates, units, numbers, braces.
PIECES = [
    "9" * 12,
    "0001-01-01",
    "9999-12-31T23:59:59",
    "-01:00",
    "+14:00",
    "Z",
    "d",
    "s",
    "w",
    "1e400",
    "nan",
    "inf",
    "-1",
    "0",
    "{",
    "}",
    "{scope",
    ":>",
    ".",
    "!r",
    "%",
    "\x1b[2J",
    "\u202e",
    "\x9b",
    "T",
    " ",
    "--",
    "=",
    "/",
    "..",
    "~",
    "\x00",
]
VALUES = st.one_of(
    st.text(max_size=30),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=6).map("".join),
)
ALLOWED = {int(code) for code in ExitCode}


@pytest.mark.parametrize("where", sorted(TEMPLATES), ids=lambda w: " ".join(w))
def test_random_values_never_crash(project, where, record_property):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    template = TEMPLATES[where]
    tried = []

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(value=VALUES)
    @example(value="{scope:>99999999999}")
    @example(value="0001-01-01")
    @example(value="9999-12-31T23:59:59-01:00")
    @example(value="1000000000000d")
    @example(value="99999999999999999999999")
    def check(value: str) -> None:
        args = [part.replace("{}", value) if part != "{}" else value for part in template]
        result = call(args, cwd=project)
        tried.append(value)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert result.returncode in ALLOWED, (args, result.returncode, result.stderr)
        if result.returncode == ExitCode.USAGE:
            lines = [
                line for line in result.stderr.splitlines() if line.startswith(("ctxscope: error:", "Error:"))
            ]
            assert len(lines) == 1, (args, result.stderr)
        assert not raw_controls(result.stdout + result.stderr), (args, result.stdout, result.stderr)

    check()
    record_property("attacks", len(tried))
