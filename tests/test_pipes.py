"""Output that survives a pipe: when stdout is not a terminal, nothing is hard-wrapped.

Every command that prints a table (status, diff, ps, log, config) is run with its
stdout on a pipe and a value far longer than any terminal (a 200-byte directory
name, a 300-character reason), and each value must come out whole on one line, so
`grep`, `cut` and `head` see what a person would. COLUMNS still sets the width on
a terminal (checked on a pseudo-terminal), and NO_COLOR turns colour off.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest
from _hardening import CTXSCOPE, env_with, run

LONG = "d" * 200


def one_line(output: str, value: str) -> bool:
    return any(value in line for line in output.splitlines())


@pytest.fixture
def deep(project):
    """A repository in a directory with a 200-byte name, in drift."""
    root = project / LONG
    root.mkdir()
    (root / ".ctxscope.toml").write_text('scope = "workout"\n')
    return root


@pytest.mark.parametrize("columns", [None, "40", "200"])
@pytest.mark.parametrize("args", [["status"], ["diff"], ["config"]], ids=" ".join)
def test_tables_keep_every_value_on_one_line_in_a_pipe(deep, args, columns):
    env = env_with(CTX_SCOPE="zentygo", COLUMNS=columns)
    result = run(args, cwd=deep, env=env)
    path = str(deep / ".ctxscope.toml")
    assert one_line(result.stdout, path), result.stdout
    if args != ["config"]:
        assert one_line(result.stdout, "local_mismatch" if args == ["diff"] else "DRIFTED")
    for line in result.stdout.splitlines():  # no value was cut either
        assert "…" not in line or str(deep) not in line


def test_an_error_row_keeps_its_reason_on_one_line(deep, dead_url):
    env = env_with(CTXSCOPE_CLOUD_URL=dead_url, COLUMNS="80")
    result = run(["status"], cwd=deep, env=env)
    assert one_line(result.stdout, "[Errno 111] Connection refused"), result.stdout
    assert one_line(result.stdout, dead_url + "/v1/scope")


def test_ps_keeps_each_process_on_one_line(deep, spawn):
    words = ["x" * 50] * 6
    child = spawn(deep, "zentygo", argv=[sys.executable, "-c", "import time; time.sleep(300)", *words])
    result = run(["ps", "--pid", str(child.pid)], cwd=deep, env=env_with(COLUMNS=None))
    row = next(line for line in result.stdout.splitlines() if line.lstrip().startswith(str(child.pid)))
    assert str(deep) in row and " ".join(words) in row, result.stdout
    assert one_line(result.stdout, "STALE: 1 process holds")
    # COLUMNS, when set, is the width the command is cut to (still one line).
    cut = run(["ps", "--pid", str(child.pid)], cwd=deep, env=env_with(COLUMNS="120"))
    row = next(line for line in cut.stdout.splitlines() if line.lstrip().startswith(str(child.pid)))
    assert str(deep) in row and row.rstrip().endswith("…")


@pytest.fixture
def long_log(log_file):
    log_file.parent.mkdir(parents=True, exist_ok=True)
    events = [
        {
            "ts": f"2026-11-24T10:00:{i:02d}Z",
            "event": "scope_unresolved",
            "resolved_scope": None,
            "reason": "no_scope_" + "r" * 300,
            "action_required": "set_scope",
            "command": "status " + "c" * 200,
            "cwd": "/" + LONG,
        }
        for i in range(30)
    ]
    log_file.write_text("".join(json.dumps(e) + "\n" for e in events))
    return events


@pytest.mark.parametrize("columns", [None, "60"])
def test_log_keeps_each_event_on_one_line(project, long_log, columns):
    result = run(["log"], cwd=project, env=env_with(COLUMNS=columns))
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + len(long_log)  # the header and one line per event
    assert all(one_line(result.stdout, e["reason"]) for e in long_log)
    assert "scope_unresolved".removeprefix("scope_") in lines[1]


def test_log_into_head_stops_quietly(project, long_log):
    proc = subprocess.run(
        f"'{CTXSCOPE}' log | head -n 2",
        shell=True,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env=env_with(),
    )
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and long_log[0]["reason"] in lines[1]


def test_no_color_in_a_pipe_and_colour_only_when_forced(deep):
    env = env_with(CTX_SCOPE="zentygo")
    assert "\x1b" not in run(["status"], cwd=deep, env=env).stdout
    forced = run(["status"], cwd=deep, env=env_with(CTX_SCOPE="zentygo", FORCE_COLOR="1"))
    assert "\x1b[" in forced.stdout
    assert one_line(re.sub(r"\x1b\[[0-9;]*m", "", forced.stdout), str(deep / ".ctxscope.toml"))
    both = run(["status"], cwd=deep, env=env_with(CTX_SCOPE="zentygo", FORCE_COLOR="1", NO_COLOR="1"))
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]", both.stdout)  # no colour, bold may stay


def run_on_a_terminal(args, *, cwd, env) -> str:
    """Run the installed command with a pseudo-terminal as stdin, stdout and stderr."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [CTXSCOPE, *args], cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        proc.wait(timeout=30)
    return out.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.mark.skipif(sys.platform != "linux", reason="pseudo-terminal behaviour is Linux's here")
def test_columns_sets_the_width_on_a_terminal(deep):
    env = env_with(CTX_SCOPE="zentygo", COLUMNS="70", TERM="xterm", NO_COLOR="1")
    output = run_on_a_terminal(["status"], cwd=deep, env=env)
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    table = plain.split("\n\n")[0].splitlines()
    assert table and all(len(line.rstrip()) <= 70 for line in table), plain
    assert not one_line(plain, str(deep / ".ctxscope.toml"))  # folded to fit, as asked
    assert not re.search(r"\x1b\[[0-9;]*3[0-9]", output)  # NO_COLOR: no colour
