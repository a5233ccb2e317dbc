"""Attacks through the file system: links out of the repository, a drift log or cache
planted as a link, FIFOs and huge files, a project file owned by someone else, a
read-only file.

Every case drives the installed `ctxscope` as a real process from a hostile
"repository" (a directory the attacker controls: a clone, an archive, a shared
/tmp tree) and checks the victim's files afterwards. Tests run as root here, so
"another user" is a file chowned to an unused uid, and "the user" is the
effective uid. Each test records `attacks` for the reliability report.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from _hardening import (
    CANARY,
    assert_clean_failure,
    env_with,
    error_lines,
    run,
    tree_snapshot,
    warning_lines,
)

pytestmark = pytest.mark.attack

STRANGER = 54321  # a uid nobody on the test machine has
BASHRC = "# the victim's shell startup file\nexport PATH=$HOME/bin:$PATH\n"
TOOL_TOML = '# another tool\'s config\ntheme = "dark"\n'


@pytest.fixture
def repo(project):
    """A cloned repository: the `project` directory with a `.git` in it."""
    (project / ".git").mkdir()
    return project


@pytest.fixture
def victims(isolated_home):
    """Files of the user's that a hostile repository would like ctxscope to write."""
    bashrc = isolated_home / ".bashrc"
    bashrc.write_text(BASHRC)
    tool = isolated_home / ".config" / "tool" / "config.toml"
    tool.parent.mkdir(parents=True)
    tool.write_text(TOOL_TOML)
    return {"bashrc": bashrc, "tool": tool, "new": isolated_home / ".profile.d-new"}


def _snap(*paths: Path) -> dict:
    return {str(p): (p.read_bytes(), p.stat().st_mode) if p.exists() else None for p in paths}


def _no_backups(root: Path) -> None:
    found = [p for p in root.rglob("*") if ".bak-" in p.name]
    assert found == [], found


# --- class 1: writes never follow links out of where they belong -------------------------


def _link_out(repo: Path, victims: dict, how: str) -> Path:
    """Make the repository's project file lead to a victim; return the victim."""
    link = repo / ".ctxscope.toml"
    if how == "file link to ~/.bashrc":
        link.symlink_to(os.path.relpath(victims["bashrc"], repo))
        return victims["bashrc"]
    if how == "file link to another tool's TOML":
        link.symlink_to(victims["tool"])
        return victims["tool"]
    if how == "dangling link to a new file in home":
        link.symlink_to(victims["new"])
        return victims["new"]
    if how == "link through a directory link":
        (repo / "conf").symlink_to(victims["tool"].parent)  # the parent is the link
        link.symlink_to("conf/config.toml")
        return victims["tool"]
    if how == "link chain ending outside":
        (repo / "a.toml").symlink_to("b.toml")
        (repo / "b.toml").symlink_to(victims["tool"])
        link.symlink_to("a.toml")
        return victims["tool"]
    raise AssertionError(how)


LINKS_OUT = [
    "file link to ~/.bashrc",
    "file link to another tool's TOML",
    "dangling link to a new file in home",
    "link through a directory link",
    "link chain ending outside",
]
WRITERS = {
    "repair": (["repair", "--to", "evil", "--yes"], {}),
    "sync": (["sync", "--direction", "runtime-to-local", "--yes"], {"CTX_SCOPE": "evil"}),
    "init": (["init", "--scope", "evil", "--yes"], {}),
    "repair --force": (["repair", "--to", "evil", "--yes", "--force"], {}),
}


@pytest.mark.parametrize("how", LINKS_OUT)
def test_no_writer_follows_a_project_file_link_out_of_the_repository(repo, victims, how, record_property):
    victim = _link_out(repo, victims, how)
    before = _snap(*victims.values())
    tried = 0
    for name, (args, extra) in WRITERS.items():
        result = run(args, cwd=repo, env=env_with(**extra))
        tried += 1
        assert "Traceback" not in result.stderr
        assert result.returncode == 1, (name, result.returncode, result.stdout, result.stderr)
        [line] = error_lines(result.stderr)
        assert "outside" in line, (name, line)
        assert _snap(*victims.values()) == before, name
        assert not victims["new"].exists()
        _no_backups(repo)
        _no_backups(victim.parent)
    record_property("attacks", tried)


