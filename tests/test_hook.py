"""The shell startup hook: `ctxscope hook SHELL` and the check it runs (`--run`).

The hook's rules: one line on stderr on DRIFTED, INVALID, UNAUTHORIZED, and on
UNRESOLVED only inside a directory with a project file; silent where ctxscope is
not used and when the only problem is a cloud never reached. It never waits for
the network, never breaks the shell, and stays silent when ctxscope is missing
or fails. The snippets run in real bash, zsh and fish.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from _command import run_installed

from ctxscope import hook, kinds, paths

SHELLS = list(kinds.SHELLS)


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _needs(shell):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (.ci/run installs it)")


def _touch_refresh_stamp():
    """A background refresh 'just started': the hook starts none now (no stray processes)."""
    os.makedirs(paths.cache_dir(), exist_ok=True)
    with open(os.path.join(paths.cache_dir(), "refresh.stamp"), "w"):
        pass


def check(capsys, shell="bash"):
    """Run the startup check in-process; return (exit code, stdout, stderr)."""
    code = hook.run_check(shell)
    out, err = capsys.readouterr()
    return code, out, err


# --- what the check says, state by state ---------------------------------------------


def test_silent_where_ctxscope_is_not_used(project, capsys):
    assert check(capsys) == (0, "", "")


def test_silent_with_a_user_config_but_no_scope_and_no_project_file(project, user_config, capsys):
    _write(user_config, '[policy]\nmode = "local"\n')
    assert check(capsys) == (0, "", "")


def test_unresolved_inside_a_project_directory(project, capsys):
    _write(project / ".ctxscope.toml", "# linked later\n")
    (project / "src").mkdir()
    os.chdir(project / "src")
    code, out, err = check(capsys)
    assert (code, out) == (0, "")
    assert err.startswith("ctxscope: UNRESOLVED: ") and err.count("\n") == 1
    assert "ctxscope init --scope NAME" in err


def test_silent_when_in_sync(project, monkeypatch, capsys):
    _write(project / ".ctxscope.toml", 'scope = "demo"\n')
    monkeypatch.setenv("CTX_SCOPE", "demo")
    assert check(capsys) == (0, "", "")


def test_drift_is_one_line_naming_the_fix(project, monkeypatch, capsys, events):
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    code, out, err = check(capsys)
    assert (code, out) == (0, "")
    assert err.count("\n") == 1
    assert err.startswith("ctxscope: DRIFTED: 'zentygo' from runtime; local_mismatch. Fix: ")
    assert "ctxscope sync --direction runtime-to-local --yes" in err
    # The event is logged once, as the hook's, and not again on the next shell start.
    check(capsys)
    logged = events()
    assert [(e["event"], e["command"]) for e in logged] == [("scope_drift_detected", "hook")]


@pytest.mark.parametrize(
    "shell, fix",
    [
        ("bash", 'eval "$(ctxscope repair --to workout --shell bash)"'),
        ("zsh", 'eval "$(ctxscope repair --to workout --shell zsh)"'),
        ("fish", "ctxscope repair --to workout --shell fish | source"),
    ],
)
def test_the_fix_is_spelled_for_the_shell(shell, fix, project, monkeypatch, capsys):
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    assert fix in check(capsys, shell)[2]


def test_invalid_runtime_value(project, monkeypatch, capsys):
    monkeypatch.setenv("CTX_SCOPE", "two words")
    code, _, err = check(capsys)
    assert code == 0 and err.startswith("ctxscope: INVALID: ") and err.count("\n") == 1


def test_broken_project_file(project, capsys):
    _write(project / ".ctxscope.toml", 'scope = "demo\n')
    _, _, err = check(capsys)
    assert err.startswith("ctxscope: INVALID: ") and ".ctxscope.toml:1" in err


def test_config_that_stops_every_command_is_one_error_line(project, user_config, capsys):
    _write(user_config, '[cloud]\ntoken = "tok-SECRET"\n')
    code, out, err = check(capsys)
    assert (code, out) == (0, "")
    assert err.startswith("ctxscope: error: ") and err.count("\n") == 1
    assert "tok-SECRET" not in err


def test_unauthorized_from_the_cached_answer(ctx, project, cloud, monkeypatch, capsys):
    _write(project / ".ctxscope.toml", 'scope = "secret-project"\n')
    cloud.access = {}  # the token cannot see it
    monkeypatch.setenv("CTXSCOPE_TOKEN", "tok-SECRET")
    assert ctx("resolve").returncode == 4
    _touch_refresh_stamp()
    seen = len(cloud.requests())
    code, _, err = check(capsys)
    assert code == 0 and err.startswith("ctxscope: UNAUTHORIZED: ")
    assert "tok-SECRET" not in err
    assert len(cloud.requests()) == seen  # offline: the cache answered


def test_silent_when_the_only_problem_is_a_cloud_never_reached(project, cloud, capsys):
    _write(project / ".ctxscope.toml", 'scope = "demo"\n')
    _touch_refresh_stamp()
    assert check(capsys) == (0, "", "")
    assert cloud.requests() == []  # and it did not try: no waiting on the network


def test_drift_beside_a_cloud_never_reached_is_still_drift(project, cloud, monkeypatch, capsys):
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    _touch_refresh_stamp()
    _, _, err = check(capsys)
    assert err.startswith("ctxscope: DRIFTED: 'zentygo' from runtime; local_mismatch. Fix:")
    assert "cloud_unreachable" not in err and err.count("\n") == 1


def test_drift_beside_a_cloud_never_reached_is_the_resolvers_drift(project, cloud, monkeypatch, capsys):
    """The hook asks `resolver.is_drift` what drift is (one definition, not a copy of it),
    with the cloud's own problems taken out."""
    from ctxscope import resolver

    _write(project / ".ctxscope.toml", 'scope = "demo"\n')
    _touch_refresh_stamp()
    asked = []

    def is_drift(problems):
        asked.append([p.reason for p in problems])
        return True  # a definition that differs from the copy the hook used to carry

    monkeypatch.setattr(resolver, "is_drift", is_drift)
    res = resolver.resolve(offline=True, log=False)
    assert res.state == "DEGRADED" and res.reasons == ["cloud_unreachable"]
    asked.clear()
    assert hook.warning(res) is not None
    assert asked == [[]]  # asked once, about the problems besides the unreachable cloud


