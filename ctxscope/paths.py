"""Where ctxscope keeps its files. Looked up on every call, never at import time.

On Linux the XDG rules are applied here directly: they are four lines, and
importing platformdirs (which pulls in pathlib) costs more than the rest of a
cached `ctxscope resolve`. A test checks that both give the same answer. Other
platforms use platformdirs itself.
"""

from __future__ import annotations

import os
import sys

APP = "ctxscope"
PROJECT_FILE = ".ctxscope.toml"

_XDG = {
    "config": ("XDG_CONFIG_HOME", ".config"),
    "cache": ("XDG_CACHE_HOME", ".cache"),
    "state": ("XDG_STATE_HOME", ".local/state"),
    "data": ("XDG_DATA_HOME", ".local/share"),
}


def _user_dir(kind: str) -> str:
    if sys.platform.startswith("linux"):
        var, default = _XDG[kind]
        base = os.environ.get(var, "").strip()
        if not base or not os.path.isabs(base):
            base = os.path.join(os.path.expanduser("~"), default)
        return os.path.join(base, APP)
    import platformdirs

    return getattr(platformdirs, f"user_{kind}_dir")(APP)


def working_dir() -> str:
    """The working directory, or a one-line error when it was deleted under us."""
    try:
        return os.getcwd()
    except FileNotFoundError:
        from .errors import ConfigError

        raise ConfigError(
            "the working directory no longer exists", hint="cd to an existing directory"
        ) from None


def config_dir() -> str:
    return _user_dir("config")


def cache_dir() -> str:
    return _user_dir("cache")


def state_dir() -> str:
    return _user_dir("state")


def user_config_file() -> str:
    """`CTXSCOPE_CONFIG`, else `config.toml` in the user config dir."""
    return os.environ.get("CTXSCOPE_CONFIG") or os.path.join(config_dir(), "config.toml")


def default_log_file() -> str:
    return os.path.join(state_dir(), "drift.jsonl")


def trust_file() -> str:
    return os.path.join(state_dir(), "trusted.json")


def repository_root(cwd: str) -> str | None:
    """The nearest directory from `cwd` upward holding `.git` (a directory or a worktree file)."""
    directory = os.path.abspath(cwd)
    while True:
        if os.path.lexists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def project_root(project_file: str) -> str:
    """The directory tree a project file belongs to: its repository, else its own directory.

    A project file's real path (every link resolved) must lie inside this tree's
    real path to be read or written.
    """
    directory = os.path.dirname(os.path.abspath(project_file))
    return repository_root(directory) or directory


def home_dir() -> str:
    return os.path.realpath(os.path.expanduser("~"))