def test_status_names_the_link_out_instead_of_reading_it(repo, victims, record_property):
    _link_out(repo, victims, "file link to another tool's TOML")
    result = run(["status", "--json"], cwd=repo)
    record_property("attacks", 1)
    data = json.loads(result.stdout)
    [local] = [s for s in data["sources"] if s["source"] == "local"]
    assert local["state"] == "unreadable"
    assert "outside the repository" in json.dumps(local)
    assert victims["tool"].read_text() == TOOL_TOML


@pytest.mark.parametrize("target", ["/proc/self/environ", "/proc/self/cmdline", "/dev/zero", "a FIFO"])
def test_repair_never_backs_up_a_device_fifo_or_proc_file(repo, tmp_path, target, record_property):
    """The link names a file whose "content" is the environment (token included) or never
    ends: no backup of it may land in the working tree, and nothing hangs."""
    link = repo / ".ctxscope.toml"
    if target == "a FIFO":
        os.mkfifo(repo / "pipe")
        link.symlink_to("pipe")
    else:
        link.symlink_to(target)
    env = env_with(CTXSCOPE_TOKEN=CANARY, SECRET_IN_ENV="environ-canary-7H3K")
    for args in (["repair", "--to", "evil", "--yes"], ["repair", "--to", "evil", "--yes", "--force"]):
        result = run(args, cwd=repo, env=env, timeout=20)
        assert "Traceback" not in result.stderr
        assert result.returncode == 1, result.stderr
    record_property("attacks", 2)
    _no_backups(repo)
    for path in repo.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert b"environ-canary-7H3K" not in path.read_bytes()
    assert link.is_symlink()


def test_backup_of_an_unparseable_file_is_private(repo, record_property):
    path = repo / ".ctxscope.toml"
    path.write_text('scope = "broken\n')
    path.chmod(0o664)
    result = run(["repair", "--to", "fixed", "--yes"], cwd=repo)
    record_property("attacks", 1)
    assert result.returncode == 0, result.stderr
    [backup] = [p for p in repo.iterdir() if ".bak-" in p.name]
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup.read_text() == 'scope = "broken\n'


def test_a_huge_unparseable_file_is_not_backed_up(repo, record_property):
    path = repo / ".ctxscope.toml"
    path.write_bytes(b"\x00not toml" * (300 * 1024))  # about 2.7 MiB
    result = run(["repair", "--to", "fixed", "--yes"], cwd=repo)
    record_property("attacks", 1)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert "1 MiB" in result.stderr
    _no_backups(repo)


def test_the_plan_shows_the_real_target_of_a_link_inside_the_repository(repo, record_property):
    real = repo / "config" / "ctxscope.toml"
    real.parent.mkdir()
    real.write_text('scope = "workout"\n')
    (repo / ".ctxscope.toml").symlink_to("config/ctxscope.toml")
    env = env_with(CTX_SCOPE="zentygo")
    dry = run(["sync", "--direction", "runtime-to-local", "--dry-run"], cwd=repo, env=env)
    assert dry.returncode == 0, dry.stderr
    assert f"(writes {real})" in dry.stdout
    data = json.loads(
        run(["sync", "--direction", "runtime-to-local", "--dry-run", "--json"], cwd=repo, env=env).stdout
    )
    assert data["changes"][0]["real_target"] == str(real)
    done = run(["sync", "--direction", "runtime-to-local", "--yes"], cwd=repo, env=env)
    record_property("attacks", 1)
    assert done.returncode == 0, done.stderr
    assert (repo / ".ctxscope.toml").is_symlink() and 'scope = "zentygo"' in real.read_text()


