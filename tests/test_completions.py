"""The completion scripts in ctxscope/data/completions/: current, complete, and working in real shells.

They are generated from the Typer app (`python tools/docgen.py`), committed and
shipped in the package (`ctxscope completion SHELL` prints them);
regenerating must give the same bytes. They complete commands, options and the
choice values from static lists, so a TAB never starts ctxscope. bash, zsh and
fish run them for real; bash and zsh also through a pseudo-terminal with a real
TAB key, zsh both autoloaded from $fpath (where Typer's own script misses the first
TAB) and sourced.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from _docgen import docgen
from _helptext import help_commands, help_options

ROOT = Path(__file__).resolve().parents[1]
COMPLETIONS = ROOT / "ctxscope" / "data" / "completions"
BASH = COMPLETIONS / "ctxscope.bash"
ZSH = COMPLETIONS / "_ctxscope"
FISH = COMPLETIONS / "ctxscope.fish"


def _needs(shell):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (.ci/run installs it)")


def test_help_parsing_finds_what_it_should():
    assert {"status", "resolve", "diff", "hook", "prompt"} <= set(help_commands())
    assert {"--scope", "--json", "--check", "-h", "--help"} <= set(help_options("status"))


# --- the committed files are current -------------------------------------------------------


@pytest.mark.parametrize(
    "rel",
    [
        "ctxscope/data/completions/ctxscope.bash",
        "ctxscope/data/completions/_ctxscope",
        "ctxscope/data/completions/ctxscope.fish",
    ],
)
def test_committed_completions_are_current(rel):
    generated = docgen.render_all()[rel]
    committed = (ROOT / rel).read_text(encoding="utf-8")
    assert committed == generated, f"{rel} is out of date: run `python tools/docgen.py` and commit the result"


# --- bash, the completion function itself ----------------------------------------------------


def bash_complete(*words: str, path: str | None = None) -> list[str]:
    """Call _ctxscope as bash does for `ctxscope WORDS...` (the last word is being typed)."""
    words_code = " ".join("'" + w.replace("'", "'\\''") + "'" for w in ("ctxscope", *words))
    script = (
        f"source {BASH}\nCOMP_WORDS=({words_code})\nCOMP_CWORD={len(words)}\n"
        "_ctxscope\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    env = {**os.environ, **({"PATH": path} if path else {})}
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_every_command():
    assert set(bash_complete("")) == set(help_commands())
    assert bash_complete("sta") == ["status"]


@pytest.mark.parametrize("command", help_commands())
def test_bash_completes_every_option_of_every_command(command):
    assert set(bash_complete(command, "-")) == set(help_options(command))


@pytest.mark.parametrize(
    "words, expected",
    [
        (("sync", "--direction", ""), ["runtime-to-local", "resolved-to-cloud"]),
        (("sync", "--direction", "res"), ["resolved-to-cloud"]),
        (("sync", "--direction", "=", ""), ["runtime-to-local", "resolved-to-cloud"]),
        (("sync", "--direction", "=", "run"), ["runtime-to-local"]),
        (
            (
                "sync",
                "--direction=run",
            ),
            ["--direction=runtime-to-local"],
        ),
        (("sync", "--scope", "x", "--direction", ""), ["runtime-to-local", "resolved-to-cloud"]),
        (("sync", "--scope", "=", "x", "--direction", ""), ["runtime-to-local", "resolved-to-cloud"]),
        (("repair", "--shell", ""), ["bash", "zsh", "fish"]),
        (("hook", ""), ["bash", "zsh", "fish"]),
        (("hook", "--run", "z"), ["zsh"]),
        (("hook", "bash", ""), []),  # one shell only
        (("status", "--scope", ""), []),  # a free value: nothing to offer
        (("--version", "st"), ["status"]),
    ],
)
def test_bash_completes_values(words, expected):
    assert bash_complete(*words) == expected


def test_bash_completes_file_names_for_trust(tmp_path, monkeypatch):
    here = tmp_path / "files"
    here.mkdir()
    (here / "project.toml").write_text("")
    (here / "other").mkdir()
    monkeypatch.chdir(here)
    assert sorted(bash_complete("trust", "")) == ["other", "project.toml"]
    assert bash_complete("trust", "pro") == ["project.toml"]


@pytest.fixture
def spy_ctxscope(tmp_path):
    """A `ctxscope` first on PATH that leaves a mark if anything runs it."""
    marker = tmp_path / "ctxscope-ran"
    bindir = tmp_path / "spy-bin"
    bindir.mkdir()
    spy = bindir / "ctxscope"
    spy.write_text(f"#!/bin/sh\ntouch {marker}\n")
    spy.chmod(0o755)
    return f"{bindir}{os.pathsep}{os.environ['PATH']}", marker


def test_a_tab_never_starts_ctxscope(spy_ctxscope):
    path, marker = spy_ctxscope
    assert bash_complete("sync", "--direction", "", path=path)
    assert bash_complete("st", path=path) == ["status"]
    if shutil.which("fish"):
        fish_complete("ctxscope sync --direction ", path=path)
    assert not marker.exists()


# --- fish -------------------------------------------------------------------------------------


def fish_complete(line: str, path: str | None = None) -> list[str]:
    _needs("fish")
    env = {**os.environ, **({"PATH": path} if path else {})}
    done = subprocess.run(
        ["fish", "--no-config", "-c", f"source {FISH}; complete -C {line!r}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [entry.split("\t")[0] for entry in done.stdout.splitlines()]


def test_fish_completes_commands_options_and_values():
    assert set(fish_complete("ctxscope ")) == set(help_commands())
    assert set(fish_complete("ctxscope status -")) == set(help_options("status"))
    assert sorted(fish_complete("ctxscope sync --direction ")) == ["resolved-to-cloud", "runtime-to-local"]
    assert sorted(fish_complete("ctxscope hook ")) == ["bash", "fish", "zsh"]
    assert fish_complete("ctxscope hook bash ") == []
    assert sorted(fish_complete("ctxscope repair --shell ")) == ["bash", "fish", "zsh"]
    assert fish_complete("ctxscope log -n 3 --j") == ["--json"]


@pytest.mark.parametrize("command", ["sync", "repair", "log", "hook", "prompt", "resolve"])
def test_fish_completes_every_option(command):
    if command not in help_commands():
        pytest.skip(f"no `{command}` command in this tree")
    offered = set(fish_complete(f"ctxscope {command} -"))
    assert {o for o in help_options(command) if o.startswith("--")} <= offered


# --- real TABs through a pseudo-terminal ------------------------------------------------------


class Terminal:
    """An interactive shell on a pseudo-terminal: type into it, wait for what it prints."""

    def __init__(self, argv, env, cwd):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        self.seen = b""

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait_for(self, text: str, limit: float = 60.0) -> bool:
        """Read until `text` shows up; False if it did not within `limit` seconds."""
        want = text.encode()
        deadline = time.monotonic() + limit
        while want not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                self.seen += chunk
        return want in self.seen

    def close(self) -> None:
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def terminal(tmp_path):
    opened = []

    def start(*argv):
        env = {**os.environ, "TERM": "xterm", "PS1": "$ ", "PROMPT": "%% "}
        term = Terminal(list(argv), env, tmp_path)
        opened.append(term)
        return term

    yield start
    for term in opened:
        term.close()


READY = "echo READY-$((6 * 7))\n"  # prints READY-42; the echoed command line does not


def test_bash_real_tab(terminal):
    _needs("bash")
    term = terminal("bash", "--norc", "--noprofile", "-i")
    term.type(f"source {BASH}; {READY}")
    assert term.wait_for("READY-42"), term.seen
    term.type("ctxscope sync --direction ru\t")
    assert term.wait_for("ntime-to-local"), term.seen  # only a completion can print that


def _zsh_setup(fpath_dir: Path | None = None, source: Path | None = None) -> str:
    parts = []
    if fpath_dir is not None:
        parts.append(f"fpath=({fpath_dir} $fpath)")
    parts.append("autoload -Uz compinit && compinit -u -D")
    if source is not None:
        parts.append(f"source {source}")
    return "; ".join(parts) + "; " + READY


def test_zsh_first_tab_when_autoloaded_from_fpath(terminal, tmp_path):
    _needs("zsh")
    functions = tmp_path / "zfunc"
    functions.mkdir()
    shutil.copy(ZSH, functions / "_ctxscope")
    term = terminal("zsh", "-f", "-i")
    term.type(_zsh_setup(fpath_dir=functions))
    assert term.wait_for("READY-42"), term.seen
    term.type("ctxscope sync --direction ru\t")  # one TAB, the first of this shell
    assert term.wait_for("ntime-to-local"), term.seen  # only a completion can print that


def test_zsh_first_tab_when_sourced(terminal):
    _needs("zsh")
    term = terminal("zsh", "-f", "-i")
    term.type(_zsh_setup(source=ZSH))
    assert term.wait_for("READY-42"), term.seen
    term.type("ctxscope sync --direction res\t")
    assert term.wait_for("olved-to-cloud"), term.seen


def test_zsh_control_a_typer_style_file_misses_the_first_tab(terminal, tmp_path):
    """The pty test can see the Typer first-TAB problem: a file that only calls compdef misses one TAB."""
    _needs("zsh")
    functions = tmp_path / "zfunc"
    functions.mkdir()
    text = ZSH.read_text()
    tail = text[text.index("if [[ ${funcstack[1]-} == _ctxscope ]]") :]
    (functions / "_ctxscope").write_text(text.replace(tail, "compdef _ctxscope ctxscope\n"))
    term = terminal("zsh", "-f", "-i")
    term.type(_zsh_setup(fpath_dir=functions))
    assert term.wait_for("READY-42"), term.seen
    term.type("ctxscope sync --direction ru\t")
    assert not term.wait_for("ntime-to-local", limit=3.0)
    term.type("\t")
    assert term.wait_for("ntime-to-local"), term.seen


@pytest.mark.parametrize(
    "shell, check",
    [
        ("bash", ["bash", "-n"]),
        ("zsh", ["zsh", "-n"]),
        ("fish", ["fish", "--no-execute"]),
    ],
)
def test_completion_files_are_valid_shell(shell, check):
    _needs(shell)
    path = {"bash": BASH, "zsh": ZSH, "fish": FISH}[shell]
    done = subprocess.run([*check, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
