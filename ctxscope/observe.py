"""Observed sources: the other places a project id lives, shown beside the scope.

The memory service reads `CTX_SCOPE`, but traces go to `LANGSMITH_PROJECT`, LLM
calls carry `OPENAI_PROJECT_ID` and a local server keeps its own default
project. An observer reads one of those (an environment variable, or a key in a
JSON or TOML file), maps the resolved scope to that tool's id, and reports
whether they agree. Observers never take part in resolution, are never
written, and never stop a command: a bad, unset or unreadable observer is a
row with that state, not an error.

Safety (the trust boundary): observers come from the user config and from a
*trusted* project file only (config.py drops `[observe]` from untrusted ones);
a file is read only when its real path lies inside the user's home or the
repository, unless the user config lists it in `[observe] allow_paths`; no
observer ever runs a command.

    [[observe.sources]]
    preset = "langsmith"
    map = { workout = "workout-traces" }

    [[observe.sources]]
    name = "memory-server"
    file = "~/.memsrv/config.json"
    key = "default_project"

or, for presets only, the short form `observe = ["langsmith", "openai"]`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from .sources.local import repository_root


class Preset(NamedTuple):
    env: tuple[str, ...] | None
    file: str | None
    key: str | None
    title: str
    doc: str


# Only tools whose variable or file is documented publicly; docs/how-to/observe.md cites each
# `doc`. Environment variables are listed in the tool's own order of precedence.
PRESETS: dict[str, Preset] = {
    "langsmith": Preset(
        ("LANGSMITH_PROJECT", "LANGCHAIN_PROJECT"),
        None,
        None,
        "LangSmith tracing project",
        "https://docs.smith.langchain.com/how_to_guides/tracing/log_traces_to_project",
    ),
    "openai": Preset(
        ("OPENAI_PROJECT_ID",),
        None,
        None,
        "OpenAI API project (openai SDK)",
        "https://github.com/openai/openai-python/blob/main/src/openai/_client.py",
    ),
    "wandb": Preset(
        ("WANDB_PROJECT",),
        None,
        None,
        "Weights & Biases project",
        "https://docs.wandb.ai/guides/track/environment-variables/",
    ),
    "phoenix": Preset(
        ("PHOENIX_PROJECT", "PHOENIX_PROJECT_NAME"),
        None,
        None,
        "Arize Phoenix project",
        "https://arize.com/docs/phoenix/tracing/how-to-tracing/setup-tracing/setup-projects",
    ),
    "google-cloud": Preset(
        ("GOOGLE_CLOUD_PROJECT",),
        None,
        None,
        "Google Cloud project (Gen AI SDK on Vertex AI)",
        "https://github.com/googleapis/python-genai#create-a-client",
    ),
    "sentry": Preset(
        ("SENTRY_PROJECT",),
        None,
        None,
        "Sentry project (sentry-cli)",
        "https://docs.sentry.io/cli/configuration/",
    ),
    "vercel": Preset(
        None,
        ".vercel/project.json",
        "projectId",
        "Vercel linked project (vercel link)",
        "https://vercel.com/docs/cli",
    ),
    # Memory systems. Each was checked against the tool's own source at the version named.
    # basic-memory 0.22.1: the MCP server's project constraint beats everything
    # (src/basic_memory/project_resolver.py); BASIC_MEMORY_DEFAULT_PROJECT is the
    # pydantic-settings override of `default_project` (env_prefix "BASIC_MEMORY_" in
    # src/basic_memory/config.py, used in docs/Docker.md).
    "basic-memory-env": Preset(
        ("BASIC_MEMORY_MCP_PROJECT", "BASIC_MEMORY_DEFAULT_PROJECT"),
        None,
        None,
        "basic-memory project (MCP server constraint, default project override)",
        "https://github.com/basicmachines-co/basic-memory/blob/v0.22.1/src/basic_memory/project_resolver.py",
    ),
    # basic-memory 0.22.1: `default_project` in config.json of its data dir, which is
    # ~/.basic-memory unless BASIC_MEMORY_CONFIG_DIR or XDG_CONFIG_HOME is set
    # (resolve_data_dir in src/basic_memory/config.py). A file: `exec` cannot set it.
    "basic-memory": Preset(
        None,
        "~/.basic-memory/config.json",
        "default_project",
        "basic-memory default project (config.json)",
        "https://github.com/basicmachines-co/basic-memory/blob/v0.22.1/src/basic_memory/config.py",
    ),
    # Graphiti MCP server 1.0.2: `group_id: ${GRAPHITI_GROUP_ID:main}` in
    # mcp_server/config/config.yaml (a --group-id argument beats it).
    "graphiti": Preset(
        ("GRAPHITI_GROUP_ID",),
        None,
        None,
        "Graphiti MCP server group id",
        "https://github.com/getzep/graphiti/blob/mcp-v1.0.2/mcp_server/config/config.yaml",
    ),
}

MAX_FILE_BYTES = 1024 * 1024
_ENTRY_KEYS = ("name", "preset", "env", "file", "key", "map")
_COMMAND_KEYS = ("command", "cmd", "exec", "run", "script", "shell")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Names that hold secrets, not project ids: an observer naming one is refused. For
# variables: any name containing TOKEN, SECRET, PASSW(ORD), PASSPHRASE, API_KEY,
# CREDENTIAL or PRIVATE, or with DSN, AUTH, COOKIE or SESSION as a word (SENTRY_DSN,
# NPM_AUTH, GH_AUTH_TOKEN). For file keys: every part of the dotted path, e.g.
# `auths.<host>.auth` in ~/.docker/config.json, `db.password`, `gcp.private_key`.
_SECRET_ENV = re.compile(
    r"TOKEN|SECRET|PASSW|PASSPHRASE|API_?KEY|CREDENTIAL|PRIVATE"
    r"|(?:^|_)(?:DSN|AUTH|COOKIE|SESSION)(?:_|$)",
    re.IGNORECASE,
)
_SECRET_KEY = re.compile(
    r"token|secret|passw|passphrase|api[_-]?key|credential|private[_-]?key|cookie"
    r"|(?:^|[_-])(?:auths?|dsn|session)$|^(?:auth|dsn)[_-]",
    re.IGNORECASE,
)


class Observer(NamedTuple):
    """One configured observer. `problem` set means it is misconfigured and is shown
    as `invalid` without being read. `declared` is where it was configured."""

    name: str
    preset: str | None
    env: tuple[str, ...] | None
    file: str | None
    key: str | None
    map: dict[str, str]
    declared: str
    base: str
    problem: str | None


class Observation(NamedTuple):
    """One observer's reading, compared with the resolved scope.

    state: in_sync, drifted, unmapped (a map without an entry for this scope),
    set (nothing to compare with), unset, unreadable, not_allowed, invalid
    """

    name: str
    value: str | None
    expected: str | None
    origin: str
    state: str
    problem: str | None
    extra: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        row = {
            "name": self.name,
            "value": self.value,
            "expected": self.expected,
            "origin": self.origin,
            "state": self.state,
        }
        if self.problem:
            row["problem"] = self.problem
        if self.extra.get("preset"):
            row["preset"] = self.extra["preset"]
        return row


# --- reading the configuration -------------------------------------------------------


def observers(config, cwd: str) -> tuple[list[Observer], list[str], list[str]]:
    """(observers, allow_paths, warnings) from the user config and a trusted project file.

    An observer declared in the project file replaces a user-config one of the
    same name. `allow_paths` is honoured from the user config only.
    """
    found: dict[str, Observer] = {}
    allow: list[str] = []
    warnings: list[str] = []
    base = _base_dir(config, cwd)
    for cf in (config.user, config.project):
        if cf is None or cf.error or not cf.trusted or "observe" not in cf.data:
            continue
        section = cf.data["observe"]
        headers = _entry_lines(cf.path)
        if isinstance(section, list):  # observe = ["langsmith", "openai"]
            entries = [{"preset": item} if isinstance(item, str) else item for item in section]
            where = [cf.where("observe")] * len(entries)
        elif isinstance(section, dict):
            for key in section:
                if key not in ("sources", "allow_paths"):
                    warnings.append(f"{cf.where('observe.' + key)}: unknown key `observe.{key}` (ignored)")
            entries = section.get("sources", [])
            if not isinstance(entries, list):
                warnings.append(
                    f"{cf.where('observe.sources')}: `observe.sources` must be "
                    "an array of tables ([[observe.sources]]); ignored"
                )
                entries = []
            where = [
                f"{cf.path}:{headers[i]}" if i < len(headers) else cf.where("observe.sources")
                for i in range(len(entries))
            ]
            if "allow_paths" in section:
                paths = section["allow_paths"]
                if cf.kind != "user":
                    warnings.append(
                        f"{cf.where('observe.allow_paths')}: `observe.allow_paths` "
                        "counts only in the user config (ignored)"
                    )
                elif not (isinstance(paths, list) and all(isinstance(p, str) for p in paths)):
                    warnings.append(
                        f"{cf.where('observe.allow_paths')}: `observe.allow_paths` "
                        "must be a list of paths (ignored)"
                    )
                else:
                    allow.extend(paths)
        else:
            warnings.append(
                f"{cf.where('observe')}: `observe` must be a list of preset names "
                "or an [observe] table; ignored"
            )
            continue
        for index, entry in enumerate(entries):
            obs = _parse_entry(entry, where[index], base, index)
            found.pop(obs.name, None)
            found[obs.name] = obs
    return list(found.values()), allow, warnings


def _base_dir(config, cwd: str) -> str:
    """Relative observer paths start at the repository root (else the project file's dir, else cwd)."""
    root = repository_root(cwd)
    if root:
        return root
    if config.project is not None:
        return os.path.dirname(config.project.path)
    return os.path.abspath(cwd)


def _entry_lines(path: str) -> list[int]:
    """Line numbers of each `[[observe.sources]]` header, for origins like `file:12`."""
    from .fsutil import read_regular

    try:
        text = read_regular(path).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    header = re.compile(r"\s*\[\[\s*observe\s*\.\s*sources\s*\]\]")
    return [n for n, line in enumerate(text.splitlines(), 1) if header.match(line)]


def _parse_entry(entry, declared: str, base: str, index: int) -> Observer:
    def bad(name: str, problem: str) -> Observer:
        return Observer(name, None, None, None, None, {}, declared, base, problem)

    if not isinstance(entry, dict):
        return bad(f"observer #{index + 1}", "must be a preset name or a table")
    name = entry.get("name")
    preset = entry.get("preset")
    label = (
        name
        if isinstance(name, str) and name
        else (preset if isinstance(preset, str) and preset else f"observer #{index + 1}")
    )
    commands = [k for k in entry if k in _COMMAND_KEYS]
    if commands:
        return bad(label, f"`{commands[0]}`: observers never run commands; read an env var or a file instead")
    unknown = [k for k in entry if k not in _ENTRY_KEYS]
    if unknown:
        return bad(label, f"unknown key `{unknown[0]}` (known: {', '.join(_ENTRY_KEYS)})")
    if "name" in entry and not (isinstance(name, str) and name.strip()):
        return bad(label, "`name` must be a non-empty string")
    mapping = entry.get("map", {})
    if not isinstance(mapping, dict) or not all(isinstance(v, str) and v for v in mapping.values()):
        return bad(label, '`map` must be a table of scope = "tool id" strings')

    if preset is not None:
        if not isinstance(preset, str) or preset not in PRESETS:
            return bad(label, f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
        extra = [k for k in ("env", "file", "key") if k in entry]
        if extra:
            return bad(
                label,
                f"`{extra[0]}` cannot be combined with a preset; use name + env/file for a custom observer",
            )
        p = PRESETS[preset]
        return Observer(label, preset, p.env, p.file, p.key, mapping, declared, base, None)

    if not isinstance(name, str):
        return bad(label, "needs `preset`, or `name` with `env` or `file` + `key`")
    env, file, key = entry.get("env"), entry.get("file"), entry.get("key")
    if (env is None) == (file is None):
        return bad(label, "needs exactly one of `env` or `file`")
    if env is not None:
        names = [env] if isinstance(env, str) else env
        if not (
            isinstance(names, list)
            and names
            and all(isinstance(n, str) and _ENV_NAME.match(n) for n in names)
        ):
            return bad(label, "`env` must be a variable name or a list of them")
        secret = next((n for n in names if _SECRET_ENV.search(n)), None)
        if secret:
            return bad(label, f"`{secret}` looks like a secret; observers read project ids only")
        if key is not None:
            return bad(label, "`key` goes with `file`, not `env`")
        return Observer(label, None, tuple(names), None, None, mapping, declared, base, None)
    if not isinstance(file, str) or not file.strip():
        return bad(label, "`file` must be a path")
    if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
        return bad(label, '`file` needs `key`, a dotted key path such as "project.id"')
    if any(_SECRET_KEY.search(part) for part in key.split(".")):
        return bad(label, f"key `{key}` looks like a secret; observers read project ids only")
    return Observer(label, None, None, file, key, mapping, declared, base, None)


# --- reading the values ----------------------------------------------------------------


def read(obs: Observer, env, allowed_roots: list[str]) -> Observation:
    """Read one observer's current value (not yet compared)."""
    extra = {"preset": obs.preset, "declared": obs.declared}
    if obs.problem:
        return Observation(obs.name, None, None, obs.declared, "invalid", obs.problem, extra)
    if obs.env:
        for var in obs.env:
            value = env.get(var)
            if value:
                return _with_value(
                    Observation(obs.name, None, None, f"env {var}", "set", None, {**extra, "env": var}), value
                )
        return Observation(
            obs.name, None, None, "env " + " / ".join(obs.env), "unset", None, {**extra, "env": obs.env[0]}
        )
    return _read_file(obs, allowed_roots, extra)


def file_path(obs: Observer) -> str | None:
    """The absolute path an observer reads (`~` expanded, relative to the repository root)."""
    if not obs.file or obs.problem:
        return None
    path = os.path.expanduser(obs.file)
    return os.path.normpath(os.path.join(obs.base, path))


def _shown(path: str) -> str:
    home = os.path.expanduser("~")
    if home not in ("", "/") and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:
        return False


def _read_file(obs: Observer, allowed_roots: list[str], extra: dict[str, Any]) -> Observation:
    path = file_path(obs)
    assert path is not None and obs.key is not None  # read() sends only file observers here
    origin = f"{_shown(path)}: {obs.key}"
    extra = {**extra, "path": path, "key": obs.key}

    def row(state: str, problem: str | None = None, value=None) -> Observation:
        return Observation(obs.name, value, None, origin, state, problem, extra)

    real = os.path.realpath(path)
    if not any(_inside(real, root) for root in allowed_roots):
        via = f" (a link to {real})" if real != path else ""
        return row(
            "not_allowed",
            f"outside your home and the repository{via}; allow it with "
            "[observe] allow_paths in the user config",
        )
    from .fsutil import UnsafeFile, read_regular

    try:
        # Non-blocking open, checked on the descriptor: a FIFO, device or /proc file, or
        # one over the cap, is refused before a byte is read.
        raw = read_regular(real, cap=MAX_FILE_BYTES)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        return row("unset", "no such file")
    except IsADirectoryError:
        return row("unreadable", "not a regular file")
    except UnsafeFile as exc:
        reason = exc.strerror or ""
        return row("unreadable", "larger than 1 MiB" if "larger" in reason else "not a regular file")
    except OSError as exc:
        return row("unreadable", exc.strerror or str(exc))
    except UnicodeDecodeError:
        return row("unreadable", "not UTF-8 text")
    try:
        document = _parse(text, real)
    except ValueError as exc:
        return row("unreadable", str(exc))
    found, value = _lookup(document, obs.key)
    if not found or value is None or value == "":
        return row("unset", f"no `{obs.key}` in the file" if not found else None)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return row("invalid", f"`{obs.key}` is {type(value).__name__}, not a string")
    return _with_value(row("set"), str(value))


def _with_value(row: Observation, value: str) -> Observation:
    """`row` holding `value`, unless the value is a secret.

    Credentials inside a URL are masked (`postgres://***@db/app`) before the value
    is kept, so no output, log line or MCP answer can show them; a private key or
    the cloud token is never kept at all.
    """
    from .sanitize import TOKEN_VAR, mask_url_credentials

    if "PRIVATE KEY-----" in value or value.lstrip().startswith("-----BEGIN"):
        return row._replace(
            state="invalid", problem="holds a key or certificate, not a project id (not shown)"
        )
    token = os.environ.get(TOKEN_VAR)
    if token and len(token.strip()) >= 6 and token.strip() in value:
        return row._replace(state="invalid", problem="holds the cloud token (not shown)")
    masked = mask_url_credentials(value)
    if masked != value:
        return row._replace(value=masked, problem="credentials in the URL are masked")
    return row._replace(value=value)


def _parse(text: str, path: str):
    """JSON for `.json`, TOML for `.toml`; anything else: JSON, then TOML."""
    import json
    import tomllib

    lower = path.lower()
    kinds: tuple[str, ...]
    if lower.endswith(".toml"):
        kinds = ("toml",)
    elif lower.endswith(".json"):
        kinds = ("json",)
    else:
        kinds = ("json", "toml")
    problems = []
    for kind in kinds:
        try:
            return json.loads(text) if kind == "json" else tomllib.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"invalid TOML: {exc}")
        except RecursionError:
            problems.append(f"invalid {kind.upper()}: nested too deeply")
    if len(kinds) > 1:
        raise ValueError("neither JSON nor TOML")
    raise ValueError(problems[0])


def _lookup(document, dotted: str):
    """Follow a dotted key path; a numeric part indexes a list. Returns (found, value)."""
    node = document
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


# --- comparing and folding into a Resolution -----------------------------------------


def compare(row: Observation, mapping: dict, resolved: str | None) -> Observation:
    """Set `expected` and the final state: the tool's id for the resolved scope vs its value."""
    if resolved is None:
        return row
    expected = mapping.get(resolved, resolved)
    row = row._replace(expected=expected)
    if row.state != "set":
        return row
    if row.value == expected:
        return row._replace(state="in_sync")
    other = next((s for s, tool_id in mapping.items() if tool_id == row.value), None)
    if other is not None:
        return row._replace(
            state="drifted", problem=f"expected {expected!r}", extra={**row.extra, "belongs_to": other}
        )
    if mapping and resolved not in mapping:
        return row._replace(state="unmapped", problem=f"map has no entry for scope {resolved!r}")
    return row._replace(state="drifted", problem=f"expected {expected!r}")


def allowed_roots(config, cwd: str, allow_paths: list[str]) -> list[str]:
    """Where observer files may be: home, the repository, and the user's `allow_paths`.

    A home or repository that is the filesystem root would allow everything, so
    it does not count; only an explicit `allow_paths = ["/"]` can do that.
    """
    implicit = [os.path.expanduser("~")]
    repo = repository_root(cwd)
    if repo is None and config.project is not None:
        repo = os.path.dirname(config.project.path)
    if repo:
        implicit.append(repo)
    roots = [r for r in map(os.path.realpath, implicit) if os.path.dirname(r) != r]
    roots.extend(os.path.realpath(os.path.expanduser(p)) for p in allow_paths)
    return roots


def observe_all(config, env, cwd: str, resolved: str | None) -> tuple[list[Observation], list[str]]:
    """Read and compare every configured observer. Never raises for a bad observer."""
    found, allow, warnings = observers(config, cwd)
    roots = allowed_roots(config, cwd, allow)
    rows = [compare(read(obs, env, roots), obs.map, resolved) for obs in found]
    return rows, warnings


def apply(res, ctx):
    """Return `res` with `observed` filled, `observed_mismatch` problems and the state updated."""
    from .kinds import ACTIONS, Problem

    rows, warnings = observe_all(ctx.config, ctx.env, ctx.cwd, res.resolved_scope)
    problems = list(res.problems)
    for row in rows:
        if row.state != "drifted":
            continue
        detail = (
            f"{row.name}: {row.value!r} ({row.origin}) differs from the expected "
            f"{row.expected!r} for scope {res.resolved_scope!r}"
        )
        if row.extra.get("belongs_to"):
            detail += f"; it is the id of scope {row.extra['belongs_to']!r}"
        problems.append(
            Problem("observed_mismatch", ACTIONS["observed_mismatch"], f"observed:{row.name}", detail)
        )
    state = res.state
    if state == "SYNCED" and len(problems) > len(res.problems):
        state = "DRIFTED"
    return res._replace(
        observed=tuple(rows), problems=tuple(problems), state=state, warnings=(*res.warnings, *warnings)
    )


def fix_hint(row: Observation) -> str:
    """How the user changes an observed tool's id (ctxscope never writes it)."""
    import shlex

    if row.extra.get("env"):
        return f"export {row.extra['env']}={shlex.quote(row.expected or '')}"
    return f"set `{row.extra.get('key')}` to {row.expected!r} in {_shown(row.extra.get('path', ''))}"