def test_a_link_to_a_directory_the_user_vouched_for_is_written(repo, tmp_path, user_config, record_property):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "app.toml").write_text('scope = "workout"\n')
    (repo / ".ctxscope.toml").symlink_to(dotfiles / "app.toml")
    env = env_with(CTX_SCOPE="zentygo")
    refused = run(["sync", "--direction", "runtime-to-local", "--yes"], cwd=repo, env=env)
    assert_clean_failure(refused, 1, "outside")
    assert "link_targets" in refused.stderr
    user_config.write_text(f'[safe]\nlink_targets = ["{dotfiles}"]\n')
    done = run(["sync", "--direction", "runtime-to-local", "--yes"], cwd=repo, env=env)
    record_property("attacks", 1)
    assert done.returncode == 0, done.stderr
    assert 'scope = "zentygo"' in (dotfiles / "app.toml").read_text()


def test_a_project_file_cannot_vouch_for_itself(repo, victims, record_property):
    (repo / ".ctxscope.toml").symlink_to(victims["tool"])
    (repo / "other.toml").write_text(f'[safe]\nlink_targets = ["{victims["tool"].parent}"]\n')
    result = run(["init", "--scope", "evil", "--yes"], cwd=repo)
    record_property("attacks", 1)
    assert result.returncode == 1
    assert victims["tool"].read_text() == TOOL_TOML


def test_user_config_linking_out_of_home_is_refused(
    project, tmp_path, user_config, isolated_home, record_property
):
    outside = tmp_path / "shared" / "config.toml"
    outside.parent.mkdir()
    outside.write_text('scope = "workout"\n')
    user_config.symlink_to(outside)
    tried = 0
    for args, extra in (WRITERS["sync"], WRITERS["repair"]):
        result = run(args, cwd=project, env=env_with(**extra))
        tried += 1
        assert_clean_failure(result, 1, "outside your home")
        assert outside.read_text() == 'scope = "workout"\n'
    record_property("attacks", tried)
    # A dotfiles manager's link to a file in the home keeps working.
    dotfiles = isolated_home / "dotfiles" / "ctxscope.toml"
    dotfiles.parent.mkdir()
    dotfiles.write_text('scope = "workout"\n')
    user_config.unlink()
    user_config.symlink_to(dotfiles)
    result = run(WRITERS["sync"][0], cwd=project, env=env_with(CTX_SCOPE="zentygo"))
    assert result.returncode == 0, result.stderr
    assert user_config.is_symlink() and 'scope = "zentygo"' in dotfiles.read_text()


def test_user_config_owned_by_another_user_is_not_written(project, user_config, record_property):
    user_config.write_text('scope = "workout"\n')
    os.chown(user_config, STRANGER, STRANGER)
    result = run(
        ["sync", "--direction", "runtime-to-local", "--yes"], cwd=project, env=env_with(CTX_SCOPE="zentygo")
    )
    record_property("attacks", 1)
    assert_clean_failure(result, 1, f"owned by uid {STRANGER}")
    assert user_config.read_text() == 'scope = "workout"\n'


