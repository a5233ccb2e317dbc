"""`ctxscope exec`: every refusal leaves COMMAND unstarted; otherwise COMMAND *is* the process.

The installed `ctxscope` runs as a real subprocess (as a desktop client, systemd or a
shell would start it) so that the pid, the signals, stdin/stdout and the exit code
are checked for real. Every drift-log event is validated against the shipped schema
(the `events` fixture).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest

from ctxscope import _entry, cli
from ctxscope.launch import format_marker, parse_marker

CTXSCOPE = os.path.join(os.path.dirname(sys.executable), "ctxscope")
PY = sys.executable
# A COMMAND with a side effect: it creates the file named by its argument.
TOUCH = [PY, "-c", "import sys; open(sys.argv[1], 'w').close()"]
# A COMMAND that prints its environment as JSON.
PRINT_ENV = [PY, "-c", "import json, os; print(json.dumps(dict(os.environ)))"]


@pytest.fixture
def run(ctx):
    """The installed command (the `ctx` fixture), which must never print a traceback."""

    def call(*args, **kw):
        done = ctx(*args, **kw)
        assert (b"Traceback" if isinstance(done.stderr, bytes) else "Traceback") not in done.stderr
        return done

    return call


def child_env(done) -> dict:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# --- refusals ------------------------------------------------------------------------------


def _enforce(project, user_config, cloud):
    cloud.scope = "workout"
    cloud.access = {"workout": "write", "zentygo": "write"}
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    user_config.write_text('[policy]\nmode = "enforce"\n')


def _setup(case, project, user_config, monkeypatch, cloud, dead_url):
    if case == "invalid":
        monkeypatch.setenv("CTX_SCOPE", " workout")
    elif case == "config":
        user_config.write_text('[cloud]\ntoken = "abc-secret"\n')
        monkeypatch.setenv("CTX_SCOPE", "workout")
    elif case == "drift":
        _enforce(project, user_config, cloud)
        monkeypatch.setenv("CTX_SCOPE", "zentygo")
    elif case == "not-checked":
        monkeypatch.delenv("CTXSCOPE_CLOUD_URL")
        (project / ".ctxscope.toml").write_text('scope = "workout"\n')
        user_config.write_text('[policy]\nmode = "enforce"\n')
    elif case == "unauthorized":
        cloud.scope = "workout"
        cloud.access = {"workout": "write"}
        monkeypatch.setenv("CTX_SCOPE", "payroll")
    elif case == "unresolved":
        monkeypatch.delenv("CTXSCOPE_CLOUD_URL")
    elif case == "cloud-down":
        monkeypatch.setenv("CTXSCOPE_CLOUD_URL", dead_url)


REFUSALS = [
    # case, exit code, refusal word, what the one line names
    ("invalid", 1, "runtime_invalid", "has surrounding whitespace"),
    ("config", 1, "config_error", "token"),
    ("drift", 3, "drift", "enforce mode: drift"),
    ("not-checked", 4, "authorization_not_checked", "no cloud is configured"),
    ("unauthorized", 4, "scope_unauthorized", "'payroll'"),
    ("unresolved", 5, "scope_unresolved", "no source sets a scope"),
    ("cloud-down", 6, "cloud_unreachable", "cloud"),
]


@pytest.mark.parametrize(("case", "code", "refusal", "says"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refusal_never_starts_the_command(
    run, case, code, refusal, says, project, user_config, monkeypatch, cloud, dead_url, events, tmp_path
):
    _setup(case, project, user_config, monkeypatch, cloud, dead_url)
    created = tmp_path / "started"
    done = run("exec", "--", *TOUCH, str(created), cwd=project)
    assert done.returncode == code, done.stderr
    assert not created.exists()
    assert done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if line.startswith("ctxscope: error:")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"ctxscope: error: not starting {PY}: ")
    assert says in errors[0]
    assert "(" in errors[0] or "remove it" in errors[0]  # how to fix it
    refused = [e for e in events() if e["event"] == "scope_exec_refused"]
    assert len(refused) == 1
    assert refused[0]["exit_code"] == code
    assert refused[0]["refusal"] == refusal
    assert refused[0]["program"] == PY
    assert str(created) not in json.dumps(refused[0])  # arguments are never logged
    assert "abc-secret" not in done.stderr + json.dumps(refused[0])


def test_a_refused_dry_run_says_so_and_logs_no_refusal(run, project, events):
    done = run("exec", "--dry-run", "--", "true", cwd=project)
    assert (done.returncode, done.stdout) == (5, "")
    assert "not starting true" in done.stderr
    assert not [e for e in events() if e["event"] == "scope_exec_refused"]


# --- the environment COMMAND gets ----------------------------------------------------------


OBSERVE = """
[[observe.sources]]
preset = "langsmith"
map = { workout = "workout-traces" }

