"""Config files: find them, parse them, apply the trust gate, merge settings with origins.

Two files can hold settings: the project file (the nearest `.ctxscope.toml`
walking up from the working directory) and the user config. The project file
wins key by key; an environment variable beats both. A project file arrives with
`git clone`, so until the user trusts it only `scope`, `[fallback]` and
`[policy]` count (the trust boundary). Every setting keeps its origin, the way
`git config --show-origin` does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Mapping

from . import paths
from .errors import ConfigError

# key -> (default, checker). A checker returns an error text or None.
# The tables a project file may hold that count only once the file is trusted.
TRUSTED_ONLY = ("cloud", "runtime", "log", "observe")
_ALWAYS = ("scope", "fallback", "policy")
ENV_OVERRIDES = {
    "cloud.url": "CTXSCOPE_CLOUD_URL",
    "cloud.backend": "CTXSCOPE_CLOUD_BACKEND",
    "cloud.user": "CTXSCOPE_ETCD_USER",
    "log.path": "CTXSCOPE_LOG",
}
SECRET_KEYS = ("token", "api_key", "apikey", "secret", "password")


def _string(v):
    return None if isinstance(v, str) else "must be a string"


def _urls(v):
    """One URL, or (for the etcd backend) a non-empty list of endpoint URLs."""
    if isinstance(v, str):
        return None
    if isinstance(v, list) and v and all(isinstance(u, str) and u for u in v):
        return None
    return "must be a URL string or a non-empty list of URL strings"


def _positive(v):
    ok = isinstance(v, int | float) and not isinstance(v, bool) and v > 0
    return None if ok else "must be a number greater than 0"


def _non_negative(v):
    ok = isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
    return None if ok else "must be a number, 0 or more"


def _choice(*choices):
    def check(v):
        return None if v in choices else "must be one of " + ", ".join(map(repr, choices))

    return check


def _directories(v):
    ok = isinstance(v, list) and all(isinstance(d, str) and d for d in v)
    return None if ok else "must be a list of directory paths"


def _env_names(v):
    ok = (
        isinstance(v, list)
        and v
        and all(isinstance(n, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in v)
    )
    if not ok:
        return "must be a non-empty list of environment variable names"
    if any(n.upper() == "CTXSCOPE_TOKEN" for n in v):
        # Read as a scope, the token would be printed, logged and sent as a path segment.
        return "must not name CTXSCOPE_TOKEN: the token is never read as a scope"
    return None


SCHEMA = {
    "cloud.backend": ("http", _choice("http", "etcd")),
    "cloud.url": (None, _urls),
    "cloud.prefix": ("/ctxscope", _string),
    "cloud.user": (None, _string),
    "cloud.timeout": (2.0, _positive),
    "cloud.cache_ttl": (60, _non_negative),
    "cloud.ca_file": (None, _string),
    "cloud.cert_file": (None, _string),
    "cloud.key_file": (None, _string),
    "fallback.policy": ("fail", _choice("fail", "project", "identity")),
    "fallback.project": (None, lambda v: None),  # validated as a scope by the fallback source
    "fallback.identity_prefix": ("", _string),
    "policy.mode": ("local", _choice("observe", "local", "cloud", "enforce")),
    "log.path": (None, _string),
    "log.dedupe_seconds": (300, _non_negative),
    "log.max_bytes": (1_048_576, _positive),
    "log.keep": (3, _non_negative),
    "log.otlp_endpoint": (None, _string),
    "runtime.env": (["CTX_SCOPE"], _env_names),
    "safe.directories": ([], _directories),
    "safe.link_targets": ([], _directories),
}
# Settings that only the user config (and the environment) can set: they decide which
# project files are read and where writes may land, so a repository never sets them.
_USER_ONLY = ("safe",)
SAFE_DIRECTORIES_VAR = "CTXSCOPE_SAFE_DIRECTORIES"
_UNKNOWN_SHOWN = 3  # unknown keys named one by one per file; the rest are counted


class Setting:
    """A setting's effective value and where it came from."""

    __slots__ = ("key", "origin", "value")

    def __init__(self, key: str, value: object, origin: str) -> None:
        self.key, self.value, self.origin = key, value, origin

    def __repr__(self) -> str:
        return f"Setting({self.key}={self.value!r} from {self.origin})"


