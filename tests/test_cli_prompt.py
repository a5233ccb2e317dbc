"""`ctxscope prompt`: a short scope marker for PS1, from the cache only, never writing."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import time

import pytest


def _files_under(root):
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files)


def test_empty_when_no_scope_is_set(ctx, project):
    done = ctx("prompt", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_resolved_scope(ctx, project):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    done = ctx("prompt", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (0, "workout\n", "")


def test_a_mark_when_the_scope_needs_attention(ctx, project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    assert ctx("prompt", cwd=project).stdout == "zentygo!\n"


def test_format_fields(ctx, project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    done = ctx("prompt", "--format", "[{scope}{mark}|{state}|{source}] ", cwd=project)
    assert done.stdout == "[zentygo!|DRIFTED|runtime] \n"


def test_a_broken_state_with_no_scope_shows_only_the_mark(ctx, project, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "two words")
    done = ctx("prompt", "--format", "({scope}{mark}|{state})", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (0, "(!|INVALID)\n", "")


def test_a_config_error_shows_only_the_mark(ctx, project, user_config):
    user_config.write_text('[cloud]\napi_key = "tok-SECRET"\n')
    done = ctx("prompt", "--format", "({scope}{mark}|{state})", cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (0, "(!|ERROR)\n", "")


@pytest.mark.parametrize("fmt", ["{nope}", "{", "{0}", "{scope.upper}", "{scope:{nope}}"])
def test_a_bad_format_is_a_usage_error(ctx, project, fmt):
    done = ctx("prompt", "--format", fmt, cwd=project)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("ctxscope: error: --format ")
    assert "{scope}, {mark}, {state}, {source}" in done.stderr


# --- --json: one object ---------------------------------------------------------------

KEYS = {"scope", "mark", "state", "source", "text"}


def run_json(ctx, *args, cwd):
    done = ctx("prompt", "--json", *args, cwd=cwd)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    got = json.loads(done.stdout)
    assert set(got) == KEYS
    return got


def test_json_when_no_scope_is_set(ctx, project):
    assert run_json(ctx, cwd=project) == {
        "scope": None,
        "mark": "",
        "state": "UNRESOLVED",
        "source": None,
        "text": None,
    }


def test_json_in_sync(ctx, project):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    assert run_json(ctx, cwd=project) == {
        "scope": "workout",
        "mark": "",
        "state": "SYNCED",
        "source": "local",
        "text": "workout",
    }


def test_json_carries_the_text_the_format_makes(ctx, project, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    fmt = "[{scope}{mark}|{state}|{source}] "
    got = run_json(ctx, "--format", fmt, cwd=project)
    assert got == {
        "scope": "zentygo",
        "mark": "!",
        "state": "DRIFTED",
        "source": "runtime",
        "text": "[zentygo!|DRIFTED|runtime] ",
    }
    assert ctx("prompt", "--format", fmt, cwd=project).stdout == got["text"] + "\n"


def test_json_for_a_broken_state_and_a_config_error(ctx, project, user_config, monkeypatch):
    monkeypatch.setenv("CTX_SCOPE", "two words")
    assert run_json(ctx, cwd=project) == {
        "scope": None,
        "mark": "!",
        "state": "INVALID",
        "source": None,
        "text": "!",
    }
    user_config.write_text('[cloud]\napi_key = "tok-SECRET"\n')
    done = ctx("prompt", "--json", cwd=project)
    assert "tok-SECRET" not in done.stdout + done.stderr
    assert json.loads(done.stdout) == {
        "scope": None,
        "mark": "!",
        "state": "ERROR",
        "source": None,
        "text": "!",
    }


def test_json_with_a_bad_format_is_still_a_usage_error(ctx, project):
    done = ctx("prompt", "--json", "--format", "{nope}", cwd=project)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("ctxscope: error: --format ")


def test_json_gives_up_at_the_deadline_with_an_object(project, monkeypatch, capsys):
    from ctxscope import hook
    from ctxscope.commands.prompt import prompt

    (project / ".ctxscope.toml").write_text('scope = "workout"\n')

    def slow():
        time.sleep(30)  # far past the deadline below; interrupted by it

    monkeypatch.setattr(hook, "prompt_fields", slow)
    assert prompt(deadline=0.2, json_out=True) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out) == {"scope": None, "mark": "", "state": None, "source": None, "text": None}


def test_json_never_writes_a_file(ctx, project, isolated_home, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    before = _files_under(isolated_home) + _files_under(project)
    assert run_json(ctx, cwd=project)["text"] == "zentygo!"
    assert _files_under(isolated_home) + _files_under(project) == before


def test_never_touches_the_network_and_uses_the_cache(ctx, project, cloud, monkeypatch):
    cloud.scope = "from-cloud"
    cloud.access = {"from-cloud": "read"}
    monkeypatch.setenv("CTXSCOPE_TOKEN", "tok")
    assert ctx("prompt", cwd=project).stdout == ""  # nothing cached yet: nothing known
    assert cloud.requests() == []
    assert ctx("resolve", cwd=project).returncode == 0
    seen = len(cloud.requests())
    assert ctx("prompt", cwd=project).stdout == "from-cloud\n"
    assert len(cloud.requests()) == seen


def test_never_writes_a_file(ctx, project, isolated_home, monkeypatch):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    before = _files_under(isolated_home) + _files_under(project)
    assert ctx("prompt", cwd=project).stdout == "zentygo!\n"
    assert _files_under(isolated_home) + _files_under(project) == before  # no log, no cache


def test_in_a_real_bash_prompt(project, isolated_home, monkeypatch):
    """PS1 as docs/how-to/shell.md shows it, drawn by an interactive bash on a pseudo-terminal."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    rc = isolated_home / ".bashrc"
    rc.write_text("""PS1='$(ctxscope prompt --format "[{scope}{mark}] ")'"\\$ "\n""")
    env = {**os.environ, "TERM": "dumb"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: an interactive bash in the project
        os.chdir(project)
        os.execvpe("bash", ["bash", "--rcfile", str(rc), "-i"], env)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while b"[workout] $ " not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        assert b"[workout] $ " in seen, seen
        os.write(fd, b"export CTX_SCOPE=zentygo\n")
        while b"[zentygo!] $ " not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                seen += os.read(fd, 4096)
        assert b"[zentygo!] $ " in seen, seen
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