def test_a_slow_check_gives_up_silently(project, monkeypatch, capsys):
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    real = hook._check

    def slow(shell):
        time.sleep(30)  # far past the deadline below; interrupted by it
        return real(shell)

    monkeypatch.setattr(hook, "_check", slow)
    assert hook.run_check("bash", deadline=0.2) == 0
    assert capsys.readouterr() == ("", "")


def test_installed_hook_run_exits_0_with_nothing_on_stdout(ctx, project, monkeypatch):
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    done = ctx("hook", "zsh", "--run", cwd=str(project))
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr.startswith("ctxscope: DRIFTED:") and done.stderr.count("\n") == 1


# --- --json ---------------------------------------------------------------------------------


def check_json(capsys, shell="bash", **kw):
    """Run the startup check with --json in-process; return its object (stderr stays empty)."""
    assert hook.run_check(shell, json_out=True, **kw) == 0
    out, err = capsys.readouterr()
    assert err == ""
    got = json.loads(out)
    assert set(got) == {"state", "warning"}
    return got


@pytest.mark.parametrize("shell", SHELLS)
def test_json_snippet_is_the_snippet(shell, ctx):
    plain = ctx("hook", shell)
    done = ctx("hook", shell, "--json")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {"shell": shell, "snippet": plain.stdout}


def test_json_check_is_quiet_where_ctxscope_is_not_used(project, capsys):
    assert check_json(capsys) == {"state": "UNRESOLVED", "warning": None}


def test_json_check_in_sync(project, monkeypatch, capsys):
    _write(project / ".ctxscope.toml", 'scope = "demo"\n')
    monkeypatch.setenv("CTX_SCOPE", "demo")
    assert check_json(capsys) == {"state": "SYNCED", "warning": None}