def _planted(path: Path, victim: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(path):
        path.unlink()
    path.symlink_to(victim)


def test_trust_store_and_its_lock_are_never_written_through_a_link(
    project, isolated_home, victims, record_property
):
    (project / ".ctxscope.toml").write_text('scope = "a"\n')
    store = isolated_home / ".local" / "state" / "ctxscope" / "trusted.json"
    tried = 0
    for planted in (store, Path(str(store) + ".lock")):
        for victim in (victims["bashrc"], victims["new"]):
            _planted(planted, victim)
            before = _snap(*victims.values())
            result = run(["trust"], cwd=project)
            tried += 1
            assert "Traceback" not in result.stderr
            assert result.returncode == 1, result.stderr
            assert "link" in error_lines(result.stderr)[0]
            assert _snap(*victims.values()) == before
            assert not victims["new"].exists()
            planted.unlink()
    record_property("attacks", tried)


def test_write_lock_planted_as_a_link_is_not_followed(repo, isolated_home, victims, record_property):
    from ctxscope.sources.local import lock_path

    path = repo / ".ctxscope.toml"
    path.write_text('scope = "workout"\n')
    lock = Path(lock_path(str(path)))  # creates the locks dir, as the first write would
    lock.symlink_to(victims["new"])
    result = run(
        ["sync", "--direction", "runtime-to-local", "--yes"], cwd=repo, env=env_with(CTX_SCOPE="zentygo")
    )
    record_property("attacks", 1)
    assert result.returncode == 1 and "link" in result.stderr
    assert not victims["new"].exists()
    assert path.read_text() == 'scope = "workout"\n'


def test_cloud_cache_is_never_written_through_a_link(project, cloud, victims, record_property):
    from ctxscope.cache import CloudCache

    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "read"}
    cache = Path(CloudCache(cloud.url, CANARY).path)
    tried = 0
    for victim in (victims["bashrc"], victims["new"]):
        _planted(cache, victim)
        before = _snap(*victims.values())
        result = run(["resolve", "--refresh"], cwd=project, env=env_with(CTXSCOPE_TOKEN=CANARY))
        tried += 1
        assert (result.returncode, result.stdout) == (0, "zentygo\n"), result.stderr
        assert _snap(*victims.values()) == before and not victims["new"].exists()
        assert cache.is_symlink()
        cache.unlink()
    record_property("attacks", tried)


# --- class 2: the drift log, its lock and rotated files are the user's regular files -----


@pytest.fixture
def trusted_log_repo(repo):
    """A repository whose trusted project file logs to `logs/drift.jsonl`, with drift."""
    (repo / ".ctxscope.toml").write_text('scope = "workout"\n[log]\npath = "logs/drift.jsonl"\n')
    assert run(["trust"], cwd=repo).returncode == 0
    return repo


DRIFT_PWN = {"CTX_SCOPE": "zentygo"}


def _pwn_dir(repo: Path) -> Path:
    """A working directory whose name is shell code, as the issue's attacker used."""
    sub = repo / "$(touch PWNED)"
    sub.mkdir()
    return sub


@pytest.mark.parametrize("plant", ["log file link", "log directory link", "lock link", "dangling log link"])
def test_trusted_log_path_cannot_be_redirected_afterwards(trusted_log_repo, victims, plant, record_property):
    repo = trusted_log_repo
    logs = repo / "logs"
    if plant == "log file link":
        _planted(logs / "drift.jsonl", victims["bashrc"])
    elif plant == "log directory link":
        logs.symlink_to(victims["bashrc"].parent)
        (victims["bashrc"].parent / "drift.jsonl").symlink_to(victims["bashrc"])
    elif plant == "lock link":
        logs.mkdir()
        (logs / "drift.jsonl.lock").symlink_to(victims["new"])
    else:
        _planted(logs / "drift.jsonl", victims["new"])
    before = _snap(*victims.values())
    cwd = _pwn_dir(repo)
    tried = 0
    for args in (["resolve"], ["status", "--check"], ["diff"]):
        result = run(args, cwd=cwd, env=env_with(**DRIFT_PWN))
        tried += 1
        assert "Traceback" not in result.stderr
        assert [w for w in warning_lines(result.stderr) if "drift log" in w], result.stderr
    record_property("attacks", tried)
    assert _snap(*victims.values()) == before
    assert not victims["new"].exists()


@pytest.mark.parametrize("relative", ["../outside/drift.jsonl", "logs/../../drift.jsonl", "link/drift.jsonl"])
def test_relative_log_path_must_stay_inside_the_repository(repo, tmp_path, relative, record_property):
    (tmp_path / "outside").mkdir()
    (repo / "link").symlink_to(tmp_path / "outside")
    (repo / ".ctxscope.toml").write_text(f'scope = "workout"\n[log]\npath = "{relative}"\n')
    assert run(["trust"], cwd=repo).returncode == 0
    before = tree_snapshot(tmp_path / "outside")
    result = run(["resolve"], cwd=repo, env=env_with(**DRIFT_PWN))
    record_property("attacks", 1)
    assert (result.returncode, result.stdout) == (0, "zentygo\n")
    [line] = [w for w in warning_lines(result.stderr) if "drift log" in w]
    assert "outside the repository" in line
    assert tree_snapshot(tmp_path / "outside") == before
    assert not (tmp_path / "drift.jsonl").exists()
    assert not (tmp_path / "outside" / "drift.jsonl").exists()


