"""The console script's fast path (`ctxscope._entry`) against the full Typer app.

The fast path parses the hot commands itself and skips Typer; whatever path
runs, stdout, stderr and the exit code must be the same. A matrix of scenarios
and command lines goes through both, in-process and through the installed
command.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import pytest
import typer

from ctxscope import _entry, cli, paths

# (argv, whether the fast path takes it)
MATRIX = [
    (["resolve"], True),
    (["resolve", "--json"], True),
    (["resolve", "--explain"], True),
    (["resolve", "--offline"], True),
    (["resolve", "--refresh", "--json"], True),
    (["resolve", "--scope", "other"], True),
    (["resolve", "--scope=bad scope!"], True),
    (["resolve", "--scope="], True),
    (["status"], True),
    (["status", "--json"], True),
    (["status", "--check"], True),
    (["status", "--offline", "--json", "--check"], True),
    (["status", "--scope", "other", "--check"], True),
    (["diff"], True),
    (["diff", "--json"], True),
    (["diff", "--refresh"], True),
    (["prompt"], True),
    (["prompt", "--format", "[{scope}{mark}|{state}|{source}]"], True),
    (["prompt", "--format={nope}"], True),
    (["prompt", "--json"], True),
    (["prompt", "--json", "--format", "[{scope}{mark}|{state}|{source}]"], True),
    (["prompt", "--format={nope}", "--json"], True),
    (["hook", "bash"], True),
    (["hook", "fish"], True),
    (["hook", "zsh", "--run"], True),
    (["hook", "--run", "fish"], True),
    (["hook", "bash", "--json"], True),
    (["hook", "fish", "--run", "--json"], True),
    (["hook", "--json", "zsh", "--run"], True),
    # Not for the fast path: the full app parses them and prints its own errors.
    (["resolve", "--scope"], False),
    (["resolve", "--json", "--json"], False),
    (["resolve", "-h"], False),
    (["status", "--nope"], False),
    (["status", "--watch", "--check"], False),
    (["diff", "extra"], False),
    (["prompt", "--format"], False),
    (["prompt", "--json", "--json"], False),
    (["prompt", "--json=1"], False),
    (["hook"], False),
    (["hook", "tcsh"], False),
    (["hook", "bash", "zsh"], False),
    (["hook", "bash", "--run", "--json", "--json"], False),
    (["--version"], False),
    ([], False),
]


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


SCENARIOS = [
    "unset",
    "synced",
    "drifted",
    "invalid",
    "broken-toml",
    "enforce",
    "cloud",
    "cloud-denied",
    "cloud-down",
]


@pytest.fixture
def scenario(request, project, monkeypatch, httpserver, dead_url):
    """Set up one named situation in the project directory."""
    name = request.param
    toml = project / ".ctxscope.toml"
    if name == "synced":
        _write(toml, 'scope = "demo"\n')
    elif name == "drifted":
        _write(toml, 'scope = "workout"\n')
        monkeypatch.setenv("CTX_SCOPE", "zentygo")
    elif name == "invalid":
        monkeypatch.setenv("CTX_SCOPE", "bad scope!")
    elif name == "broken-toml":
        _write(toml, 'scope = "demo\n')
    elif name == "enforce":
        _write(toml, 'scope = "workout"\n[policy]\nmode = "enforce"\n')
        monkeypatch.setenv("CTX_SCOPE", "zentygo")
    elif name in ("cloud", "cloud-denied"):
        from conftest import FakeCloud

        fake = FakeCloud(httpserver)
        fake.scope = "demo"
        fake.access = {"demo": "write"} if name == "cloud" else {}
        monkeypatch.setenv("CTXSCOPE_CLOUD_URL", fake.url)
        monkeypatch.setenv("CTXSCOPE_TOKEN", "tok-SECRET")
        _write(toml, 'scope = "demo"\n')
    elif name == "cloud-down":
        monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)
        _write(toml, 'scope = "demo"\n')
    # `status` also lists stale processes of this machine, which other test runs
    # start and stop at any moment; the two paths share that code, so pin it here.
    monkeypatch.setattr(
        "ctxscope.procs.status_summary", lambda **kw: {"checked": 0, "stale": [], "unreadable": 0}
    )
    return name


def _reset():
    """The same starting state for each run: no cloud cache, no log, no background refresh."""
    import shutil

    shutil.rmtree(paths.cache_dir(), ignore_errors=True)
    os.makedirs(paths.cache_dir())
    # A refresh started moments ago: the hook does not start another one now.
    with open(os.path.join(paths.cache_dir(), "refresh.stamp"), "w"):
        pass
    for path in (paths.default_log_file(),):
        if os.path.exists(path):
            os.unlink(path)


def _run_fast(argv, capsys):
    _reset()
    with pytest.raises(SystemExit) as exc:
        _entry.main(list(argv))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def _run_full(argv, capsys):
    _reset()
    code = cli.run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("scenario", SCENARIOS, indirect=True)
def test_fast_and_full_paths_print_and_exit_the_same(scenario, capsys):
    for argv, fast in MATRIX:
        assert (_entry.parse_fast(argv) is not None) is fast, argv
        got_fast = _run_fast(argv, capsys)
        got_full = _run_full(argv, capsys)
        assert got_fast == got_full, (scenario, argv)
        assert "tok-SECRET" not in got_fast[1] + got_fast[2]
        assert "Traceback" not in got_fast[2]


def test_the_matrix_reaches_every_exit_code_it_should(project, monkeypatch, capsys):
    """A guard against a matrix that compares only successes."""
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    monkeypatch.setattr("ctxscope.procs.status_summary", lambda **kw: None)
    codes = {_run_fast(argv, capsys)[0] for argv, _ in MATRIX}
    # (a bad --scope is a usage error, 2; exit 1 comes from the "invalid" scenarios)
    assert {0, 2, 3} <= codes


def _click_command(name):
    return typer.main.get_command(cli.app).commands[name]


@pytest.mark.parametrize("name", sorted(_entry.FAST))
def test_fast_table_matches_the_typer_declarations(name):
    """Every option the fast path accepts exists on the Typer command with the same kind,
    parameter name and choices, and the body accepts exactly those keyword names."""
    module, function, flags, valued, positionals = _entry.FAST[name]
    params = {opt: p for p in _click_command(name).params for opt in p.opts}
    for opt, kwarg in flags.items():
        assert params[opt].is_flag and params[opt].name == kwarg, opt
    for opt, kwarg in valued.items():
        assert not params[opt].is_flag and params[opt].name == kwarg, opt
    arguments = [p for p in _click_command(name).params if p.param_type_name == "argument"]
    assert [p.name for p in arguments] == [n for n, _ in positionals]
    for p, (_, choices) in zip(arguments, positionals, strict=True):
        assert tuple(str(c) for c in p.type_descriptor.choices) == choices
    import importlib

    body = getattr(importlib.import_module(f"ctxscope.{module}"), function)
    accepted = set(inspect.signature(body).parameters)
    assert set(flags.values()) | set(valued.values()) | {n for n, _ in positionals} <= accepted


def test_parse_fast_reads_values_like_click():
    assert _entry.parse_fast(["resolve", "--scope", "a"])[2] == {"scope": "a"}
    assert _entry.parse_fast(["resolve", "--scope=a=b"])[2] == {"scope": "a=b"}
    assert _entry.parse_fast(["resolve", "--scope", ""])[2] == {"scope": ""}
    assert _entry.parse_fast(["hook", "--run", "zsh"])[2] == {"run": True, "shell": "zsh"}
    assert _entry.parse_fast(["status", "--check", "--json"])[:2] == ("commands.status", "status")
    assert _entry.parse_fast(["resolve", "--scope", "-x"]) is None  # Click's call: let it make it
    assert _entry.parse_fast(["resolve", "--jso"]) is None
    assert _entry.parse_fast(["--scope", "a", "resolve"]) is None


# The installed command, against the full app started the same way.
FULL_APP = "import sys; from ctxscope.cli import run; sys.stdout.flush(); sys.exit(run(sys.argv[1:]))"


def _full_app(argv, cwd):
    return subprocess.run(
        [sys.executable, "-c", FULL_APP, *argv], cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["resolve"],
        ["resolve", "--json"],
        ["diff"],
        ["diff", "--json"],
        ["prompt"],
        ["prompt", "--json"],
        ["hook", "bash", "--run"],
        ["hook", "bash", "--run", "--json"],
        ["hook", "zsh"],
        ["hook", "zsh", "--json"],
        ["resolve", "--scope"],
    ],
)
@pytest.mark.parametrize("situation", ["drifted", "unresolved-project", "invalid"])
def test_installed_command_matches_the_full_app(ctx, argv, situation, project, monkeypatch):
    if situation == "drifted":
        _write(project / ".ctxscope.toml", 'scope = "workout"\n')
        monkeypatch.setenv("CTX_SCOPE", "zentygo")
    elif situation == "unresolved-project":
        _write(project / ".ctxscope.toml", "# linked later\n")
    else:
        monkeypatch.setenv("CTX_SCOPE", " padded ")
    fast = ctx(*argv, cwd=project)
    full = _full_app(argv, project)
    assert (fast.returncode, fast.stdout, fast.stderr) == (full.returncode, full.stdout, full.stderr)
    if argv[:1] == ["diff"] and "--json" in argv:
        assert json.loads(fast.stdout)["state"] in ("DRIFTED", "UNRESOLVED", "INVALID")
    if argv[:1] in (["prompt"], ["hook"]) and "--json" in argv:
        assert fast.returncode == 0 and isinstance(json.loads(fast.stdout), dict)


def test_the_installed_command_takes_the_fast_path(project, monkeypatch):
    """`python -X importtime` shows what ran: no typer for `status --json`, typer for --help."""
    monkeypatch.setenv("CTX_SCOPE", "demo")
    script = os.path.join(os.path.dirname(sys.executable), "ctxscope")

    def imported(*argv):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", script, *argv],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return {
            line.split("|")[-1].strip()
            for line in done.stderr.splitlines()
            if line.startswith("import time:")
        }

    assert "typer" not in imported("status", "--json")
    assert "typer" in imported("status", "--help")
    assert "typer" not in imported("hook", "bash", "--run")
    assert "typer" not in imported("prompt")
    assert "typer" not in imported("prompt", "--json")
    assert "typer" not in imported("hook", "zsh", "--run", "--json")
