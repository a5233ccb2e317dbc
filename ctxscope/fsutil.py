"""Small, careful file operations: private dirs, locks, atomic writes, appends, backups,
and the one set of rules for where a file may be read from or written to.

This module is imported by the shell startup hook, so it uses only `os`, `fcntl`,
`time` and `contextlib`; `tempfile` and `shutil` would pull in `random`, `hashlib`
and friends for a few lines we can write with `os` directly.

Every failure is raised as `CtxScopeError` with a one-line message naming the path
(the original `OSError` is chained), so the CLI's error boundary can print it and
the drift-log writer can catch it and turn it into a warning.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import stat
import time
from collections.abc import Iterable, Iterator

from ctxscope.errors import CtxScopeError

_PRIVATE_DIR_MODE = 0o700
_LOCK_FILE_MODE = 0o600
_BACKUP_MODE = 0o600

# The most ctxscope reads from any one file: config files, the trust store, cache
# files, observed files and backups. Its own files stay far below this; anything
# larger was not written by it and is refused before it is read.
MAX_READ_BYTES = 1 << 20
MAX_READ_TEXT = "1 MiB"

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_PSEUDO_ROOTS = ("/proc", "/sys")
# Character devices where nothing written can land anywhere: a log path may name them.
_SINKS = ("/dev/null", "/dev/full")


class UnsafeFile(OSError):
    """A file ctxscope refuses to read or write; `strerror` says why in a few words.

    An OSError, so every caller that already turns an unreadable file into a
    warning or an "unreadable" state handles a refused one the same way.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(errno.EPERM, reason, path)


class UnsafeWriteError(CtxScopeError):
    """A write that would land where its kind of file may not live (exit 1, nothing written)."""


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def euid() -> int:
    """The effective user id, the one "owned by the user" checks compare with."""
    return os.geteuid() if hasattr(os, "geteuid") else -1


def inside(path: str, root: str) -> bool:
    """Whether the real path `path` is `root` or lies below it (both real, absolute)."""
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives, or one relative
        return False


def real_dirs(paths: Iterable[str]) -> list[str]:
    """Each directory's real path (`~` expanded); a relative entry is dropped."""
    out = []
    for entry in paths:
        entry = os.path.expanduser(entry)
        if os.path.isabs(entry):
            out.append(os.path.realpath(entry))
    return out


def _pseudo_devices() -> set[int]:
    devs = set()
    for root in _PSEUDO_ROOTS:
        with contextlib.suppress(OSError):
            devs.add(os.stat(root).st_dev)
    return devs


def is_pseudo_file(st: os.stat_result, real: str | None = None) -> bool:
    """A /proc or /sys file: it says size 0 (or 4096) and holds whatever the kernel makes up."""
    if real is not None and any(inside(real, root) for root in _PSEUDO_ROOTS):
        return True
    return st.st_dev in _pseudo_devices()


def check_regular(
    path: str, st: os.stat_result, *, cap: int | None = MAX_READ_BYTES, owner: bool = False
) -> None:
    """Raise UnsafeFile unless `st` is a size-capped regular file (owned by the user if asked)."""
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", path)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFile(path, "is not a regular file (a FIFO, socket or device)")
    if is_pseudo_file(st):
        raise UnsafeFile(path, "is a /proc or /sys file, not a regular file")
    if cap is not None and st.st_size > cap:
        raise UnsafeFile(path, f"is larger than {_size_text(cap)}, the most ctxscope reads")
    if owner and st.st_uid != euid():
        raise UnsafeFile(path, f"is owned by uid {st.st_uid}, not by you (uid {euid()})")


def _size_text(cap: int) -> str:
    return MAX_READ_TEXT if cap == MAX_READ_BYTES else f"{cap} bytes"


def read_regular(
    path: str, *, cap: int | None = MAX_READ_BYTES, follow: bool = True, owner: bool = False
) -> bytes:
    """The bytes of `path` (see `read_regular_stat`)."""
    return read_regular_stat(path, cap=cap, follow=follow, owner=owner)[0]


