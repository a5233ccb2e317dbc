"""`ctxscope config`: every effective setting, its value and where it came from.

Like `git config --list --show-origin`: each setting with `file:line`, `env VAR`
or `default`, then the files that were read and whether the project file is
trusted. The token is only ever shown as set / not set.
"""

from __future__ import annotations

import json
import os

from .. import paths
from ..config import TRUSTED_ONLY

TOKEN_VAR = "CTXSCOPE_TOKEN"


def _redact_url(value):
    """A URL with credentials in it (refused elsewhere) must not be printed as is."""
    if isinstance(value, list):
        return [_redact_url(v) for v in value]
    if isinstance(value, str) and "@" in value and "://" in value:
        scheme, _, rest = value.partition("://")
        host_part, sep, path = rest.partition("/")
        if "@" in host_part:
            return f"{scheme}://***@{host_part.rsplit('@', 1)[1]}{sep}{path}"
    return value


def settings_rows(config, env) -> list[dict]:
    """Every effective setting as {key, value, origin}, in a stable order."""
    from .. import observe

    rows: list[dict] = []
    scope_row = {"key": "scope", "value": None, "origin": "default"}
    for cf in (config.project, config.user):
        if cf is not None and not cf.error and "scope" in cf.data:
            scope_row = {"key": "scope", "value": cf.data["scope"], "origin": cf.where("scope")}
            break
    rows.append(scope_row)
    for key, setting in config.settings.items():
        value = _redact_url(setting.value) if key == "cloud.url" else setting.value
        rows.append({"key": key, "value": value, "origin": setting.origin})
        if key == "cloud.key_file":
            rows.append(
                {
                    "key": "cloud.token",
                    "value": _token_state(env.get(TOKEN_VAR)),
                    "origin": f"env {TOKEN_VAR}",
                }
            )
            rows.append(
                {
                    "key": "cloud.password",
                    "value": "set" if env.get("CTXSCOPE_ETCD_PASSWORD") else "not set",
                    "origin": "env CTXSCOPE_ETCD_PASSWORD",
                }
            )
    if config.settings.get("log.path") is not None and config["log.path"] is None:
        from ..events import log_path

        for row in rows:
            if row["key"] == "log.path":
                row["effective"] = log_path(config)

    found, allow, _warnings = observe.observers(config, paths.working_dir())
    allow_origin = "default"
    if (
        config.user is not None
        and isinstance(config.user.data.get("observe"), dict)
        and "allow_paths" in config.user.data["observe"]
    ):
        allow_origin = config.user.where("observe.allow_paths")
    rows.append({"key": "observe.allow_paths", "value": allow, "origin": allow_origin})
    for obs in found:
        rows.append({"key": f"observe.{obs.name}", "value": _describe(obs), "origin": obs.declared})
    return rows


def _describe(obs) -> str:
    if obs.problem:
        return f"invalid: {obs.problem}"
    if obs.preset:
        what = f"preset {obs.preset}"
    elif obs.env:
        what = "env " + ", ".join(obs.env)
    else:
        what = f"file {obs.file} key {obs.key}"
    if obs.map:
        what += " map {" + ", ".join(f"{k} = {v}" for k, v in obs.map.items()) + "}"
    return what


def files_info(config) -> list[dict]:
    """The files a command reads or writes, and the project file's trust."""
    from ..events import log_path

    user_path = paths.user_config_file()
    info = []
    project = config.project
    if project is not None:
        ignored = [] if project.trusted else [t for t in TRUSTED_ONLY if t in project.data]
        info.append(
            {
                "kind": "project",
                "path": project.path,
                "exists": True,
                "trusted": project.trusted,
                "error": project.error.message if project.error else None,
                "ignored": ignored,
            }
        )
    else:
        info.append(
            {"kind": "project", "path": None, "exists": False, "trusted": None, "error": None, "ignored": []}
        )
    user = config.user
    info.append(
        {
            "kind": "user",
            "path": user_path,
            "exists": user is not None,
            "trusted": True,
            "error": user.error.message if user and user.error else None,
            "origin": "env CTXSCOPE_CONFIG" if os.environ.get("CTXSCOPE_CONFIG") else "default",
        }
    )
    info.append(
        {"kind": "trust_store", "path": paths.trust_file(), "exists": os.path.exists(paths.trust_file())}
    )
    info.append({"kind": "drift_log", "path": log_path(config), "exists": os.path.exists(log_path(config))})
    info.append({"kind": "cache_dir", "path": paths.cache_dir(), "exists": os.path.isdir(paths.cache_dir())})
    return info


def _shown(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value or '""'
    return json.dumps(value, ensure_ascii=False)


def _file_state(f: dict) -> str:
    if f["kind"] == "project":
        if f["path"] is None:
            return "none (no .ctxscope.toml here or above)"
        if f["error"]:
            return f"unreadable: {f['error']}"
        if f["trusted"]:
            return "trusted: every section counts"
        if not f["ignored"]:
            return "not trusted; nothing in it needs trust"
        return (
            "NOT trusted: only scope, [fallback] and [policy] count; ignored: "
            + ", ".join(f"[{t}]" for t in f["ignored"])
            + f"; review it, then `ctxscope trust {f['path']}`"
        )
    if f["kind"] == "user":
        where = f" (from {f['origin']})" if f.get("origin") != "default" else ""
        if not f["exists"]:
            return "not found" + where
        return (f"unreadable: {f['error']}" if f["error"] else "read") + where
    return "exists" if f["exists"] else "not created yet"


def config(*, key: str | None = None, json_out: bool = False) -> int:
    """List every effective setting with its value and origin, then the files read.

    With `key`, print only that setting's value (exit 1 when it is not set).
    """
    from .. import config as config_mod
    from ..errors import UsageError
    from ..output import print_json, warn_all

    cfg = config_mod.load(paths.working_dir(), os.environ)
    rows = settings_rows(cfg, os.environ)
    if key is not None:
        row = next((r for r in rows if r["key"] == key), None)
        if row is None:
            raise UsageError(f"unknown setting {key!r}", hint="run `ctxscope config` to list every setting")
        if json_out:
            print_json(row)
        elif row["value"] is not None:
            value = row["value"]
            print(value if isinstance(value, str) else _shown(value))
        return 0 if row["value"] is not None else 1

    warn_all(cfg.warnings)
    files = files_info(cfg)
    if json_out:
        print_json({"settings": rows, "files": files, "warnings": list(cfg.warnings)})
        return 0

    from ..render import make_console, print_config

    settings = []
    for row in rows:
        value = _shown(row["value"])
        if "effective" in row:
            value = f"- ({row['effective']})"
        settings.append((row["key"], value, row["origin"]))
    names = {
        "project": "project file",
        "user": "user config",
        "trust_store": "trust store",
        "drift_log": "drift log",
        "cache_dir": "cloud cache",
    }
    print_config(
        settings, [(names[f["kind"]], f["path"] or "-", _file_state(f)) for f in files], make_console()
    )
    return 0


def _token_state(token: str | None) -> str:
    """How `config` shows the token: never its value."""
    from ..sanitize import token_problem

    if not token:
        return "not set"
    problem = token_problem(token)
    return f"set, but not usable: it {problem}" if problem else "set"
