"""`ctxscope trust`: record that the user reviewed a project file (path + content hash)."""

from __future__ import annotations

import json
import os

from . import config, paths
from .config import find_project_file
from .errors import ConfigError


def trust_file(path: str | None, *, revoke: bool = False, cwd: str | None = None) -> dict:
    # A token in a config file is an error for every command, this one too: trusting
    # such a file would bless a secret kept in a repository.
    cwd = cwd or paths.working_dir()
    config.load(cwd)
    target = path or find_project_file(cwd)
    if target is None:
        raise ConfigError(f"no {paths.PROJECT_FILE} here or above; name the file to trust")
    real = os.path.realpath(target)
    named = config.read_file(real, "project")
    if named.digest is None:  # could not even be read: nothing to hash
        raise named.error or ConfigError(f"{target}: cannot be read")
    if named.error is None:
        config.check_secrets(named)
    record_trust(real, named.digest, revoke=revoke)
    return {"path": real, "sha256": named.digest, "trusted": not revoke}


def record_trust(real_path: str, digest: str, *, revoke: bool = False) -> None:
    """Record (or forget) that the file at `real_path` with content `digest` is trusted."""
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
        if revoke:
            records.pop(real_path, None)
        else:
            records[real_path] = digest
        # `own`: a store that is a link (or not the user's) is refused, never written through.
        atomic_write_text(store, json.dumps(records, indent=2, sort_keys=True),
                          default_mode=0o600, own=True)
