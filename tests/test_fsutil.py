"""Tests for ctxscope.fsutil: modes, locks, atomic replacement, appends and backups."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from ctxscope import fsutil
from ctxscope.errors import CtxScopeError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IS_ROOT = os.geteuid() == 0


@pytest.fixture
def workdir(tmp_path):
    """An empty directory of our own: tests that list a directory must not see
    what shared fixtures put in tmp_path (such as the isolated home)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def mode_of(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


# ensure_private_dir


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o277])
def test_ensure_private_dir_creates_every_missing_level_0700(tmp_path, mask):
    target = tmp_path / "state" / "ctxscope" / "deep"
    with umask(mask):
        fsutil.ensure_private_dir(str(target))
    for directory in (tmp_path / "state", tmp_path / "state" / "ctxscope", target):
        assert directory.is_dir()
        assert mode_of(str(directory)) == 0o700


def test_ensure_private_dir_leaves_existing_parent_alone(tmp_path):
    parent = tmp_path / "shared"
    parent.mkdir()
    os.chmod(parent, 0o755)
    fsutil.ensure_private_dir(str(parent / "ctxscope"))
    assert mode_of(str(parent)) == 0o755
    assert mode_of(str(parent / "ctxscope")) == 0o700


def test_ensure_private_dir_leaves_existing_dir_alone_by_default(tmp_path):
    existing = tmp_path / "home-like"
    existing.mkdir()
    os.chmod(existing, 0o755)
    fsutil.ensure_private_dir(str(existing))
    assert mode_of(str(existing)) == 0o755


def test_ensure_private_dir_tightens_our_own_dir_when_asked(tmp_path):
    ours = tmp_path / "ctxscope"
    ours.mkdir()
    os.chmod(ours, 0o775)
    fsutil.ensure_private_dir(str(ours), tighten_existing=True)
    assert mode_of(str(ours)) == 0o700


def test_ensure_private_dir_does_not_tighten_someone_elses_dir(tmp_path, monkeypatch):
    theirs = tmp_path / "ctxscope"
    theirs.mkdir()
    os.chmod(theirs, 0o755)
    owner = os.stat(theirs).st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    fsutil.ensure_private_dir(str(theirs), tighten_existing=True)
    assert mode_of(str(theirs)) == 0o755


def test_ensure_private_dir_follows_a_symlinked_dir(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    fsutil.ensure_private_dir(str(link / "ctxscope"))
    assert (real / "ctxscope").is_dir()
    assert link.is_symlink()


def test_ensure_private_dir_refuses_a_file_in_the_way(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("not a dir")
    with pytest.raises(CtxScopeError, match="is not a directory") as info:
        fsutil.ensure_private_dir(str(blocker / "ctxscope"))
    assert str(blocker) in str(info.value)
    assert blocker.read_text() == "not a dir"


# file_lock

HOLD_LOCK_CHILD = """
    import sys, time
    from ctxscope.fsutil import file_lock
    with file_lock(sys.argv[1], timeout=5):
        print("locked", flush=True)
        time.sleep(60)
"""


def start_lock_holder(lock_path: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD_LOCK_CHILD), lock_path],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "locked"
    return child


def test_file_lock_creates_the_lock_file_0600_whatever_the_umask(tmp_path):
    lock = str(tmp_path / "state.lock")
    with umask(0o277), fsutil.file_lock(lock, timeout=1):
        assert mode_of(lock) == 0o600
    # Released and still usable: a lock file that is left behind must not block.
    with fsutil.file_lock(lock, timeout=0):
        assert os.path.exists(lock)


def test_file_lock_times_out_with_a_message_naming_the_lock(tmp_path):
    lock = str(tmp_path / "state.lock")
    holder = start_lock_holder(lock)
    try:
        started = time.monotonic()
        with pytest.raises(CtxScopeError) as info, fsutil.file_lock(lock, timeout=0.3):
            pytest.fail("acquired a lock that another process holds")
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert str(info.value) == (
        f"timed out after 0.3s waiting for the lock {lock}; another ctxscope process holds it"
    )
    assert 0.3 <= waited < 3


def test_file_lock_excludes_a_second_holder_in_the_same_process(tmp_path):
    lock = str(tmp_path / "state.lock")
    with (
        fsutil.file_lock(lock, timeout=1),
        pytest.raises(CtxScopeError, match="timed out"),
        fsutil.file_lock(lock, timeout=0.05),
    ):
        pass


def test_file_lock_with_timeout_0_tries_once_and_never_sleeps(tmp_path, monkeypatch):
    lock = str(tmp_path / "state.lock")
    slept = []
    monkeypatch.setattr(fsutil.time, "sleep", slept.append)
    with (
        fsutil.file_lock(lock, timeout=0),  # free: taken on the first try
        pytest.raises(CtxScopeError, match="another ctxscope process holds it"),
        fsutil.file_lock(lock, timeout=0),
    ):
        pytest.fail("acquired a lock that is held")
    assert slept == []


# The lock of a holder killed with SIGKILL: test_hardening_local.py, with the drift log's and
# the trust store's.

COUNTER_CHILD = """
    import sys
    from ctxscope.fsutil import file_lock
    lock, counter, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for _ in range(rounds):
        with file_lock(lock, timeout=30):
            with open(counter) as f:
                value = int(f.read())
            with open(counter, "w") as f:
                f.write(str(value + 1))
"""


def test_file_lock_serialises_read_modify_write_across_processes(tmp_path):
    lock = str(tmp_path / "counter.lock")
    counter = tmp_path / "counter"
    counter.write_text("0")
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(COUNTER_CHILD), lock, str(counter), "100"],
            env=env,
        )
        for _ in range(4)
    ]
    assert [child.wait(timeout=120) for child in children] == [0, 0, 0, 0]
    assert counter.read_text() == "400"


