"""Small, careful file operations: private dirs, locks, atomic writes, appends, backups.

This module is imported by the shell startup hook, so it uses only `os`, `fcntl`,
`time` and `contextlib`; `tempfile` and `shutil` would pull in `random`, `hashlib`
and friends for a few lines we can write with `os` directly.

Every failure is raised as `CtxScopeError` with a one-line message naming the path
(the original `OSError` is chained), so the CLI's error boundary can print it and
the drift-log writer can catch it and turn it into a warning.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import time
from collections.abc import Iterator

from ctxscope.errors import CtxScopeError

_PRIVATE_DIR_MODE = 0o700
_LOCK_FILE_MODE = 0o600


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def ensure_private_dir(path: str, *, tighten_existing: bool = False) -> None:
    """Make `path` (and any missing parents) exist as directories.

    Every directory this call creates gets mode 0o700 exactly, whatever the umask:
    the XDG base-directory spec asks for 0700 on state/cache dirs it has to create,
    and the drift log records working directories and scope names.

    An existing directory is left alone by default, because `[log] path` can point
    into a directory the user keeps for other things (their home, a shared log
    dir), and silently chmod-ing that would be a nasty surprise. Callers pass
    `tighten_existing=True` only for directories that belong to ctxscope alone
    (`user_state_dir("ctxscope")`, `user_cache_dir("ctxscope")`): then group and
    other bits are removed, but only if the current user owns the directory, since
    changing someone else's directory is not ours to do.
    """
    missing: list[str] = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        if os.path.lexists(current):
            raise CtxScopeError(f"cannot create directory {path}: {current} is not a directory")
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent

    for directory in reversed(missing):
        try:
            os.mkdir(directory, _PRIVATE_DIR_MODE)
        except FileExistsError:
            # Another process won the race; that is fine as long as it made a dir.
            if not os.path.isdir(directory):
                raise CtxScopeError(
                    f"cannot create directory {path}: {directory} is not a directory"
                ) from None
            continue
        except OSError as exc:
            raise CtxScopeError(f"cannot create directory {directory}: {_reason(exc)}") from exc
        try:
            # mkdir's mode is filtered by the umask; a umask such as 0o277 would
            # otherwise leave us a directory we cannot write into.
            os.chmod(directory, _PRIVATE_DIR_MODE)
        except OSError as exc:
            raise CtxScopeError(f"cannot set mode 0700 on {directory}: {_reason(exc)}") from exc

    if tighten_existing and not missing:
        try:
            st = os.stat(path)
            if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o077:
                os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o077 | _PRIVATE_DIR_MODE)
        except OSError as exc:
            raise CtxScopeError(f"cannot set mode 0700 on {path}: {_reason(exc)}") from exc


def _open_new_or_existing(path: str, flags: int, mode: int) -> tuple[int, bool]:
    """Open `path`, creating it with exactly `mode`; say whether we created it.

    O_EXCL tells us whether the file is new, so only files we create get the
    fchmod that makes their mode independent of the umask; an existing file's
    permissions are the user's choice and are left alone.
    """
    while True:
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:
            try:
                return os.open(path, flags | os.O_CLOEXEC), False
            except FileNotFoundError:
                continue  # deleted between the two opens: try to create it again
        try:
            os.fchmod(fd, mode)
        except OSError:
            os.close(fd)
            raise
        return fd, True


@contextlib.contextmanager
def file_lock(lock_path: str, timeout: float = 10.0) -> Iterator[None]:
    """Hold an exclusive `flock` on `lock_path` for the duration of the block.

    The lock lives on a separate lock file (created 0o600, never deleted: deleting
    a lock file lets two processes lock two different inodes of the same name).
    `flock` locks belong to the open file and vanish when the holder dies, so a
    lock left behind by a killed process never blocks anyone. We poll with
    LOCK_NB rather than block so that the wait has a deadline; `timeout=0` tries
    once and raises at once when another holder has it (the background refresher
    leaves when one is already running).

    Not reentrant: taking the same lock twice in one process, even in one thread,
    waits for itself and times out.
    """
    try:
        fd, _ = _open_new_or_existing(lock_path, os.O_RDWR, _LOCK_FILE_MODE)
    except OSError as exc:
        raise CtxScopeError(f"cannot open the lock file {lock_path}: {_reason(exc)}") from exc
    try:
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CtxScopeError(
                        f"timed out after {timeout:g}s waiting for the lock {lock_path}; "
                        "another ctxscope process holds it"
                    ) from None
                time.sleep(min(pause, remaining))
                pause = min(pause * 2, 0.05)
            except OSError as exc:
                raise CtxScopeError(f"cannot lock {lock_path}: {_reason(exc)}") from exc
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: str) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        # The rename has already happened and the new content is in place; some
        # filesystems refuse fsync on a directory, and failing the command now
        # would report a write as failed when it did take effect.
        pass
    finally:
        os.close(dir_fd)


def _create_temp_beside(target: str) -> tuple[int, str]:
    directory, name = os.path.split(target)
    for _ in range(100):
        # A leading dot keeps the half-written file out of `ls` and globs.
        candidate = os.path.join(directory, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            continue
        return fd, candidate
    raise FileExistsError(f"no free temporary name beside {target}")


def atomic_write_text(path: str, text: str, *, default_mode: int = 0o644) -> None:
    """Replace the content of `path` with `text` (UTF-8) atomically.

    A symlink is written through: the real target is replaced and the link stays
    a link (replacing the link itself would silently fork a dotfiles-managed
    config). The existing file's permission bits are kept, or `default_mode` is
    used for a new file, in both cases regardless of the umask. Its owner and
    group are kept too when the process is allowed to (for example under sudo);
    when it is not, the new file belongs to the current user as any editor's
    save would.

    Readers see either the old or the new content, never a mix. On any failure
    the temporary file is removed and the original is untouched.
    """
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    try:
        old = os.stat(target)
    except FileNotFoundError:
        old = None
    except OSError as exc:
        raise CtxScopeError(f"cannot write {path}: {_reason(exc)}") from exc
    mode = stat.S_IMODE(old.st_mode) if old is not None else default_mode

    try:
        fd, temp = _create_temp_beside(target)
    except OSError as exc:
        raise CtxScopeError(f"cannot write {path}: {_reason(exc)}") from exc
    try:
        try:
            os.fchmod(fd, mode)
            if old is not None and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):
                    os.fchown(fd, old.st_uid, old.st_gid)
            _write_all(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise CtxScopeError(f"cannot write {path}: {_reason(exc)}") from exc
        raise
    _fsync_dir(directory)


def append_line(path: str, line: str, *, mode: int = 0o600) -> None:
    """Append `line` plus a newline to `path` in one `write` call.

    With O_APPEND each write lands at the end of the file as a unit, so lines from
    concurrent appenders (several shells starting at once) never interleave on a
    local filesystem. A new file gets exactly `mode`, whatever the umask; an
    existing file keeps the mode it has. No fsync: this is the drift log on the
    shell-startup path, and losing the last line in a power cut is acceptable.
    """
    if "\n" in line:
        raise ValueError("append_line() takes a single line without a newline")
    data = (line + "\n").encode("utf-8")
    try:
        fd, _ = _open_new_or_existing(path, os.O_WRONLY | os.O_APPEND, mode)
    except OSError as exc:
        raise CtxScopeError(f"cannot append to {path}: {_reason(exc)}") from exc
    try:
        written = os.write(fd, data)
    except OSError as exc:
        raise CtxScopeError(f"cannot append to {path}: {_reason(exc)}") from exc
    finally:
        os.close(fd)
    if written != len(data):
        raise CtxScopeError(f"cannot append to {path}: only {written} of {len(data)} bytes were written")


def backup_file(path: str) -> str:
    """Copy `path` beside itself as `<name>.bak-<UTC timestamp>` and return the copy's path.

    The copy is a regular file holding the content (for a symlink: its target's
    content) and keeps the original's permission bits and modification time. It is
    placed next to `path` as given, where the user will look for it. A second
    backup in the same second gets a `-2`, `-3`... suffix; O_EXCL makes that safe
    across processes, and an existing file is never overwritten.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = f"{path}.bak-{stamp}"
    try:
        src = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise CtxScopeError(f"cannot back up {path}: {_reason(exc)}") from exc
    try:
        st = os.fstat(src)
        if not stat.S_ISREG(st.st_mode):
            raise CtxScopeError(f"cannot back up {path}: not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        for attempt in range(1, 1000):
            backup = base if attempt == 1 else f"{base}-{attempt}"
            try:
                dst = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                continue
            break
        else:
            raise CtxScopeError(f"cannot back up {path}: too many backups named {base}-*")
        try:
            try:
                while chunk := os.read(src, 1 << 16):
                    _write_all(dst, chunk)
                os.fchmod(dst, mode)
                os.fsync(dst)
            finally:
                os.close(dst)
            os.utime(backup, ns=(st.st_atime_ns, st.st_mtime_ns))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(backup)
            raise
    except OSError as exc:
        raise CtxScopeError(f"cannot back up {path}: {_reason(exc)}") from exc
    finally:
        os.close(src)
    return backup