class ConfigFile:
    """One parsed config file: its data, the line of each key, and any read error."""

    __slots__ = (
        "changed_since_trust",
        "data",
        "digest",
        "error",
        "kind",
        "lines",
        "owner",
        "path",
        "trusted",
    )

    def __init__(self, path: str, kind: str) -> None:
        self.path = path
        self.kind = kind  # "project" or "user"
        self.data: dict = {}
        self.lines: dict[str, int] = {}
        self.error: ConfigError | None = None
        self.digest: str | None = None
        self.owner: int | None = None  # uid owning the file read (after links)
        self.trusted = kind == "user"
        # A project file that was trusted with other content (a `git pull` changed it).
        self.changed_since_trust = False

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        return f"{self.path}:{line}" if line else self.path


class Config:
    """Everything read from config files and the environment for one command."""

    def __init__(
        self,
        project: ConfigFile | None,
        user: ConfigFile | None,
        settings: dict[str, Setting],
        warnings: list[str],
    ) -> None:
        self.project = project
        self.user = user
        self.settings = settings
        self.warnings = warnings

    def __getitem__(self, key: str):
        return self.settings[key].value

    def origin(self, key: str) -> str:
        return self.settings[key].origin

    @property
    def mode(self) -> str:
        return self["policy.mode"]


def find_project_file(cwd: str) -> str | None:
    """The nearest `.ctxscope.toml` from `cwd` upward (lexically, so no symlink loop can trap it)."""
    directory = os.path.abspath(cwd)
    while True:
        candidate = os.path.join(directory, paths.PROJECT_FILE)
        if os.path.lexists(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def read_file(path: str, kind: str) -> ConfigFile:
    """Read and parse one file; a problem is kept on the result, not raised.

    The file is read as `fsutil.read_regular` reads: non-blocking, only a regular
    file, at most `fsutil.MAX_READ_BYTES`.
    """
    from .fsutil import UnsafeFile, read_regular_stat

    cf = ConfigFile(path, kind)
    try:
        raw, st = read_regular_stat(path)
    except IsADirectoryError:
        cf.error = ConfigError(f"{path}: is a directory, not a file")
        return cf
    except UnsafeFile as exc:
        cf.error = ConfigError(f"{path}: {exc.strerror}")
        return cf
    except FileNotFoundError:
        cf.error = ConfigError(f"{path}: cannot be read (a dangling symlink?)")
        return cf
    except OSError as exc:
        cf.error = ConfigError(f"{path}: cannot be read: {exc.strerror or exc}")
        return cf
    cf.owner = st.st_uid
    cf.digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode("utf-8", "replace")) + 1
        cf.error = ConfigError(f"{path}:{line}:{column}: is not valid UTF-8")
        return cf
    try:
        cf.data = parse_toml(text, path)
    except ConfigError as exc:
        cf.error = exc
        return cf
    cf.lines = locate_keys(text)
    return cf


class Safe:
    """What the user vouches for ([safe] in the user config, CTXSCOPE_SAFE_DIRECTORIES).

    `directories`: project files in these trees are read even when another user
    owns them ("*": everywhere), like git's safe.directory. `link_targets`: a
    project file may be a link to a file in these trees (a dotfiles repository).
    Both hold real paths.
    """

    __slots__ = ("any_directory", "directories", "link_targets")

    def __init__(self, directories: list[str], link_targets: list[str]) -> None:
        from .fsutil import real_dirs

        self.any_directory = "*" in directories
        self.directories = real_dirs(d for d in directories if d != "*")
        self.link_targets = real_dirs(link_targets)

    def allows_owner(self, directory: str) -> bool:
        from .fsutil import inside

        real = os.path.realpath(directory)
        return self.any_directory or any(inside(real, d) for d in self.directories)


def safe_settings(user: ConfigFile | None, env: Mapping[str, str]) -> Safe:
    table = user.data.get("safe") if user is not None and not user.error else None
    table = table if isinstance(table, dict) else {}
    directories = table.get("directories", [])
    links = table.get("link_targets", [])
    directories = list(directories) if _directories(directories) is None else []
    links = list(links) if _directories(links) is None else []
    extra = env.get(SAFE_DIRECTORIES_VAR, "")
    directories += [d for d in extra.split(os.pathsep) if d]
    return Safe(directories, links)