def test_file_lock_reports_an_unopenable_lock_file(tmp_path):
    lock = str(tmp_path / "missing-dir" / "state.lock")
    with (
        pytest.raises(CtxScopeError, match="cannot open the lock file") as info,
        fsutil.file_lock(lock),
    ):
        pass
    assert lock in str(info.value)


# atomic_write_text


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_atomic_write_new_file_gets_default_mode_whatever_the_umask(tmp_path, mask):
    target = tmp_path / "config.toml"
    with umask(mask):
        fsutil.atomic_write_text(str(target), 'scope = "a"\n')
        fsutil.atomic_write_text(str(tmp_path / "private.toml"), "x\n", default_mode=0o600)
    assert target.read_text() == 'scope = "a"\n'
    assert mode_of(str(target)) == 0o644
    assert mode_of(str(tmp_path / "private.toml")) == 0o600


@pytest.mark.parametrize("existing_mode", [0o600, 0o640, 0o664])
def test_atomic_write_keeps_the_existing_mode(tmp_path, existing_mode):
    target = tmp_path / "config.toml"
    target.write_text("old\n")
    os.chmod(target, existing_mode)
    fsutil.atomic_write_text(str(target), "new\n", default_mode=0o644)
    assert target.read_text() == "new\n"
    assert mode_of(str(target)) == existing_mode


def test_atomic_write_replaces_the_inode_rather_than_rewriting_it(tmp_path):
    # Readers holding the old file open must keep seeing the old content in full.
    target = tmp_path / "config.toml"
    target.write_text("old content\n")
    with open(target) as reader:
        fsutil.atomic_write_text(str(target), "new content\n")
        assert reader.read() == "old content\n"
    assert target.read_text() == "new content\n"


def test_atomic_write_writes_bytes_exactly(tmp_path):
    target = tmp_path / "config.toml"
    text = 'scope = "café"\r\n# ünïcode ✓\r\nno-final-newline'
    fsutil.atomic_write_text(str(target), text)
    assert target.read_bytes() == text.encode("utf-8")