def test_log_owned_by_another_user_is_not_appended_to(project, tmp_path, record_property):
    log = tmp_path / "drift.jsonl"
    log.write_text("")
    os.chown(log, STRANGER, STRANGER)
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    result = run(["resolve"], cwd=project, env=env_with(CTXSCOPE_LOG=str(log), **DRIFT_PWN))
    record_property("attacks", 1)
    assert result.returncode == 0
    assert f"owned by uid {STRANGER}" in result.stderr
    assert log.read_text() == ""


@pytest.mark.parametrize("directory", ["owned by another user", "world-writable, not sticky"])
def test_log_in_a_directory_others_control_is_not_written(project, tmp_path, directory, record_property):
    logs = tmp_path / "logs"
    logs.mkdir()
    if directory == "owned by another user":
        os.chown(logs, STRANGER, STRANGER)
    else:
        logs.chmod(0o777)
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    log = logs / "drift.jsonl"
    result = run(["resolve"], cwd=project, env=env_with(CTXSCOPE_LOG=str(log), **DRIFT_PWN))
    record_property("attacks", 1)
    assert (result.returncode, result.stdout) == (0, "zentygo\n")
    assert [w for w in warning_lines(result.stderr) if "drift log" in w]
    assert sorted(os.listdir(logs)) == []


def test_env_log_path_that_is_a_link_is_not_followed(project, tmp_path, victims, record_property):
    log = tmp_path / "drift.jsonl"
    log.symlink_to(victims["bashrc"])
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    result = run(["resolve"], cwd=project, env=env_with(CTXSCOPE_LOG=str(log), **DRIFT_PWN))
    record_property("attacks", 1)
    assert result.returncode == 0
    assert "symbolic link" in result.stderr
    assert victims["bashrc"].read_text() == BASHRC


def test_log_reader_does_not_follow_rotated_file_links(
    project, tmp_path, isolated_home, log_file, record_property
):
    secret = isolated_home / "secret.jsonl"
    secret.write_text(
        json.dumps({"ts": "2026-01-01T00:00:00Z", "event": "scope_drift_detected", "cwd": "secret-value-9Q2"})
        + "\n"
    )
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    assert run(["resolve"], cwd=project, env=env_with(**DRIFT_PWN)).returncode == 0
    Path(str(log_file) + ".1").symlink_to(secret)
    tried = 0
    for args in (["log"], ["log", "--json"], ["log", "-n", "50"]):
        result = run(args, cwd=project)
        tried += 1
        assert "Traceback" not in result.stderr
        assert "secret-value-9Q2" not in result.stdout
    record_property("attacks", tried)


@pytest.mark.parametrize("keep", [0, 2])
def test_rotation_never_truncates_or_writes_through_a_link(
    project, tmp_path, victims, keep, user_config, record_property
):
    """A log planted as a link to a file past `max_bytes`: rotating with keep = 0 used to
    truncate the link's target in place; a rotated `.1` planted as a link is only renamed."""
    log = tmp_path / "logs" / "drift.jsonl"
    log.parent.mkdir()
    victims["bashrc"].write_text(BASHRC * 20)
    log.symlink_to(victims["bashrc"])
    Path(str(log) + ".1").symlink_to(victims["tool"])
    user_config.write_text(f"[log]\nmax_bytes = 100\nkeep = {keep}\n")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    before = _snap(*victims.values())
    tried = 0
    for args in (["resolve"], ["status", "--check"]):
        result = run(args, cwd=project, env=env_with(CTXSCOPE_LOG=str(log), **DRIFT_PWN))
        tried += 1
        assert "Traceback" not in result.stderr
        assert [w for w in warning_lines(result.stderr) if "drift log" in w]
    record_property("attacks", tried)
    assert _snap(*victims.values()) == before