@pytest.mark.parametrize("shell", SHELLS)
def test_json_check_carries_the_line_the_hook_prints(shell, project, monkeypatch, capsys, events):
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    _, _, line = check(capsys, shell)
    got = check_json(capsys, shell)
    assert got == {"state": "DRIFTED", "warning": line.rstrip("\n")}
    assert got["warning"].startswith("ctxscope: DRIFTED: 'zentygo' from runtime; local_mismatch.")
    # Logged as the plain check logs it: once, as the hook's.
    assert [(e["event"], e["command"]) for e in events()] == [("scope_drift_detected", "hook")]


def test_json_check_for_a_config_that_stops_every_command(project, user_config, capsys):
    _write(user_config, '[cloud]\ntoken = "tok-SECRET"\n')
    got = check_json(capsys)
    assert got["state"] == "ERROR" and got["warning"].startswith("ctxscope: error: ")
    assert "tok-SECRET" not in got["warning"]


def test_json_check_for_a_cloud_never_reached_and_its_drift(project, cloud, monkeypatch, capsys):
    _write(project / ".ctxscope.toml", 'scope = "demo"\n')
    _touch_refresh_stamp()
    assert check_json(capsys) == {"state": "DEGRADED", "warning": None}
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    got = check_json(capsys)
    assert got["state"] == "DEGRADED" and got["warning"].startswith("ctxscope: DRIFTED: ")
    assert cloud.requests() == []


def test_json_check_gives_up_at_the_deadline_with_an_object(project, monkeypatch, capsys):
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")

    def slow(shell):
        time.sleep(30)  # far past the deadline below; interrupted by it

    monkeypatch.setattr(hook, "_check", slow)
    assert check_json(capsys, deadline=0.2) == {"state": None, "warning": None}


def test_installed_json_check_exits_0_with_nothing_on_stderr(ctx, project, monkeypatch):
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "two words")
    done = ctx("hook", "zsh", "--run", "--json", cwd=str(project))
    assert (done.returncode, done.stderr) == (0, "")
    got = json.loads(done.stdout)
    assert got["state"] == "INVALID" and got["warning"].startswith("ctxscope: INVALID: ")
    assert "--shell zsh" in got["warning"]


# --- the snippets in real shells -----------------------------------------------------------


def _install_snippet(shell, home) -> dict:
    """Put `ctxscope hook SHELL` where the shell reads it at start; return env additions."""
    done = run_installed(["hook", shell])
    assert done.returncode == 0, done.stderr
    snippet = done.stdout
    if shell == "bash":
        _write(home / ".bashrc", snippet)
        return {}
    if shell == "zsh":
        _write(home / ".zshrc", snippet)
        return {"ZDOTDIR": str(home)}
    _write(home / ".config" / "fish" / "config.fish", snippet)
    return {}


def start_shell(shell, cwd, home, path=None, command="echo started"):
    """Start an interactive shell that reads its startup file, run `command`, exit."""
    env = {**os.environ, **_install_snippet(shell, home), "TERM": "dumb"}
    if path is not None:
        env["PATH"] = path
    argv = {
        "bash": ["bash", "--rcfile", str(home / ".bashrc"), "-i", "-c", command],
        "zsh": ["zsh", "-i", "-c", command],
        "fish": ["fish", "-i", "-c", command],
    }[shell]
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60
    )
    # Without a terminal, an interactive bash says it has no job control; not ours.
    lines = [
        line
        for line in done.stderr.splitlines()
        if "job control" not in line and "terminal process group" not in line
    ]
    return done.returncode, done.stdout, lines