def test_atomic_write_goes_through_a_symlink_chain(tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "ctxscope.toml"
    real.write_text("old\n")
    os.chmod(real, 0o640)
    middle = tmp_path / "middle.toml"
    middle.symlink_to(real)
    link = tmp_path / "project" / ".ctxscope.toml"
    link.parent.mkdir()
    link.symlink_to(os.path.relpath(middle, link.parent))

    fsutil.atomic_write_text(str(link), "new\n")

    assert link.is_symlink()
    assert middle.is_symlink()
    assert os.readlink(link) == os.path.relpath(middle, link.parent)
    assert real.read_text() == "new\n"
    assert mode_of(str(real)) == 0o640
    assert sorted(os.listdir(dotfiles)) == ["ctxscope.toml"]
    assert sorted(os.listdir(link.parent)) == [".ctxscope.toml"]


def test_atomic_write_through_a_dangling_symlink_creates_the_target(tmp_path):
    real = tmp_path / "real.toml"
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    fsutil.atomic_write_text(str(link), "created\n")
    assert link.is_symlink()
    assert real.read_text() == "created\n"


def test_atomic_write_failed_rename_leaves_original_and_no_temp(workdir, monkeypatch):
    target = workdir / "config.toml"
    target.write_text("original\n")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(CtxScopeError, match="No space left on device") as info:
        fsutil.atomic_write_text(str(target), "replacement\n")
    assert str(target) in str(info.value)
    assert target.read_text() == "original\n"
    assert os.listdir(workdir) == ["config.toml"]


def test_atomic_write_failed_fsync_leaves_original_and_no_temp(workdir, monkeypatch):
    target = workdir / "config.toml"
    target.write_text("original\n")

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(CtxScopeError, match="Input/output error"):
        fsutil.atomic_write_text(str(target), "replacement\n")
    assert target.read_text() == "original\n"
    assert os.listdir(workdir) == ["config.toml"]


def test_atomic_write_interrupted_cleans_up_and_propagates(workdir, monkeypatch):
    target = workdir / "config.toml"
    target.write_text("original\n")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fsutil.atomic_write_text(str(target), "replacement\n")
    assert target.read_text() == "original\n"
    assert os.listdir(workdir) == ["config.toml"]


@pytest.mark.skipif(IS_ROOT, reason="root can write into a read-only directory")
def test_atomic_write_into_unwritable_directory_fails_cleanly(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    target = locked / "config.toml"
    target.write_text("original\n")
    os.chmod(locked, 0o500)
    try:
        with pytest.raises(CtxScopeError, match="cannot write"):
            fsutil.atomic_write_text(str(target), "replacement\n")
        assert target.read_text() == "original\n"
        assert os.listdir(locked) == ["config.toml"]
    finally:
        os.chmod(locked, 0o700)


@pytest.mark.skipif(not IS_ROOT, reason="only root can give a file to another user")
def test_atomic_write_keeps_the_owner_when_allowed(tmp_path):
    target = tmp_path / "config.toml"
    target.write_text("original\n")
    os.chown(target, 12345, 23456)
    fsutil.atomic_write_text(str(target), "replacement\n")
    st = os.stat(target)
    assert (st.st_uid, st.st_gid) == (12345, 23456)


# append_line


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o600), (0o077, 0o640), (0o277, 0o600)])
def test_append_line_creates_the_file_with_exactly_mode(tmp_path, mask, mode):
    log = tmp_path / "drift.jsonl"
    with umask(mask):
        fsutil.append_line(str(log), '{"n": 1}', mode=mode)
    assert mode_of(str(log)) == mode
    assert log.read_text() == '{"n": 1}\n'


def test_append_line_appends_and_keeps_an_existing_mode(tmp_path):
    log = tmp_path / "drift.jsonl"
    log.write_text("first\n")
    os.chmod(log, 0o644)
    fsutil.append_line(str(log), "second")
    fsutil.append_line(str(log), "third ✓")
    assert log.read_text(encoding="utf-8") == "first\nsecond\nthird ✓\n"
    assert mode_of(str(log)) == 0o644


@pytest.mark.parametrize("bad", ["two\nlines", "trailing\n"])
def test_append_line_refuses_embedded_newlines(tmp_path, bad):
    log = tmp_path / "drift.jsonl"
    with pytest.raises(ValueError):
        fsutil.append_line(str(log), bad)
    assert not log.exists()