def read_regular_stat(
    path: str, *, cap: int | None = MAX_READ_BYTES, follow: bool = True, owner: bool = False
) -> tuple[bytes, os.stat_result]:
    """The bytes and status of `path`: a regular file of at most `cap` bytes, or an OSError.

    Opened non-blocking (a FIFO would otherwise wait for a writer for ever) and
    checked on the open descriptor before a byte is read: a directory raises
    IsADirectoryError; a FIFO, socket, device or /proc file, a file larger than
    `cap`, and (with `owner`) one not owned by the user raise UnsafeFile. With
    `follow=False` a symlink as the last component is refused too (O_NOFOLLOW).
    At most `cap` bytes are read even if the file grows meanwhile.
    """
    flags = os.O_RDONLY | _NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= _NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow and exc.errno == errno.ELOOP and os.path.islink(path):
            raise UnsafeFile(
                path, "is a symbolic link, and ctxscope does not follow links for this file"
            ) from None
        raise
    try:
        st = os.fstat(fd)
        check_regular(path, st, cap=cap, owner=owner)
        limit = (cap if cap is not None else st.st_size) + 1
        chunks = []
        total = 0
        while total < limit:
            chunk = os.read(fd, min(1 << 16, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        data = b"".join(chunks)
        if cap is not None and len(data) > cap:
            raise UnsafeFile(path, f"is larger than {_size_text(cap)}, the most ctxscope reads")
        return data, st
    finally:
        os.close(fd)


def open_own_read(path: str) -> io.BufferedReader:
    """One of ctxscope's own files (the drift log, a rotated log) opened for reading:
    never through a link (O_NOFOLLOW), non-blocking open, a regular file owned by
    the user. No size cap: callers read these in bounded blocks. Raises OSError."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP and os.path.islink(path):
            raise UnsafeFile(
                path, "is a symbolic link, and ctxscope does not follow links for its own files"
            ) from None
        raise
    try:
        check_regular(path, os.fstat(fd), cap=None, owner=True)
        os.set_blocking(fd, True)
        return io.open(fd, "rb")  # noqa: UP020 - the reader owns the descriptor now
    except BaseException:
        os.close(fd)
        raise


def check_private_dir(directory: str) -> None:
    """Refuse a directory ctxscope's own files may not be opened in.

    It must be a directory owned by the user or root, and not writable by every
    user unless it is sticky (as /tmp is: there nobody can replace another's
    file). Group-writable is accepted: with the common umask 002 every directory
    of the user is, and the group is usually the user's own. Raises UnsafeFile.
    """
    st = os.stat(directory)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "is not a directory", directory)
    if st.st_uid not in (euid(), 0):
        raise UnsafeFile(directory, f"is owned by uid {st.st_uid}, not by you (uid {euid()})")
    if st.st_mode & 0o002 and not st.st_mode & stat.S_ISVTX:
        raise UnsafeFile(directory, "is writable by every user and not sticky")


def is_sink(path: str) -> bool:
    """Whether `path` is, or links to, /dev/null or /dev/full (a log may be thrown away there)."""
    real = os.path.realpath(path)
    if real not in _SINKS:
        return False
    try:
        return stat.S_ISCHR(os.stat(real).st_mode)
    except OSError:
        return False


def open_own_file(path: str, flags: int, mode: int = 0o600) -> tuple[int, bool]:
    """Open one of ctxscope's own files (log, lock, rotated log) without following links.

    The directory is checked first (`check_private_dir`); the file is opened with
    O_NOFOLLOW and O_NONBLOCK, created with exactly `mode` when missing, and must
    be a regular file owned by the user. Returns (fd, created). Raises OSError
    (UnsafeFile for a refusal).
    """
    check_private_dir(os.path.dirname(os.path.abspath(path)))
    try:
        fd, created = _open_new_or_existing(path, flags | _NOFOLLOW | _NONBLOCK, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP and os.path.islink(path):
            raise UnsafeFile(
                path, "is a symbolic link, and ctxscope does not follow links for its own files"
            ) from None
        raise
    try:
        check_regular(path, os.fstat(fd), cap=None, owner=True)
    except BaseException:
        os.close(fd)
        raise
    return fd, created


class Place:
    """Where one kind of file may be written: real directories, and what to say on refusal.

    `roots` are real paths; `where` names them in a refusal ("the repository
    /src/app"); `hint` says how to allow the legitimate case. `force` lets a
    read-only file be replaced; `others_ok` lets a file owned by another user be
    written (the user listed its directory as safe).
    """

    __slots__ = ("force", "hint", "others_ok", "roots", "where")

    def __init__(
        self,
        roots: Iterable[str],
        where: str,
        *,
        hint: str | None = None,
        force: bool = False,
        others_ok: bool = False,
    ) -> None:
        self.roots = tuple(roots)
        self.where = where
        self.hint = hint
        self.force = force
        self.others_ok = others_ok


def is_read_only(st: os.stat_result, real: str) -> bool:
    """Whether the user made the file read-only (no write bit for its owner, or none at all),
    or this process may not write it. Root ignores permission bits, so the bits are read."""
    if not st.st_mode & 0o222:
        return True
    if st.st_uid == euid() and not st.st_mode & stat.S_IWUSR:
        return True
    try:
        return not os.access(real, os.W_OK, effective_ids=os.access in os.supports_effective_ids)
    except (OSError, NotImplementedError):
        return False


def check_write_target(path: str, place: Place) -> str:
    """The real path a write of `path` lands on, after every link is resolved.

    Raises UnsafeWriteError (one line, exit 1) unless that real path lies inside
    one of `place.roots`, and, when it exists, is a regular file (not a FIFO,
    device, directory or /proc file) owned by the user (unless
    `place.others_ok`) and not read-only (unless `place.force`).
    """
    real = os.path.realpath(path)
    shown = path if real == os.path.abspath(path) else f"{path} (a link to {real})"
    if not any(inside(real, root) for root in place.roots):
        raise UnsafeWriteError(
            f"refusing to write {shown}: it is outside {place.where}; nothing was written", hint=place.hint
        )
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return real
    except OSError as exc:
        raise UnsafeWriteError(f"refusing to write {shown}: {_reason(exc)}") from exc
    try:
        check_regular(real, st, cap=None)
    except OSError as exc:
        raise UnsafeWriteError(f"refusing to write {shown}: it {_reason(exc)}; nothing was written") from None
    if st.st_uid != euid() and not place.others_ok:
        raise UnsafeWriteError(
            f"refusing to write {shown}: it is owned by uid {st.st_uid}, not by you "
            f"(uid {euid()}); nothing was written",
            hint=place.hint,
        )
    if not place.force and is_read_only(st, real):
        raise UnsafeWriteError(
            f"refusing to write {shown}: the file is read-only; nothing was written",
            hint="make it writable, or pass --force to replace it anyway",
        )
    return real


def check_own_file(path: str) -> None:
    """Refuse to write one of ctxscope's own files (trust store, cache) through a link.

    Its directory must pass `check_private_dir`; the name itself must not be a
    symlink; an existing file must be a regular file owned by the user.
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        check_private_dir(directory)
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UnsafeWriteError(f"refusing to write {path}: {exc.filename}: {_reason(exc)}") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeWriteError(
            f"refusing to write {path}: it is a symbolic link, and "
            "ctxscope never follows links for its own files"
        )
    try:
        check_regular(path, st, cap=None, owner=True)
    except OSError as exc:
        raise UnsafeWriteError(f"refusing to write {path}: it {_reason(exc)}") from None


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
    waits for itself and times out. The lock file is opened as `open_own_file`
    does: never through a symlink, in a directory only the user (or root) owns.
    """
    try:
        # Never through a link, and only a regular file of the user's: a lock path
        # planted as a link would otherwise be created wherever it points.
        fd, _ = open_own_file(lock_path, os.O_RDWR, _LOCK_FILE_MODE)
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


def atomic_write_text(
    path: str, text: str, *, default_mode: int = 0o644, place: Place | None = None, own: bool = False
) -> None:
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

    With `place`, the real path must be one `check_write_target` accepts (inside
    the place's directories, a regular file of the user's, not read-only); with
    `own` (ctxscope's own files: trust store, cache) no link is followed at all
    (`check_own_file`). Either refusal raises UnsafeWriteError before anything
    is created.
    """
    if own:
        check_own_file(path)
        target = os.path.abspath(path)
    elif place is not None:
        target = check_write_target(path, place)
    else:
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


def append_line(path: str, line: str, *, mode: int = 0o600, own: bool = False) -> None:
    """Append `line` plus a newline to `path` in one `write` call.

    With O_APPEND each write lands at the end of the file as a unit, so lines from
    concurrent appenders (several shells starting at once) never interleave on a
    local filesystem. A new file gets exactly `mode`, whatever the umask; an
    existing file keeps the mode it has. No fsync: this is the drift log on the
    shell-startup path, and losing the last line in a power cut is acceptable.
    With `own` (the drift log) the file is opened as `open_own_file` does.
    """
    if "\n" in line:
        raise ValueError("append_line() takes a single line without a newline")
    data = (line + "\n").encode("utf-8")
    try:
        if own:
            fd, _ = open_own_file(path, os.O_WRONLY | os.O_APPEND, mode)
        else:
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


def backup_file(path: str, place: Place | None = None) -> str:
    """Copy `path` beside itself as `<name>.bak-<UTC timestamp>` and return the copy's path.

    Only what ctxscope could itself have written is copied: a regular file of at
    most MAX_READ_BYTES, never a FIFO, device or /proc file (whose "content" may
    be the environment, token included). The copy is a new regular file, mode
    0600 whatever the original's, with the original's modification time. It is
    placed next to `path` as given, where the user will look for it; with
    `place`, that directory's real path must lie inside the place. A second
    backup in the same second gets a `-2`, `-3`... suffix; O_EXCL makes that safe
    across processes, and an existing file is never overwritten.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = f"{path}.bak-{stamp}"
    if place is not None:
        directory = os.path.realpath(os.path.dirname(os.path.abspath(path)))
        if not any(inside(directory, root) for root in place.roots):
            raise UnsafeWriteError(
                f"refusing to back up {path}: its directory {directory} is "
                f"outside {place.where}; nothing was written",
                hint=place.hint,
            )
    try:
        src = os.open(path, os.O_RDONLY | _NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise CtxScopeError(f"cannot back up {path}: {_reason(exc)}") from exc
    try:
        st = os.fstat(src)
        try:
            check_regular(path, st, cap=MAX_READ_BYTES)
        except IsADirectoryError:
            raise CtxScopeError(f"cannot back up {path}: not a regular file (a directory)") from None
        except OSError as exc:
            raise CtxScopeError(f"cannot back up {path}: it {_reason(exc)}") from None
        if is_pseudo_file(st, os.path.realpath(path)):
            raise CtxScopeError(f"cannot back up {path}: it is a /proc or /sys file")
        for attempt in range(1, 1000):
            backup = base if attempt == 1 else f"{base}-{attempt}"
            try:
                dst = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _BACKUP_MODE)
            except FileExistsError:
                continue
            break
        else:
            raise CtxScopeError(f"cannot back up {path}: too many backups named {base}-*")
        try:
            try:
                os.fchmod(dst, _BACKUP_MODE)
                left = st.st_size  # what fstat promised; a file that grows is cut there
                while left > 0 and (chunk := os.read(src, min(1 << 16, left))):
                    _write_all(dst, chunk)
                    left -= len(chunk)
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