def project_file_problem(cf: ConfigFile, safe: Safe) -> tuple[str | None, str | None]:
    """Why a project file that was read must not be used: (error, warning), or (None, None).

    error: its real path lies outside its repository (a link out), unless the
    target is in [safe] link_targets. warning: another user owns it (or the link
    to it), unless its directory is in [safe] directories; the file is then ignored.
    """
    from .fsutil import euid, inside

    real = os.path.realpath(cf.path)
    root = os.path.realpath(paths.project_root(cf.path))
    if not inside(real, root) and not any(inside(real, t) for t in safe.link_targets):
        return (
            f"{cf.path}: is a link to {real}, outside the repository {root}; not used "
            "(to allow it, add the target's directory to [safe] link_targets in the user "
            "config)"
        ), None
    owners = {cf.owner}
    with contextlib.suppress(OSError):
        owners.add(os.lstat(cf.path).st_uid)
    strangers = sorted(o for o in owners if o is not None and o not in (euid(), 0))
    if strangers and not safe.allows_owner(os.path.dirname(os.path.abspath(cf.path))):
        directory = os.path.dirname(os.path.abspath(cf.path))
        return None, (
            f"{cf.path}: ignored: it is owned by uid {strangers[0]}, not by you "
            f"(uid {euid()}); if you trust it, add {directory} to [safe] directories "
            f"in the user config, or to {SAFE_DIRECTORIES_VAR}"
        )
    return None, None


def parse_toml(text: str, path: str) -> dict:
    import tomllib

    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: arrays or tables nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        if m:
            reason = msg[: m.start()].strip()
            raise ConfigError(f"{path}:{m[1]}:{m[2]}: invalid TOML: {reason}") from None
        m = re.search(r"\(at end of document\)", msg)
        if m:
            # tomllib names no position for errors at the end; say where the end is.
            line = text.count("\n") + 1
            column = len(text) - (text.rfind("\n") + 1) + 1
            reason = msg[: m.start()].strip()
            raise ConfigError(f"{path}:{line}:{column}: invalid TOML: {reason} (at end of file)") from None
        raise ConfigError(f"{path}: invalid TOML: {msg}") from None