def test_append_line_reports_the_path_on_failure(tmp_path):
    log = str(tmp_path / "no-such-dir" / "drift.jsonl")
    with pytest.raises(CtxScopeError, match="cannot append to") as info:
        fsutil.append_line(log, "x")
    assert log in str(info.value)


APPEND_CHILD = """
    import os, sys, time
    from ctxscope.fsutil import append_line
    log, go, worker, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    while not os.path.exists(go):
        time.sleep(0.001)
    # Lines longer than PIPE_BUF (4096) so that interleaving would show if writes split.
    for i in range(count):
        append_line(log, f"{worker}:{i}:" + worker * 5000 + ":end")
"""


def test_concurrent_appenders_never_interleave(tmp_path):
    log = tmp_path / "drift.jsonl"
    go = tmp_path / "go"
    workers, count = 8, 200
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(APPEND_CHILD),
                str(log),
                str(go),
                chr(ord("a") + n),
                str(count),
            ],
            env=env,
        )
        for n in range(workers)
    ]
    time.sleep(0.3)  # let every child reach the starting line
    go.touch()
    assert [child.wait(timeout=120) for child in children] == [0] * workers

    lines = log.read_text().split("\n")
    assert lines.pop() == ""
    assert len(lines) == workers * count
    pattern = re.compile(r"([a-h]):(\d+):([a-h]{5000}):end")
    seen: dict[str, list[int]] = {}
    for line in lines:
        match = pattern.fullmatch(line)
        assert match, f"torn line starting {line[:40]!r}"
        worker, index, body = match.groups()
        assert body == worker * 5000
        seen.setdefault(worker, []).append(int(index))
    assert seen == {chr(ord("a") + n): list(range(count)) for n in range(workers)}


# backup_file


def test_backup_file_copies_content_and_mtime_and_is_private(tmp_path):
    original = tmp_path / ".ctxscope.toml"
    original.write_text('scope = "broken\n')
    os.chmod(original, 0o640)
    os.utime(original, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))

    backup = fsutil.backup_file(str(original))

    assert re.fullmatch(re.escape(str(original)) + r"\.bak-\d{8}T\d{6}Z", backup)
    assert Path(backup).read_text() == 'scope = "broken\n'
    assert mode_of(backup) == 0o600  # a backup is 0600 whatever the original's mode
    assert os.stat(backup).st_mtime_ns == 1_700_000_000_000_000_000
    assert original.read_text() == 'scope = "broken\n'


def test_backup_file_is_unique_within_one_second(tmp_path, monkeypatch):
    original = tmp_path / "config.toml"
    original.write_text("v1\n")
    frozen = time.gmtime(1_700_000_000)
    monkeypatch.setattr(time, "gmtime", lambda *args: frozen)

    first = fsutil.backup_file(str(original))
    original.write_text("v2\n")
    second = fsutil.backup_file(str(original))
    third = fsutil.backup_file(str(original))

    assert first == f"{original}.bak-20231114T221320Z"
    assert second == f"{first}-2"
    assert third == f"{first}-3"
    assert Path(first).read_text() == "v1\n"
    assert Path(second).read_text() == "v2\n"


def test_backup_of_a_symlink_is_a_regular_file_beside_the_link(tmp_path):
    real_dir = tmp_path / "dotfiles"
    real_dir.mkdir()
    real = real_dir / "ctxscope.toml"
    real.write_text("content\n")
    link = tmp_path / ".ctxscope.toml"
    link.symlink_to(real)

    backup = fsutil.backup_file(str(link))

    assert os.path.dirname(backup) == str(tmp_path)
    assert not os.path.islink(backup)
    assert Path(backup).read_text() == "content\n"
    assert os.listdir(real_dir) == ["ctxscope.toml"]


def test_backup_of_a_missing_file_names_it(workdir):
    missing = str(workdir / "nope.toml")
    with pytest.raises(CtxScopeError, match="cannot back up") as info:
        fsutil.backup_file(missing)
    assert missing in str(info.value)
    assert os.listdir(workdir) == []


def test_backup_of_a_directory_is_refused(workdir):
    with pytest.raises(CtxScopeError, match="not a regular file"):
        fsutil.backup_file(str(workdir))
    assert os.listdir(workdir) == []