# --- class 7: no hang, no blow-up: non-blocking, regular files, capped -------------------


def _fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(path):
        path.unlink()
    os.mkfifo(path)
    return path


def test_fifo_as_the_drift_log_does_not_hang(project, tmp_path, record_property):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    fifo = _fifo(tmp_path / "drift.jsonl")
    tried = 0
    for args in (["resolve"], ["status", "--check"], ["log"], ["ps"]):
        started = time.monotonic()
        result = run(args, cwd=project, env=env_with(CTXSCOPE_LOG=str(fifo), **DRIFT_PWN), timeout=20)
        tried += 1
        assert "Traceback" not in result.stderr
        assert time.monotonic() - started < 15
    record_property("attacks", tried)


def test_fifo_as_ctxscope_own_files_does_not_hang(project, isolated_home, log_file, record_property):
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')
    state = isolated_home / ".local" / "state" / "ctxscope"
    tried = 0
    for fifo in (state / "trusted.json", Path(str(log_file) + ".lock")):
        _fifo(fifo)
        for args in (["resolve"], ["trust"]):
            result = run(args, cwd=project, env=env_with(**DRIFT_PWN), timeout=20)
            tried += 1
            assert "Traceback" not in result.stderr
        fifo.unlink()
    record_property("attacks", tried)


def _huge_toml(path: Path, megabytes: int) -> None:
    line = b"k%07d = 1\n"
    count = megabytes * (1 << 20) // len(line % 0)
    path.write_bytes(b'scope = "huge"\n' + b"".join(line % i for i in range(count)))


@pytest.mark.parametrize("where", ["project", "user"])
def test_huge_config_file_is_refused_quickly_with_one_warning(project, user_config, where, record_property):
    path = project / ".ctxscope.toml" if where == "project" else user_config
    _huge_toml(path, 24)
    started = time.monotonic()
    result = run(["status"], cwd=project, env=env_with(CTX_SCOPE="zentygo"), timeout=60)
    elapsed = time.monotonic() - started
    record_property("attacks", 1)
    assert "Traceback" not in result.stderr
    assert elapsed < 30, elapsed  # generous: the machine may be busy; 0.1.0 parsed it all
    assert "1 MiB" in result.stdout + result.stderr
    assert len(result.stderr.splitlines()) < 10


def test_many_unknown_keys_give_a_few_warnings_not_a_flood(project, record_property):
    lines = "".join(f"k{i} = 1\n" for i in range(20000))
    (project / ".ctxscope.toml").write_text('scope = "a"\n' + lines)
    result = run(["resolve"], cwd=project)
    record_property("attacks", 1)
    assert (result.returncode, result.stdout) == (0, "a\n")
    warnings = warning_lines(result.stderr)
    assert 1 <= len(warnings) <= 4, len(warnings)
    assert "19997 more unknown keys" in warnings[-1]