_HEADER = re.compile(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_ASSIGN = re.compile(rf"\s*({_KEY}(?:\s*\.\s*{_KEY})*)\s*=")


def _dotted(text: str) -> str:
    parts = [p.strip().strip("\"'") for p in re.split(r"\.(?=(?:[^\"']|\"[^\"]*\"|'[^']*')*$)", text)]
    return ".".join(parts)


def locate_keys(text: str) -> dict[str, int]:
    """Map dotted key -> line number, for origins like `file:3`.

    tomllib keeps no positions, and this only runs on text that already parsed,
    so a line scanner is enough: table headers set the prefix, `key =` lines
    name a key. Multi-line strings are skipped so their content is not mistaken
    for keys.
    """
    found: dict[str, int] = {}
    table = ""
    in_multiline = None
    for number, line in enumerate(text.splitlines(), 1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            table = _dotted(header[1])
            found.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            key = _dotted(assign[1])
            full = f"{table}.{key}" if table else key
            found.setdefault(full, number)
            rest = line[assign.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return found


def _flatten(data: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and full not in SCHEMA:
            out.update(_flatten(value, full))
        else:
            out[full] = value
    return out


def check_secrets(cf: ConfigFile) -> None:
    """Raise ConfigError when a file holds something that looks like a secret."""
    for key in _flatten(cf.data):
        if key.rsplit(".", 1)[-1].lower() in SECRET_KEYS:
            if key.rsplit(".", 1)[-1].lower() == "password":
                raise ConfigError(
                    f"{cf.where(key)}: `{key}` looks like a secret in a config file; remove "
                    "it and set it in the environment: an etcd password as "
                    "CTXSCOPE_ETCD_PASSWORD, a token as CTXSCOPE_TOKEN",
                )
            raise ConfigError(
                f"{cf.where(key)}: `{key}` looks like a secret in a config file; "
                "remove it and set the token in the environment as CTXSCOPE_TOKEN",
            )


def is_trusted(path: str, digest: str | None) -> bool:
    if digest is None:
        return False
    return trusted_digest(path) == digest


def trusted_digest(path: str) -> str | None:
    """The SHA-256 the file at `path` had when it was last trusted, or None."""
    from .fsutil import read_regular

    try:
        # ctxscope's own file: never through a link, and only the user's.
        records = json.loads(read_regular(paths.trust_file(), follow=False, owner=True))
    except (OSError, ValueError, RecursionError):  # RecursionError: nested too deeply
        return None
    found = records.get(os.path.realpath(path)) if isinstance(records, dict) else None
    return found if isinstance(found, str) else None


def load(cwd: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Find, read and merge the config for a command run in `cwd` with `env`.

    Raises ConfigError for problems that must stop every command (a secret in a
    file, a setting of the wrong type). A file that cannot be parsed does not
    raise here: the local source reports it, so `status` can still show the rest.
    """
    env = os.environ if env is None else env
    cwd = paths.working_dir() if cwd is None else cwd
    warnings: list[str] = []
    # The user config is read first: its [safe] table decides whether the project file counts.
    user = None
    user_path = paths.user_config_file()
    if os.path.lexists(user_path):
        user = read_file(user_path, "user")
    safe = safe_settings(user, env)

    project = None
    project_path = find_project_file(cwd)
    if project_path:
        project = read_file(project_path, "project")
        dangling = os.path.islink(project_path) and not os.path.exists(project_path)
        if project.digest is not None or dangling:  # read (or a link to nothing): may it be used?
            error, ignored = project_file_problem(project, safe)
            if error:
                project.data, project.lines, project.error = {}, {}, ConfigError(error)
            elif ignored:
                warnings.append(ignored)
                project = None
        if project is not None:
            recorded = trusted_digest(project_path)
            project.trusted = project.digest is not None and recorded == project.digest
            project.changed_since_trust = recorded is not None and not project.trusted

    layers: list[tuple[ConfigFile, dict[str, object]]] = []
    for cf in (user, project):  # later layers win
        if cf is None or cf.error:
            continue
        check_secrets(cf)
        flat = _flatten(cf.data)
        if not cf.trusted:
            tables = sorted({k.split(".", 1)[0] for k in flat if k.split(".", 1)[0] in TRUSTED_ONLY})
            if tables and cf.changed_since_trust:
                names = ", ".join(f"[{t}]" for t in tables)
                warnings.append(
                    f"{cf.path}: ignoring {names}: this project file is not trusted any "
                    "more: it changed since it was trusted; review what changed with "
                    f"`ctxscope trust {cf.path}`",
                )
            elif tables:
                names = ", ".join(f"[{t}]" for t in tables)
                warnings.append(
                    f"{cf.path}: ignoring {names}: this project file is not trusted; "
                    f"review it, then run `ctxscope trust {cf.path}`",
                )
            flat = {k: v for k, v in flat.items() if k.split(".", 1)[0] not in TRUSTED_ONLY}
        if cf.kind == "project" and any(k.split(".", 1)[0] in _USER_ONLY for k in flat):
            warnings.append(f"{cf.where('safe')}: ignoring [safe]: it counts only in the user config")
            flat = {k: v for k, v in flat.items() if k.split(".", 1)[0] not in _USER_ONLY}
        unknown = [k for k in flat if k not in SCHEMA and k != "scope" and k.split(".", 1)[0] != "observe"]
        for key in unknown[:_UNKNOWN_SHOWN]:
            warnings.append(f"{cf.where(key)}: unknown key `{key}` (ignored)")
        if len(unknown) > _UNKNOWN_SHOWN:
            # One line for the rest: a file of many thousand keys is one cause, not a flood.
            warnings.append(f"{cf.path}: {len(unknown) - _UNKNOWN_SHOWN} more unknown keys (ignored)")
        layers.append((cf, flat))

    settings: dict[str, Setting] = {}
    for key, (default, check) in SCHEMA.items():
        setting = Setting(key, default, "default")
        for cf, flat in layers:
            if key in flat:
                problem = check(flat[key])
                if problem:
                    raise ConfigError(f"{cf.where(key)}: `{key}` {problem}")
                setting = Setting(key, flat[key], cf.where(key))
        var = ENV_OVERRIDES.get(key)
        if var and env.get(var):
            if key == "cloud.backend" and check(env[var]):
                raise ConfigError(f"env {var}: {check(env[var])}")
            setting = Setting(key, env[var], f"env {var}")
        settings[key] = setting
    return Config(project, user, settings, warnings)
