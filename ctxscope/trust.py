"""`ctxscope trust`: record that the user reviewed a project file (path + content hash).

Beside the hash, the trusted content itself is kept in the state directory
(`trusted/`, files 0600), so that when the file changes (a `git pull`) `trust`
can show what changed since the last review before it asks again.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os

from . import config, paths
from .config import find_project_file
from .errors import ConfigError


def trust_file(path: str | None, *, revoke: bool = False, cwd: str | None = None, confirm=None) -> dict:
    """Trust (or with `revoke` forget) the project file at `path` (default: the nearest).

    When the file was trusted before with other content, `confirm(diff)` is called
    with the unified diff from that content to this one first; it returns whether
    to go on (None: no confirmation asked). The result says what was done and
    carries the diff (`changed`).
    """
    # A token in a config file is an error for every command, this one too: trusting
    # such a file would bless a secret kept in a repository.
    cwd = cwd or paths.working_dir()
    config.load(cwd)
    target = path or find_project_file(cwd)
    if target is None:
        raise ConfigError(f"no {paths.PROJECT_FILE} here or above; name the file to trust")
    if "\x00" in target:
        from .errors import UsageError

        raise UsageError("the path to trust holds a NUL byte, which no file name can")
    real = os.path.realpath(target)
    named = config.read_file(real, "project")
    if named.digest is None:  # could not even be read: nothing to hash
        raise named.error or ConfigError(f"{target}: cannot be read")
    if named.error is None:
        config.check_secrets(named)
    changed = None
    if not revoke:
        changed = changes_since_trust(real, named.digest)
        if changed is not None and confirm is not None and not confirm(changed):
            from .errors import CtxScopeError

            raise CtxScopeError("declined at the prompt; the file stays untrusted")
    record_trust(real, named.digest, revoke=revoke, content=_read(real))
    return {"path": real, "sha256": named.digest, "trusted": not revoke, "changed": changed}


def changes_since_trust(real: str, digest: str) -> str | None:
    """The unified diff from the content last trusted to the file now, when it was trusted
    with other content; "" when that content was not kept; None when nothing changed or
    it was never trusted."""
    before = config.trusted_digest(real)
    if before is None or before == digest:
        return None
    old = _read(_content_path(real))
    new = _read(real)
    if old is None or new is None or hashlib.sha256(old).hexdigest() != before:
        return ""
    lines = difflib.unified_diff(
        old.decode("utf-8", "replace").splitlines(keepends=True),
        new.decode("utf-8", "replace").splitlines(keepends=True),
        fromfile=f"{real} (trusted)",
        tofile=f"{real} (now)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def record_trust(real_path: str, digest: str, *, revoke: bool = False, content: bytes | None = None) -> None:
    """Record (or forget) that the file at `real_path` with content `digest` is trusted,
    keeping `content` (the bytes with that digest) to diff against later."""
    from .fsutil import atomic_write_text, ensure_private_dir, file_lock, read_regular

    store = paths.trust_file()
    ensure_private_dir(os.path.dirname(store))
    with file_lock(store + ".lock"):
        try:
            # ctxscope's own file: never through a link, only the user's, size-capped.
            records = json.loads(read_regular(store, follow=False, owner=True))
            if not isinstance(records, dict):
                records = {}
        except FileNotFoundError:
            records = {}
        except (OSError, ValueError, RecursionError):
            records = {}  # a corrupt store trusts nothing; rewriting it is safe
        kept = _content_path(real_path)
        if revoke:
            records.pop(real_path, None)
            with contextlib.suppress(OSError):
                os.unlink(kept)
        else:
            records[real_path] = digest
            if content is not None and hashlib.sha256(content).hexdigest() == digest:
                try:
                    ensure_private_dir(os.path.dirname(kept))
                    atomic_write_text(
                        kept, content.decode("utf-8", "surrogateescape"), default_mode=0o600, own=True
                    )
                    os.chmod(kept, 0o600)
                except (OSError, UnicodeError):
                    pass  # without the copy, a later `trust` shows no diff; trust still holds
        # `own`: a store that is a link (or not the user's) is refused, never written through.
        atomic_write_text(store, json.dumps(records, indent=2, sort_keys=True), default_mode=0o600, own=True)


def _content_path(real_path: str) -> str:
    name = hashlib.sha256(os.fsencode(real_path)).hexdigest()[:32]
    return os.path.join(paths.state_dir(), "trusted", name + ".toml")


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
