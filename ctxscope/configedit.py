"""Editing settings: `ctxscope config set KEY VALUE` and `config unset KEY`.

Plan, then apply, like every other write: `plan_edit` only reads and returns a
`ConfigEdit` (which file, the value before and after); `apply_edit` takes the
file's lock (the same one scope writes take), reads the file fresh, changes the
one key with tomlkit (comments and layout kept), replaces the file atomically,
reads it back with a fresh parse, keeps a trusted project file trusted (only this
edit changed it) and appends a `config_changed` event.

The rollout mode (`[policy] mode`) governs scope reconciliation, not the user's
own settings: `config set policy.mode local` is how a mode is changed, so it is
not refused in `observe` mode.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from typing import NamedTuple

from . import config as config_mod
from . import paths
from .errors import ConfigError, UsageError, VerificationError
from .scope import display, scope_problem

SCOPE_KEYS = ("fallback.project",)
FILE_NAMES = {"user": "user config", "project": "project file"}
FILE_KINDS = ("user", "project")


class ConfigEdit(NamedTuple):
    """One planned edit. `after` None means the key is removed."""

    key: str
    path: str
    kind: str  # "user" or "project"
    before: object
    after: object
    note: str | None = None  # why the effective value will not be `after`, when it will not

    @property
    def action(self) -> str:
        if self.after is None:
            return "unset"
        return "set" if os.path.lexists(self.path) else "create"

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "file": self.kind,
            "target": self.path,
            "before": self.before,
            "after": self.after,
            "action": self.action,
            "note": self.note,
        }


class Edited(NamedTuple):
    target: str
    before: object
    after: object
    changed: bool
    verified: bool


def editable_keys() -> list[str]:
    """Every key `config set` accepts, in the order `config` lists them."""
    return list(config_mod.SCHEMA)


def check_key(key: str) -> None:
    """Refuse a key `config set` cannot write, saying what to do instead."""
    last = key.rsplit(".", 1)[-1].lower()
    if last in config_mod.SECRET_KEYS or key.lower() in ("cloud.token", "token"):
        raise UsageError(
            f"{key!r} is a secret and never lives in a config file",
            hint="set it in the environment, e.g. export CTXSCOPE_TOKEN=...",
        )
    if key == "scope":
        raise UsageError(
            "the scope is not a setting `config set` writes: it is checked with the cloud first",
            hint="ctxscope init --scope SCOPE (this repository), or ctxscope sync / "
            "ctxscope repair --to SCOPE",
        )
    if key.split(".", 1)[0] == "observe":
        raise UsageError(
            f"{key!r}: observed sources are tables; edit the file by hand",
            hint="see `ctxscope config` for the file that holds them",
        )
    if key not in editable_keys():
        raise UsageError(
            f"unknown setting {display(key)!r}", hint="run `ctxscope config` to list every setting"
        )


def parse_value(key: str, text: str) -> object:
    """The TOML value for `config set KEY TEXT`: what the setting's rule accepts.

    Scopes are always strings; otherwise a TOML literal (`2.5`, `true`,
    `["A", "B"]`) is tried first, then, for a list setting, a comma-separated
    list (`A,B`), else the text as a string. A value no form of which the
    setting accepts is a usage error that says what it must be.
    """
    check_key(key)
    if key in SCOPE_KEYS:
        problem = scope_problem(text)
        if problem:
            raise UsageError(f"{key} {display(text)!r} {problem}")
        return text
    default, checker = config_mod.SCHEMA[key]
    candidates: list[object] = []
    with contextlib.suppress(tomllib.TOMLDecodeError, RecursionError):
        candidates.append(tomllib.loads(f"v = {text}")["v"])
    if isinstance(default, list):
        candidates = [c for c in candidates if isinstance(c, list)]
        candidates.append([part.strip() for part in text.split(",")])
    else:
        candidates.append(text)
    problem = None
    for value in candidates:
        if isinstance(value, dict):
            continue
        problem = checker(value)
        if problem is None:
            return value
    raise UsageError(f"{key} {display(text)!r}: {problem}")


def choose_file(config, key: str, where: str | None, cwd: str) -> tuple[str, str]:
    """The file an edit goes to: `--user`, `--project`, else where the key is set now.

    A key set in neither file goes to the user config: a person's settings do not
    land in a repository's shared file unless `--project` says so. `--project`
    without a project file creates `.ctxscope.toml` at the repository root.
    """
    if where == "user":
        return paths.user_config_file(), "user"
    if where == "project":
        if config.project is not None:
            return config.project.path, "project"
        from .sources.local import repository_root

        root = repository_root(cwd) or os.path.abspath(cwd)
        return os.path.join(root, paths.PROJECT_FILE), "project"
    for cf in (config.project, config.user):
        if cf is not None and not cf.error and get_key(cf.data, key) is not None:
            return cf.path, cf.kind
    return paths.user_config_file(), "user"


def plan_edit(
    config, key: str, value: object, *, where: str | None = None, cwd: str | None = None
) -> ConfigEdit:
    """What `config set` (value) or `config unset` (value None) would change, and where."""
    check_key(key)
    cwd = cwd or paths.working_dir()
    path, kind = choose_file(config, key, where, cwd)
    cf = _file(config, kind, path)
    if cf is not None and cf.error is not None:
        raise ConfigError(
            f"{cf.error.message}; not editing a file that cannot be parsed",
            hint=f"fix it by hand first ({path})",
        )
    before = get_key(cf.data, key) if cf is not None else None
    return ConfigEdit(key, path, kind, before, value, _note(config, key, kind, path, value))


def _file(config, kind: str, path: str):
    cf = config.project if kind == "project" else config.user
    if cf is not None and os.path.realpath(cf.path) == os.path.realpath(path):
        return cf
    if os.path.lexists(path):
        return config_mod.read_file(path, kind)
    return None


def get_key(data: dict, key: str) -> object:
    """The value of the dotted `key` in parsed TOML `data`, or None (a table is not a value)."""
    node: object = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return None if isinstance(node, dict) else node


def _note(config, key: str, kind: str, path: str, value: object) -> str | None:
    """Why the effective value will still not be `value` after the edit, if it will not."""
    var = config_mod.ENV_OVERRIDES.get(key)
    if var and os.environ.get(var):
        return f"env {var} is set and overrides every file"
    top = key.split(".", 1)[0]
    project = config.project
    if kind == "project" and top in config_mod.TRUSTED_ONLY and not (project and project.trusted):
        return (
            f"[{top}] in a project file counts only once the file is trusted: review it, "
            f"then run `ctxscope trust {path}`"
        )
    if kind == "user" and project is not None and not project.error:
        honoured = project.trusted or top not in config_mod.TRUSTED_ONLY
        if honoured and get_key(project.data, key) is not None:
            return (
                f"the project file sets {key} too ({project.where(key)}) and wins over "
                "the user config; use --project to change it there"
            )
    return None


def apply_edit(edit: ConfigEdit, ctx, *, command: str = "config") -> Edited:
    """Write the edit under the file's lock, read it back, keep trust, log it."""
    import hashlib

    from .fsutil import atomic_write_text, ensure_private_dir, file_lock
    from .sources.local import lock_path
    from .tomledit import remove_key, set_value
    from .trust import record_trust

    path = edit.path
    if edit.kind == "user":
        ensure_private_dir(os.path.dirname(path) or ".")
    real = os.path.realpath(path)
    with file_lock(lock_path(real), timeout=10.0):
        raw = _read(real)
        text = "" if raw is None else _decode(raw, path)
        before = get_key(config_mod.parse_toml(text, path), edit.key)
        if edit.after is None:
            new = remove_key(text, edit.key, path=path)
        else:
            new = set_value(text, edit.key, edit.after, path=path)
        if new == text:
            return Edited(path, before, edit.after, False, True)
        trusted = (
            edit.kind == "project"
            and raw is not None
            and config_mod.is_trusted(real, hashlib.sha256(raw).hexdigest())
        )
        atomic_write_text(path, new, default_mode=0o600 if edit.kind == "user" else 0o644)
        found_raw = _read(real)
        found = (
            None
            if found_raw is None
            else get_key(config_mod.parse_toml(_decode(found_raw, path), path), edit.key)
        )
        if found != edit.after:
            raise VerificationError(
                f"{path}: read-after-write mismatch for {edit.key}: wrote "
                f"{_shown(edit.after)}, read back {_shown(found)}",
                hint="something else changed the file at the same moment; run `ctxscope config`",
            )
        if trusted:
            record_trust(real, hashlib.sha256(new.encode("utf-8")).hexdigest())
    done = Edited(path, before, edit.after, True, True)
    _log(done, edit, ctx, command)
    return done


def _read(real: str) -> bytes | None:
    try:
        with open(real, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{real}: cannot be read: {exc.strerror or exc}") from None


def _decode(raw: bytes, path: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not valid UTF-8; not editing it") from None


def _shown(value: object) -> str:
    return "(unset)" if value is None else repr(value)


def _log(done: Edited, edit: ConfigEdit, ctx, command: str) -> None:
    if command == "config":
        command = "config unset" if edit.after is None else "config set"
    from .events import append, base_event
    from .resolver import resolve

    res = resolve(context=ctx, log=False)
    event = base_event("config_changed", res, command)
    event.update(
        key=edit.key, target=done.target, before=done.before, after=done.after, verified=done.verified
    )
    warning = append(event, ctx.config)
    if warning:
        from .output import err

        err("warning", warning)
