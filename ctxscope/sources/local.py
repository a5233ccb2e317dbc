"""Local source: `scope` in the nearest `.ctxscope.toml`, else in the user config."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from ..errors import ConfigError, CtxScopeError, InvalidScopeError, VerificationError
from ..paths import repository_root
from ..scope import display, loggable, scope_problem, shown
from . import Reading, Written, reading

if TYPE_CHECKING:
    from ..config import ConfigFile
    from ..context import Context
    from ..fsutil import Place

NAME = "local"
LOCK_TIMEOUT = 10.0


class LocalSource:
    name = NAME

    def read(self, ctx: Context) -> Reading:
        project, user = ctx.config.project, ctx.config.user
        # A broken file anywhere in the local layer makes the source unreadable, even
        # when the other file holds the scope: the broken file's settings (a mode, a
        # cloud URL) are lost, and that must be seen rather than silently loosened.
        for cf in (project, user):
            if cf is not None and cf.error:
                return reading(
                    NAME,
                    None,
                    cf.path,
                    "unreadable",
                    cf.error.message,
                    error=cf.error,
                    path=cf.path,
                    file_kind=cf.kind,
                )
        for cf in (project, user):
            if cf is None:
                continue
            if "scope" in cf.data:
                return _check(cf, cf.data["scope"])
        nearest = project or user
        origin = nearest.path if nearest else None
        return reading(NAME, origin=origin, path=origin, file_kind=nearest.kind if nearest else None)

    def write(
        self,
        ctx: Context,
        value: str,
        *,
        path: str | None = None,
        replace_broken: bool = False,
        force: bool = False,
    ) -> Written:
        """Set `scope = value` in the local file, keeping everything else in it.

        Under the file's lock (see `lock_path`): read it fresh, edit the one key in
        place (comments, order, quoting, line endings and mode are kept), check
        the new text with a fresh parse, replace the file atomically, then read
        it back from disk and parse it again. A file that cannot be parsed is an
        error, unless `replace_broken`: then it is backed up beside itself and a
        new file holding only the scope takes its place.

        The real path (links resolved) must be where the file may live
        (`write_place`); a read-only file is refused unless `force`. Both are
        checked again under the lock, right before the write.
        """
        import hashlib

        from ..config import is_trusted, parse_toml
        from ..fsutil import atomic_write_text, backup_file, check_write_target, file_lock
        from ..tomledit import set_top_level_key

        path = path or target_file(ctx)
        place = write_place(ctx, path, force=force)
        real = check_write_target(path, place)
        import tomlkit  # noqa: F401 - imported before the lock, so the lock is held briefly

        with file_lock(lock_path(real), timeout=LOCK_TIMEOUT):
            real = check_write_target(path, place)  # again: a link may have moved meanwhile
            _sweep_temporaries(real)
            raw = _read_bytes(real)
            backup = None
            before = None
            text = None
            if raw is not None:
                try:
                    text = raw.decode("utf-8")
                    data = parse_toml(text, path)
                except (UnicodeDecodeError, ConfigError) as exc:
                    if not replace_broken:
                        message = (
                            exc.message if isinstance(exc, ConfigError) else f"{path}: is not valid UTF-8"
                        )
                        raise ConfigError(
                            f"{message}; not writing into a file that cannot be parsed",
                            hint=f"fix it, or run `ctxscope repair --to {value}`, which backs it up first",
                        ) from None
                    backup = backup_file(path, place)
                    text = None
                else:
                    before = data.get("scope")
                    if isinstance(before, dict):
                        raise ConfigError(f"{path}: `scope` is a table; cannot set it")
                    if before == value:
                        return Written(path, value, value, False, True)
            if text is None:
                header = ""
                if backup:
                    header = (
                        f"# Written by `ctxscope repair`: the previous file could not be "
                        f"parsed\n# and was saved as {os.path.basename(backup)}\n"
                    )
                new = header + set_top_level_key("", "scope", value, path=path)
            else:
                new = set_top_level_key(text, "scope", value, path=path)
            if parse_toml(new, path).get("scope") != value:
                raise VerificationError(
                    f"{path}: the edited text does not hold {value!r}; nothing was written"
                )
            trusted = raw is not None and is_trusted(real, hashlib.sha256(raw).hexdigest())
            atomic_write_text(path, new, default_mode=0o644, place=place)
            found = _read_back(real, path)
            if found != value:
                raise VerificationError(
                    f"{path}: read-after-write mismatch: wrote {value!r}, read back {shown(found)}",
                    hint="something else changed the file at the same moment; run `ctxscope status`",
                )
            if trusted:
                # Only our own `scope` edit changed the file the user had reviewed: record
                # the bytes just written, without reloading the whole config again.
                from ..trust import record_trust

                record_trust(
                    real, hashlib.sha256(new.encode("utf-8")).hexdigest(), content=new.encode("utf-8")
                )
        return Written(path, loggable(before), value, True, True, backup)


def write_place(ctx: Context, path: str, *, force: bool = False) -> Place:
    """Where a write of the local file `path` may land (an `fsutil.Place`).

    The user config: inside the user's home (or the directory CTXSCOPE_CONFIG
    names), so a dotfiles manager's link keeps working; owned by the user. A
    project file: inside its repository (`paths.project_root`), or in a
    [safe] link_targets directory; owned by the user unless its directory is in
    [safe] directories.
    """
    from ..config import safe_settings
    from ..fsutil import Place
    from ..paths import home_dir, project_root

    config = ctx.config
    safe = safe_settings(config.user, ctx.env)
    user = config.user
    if user is not None and os.path.abspath(path) == os.path.abspath(user.path):
        roots = [home_dir()]
        named = ctx.env.get("CTXSCOPE_CONFIG")
        if named:
            roots.append(os.path.realpath(os.path.dirname(os.path.abspath(named))))
        return Place(
            roots,
            f"your home {home_dir()}",
            force=force,
            hint="the user config must be a file of yours in your home directory",
        )
    root = os.path.realpath(project_root(path))
    directory = os.path.dirname(os.path.abspath(path))
    return Place(
        [root, *safe.link_targets],
        f"the repository {root}",
        force=force,
        others_ok=safe.allows_owner(directory),
        hint="a project file stays inside its repository; to allow a link to your "
        "own file, add its directory to [safe] link_targets in the user config",
    )


def lock_path(real: str) -> str:
    """The lock file every writer of the file at real path `real` takes.

    It lives in the state directory (`locks/`, mode 0700), not beside the file, where
    it would show up in the user's repository; it is named by the SHA-256 of the real
    path, so a write through a symlink and a write to the file itself serialise on
    the same lock.
    """
    import hashlib

    from ..fsutil import ensure_private_dir
    from ..paths import state_dir

    directory = os.path.join(state_dir(), "locks")
    ensure_private_dir(directory, tighten_existing=True)
    name = hashlib.sha256(os.fsencode(real)).hexdigest()[:32]
    return os.path.join(directory, name + ".lock")


def target_file(ctx: Context, *, repository: bool = False) -> str:
    """The file a write of the local scope goes to: the one rule for every command.

    The file that holds the local scope (or that cannot be parsed, since that is
    the one in the way); else the project file; else a new `.ctxscope.toml` at the
    repository root (the nearest directory upward holding `.git`), else in the
    working directory.

    `repository=True` is `init`'s narrower view (it links this repository, so it
    writes only the repository's own file): the project file when it lies inside
    the repository root (else the working directory), else the new `.ctxscope.toml`
    there; never the user config or a project file above the repository.
    """
    from ..paths import PROJECT_FILE

    project, user = ctx.config.project, ctx.config.user
    root = repository_root(ctx.cwd) or os.path.abspath(ctx.cwd)
    if repository:
        if project is not None and _inside(os.path.dirname(project.path), root):
            return project.path
        return os.path.join(root, PROJECT_FILE)
    for cf in (project, user):
        if cf is not None and (cf.error or "scope" in cf.data):
            return cf.path
    if project is not None:
        return project.path
    return os.path.join(root, PROJECT_FILE)


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([os.path.abspath(path), root]) == root


def _read_bytes(real: str) -> bytes | None:
    from ..fsutil import read_regular

    try:
        return read_regular(real)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CtxScopeError(f"{real}: cannot be read: {exc.strerror or exc}") from None


def _read_back(real: str, path: str) -> object:
    from ..config import parse_toml

    raw = _read_bytes(real)
    if raw is None:
        return None
    try:
        return parse_toml(raw.decode("utf-8"), path).get("scope")
    except (UnicodeDecodeError, ConfigError) as exc:
        raise VerificationError(f"{path}: read-after-write: the file does not parse: {exc}") from None


def _sweep_temporaries(real: str) -> None:
    """Remove temporary files left beside the file by a writer that was killed.

    Writers create them only while holding the lock we now hold, so one whose
    process is gone is garbage (`atomic_write_text` names them `.<name>.<pid>.<hex>.tmp`).
    """
    directory, name = os.path.split(real)
    prefix = f".{name}."
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, entry))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _check(cf: ConfigFile, value: object) -> Reading:
    origin = cf.where("scope")
    problem = scope_problem(value)
    if problem is None and isinstance(value, str):  # no problem: always a str
        return reading(NAME, value, origin, "set", path=cf.path, file_kind=cf.kind)
    error = InvalidScopeError(
        f"{origin}: scope {display(value)!r} {problem}",
        hint=f"edit {cf.path}, or run `ctxscope repair --to SCOPE`",
    )
    return reading(
        NAME, None, origin, "invalid", problem, raw=value, error=error, path=cf.path, file_kind=cf.kind
    )
