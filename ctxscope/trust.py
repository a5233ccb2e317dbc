"""`ctxscope trust`: record that the user reviewed a project file (path + content hash)."""

from __future__ import annotations

import hashlib
import json
import os

from . import config, paths
from .config import find_project_file
from .errors import ConfigError


def trust_file(path: str | None, *, revoke: bool = False, cwd: str | None = None) -> dict:
    from .fsutil import atomic_write_text, ensure_private_dir, file_lock

    # A token in a config file is an error for every command, this one too: trusting
    # such a file would bless a secret kept in a repository.
    cwd = cwd or paths.working_dir()
    config.load(cwd)
    target = path or find_project_file(cwd)
    if target is None:
        raise ConfigError(f"no {paths.PROJECT_FILE} here or above; name the file to trust")
    real = os.path.realpath(target)
    named = config.read_file(real, "project")
    if named.error is None:
        config.check_secrets(named)
    try:
        with open(real, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"{target}: cannot be read: {exc.strerror or exc}") from None
    store = paths.trust_file()
    ensure_private_dir(os.path.dirname(store))
    with file_lock(store + ".lock"):
        try:
            with open(store, encoding="utf-8") as fh:
                records = json.load(fh)
            if not isinstance(records, dict):
                records = {}
        except FileNotFoundError:
            records = {}
        except (OSError, ValueError, RecursionError):
            records = {}  # a corrupt store trusts nothing; rewriting it is safe
        if revoke:
            records.pop(real, None)
        else:
            records[real] = digest
        atomic_write_text(store, json.dumps(records, indent=2, sort_keys=True), default_mode=0o600)
    return {"path": real, "sha256": digest, "trusted": not revoke}