def test_huge_project_file_elsewhere_does_not_slow_status(project, tmp_path, spawn, record_property):
    """The stale-process note reads the project file of every process's directory."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".ctxscope.toml").write_text('scope = "small"\n')
    for _ in range(3):
        spawn(elsewhere, "zentygo")
    (project / ".ctxscope.toml").write_text('scope = "workout"\n')

    def timed() -> tuple[float, object]:
        started = time.monotonic()
        result = run(["status"], cwd=project, timeout=120)
        return time.monotonic() - started, result

    baseline, _ = timed()
    _huge_toml(elsewhere / ".ctxscope.toml", 40)
    elapsed, result = timed()
    record_property("attacks", 1)
    assert result.returncode == 0, result.stderr
    # Relative to the same command with a small file there, so a busy machine is no
    # excuse either way; 0.1.0 parsed all 40 MiB (several seconds, hundreds of MB).
    assert elapsed < 2 * baseline + 3, (elapsed, baseline)
    assert len(result.stderr.splitlines()) < 5


@pytest.mark.parametrize("kind", ["FIFO", "/dev/zero"])
def test_ctxscope_own_files_that_are_not_small_regular_files(
    project, isolated_home, cloud, kind, record_property
):
    """Trust store and cloud cache: a FIFO, a device or a huge file is treated as empty."""
    from ctxscope.cache import CloudCache

    cloud.scope = "zentygo"
    cloud.access = {"zentygo": "read"}
    (project / ".ctxscope.toml").write_text('scope = "zentygo"\n')
    store = isolated_home / ".local" / "state" / "ctxscope" / "trusted.json"
    cache = Path(CloudCache(cloud.url, CANARY).path)
    for path in (store, cache):
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "FIFO":
            os.mkfifo(path)
        else:
            path.symlink_to("/dev/zero")
    result = run(["resolve"], cwd=project, env=env_with(CTXSCOPE_TOKEN=CANARY), timeout=20)
    record_property("attacks", 2)
    assert "Traceback" not in result.stderr
    assert (result.returncode, result.stdout) == (0, "zentygo\n"), result.stderr


# --- class 8: a project file owned by someone else ---------------------------------------


@pytest.fixture
def foreign(tmp_path):
    """A world-writable, sticky shared directory (as /tmp) holding a stranger's project file."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    work = shared / "work"
    work.mkdir()
    path = work / ".ctxscope.toml"
    path.write_text('scope = "planted"\n[policy]\nmode = "local"\n')
    os.chown(path, STRANGER, STRANGER)
    return work


def _resolve_json(cwd: Path, env: dict) -> tuple:
    result = run(["status", "--json"], cwd=cwd, env=env)
    return json.loads(result.stdout), result


def test_project_file_of_another_user_is_ignored_with_a_way_to_allow_it(foreign, record_property):
    path = foreign / ".ctxscope.toml"
    tried = 0
    for args in (["resolve"], ["status"], ["diff"], ["config"]):
        result = run(args, cwd=foreign)
        tried += 1
        assert "planted" not in result.stdout
        [line] = [w for w in warning_lines(result.stderr) if "owned by uid" in w]
        assert str(path) in line and "[safe] directories" in line
        assert "CTXSCOPE_SAFE_DIRECTORIES" in line
    record_property("attacks", tried)


def test_project_file_reached_by_a_strangers_link_is_ignored(tmp_path, record_property):
    work = tmp_path / "work"
    work.mkdir()
    (work / "real.toml").write_text('scope = "planted"\n')
    link = work / ".ctxscope.toml"
    link.symlink_to("real.toml")
    os.lchown(link, STRANGER, STRANGER)
    result = run(["resolve"], cwd=work)
    record_property("attacks", 1)
    assert result.stdout != "planted\n"
    assert "owned by uid" in result.stderr


@pytest.mark.parametrize("how", ["env", "user config", "user config *"])
def test_allowing_a_directory_makes_the_project_file_count(foreign, user_config, how, record_property):
    ignored = run(["resolve"], cwd=foreign, env=env_with())
    assert ignored.stdout != "planted\n" and "owned by uid" in ignored.stderr
    env = env_with()
    if how == "env":
        env["CTXSCOPE_SAFE_DIRECTORIES"] = str(foreign)
    elif how == "user config":
        user_config.write_text(f'[safe]\ndirectories = ["{foreign.parent}"]\n')
    else:
        user_config.write_text('[safe]\ndirectories = ["*"]\n')
    result = run(["resolve"], cwd=foreign, env=env)
    record_property("attacks", 1)
    assert (result.returncode, result.stdout) == (0, "planted\n"), result.stderr
    assert "owned by uid" not in result.stderr