[[observe.sources]]
preset = "graphiti"
map = { workout = "workout-graph" }

[[observe.sources]]
preset = "openai"

[[observe.sources]]
preset = "basic-memory"

[[observe.sources]]
name = "memsrv"
env = ["MEMSRV_PROJECT", "MEMSRV_LEGACY_PROJECT"]
map = { other = "x" }
"""


def test_the_command_gets_the_scope_and_every_env_observers_id(
    run, project, user_config, monkeypatch, isolated_home
):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    user_config.write_text('[runtime]\nenv = ["AGENT_SCOPE", "CTX_SCOPE"]\n' + OBSERVE)
    (isolated_home / ".basic-memory").mkdir()
    (isolated_home / ".basic-memory" / "config.json").write_text(
        '{"default_project": "main", "projects": {"main": {"path": "/x"}}}'
    )
    monkeypatch.setenv("LANGCHAIN_PROJECT", "stale-traces")
    monkeypatch.setenv("GRAPHITI_GROUP_ID", "main")
    monkeypatch.setenv("UNRELATED", "kept")
    before = time.time()
    env = child_env(run("exec", "--", *PRINT_ENV, cwd=project))
    assert env["AGENT_SCOPE"] == env["CTX_SCOPE"] == "workout"
    assert env["LANGSMITH_PROJECT"] == env["LANGCHAIN_PROJECT"] == "workout-traces"
    assert env["GRAPHITI_GROUP_ID"] == "workout-graph"
    assert env["OPENAI_PROJECT_ID"] == "workout"  # no map: the scope itself
    assert env["MEMSRV_PROJECT"] == env["MEMSRV_LEGACY_PROJECT"] == "workout"  # no entry
    assert env["UNRELATED"] == "kept"
    assert "BASIC_MEMORY_MCP_PROJECT" not in env  # not configured, not invented
    launch = parse_marker(env["CTXSCOPE_EXEC"])
    assert (launch.scope, launch.source) == ("workout", "local")
    assert int(before) <= launch.at <= time.time() + 1


def test_a_file_observer_is_not_set_and_status_keeps_its_drift(run, project, user_config, isolated_home):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    user_config.write_text('observe = ["basic-memory"]\n')
    config = isolated_home / ".basic-memory" / "config.json"
    config.parent.mkdir()
    config.write_text('{"default_project": "main"}')
    done = run("exec", "--", "true", cwd=project)
    assert done.returncode == 0
    assert "observed_mismatch" in done.stderr  # said on stderr, not fixed
    assert config.read_text() == '{"default_project": "main"}'
    status = run("status", "--json", cwd=project)
    row = next(o for o in json.loads(status.stdout)["observed"] if o["name"] == "basic-memory")
    assert (row["value"], row["expected"], row["state"]) == ("main", "workout", "drifted")


def test_scope_flag_beats_the_environment_like_resolve(run, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    env = child_env(run("exec", "--scope", "workout", "--", *PRINT_ENV, cwd=project))
    assert env["CTX_SCOPE"] == "workout"
    assert parse_marker(env["CTXSCOPE_EXEC"]).source == "runtime"


def test_options_after_the_command_are_the_commands(run, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "workout")
    script = "import sys; print(sys.argv[1:])"
    done = run("exec", PY, "-c", script, "--scope", "x", "--dry-run", "--", "-h", cwd=project)
    assert done.stdout == "['--scope', 'x', '--dry-run', '--', '-h']\n"


def test_the_command_inherits_default_signal_dispositions(run, project, monkeypatch):
    """Python ignores SIGPIPE for itself; COMMAND must not inherit that (`yes | head`)."""
    monkeypatch.setenv("CTX_SCOPE", "workout")
    done = run("exec", "--", "cat", "/proc/self/status", cwd=project)
    ignored = int(
        next(line for line in done.stdout.splitlines() if line.startswith("SigIgn:")).split()[1], 16
    )
    assert not ignored & (1 << (signal.SIGPIPE - 1))
    assert not ignored & (1 << (signal.SIGXFSZ - 1))
    pipeline = subprocess.run(
        f"{shlex.quote(CTXSCOPE)} exec -- yes | head -n 2",
        shell=True,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert pipeline.stdout == "y\ny\n"


# --- COMMAND is the process ----------------------------------------------------------------


def test_the_pid_is_the_commands_and_sigterm_reaches_it(project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "workout")
    script = (
        "import os, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: (print('TERM', flush=True), sys.exit(42)))\n"
        "print(os.getpid(), flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [CTXSCOPE, "exec", "--", PY, "-c", script],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert int(proc.stdout.readline()) == proc.pid
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert (proc.returncode, out, err) == (42, "TERM\n", "")


@pytest.mark.parametrize("code", [0, 1, 3, 37, 255])
def test_the_exit_code_is_the_commands(run, code, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "workout")
    done = run("exec", "--", PY, "-c", f"raise SystemExit({code})", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (code, "", "")


def test_death_by_signal_is_the_commands(run, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "workout")
    done = run("exec", "--", PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)", cwd=project)
    assert done.returncode == -signal.SIGKILL


def test_stdin_and_stdout_pass_through_byte_for_byte(run, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "workout")
    data = bytes(range(256)) * 512 + b'{"jsonrpc": "2.0"}\n'
    done = run("exec", "--", "cat", cwd=project, input=data)
    assert (done.returncode, done.stdout, done.stderr) == (0, data, b"")


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["no-such-command-ctxscope"], 127, "no-such-command-ctxscope: command not found"),
        (["./missing/prog"], 127, "./missing/prog: command not found"),
    ],
)
def test_a_command_that_cannot_be_found_exits_127_with_one_line(run, argv, code, says, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "workout")
    done = run("exec", "--", *argv, cwd=project)
    assert (done.returncode, done.stdout) == (code, "")
    assert done.stderr == f"ctxscope: error: {says}\n"


def test_a_file_that_is_not_executable_exits_126(run, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "workout")
    (project / "script.sh").write_text("#!/bin/sh\necho hi\n")
    done = run("exec", "--", "./script.sh", cwd=project)
    assert done.returncode == 126
    assert done.stderr.startswith("ctxscope: error: ./script.sh: cannot run: ")


def test_no_command_is_a_usage_error(run, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "workout")
    for args in (["exec"], ["exec", "--"], ["exec", "--scope", "a"], ["exec", "--bogus", "x"]):
        done = run(*args, cwd=project)
        assert done.returncode == 2, args
        assert done.stdout == ""


# --- --dry-run -----------------------------------------------------------------------------


def test_dry_run_prints_the_environment_and_the_command_and_runs_nothing(
    run, project, user_config, tmp_path, monkeypatch
):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    user_config.write_text('[[observe.sources]]\npreset = "graphiti"\nmap = { workout = "team graph" }\n')
    created = tmp_path / "it ran"
    done = run("exec", "--dry-run", "--", *TOUCH, str(created), cwd=project)
    assert done.returncode == 0 and not created.exists()
    lines = done.stdout.splitlines()
    assert lines[0] == "export CTX_SCOPE=workout"
    assert lines[1] == "export GRAPHITI_GROUP_ID='team graph'"
    assert lines[2].startswith("export CTXSCOPE_EXEC='scope=workout;from=local;t=")
    assert lines[3] == "exec " + shlex.join([*TOUCH, str(created)])
    # The text is shell: run it, and the command sees what exec would have set.
    shown = subprocess.run(
        ["sh", "-c", "\n".join(lines[:3]) + '\necho "$GRAPHITI_GROUP_ID"'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shown.stdout == "team graph\n"


# --- the marker ----------------------------------------------------------------------------


def test_the_marker_round_trips_and_malformed_ones_are_ignored():
    value = format_marker("team/a.b:c", "cloud", 1764561600)
    assert value == "scope=team/a.b:c;from=cloud;t=1764561600"
    assert parse_marker(value) == ("team/a.b:c", "cloud", 1764561600)
    assert parse_marker("t=5;future=x=y;scope=w") == ("w", None, 5)  # order, unknown keys
    for bad in (
        None,
        "",
        "scope=w",
        "scope=w;t=soon",
        "scope=bad scope;t=1",
        "t=1",
        "scope=;t=1",
        "scope=w;t=-1",
        "scope=w;t=" + "9" * 40,
    ):
        assert parse_marker(bad) is None, bad


# --- the fast path and the Typer app agree --------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "kwargs"),
    [
        (["exec", "x"], {"command": ["x"]}),
        (["exec", "--", "x", "--scope", "y"], {"command": ["x", "--scope", "y"]}),
        (
            ["exec", "--scope", "a", "--dry-run", "x", "-v"],
            {"scope": "a", "dry_run": True, "command": ["x", "-v"]},
        ),
        (
            ["exec", "--scope=a=b", "--offline", "--refresh", "--", "--x"],
            {"scope": "a=b", "offline": True, "refresh": True, "command": ["--x"]},
        ),
        (["exec", "-", "y"], {"command": ["-", "y"]}),
    ],
)
def test_the_fast_path_reads_exec_like_click(argv, kwargs):
    assert _entry.parse_fast(argv) == ("commands.exec", "exec_", kwargs)


@pytest.mark.parametrize(
    "argv",
    [
        ["exec"],
        ["exec", "--"],
        ["exec", "--scope"],
        ["exec", "--scope", "-x", "y"],
        ["exec", "--bogus", "x"],
        ["exec", "--dry-run", "--dry-run", "x"],
        ["exec", "-h"],
        ["exec", "--scope", "a", "--scope", "b", "x"],
        ["exec", "--dry-run=1", "x"],
    ],
)
def test_the_fast_path_leaves_anything_else_to_the_full_app(argv):
    assert _entry.parse_fast(argv) is None


def test_fast_and_full_paths_print_the_same_dry_run(project, monkeypatch, capsys):
    monkeypatch.setenv("CTX_SCOPE", "workout")
    argv = ["exec", "--dry-run", "--scope", "zentygo", "--", "prog", "--scope", "x y"]
    with pytest.raises(SystemExit) as fast_exit:
        _entry.main(list(argv))
    fast = capsys.readouterr()
    full_code = cli.run(list(argv))
    full = capsys.readouterr()

    def masked(text):
        return "\n".join(line.split(";t=")[0] for line in text.splitlines())

    assert (fast_exit.value.code, masked(fast.out), fast.err) == (full_code, masked(full.out), full.err)
    assert masked(fast.out).endswith("exec prog --scope 'x y'")


def test_the_exec_options_match_the_typer_declaration():
    import typer

    command = typer.main.get_command(cli.app).commands["exec"]
    params = {opt: p for p in command.params for opt in p.opts}
    for opt, name in _entry.EXEC_FLAGS.items():
        assert params[opt].is_flag and params[opt].name == name
    assert not params["--scope"].is_flag and params["--scope"].name == "scope"
    assert set(params) - {"COMMAND", "command"} == {*_entry.EXEC_FLAGS, "--scope"}
    assert command.context_settings.get("allow_interspersed_args") is False


# --- ps reads the marker -------------------------------------------------------------------


def test_ps_says_which_scope_a_process_was_launched_with_and_what_resolves_now(run, project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    proc = subprocess.Popen(
        [CTXSCOPE, "exec", "--", "sleep", "60"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:  # until exec has become sleep
            with open(f"/proc/{proc.pid}/cmdline", "rb") as fh:
                if fh.read().startswith(b"sleep\0"):
                    break
            time.sleep(0.05)
        (project / ".ctxscope.toml").write_text('scope = "workout"\n')  # the team moved on
        listed = json.loads(run("ps", "--json", "--pid", str(proc.pid), cwd=project).stdout)
        shown = run("ps", "--pid", str(proc.pid), cwd=project).stdout
    finally:
        proc.kill()
        proc.wait()
    [row] = listed
    assert (row["scope"], row["expected"], row["state"]) == ("zentygo", "workout", "stale")
    assert row["launched"]["scope"] == "zentygo" and row["launched"]["from"] == "local"
    assert row["launched"]["at"].endswith("Z")
    at = row["launched"]["at"].replace("T", " ").replace("Z", " UTC")
    assert (
        f"pid {proc.pid}: launched by ctxscope exec with zentygo at {at}; workout resolves now"
    ) in " ".join(shown.split())
