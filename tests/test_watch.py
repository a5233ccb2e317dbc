"""`ctxscope status --watch`: the installed command in a real pseudo-terminal (redraws
when a file changes, Ctrl-C exits 0), the JSON-lines stream for pipes (a file change
and a cloud change at its TTL), and the fingerprinting underneath.

The waits below are deadlines against a hung test, never measurements: each one
returns as soon as the expected output has arrived.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from ctxscope.watch import Watcher, fingerprint, watched_paths

CTXSCOPE = str(Path(sys.executable).with_name("ctxscope"))
DEADLINE = 30.0
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _controlling_tty():
    # Runs in the child after setsid(): make the pty on stdin its controlling
    # terminal, so the line discipline turns a typed Ctrl-C into SIGINT for it.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """The installed `ctxscope` running on the slave side of a real pty."""

    def __init__(self, args, cwd):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"}
        self.proc = subprocess.Popen(
            [CTXSCOPE, *args],
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_controlling_tty,
            close_fds=True,
        )
        os.close(slave)
        self.buffer = b""

    def text(self) -> str:
        return ANSI.sub("", self.buffer.decode("utf-8", "replace"))

    def read_until(self, predicate) -> str:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if predicate(self.text()):
                return self.text()
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break
                self.buffer += chunk
        if predicate(self.text()):
            return self.text()
        raise AssertionError(f"never saw the expected output; got:\n{self.text()}")

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self) -> int:
        try:
            return self.proc.wait(timeout=DEADLINE)
        finally:
            try:
                while select.select([self.master], [], [], 0)[0]:
                    chunk = os.read(self.master, 65536)
                    if not chunk:
                        break
                    self.buffer += chunk
            except OSError:
                pass

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def test_live_table_redraws_on_file_change_and_ctrl_c_exits_0(project, user_config, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "alpha-scope"\n')
    user_config.write_text('[[observe.sources]]\nname = "tool"\nfile = "tool.json"\nkey = "project"\n')
    (project / "tool.json").write_text('{"project": "alpha-scope"}')
    term = Terminal(["status", "--watch", "--interval", "0.1"], cwd=str(project))
    try:
        first = term.read_until(lambda t: "alpha-scope" in t and "SYNCED" in t)
        assert "Ctrl-C to stop" in first
        assert term.proc.poll() is None  # still running: it watches

        (project / ".ctxscope.toml").write_text('scope = "beta-scope"\n')
        seen = term.read_until(lambda t: "beta-scope" in t and "DRIFTED" in t)
        assert "observed_mismatch" in seen  # the observer file now disagrees

        (project / "tool.json").write_text('{"project": "beta-scope"}')  # an observed file
        term.read_until(lambda t: t.rfind("SYNCED") > t.rfind("DRIFTED"))

        term.type(b"\x03")  # Ctrl-C, typed on the terminal
        assert term.wait() == 0
        assert "Traceback" not in term.text() and "KeyboardInterrupt" not in term.text()
    finally:
        term.close()


def test_live_mode_uses_the_terminal(project):
    (project / ".ctxscope.toml").write_text('scope = "alpha-scope"\n')
    term = Terminal(["status", "--watch", "--interval", "0.1"], cwd=str(project))
    try:
        term.read_until(lambda t: "alpha-scope" in t)
        assert b"\x1b[" in term.buffer  # rich.live draws with cursor control on a terminal
        term.type(b"\x03")
        assert term.wait() == 0
    finally:
        term.close()


def _stream(args, cwd):
    return subprocess.Popen(
        [CTXSCOPE, "status", "--watch", "--json", *args],
        cwd=cwd,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _next_json(proc) -> dict:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            return json.loads(line)
    raise AssertionError("no JSON line arrived")


def test_json_lines_on_a_pipe_and_sigint_exits_0(project):
    (project / ".ctxscope.toml").write_text('scope = "alpha"\n')
    proc = _stream(["--interval", "0.1"], str(project))
    try:
        first = _next_json(proc)
        assert (first["resolved_scope"], first["state"]) == ("alpha", "SYNCED")
        assert "watched_at" in first and "observed" in first
        (project / ".ctxscope.toml").write_text('scope = "beta"\n')
        second = _next_json(proc)
        assert second["resolved_scope"] == "beta"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=DEADLINE) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_cloud_is_asked_again_at_its_ttl(project, user_config, cloud):
    user_config.write_text("[cloud]\ncache_ttl = 0.5\n")
    cloud.scope = "alpha"
    cloud.access = {"alpha": "read", "beta": "read"}
    proc = _stream(["--interval", "0.1"], str(project))
    try:
        first = _next_json(proc)
        assert (first["resolved_scope"], first["resolved_from"]) == ("alpha", "cloud")
        cloud.scope = "beta"  # nothing on disk changes: only the TTL brings it in
        second = _next_json(proc)
        assert (second["resolved_scope"], second["resolved_from"]) == ("beta", "cloud")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_watch_and_check_do_not_mix(ctx, project):
    result = ctx("status", "--watch", "--check", cwd=str(project), env=os.environ.copy())
    assert result.returncode == 2
    assert "--watch and --check cannot be combined" in result.stderr


def test_watched_files_and_fingerprint(project, user_config, tmp_path):
    (project / ".git").mkdir()
    user_config.write_text('[[observe.sources]]\nname = "t"\nfile = "t.json"\nkey = "p"\n')
    from ctxscope.config import load

    files = watched_paths(str(project), load(str(project), {}))
    assert str(project / ".ctxscope.toml") in files
    assert str(tmp_path / ".ctxscope.toml") in files  # a nearer file can appear above too
    assert str(user_config) in files and str(project / "t.json") in files
    before = fingerprint(files)
    (project / "t.json").write_text("{}")
    assert fingerprint(files) != before


def test_watcher_reports_only_real_changes(project):
    (project / ".ctxscope.toml").write_text('scope = "alpha"\n')
    watcher = Watcher(scope=None, offline=False, refresh=False, cwd=str(project))
    assert watcher.poll().resolved_scope == "alpha"
    assert watcher.poll() is None  # nothing changed
    os.utime(project / ".ctxscope.toml", ns=(1, 1))  # touched, same content
    assert watcher.poll() is None  # re-read, but the table would be the same
    (project / ".ctxscope.toml").write_text('scope = "alpha"\n[cloud]\ntoken = "x"\n')
    error = watcher.poll()
    assert "CTXSCOPE_TOKEN" in str(error)  # a config error is shown, the watch goes on
    (project / ".ctxscope.toml").write_text('scope = "gamma"\n')
    assert watcher.poll().resolved_scope == "gamma"


@pytest.mark.parametrize("args", [["--interval", "0"]])
def test_interval_has_a_floor(ctx, project, args):
    result = ctx("status", "--watch", *args, cwd=str(project), env=os.environ.copy())
    assert result.returncode == 2