def test_a_project_file_cannot_allow_itself(foreign, record_property):
    path = foreign / ".ctxscope.toml"
    path.write_text('scope = "planted"\n[safe]\ndirectories = ["*"]\n')
    os.chown(path, STRANGER, STRANGER)
    inner = foreign / "inner"
    inner.mkdir()
    own = inner / ".ctxscope.toml"
    own.write_text(f'scope = "mine"\n[safe]\ndirectories = ["{foreign}"]\n')
    result = run(["resolve"], cwd=inner)
    record_property("attacks", 2)
    assert (result.returncode, result.stdout) == (0, "mine\n")
    assert "counts only in the user config" in result.stderr
    assert run(["resolve"], cwd=foreign).stdout != "planted\n"


def test_writers_do_not_take_over_a_strangers_project_file(foreign, record_property):
    path = foreign / ".ctxscope.toml"
    before = path.read_bytes()
    tried = 0
    for args, extra in (WRITERS["sync"], WRITERS["repair"], WRITERS["init"]):
        result = run(args, cwd=foreign, env=env_with(**extra))
        tried += 1
        assert "Traceback" not in result.stderr
        assert result.returncode == 1, (args, result.stderr)
        assert f"owned by uid {STRANGER}" in result.stderr
        assert path.read_bytes() == before and path.stat().st_uid == STRANGER
    record_property("attacks", tried)


# --- class 10: a read-only file is refused unless --force ---------------------------------

READ_ONLY_WRITERS = {
    "sync": (["sync", "--direction", "runtime-to-local", "--yes"], {"CTX_SCOPE": "zentygo"}),
    "repair": (["repair", "--to", "zentygo", "--yes"], {}),
    "init": (["init", "--scope", "zentygo", "--yes"], {}),
}


@pytest.mark.parametrize("writer", sorted(READ_ONLY_WRITERS))
@pytest.mark.parametrize("mode", [0o444, 0o400, 0o555])
def test_read_only_project_file_is_refused_unless_forced(repo, writer, mode, record_property):
    path = repo / ".ctxscope.toml"
    path.write_text('# kept read-only on purpose\nscope = "workout"\n')
    path.chmod(mode)
    args, extra = READ_ONLY_WRITERS[writer]
    env = env_with(**extra)
    for dry in ([], ["--dry-run"]):
        result = run([*args, *dry], cwd=repo, env=env)
        assert_clean_failure(result, 1, str(path), "read-only")
        assert "--force" in result.stderr
        assert 'scope = "workout"' in path.read_text()
    forced = run([*args, "--force"], cwd=repo, env=env)
    record_property("attacks", 2)
    assert forced.returncode == 0, forced.stderr
    assert 'scope = "zentygo"' in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == mode  # --force keeps the mode the user chose


def test_read_only_user_config_is_refused_unless_forced(project, user_config, record_property):
    user_config.write_text('scope = "workout"\n')
    user_config.chmod(0o444)
    env = env_with(CTX_SCOPE="zentygo")
    result = run(["sync", "--direction", "runtime-to-local", "--yes"], cwd=project, env=env)
    assert_clean_failure(result, 1, "read-only")
    forced = run(["sync", "--direction", "runtime-to-local", "--yes", "--force"], cwd=project, env=env)
    record_property("attacks", 1)
    assert forced.returncode == 0, forced.stderr
    assert 'scope = "zentygo"' in user_config.read_text()


def test_read_only_file_is_refused_by_the_write_helper_in_process(repo, monkeypatch, record_property):
    """`commands._writes.run`, the helper every writer goes through, as a library caller uses it."""
    from ctxscope.commands._writes import run as write_run
    from ctxscope.errors import CtxScopeError

    path = repo / ".ctxscope.toml"
    path.write_text('scope = "workout"\n')
    path.chmod(0o444)
    monkeypatch.chdir(repo)
    with pytest.raises(CtxScopeError, match="read-only"):
        write_run(command="repair", to="zentygo", yes=True)
    assert path.read_text() == 'scope = "workout"\n'
    assert write_run(command="repair", to="zentygo", yes=True, force=True) == 0
    record_property("attacks", 1)
    assert 'scope = "zentygo"' in path.read_text()