@pytest.mark.parametrize("shell", SHELLS)
def test_snippet_is_valid_shell(ctx, shell):
    _needs(shell)
    done = ctx("hook", shell)
    assert done.returncode == 0, done.stderr
    snippet = done.stdout
    syntax = {"bash": ["bash", "-n"], "zsh": ["zsh", "-n"], "fish": ["fish", "--no-execute"]}
    done = subprocess.run(syntax[shell], input=snippet, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"ctxscope hook {shell} --run" in snippet


@pytest.mark.parametrize("shell", SHELLS)
def test_shell_start_warns_once_on_drift(shell, project, isolated_home, monkeypatch):
    _needs(shell)
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    code, out, lines = start_shell(shell, project, isolated_home)
    assert (code, out) == (0, "started\n")
    assert len(lines) == 1, lines
    assert lines[0].startswith("ctxscope: DRIFTED: 'zentygo' from runtime; local_mismatch. Fix:")
    assert f"--shell {shell}" in lines[0]


@pytest.mark.parametrize("shell", SHELLS)
def test_shell_start_is_silent_in_sync(shell, project, isolated_home, monkeypatch):
    _needs(shell)
    _write(project / ".ctxscope.toml", 'scope = "demo"\n')
    monkeypatch.setenv("CTX_SCOPE", "demo")
    assert start_shell(shell, project, isolated_home) == (0, "started\n", [])


@pytest.mark.parametrize("shell", SHELLS)
def test_shell_start_is_silent_without_ctxscope(shell, project, isolated_home, monkeypatch):
    _needs(shell)
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    bare = os.pathsep.join(os.path.dirname(shutil.which(t)) for t in (shell, "cat"))
    assert shutil.which("ctxscope", path=bare) is None
    assert start_shell(shell, project, isolated_home, path=bare) == (0, "started\n", [])


@pytest.mark.parametrize("shell", SHELLS)
def test_shell_start_is_silent_when_ctxscope_fails(shell, project, isolated_home, tmp_path, monkeypatch):
    _needs(shell)
    fake_bin = tmp_path / "fake-bin"
    _write(
        fake_bin / "ctxscope",
        "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
        "echo 'ImportError: broken install' >&2\nexit 1\n",
    )
    (fake_bin / "ctxscope").chmod(0o755)
    _install_snippet(shell, isolated_home)  # written by the real ctxscope, run with the fake
    path = os.pathsep.join([str(fake_bin), os.environ["PATH"]])
    assert start_shell(shell, project, isolated_home, path=path) == (0, "started\n", [])


def test_non_interactive_bash_stays_silent(project, isolated_home, monkeypatch):
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    _install_snippet("bash", isolated_home)
    done = subprocess.run(
        ["bash", "-c", f"source {isolated_home / '.bashrc'}; echo ok"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")


# --- the cache, the background refresh, and never waiting ----------------------------------


class BlockingCloud(BaseHTTPRequestHandler):
    """The v1 contract; while `gate` is clear, GET /v1/scope waits for it."""

    scope = "demo"
    gate = threading.Event()
    waiting = 0

    def do_GET(self):  # the name http.server calls
        if self.path == "/v1/scope":
            if not self.gate.is_set():
                type(self).waiting += 1
                self.gate.wait(60)
            body = {"scope": type(self).scope, "revision": "1"}
        elif self.path.startswith("/v1/scopes/"):
            body = {"scope": self.path[len("/v1/scopes/") :], "access": "write"}
        else:
            body = {"identity": "jane"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def blocking_cloud(monkeypatch, user_config):
    BlockingCloud.gate = threading.Event()
    BlockingCloud.gate.set()
    BlockingCloud.waiting = 0
    BlockingCloud.scope = "demo"
    server = ThreadingHTTPServer(("127.0.0.1", 0), BlockingCloud)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", f"http://127.0.0.1:{server.server_address[1]}")
    # A generous budget: the refresher must outlive the test's hold on the server.
    _write(user_config, "[cloud]\ntimeout = 60\ncache_ttl = 60\n")
    yield BlockingCloud
    BlockingCloud.gate.set()
    server.shutdown()


def _cache_files():
    return [
        os.path.join(paths.cache_dir(), f) for f in os.listdir(paths.cache_dir()) if f.startswith("cloud-")
    ]


def _age_cache(seconds):
    for path in _cache_files():
        with open(path) as fh:
            data = json.load(fh)
        for entry in data["entries"].values():
            entry["at"] -= seconds
        with open(path, "w") as fh:
            json.dump(data, fh)


def _cached_scope():
    for path in _cache_files():
        with open(path) as fh:
            return json.load(fh)["entries"].get("scope", {}).get("value", {}).get("scope")
    return None


def _wait_for(predicate, what, limit=60.0):
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_shell_start_never_waits_for_the_cloud_and_refreshes_in_the_background(
    ctx, project, isolated_home, blocking_cloud
):
    _needs("bash")
    _write(project / ".ctxscope.toml", 'scope = "demo"\n')
    warm = ctx("resolve", cwd=project)
    assert (warm.returncode, warm.stdout) == (0, "demo\n")
    _age_cache(3600)  # stale: past the 60 s TTL
    blocking_cloud.scope = "moved"
    blocking_cloud.gate.clear()  # from now on the cloud holds every GET /v1/scope

    # The shell starts and finishes while the cloud is holding the refresh: if it
    # waited for the network it could not finish before the gate opens below.
    assert start_shell("bash", project, isolated_home) == (0, "started\n", [])
    _wait_for(lambda: blocking_cloud.waiting >= 1, "the background refresh to ask the cloud")
    assert _cached_scope() == "demo"
    blocking_cloud.gate.set()
    _wait_for(lambda: _cached_scope() == "moved", "the refreshed answer in the cache")

    # The next shell start sees the refreshed answer, from the cache.
    code, _, lines = start_shell("bash", project, isolated_home)
    assert code == 0 and len(lines) == 1
    assert lines[0].startswith("ctxscope: DRIFTED: 'demo' from local; cloud_mismatch.")


def test_at_most_one_background_refresh_per_pause(project, monkeypatch):
    started = []
    monkeypatch.setattr(hook, "_spawn_detached", started.append)
    assert hook.refresh_in_background() is True
    assert hook.refresh_in_background() is False
    assert len(started) == 1
    argv = started[0]
    assert argv[:4] == [sys.executable, "-P", "-m", "ctxscope.hook"] and argv[4:] == ["--refresh"]


@pytest.mark.parametrize("umask", [0o022, 0o000, 0o277], ids=oct)
def test_the_refresh_stamp_is_private_whatever_the_umask(project, monkeypatch, umask):
    """The stamp is 0600 like the rest of the cache, and later starts still move it on."""
    monkeypatch.setattr(hook, "_spawn_detached", lambda argv: None)
    stamp = os.path.join(paths.cache_dir(), "refresh.stamp")
    old = os.umask(umask)
    try:
        assert hook.refresh_in_background() is True
        assert stat.S_IMODE(os.stat(stamp).st_mode) == 0o600
        os.utime(stamp, (0, 0))  # the last refresh started long ago
        assert hook.refresh_in_background() is True
        assert os.stat(stamp).st_mtime > 0  # the second start moved the stamp on
        assert hook.refresh_in_background() is False
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(stamp).st_mode) == 0o600


def test_refresher_ignores_a_ctxscope_package_in_the_working_directory(project, monkeypatch):
    started = []
    monkeypatch.setattr(hook, "_spawn_detached", started.append)
    hook.refresh_in_background()
    marker = project / "pwned"
    _write(project / "ctxscope" / "__init__.py", f"open({str(marker)!r}, 'w').close()\n")
    _write(project / "ctxscope" / "hook.py", "")
    done = subprocess.run(started[0], cwd=project, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    # The same command without -P would have run it: the test can see the attack.
    unsafe = [a for a in started[0] if a != "-P"]
    subprocess.run(unsafe, cwd=project, capture_output=True, timeout=60)
    assert marker.exists()


def test_refresher_lock_is_private_whatever_the_umask(project, cloud):
    """The refresher takes fsutil's lock: its lock file is 0600 under any umask (the
    hand-rolled one made it 0400 under umask 0277, which a later refresher running as
    a normal user could not open again)."""
    _write(project / ".ctxscope.toml", 'scope = "demo"\n')
    argv = [sys.executable, "-P", "-m", "ctxscope.hook", "--refresh"]
    for _ in range(2):
        done = subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=60, umask=0o277)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    lock = os.path.join(paths.cache_dir(), "refresh.lock")
    assert stat.S_IMODE(os.stat(lock).st_mode) == 0o600
    assert [r.path for r in cloud.requests()].count("/v1/scope") == 2  # both asked


def test_refresher_leaves_the_cloud_alone_while_another_one_runs(project, cloud):
    _write(project / ".ctxscope.toml", 'scope = "demo"\n')
    os.makedirs(paths.cache_dir(), exist_ok=True)
    lock = os.path.join(paths.cache_dir(), "refresh.lock")
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = subprocess.run(
            [sys.executable, "-P", "-m", "ctxscope.hook", "--refresh"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert cloud.requests() == []
    # Without the other refresher, it asks the cloud and fills the cache, quietly.
    done = subprocess.run(
        [sys.executable, "-P", "-m", "ctxscope.hook", "--refresh"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert [r.path for r in cloud.requests()][:1] == ["/v1/scope"]
    assert _cached_scope() is None and len(_cache_files()) == 1  # cloud default: null


# --- re-checking when the directory changes ------------------------------------------------


def _counting_ctxscope(bin_dir, calls):
    """A `ctxscope` first on PATH that records each start, then runs the real one."""
    real = shutil.which("ctxscope")
    _write(bin_dir / "ctxscope", f'#!/bin/sh\necho "$*" >> {calls}\nexec {real} "$@"\n')
    (bin_dir / "ctxscope").chmod(0o755)
    return os.pathsep.join([str(bin_dir), os.environ["PATH"]])


def interactive_session(shell, cwd, home, lines, path):
    """Feed `lines` to an interactive shell, one prompt each; return its ctxscope lines."""
    env = {**os.environ, **_install_snippet(shell, home), "TERM": "dumb", "PATH": path}
    argv = {
        "bash": ["bash", "--rcfile", str(home / ".bashrc"), "-i"],
        "zsh": ["zsh", "-i"],
        "fish": ["fish", "-i"],
    }[shell]
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        input="\n".join([*lines, "exit"]) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    return [line[line.index("ctxscope:") :] for line in output.splitlines() if "ctxscope:" in line]


@pytest.mark.parametrize("shell", SHELLS)
def test_the_hook_checks_again_when_the_directory_changes(shell, tmp_path, isolated_home, monkeypatch):
    _needs(shell)
    _touch_refresh_stamp()
    drifted, synced, outside = tmp_path / "drifted", tmp_path / "synced", tmp_path / "outside"
    (drifted / "sub").mkdir(parents=True)
    synced.mkdir()
    outside.mkdir()
    _write(drifted / ".ctxscope.toml", 'scope = "workout"\n')
    _write(synced / ".ctxscope.toml", 'scope = "zentygo"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    calls = tmp_path / "calls"
    path = _counting_ctxscope(tmp_path / "bin", calls)

    said = interactive_session(
        shell,
        outside,
        isolated_home,
        [
            f"cd {drifted}",
            "true",
            "true",
            "true",  # prompts in the same directory: no process
            "cd sub",  # checked again; the same line is not said twice
            f"cd {synced}",  # in sync: silent
            f"cd {drifted}",  # drifted again: said again
        ],
        path,
    )

    assert len(said) == 2, said
    assert all(line.startswith("ctxscope: DRIFTED: 'zentygo' from runtime") for line in said)
    checks = calls.read_text().splitlines()
    assert checks == [f"hook {shell} --run"] * 5  # at start and after each of the four cds


@pytest.mark.parametrize("shell", SHELLS)
def test_a_prompt_in_the_same_directory_starts_no_process(
    shell, project, isolated_home, tmp_path, monkeypatch
):
    _needs(shell)
    _touch_refresh_stamp()
    _write(project / ".ctxscope.toml", 'scope = "workout"\n')
    monkeypatch.setenv("CTX_SCOPE", "zentygo")
    calls = tmp_path / "calls"
    path = _counting_ctxscope(tmp_path / "bin", calls)
    said = interactive_session(shell, project, isolated_home, ["true"] * 20, path)
    assert len(said) == 1, said
    assert calls.read_text().splitlines() == [f"hook {shell} --run"]  # the start only
