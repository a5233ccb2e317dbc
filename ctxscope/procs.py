"""Processes that hold a runtime scope, and whether it is still the one that resolves.

A fix that misses one process: it cached the old value at startup. A
long-running agent, MCP server or API worker started with an old `CTX_SCOPE`
keeps using it after every file and the cloud agree. `/proc/<pid>/environ` is the
environment a process was started with, which is exactly the value such a
process cached, so that is what is compared here.

For each process of this user whose environment holds one of the configured
runtime variables (`[runtime] env`), the scope is resolved again for its working
directory from the other sources (local, cloud, fallback: the current env minus
the runtime variables). A process whose scope differs from that is stale.
Linux only: other platforms raise a clear error (exit 1).

No rich and no typer here: `status` calls `status_summary` on its plain path.
"""

from __future__ import annotations

import os
import shlex
import sys
import time

from . import config as config_mod
from . import paths
from .errors import CtxScopeError
from .launch import MARKER, Launch, parse_marker
from .resolver import Context, Resolution, resolve
from .scope import display, scope_problem

PROC = "/proc"
COMMAND_LIMIT = 512  # characters of a command line kept (escaped) for output and the log

# Shell programs, any shell (not only the ones `hook` writes code for, kinds.SHELLS):
# /proc/PID/environ is the environment a shell started with, not what it has exported or
# unset since (`eval "$(ctxscope repair --shell bash)"` changes the shell, not that file),
# so a shell is never judged stale.
SHELL_PROGRAMS = frozenset({"bash", "zsh", "fish", "sh", "dash", "ksh", "mksh", "tcsh", "csh", "nu"})
SHELL_NOTE = "shell: environment at start, may have changed"


def supported() -> bool:
    return sys.platform.startswith("linux") and os.path.isdir(PROC)


class NotSupported(CtxScopeError):
    """`ps` reads /proc, which only Linux has."""


def require_supported() -> None:
    if not supported():
        raise NotSupported("ctxscope ps: not supported on this platform (it reads /proc; Linux only)")


class Proc:
    """One process of this user that holds a runtime scope (or could not be inspected).

    `state` is one of:
      stale       it holds a scope that differs from what resolves now for its cwd
      current     it holds the scope that resolves now
      shell       a shell: what /proc shows is its environment at start, which it may
                  have changed since; never counted as stale
      unknown     nothing else resolves for its cwd (or that resolution failed): no
                  reference to compare with; `problem` says why
      unreadable  its environment cannot be read (`problem` says why): it is counted,
                  never dropped, because it might be exactly the stale one
    """

    __slots__ = (
        "command",
        "cwd",
        "expected",
        "expected_from",
        "launched",
        "pid",
        "problem",
        "resolution",
        "scope",
        "scope_problem",
        "started",
        "state",
        "variable",
    )

    def __init__(self, pid: int, command: str, started: str | None) -> None:
        self.pid = pid
        self.command = command
        self.started = started
        self.cwd: str | None = None
        self.variable: str | None = None
        self.scope: str | None = None  # escaped and cut for display
        self.scope_problem: str | None = None  # why the held value is not a valid scope
        self.expected: str | None = None
        self.expected_from: str | None = None
        self.state = "unknown"
        self.problem: str | None = None
        self.resolution: Resolution | None = None  # the Resolution for its cwd, for the event
        self.launched: Launch | None = None  # set when `ctxscope exec` started it

    @property
    def stale(self) -> bool:
        return self.state == "stale"

    def to_dict(self) -> dict:
        return {
            "pid": self.pid,
            "command": self.command,
            "started": self.started,
            "cwd": self.cwd,
            "variable": self.variable,
            "scope": self.scope,
            "scope_problem": self.scope_problem,
            "expected": self.expected,
            "expected_from": self.expected_from,
            "stale": self.stale,
            "state": self.state,
            "problem": self.problem,
            "launched": None
            if self.launched is None
            else {
                "scope": self.launched.scope,
                "from": self.launched.source,
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.launched.at)),
            },
        }


class Scan:
    """The outcome of one look at /proc."""

    def __init__(self, processes: list[Proc], config) -> None:
        self.processes = processes
        self.config = config  # the config of the command's own cwd (where events are logged)

    @property
    def stale(self) -> list[Proc]:
        return [p for p in self.processes if p.state == "stale"]

    @property
    def unreadable(self) -> list[Proc]:
        return [p for p in self.processes if p.state == "unreadable"]


def scan(
    *,
    env=None,
    cwd: str | None = None,
    offline: bool = False,
    refresh: bool = False,
    pids=None,
    exclude=(),
    proc: str = PROC,
    root: str | None = None,
) -> Scan:
    """Find this user's processes that hold a runtime scope and judge each one.

    `env` is the command's environment (default os.environ): the runtime
    variables are taken out of it and the rest resolves the expected scope. `pids`
    limits the scan to those processes; `exclude` leaves some out (this process is
    always left out: its own scope is what `status` shows, and so are its pipeline
    partners, see `_Partners`). `root` keeps only processes working inside that
    directory (see `repository_of`); None looks at the whole machine.
    """
    if proc == PROC:
        require_supported()
    env = dict(os.environ if env is None else env)
    own_config = config_mod.load(cwd or paths.working_dir(), env)
    judge = _Judge(env, own_config, offline=offline, refresh=refresh)
    skip = {os.getpid(), *exclude}
    wanted = None if pids is None else set(pids)
    uid = os.getuid()
    btime = _boot_time(proc)
    partners = _Partners(proc)
    found: list[Proc] = []
    try:
        for name in sorted(os.listdir(proc), key=lambda n: (len(n), n)):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid in skip or (wanted is not None and pid not in wanted):
                continue
            p = _inspect(proc, pid, uid, btime, judge, partners, root)
            if p is not None:
                found.append(p)
    finally:
        judge.close()
    return Scan(found, own_config)


def repository_of(cwd: str) -> str:
    """The directory `ps` and `status` look at by default: the repository root (nearest
    `.git` upward), else the directory of the nearest project file, else `cwd`."""
    from .sources.local import repository_root

    root = repository_root(cwd)
    if root is None:
        project = config_mod.find_project_file(cwd)
        root = os.path.dirname(project) if project else cwd
    return os.path.abspath(root)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class _Partners:
    """ctxscope's own pipeline (`ctxscope ps | cat`): never listed, never logged.

    A shell with job control gives each pipeline a process group of its own: then
    every process in this process group is a partner. Without job control (a
    script, `bash -c`), the group is the script's: then only the processes of the
    group that read or write one of this process's pipes are.
    """

    def __init__(self, proc: str) -> None:
        self.proc = proc
        self.group = os.getpgrp()
        try:
            self.job = os.getpgid(os.getppid()) != self.group
        except OSError:
            self.job = False
        self.pipes = set()
        for fd in (0, 1):
            try:
                target = os.readlink(f"{proc}/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith("pipe:"):
                self.pipes.add(target)

    def __contains__(self, pid: int) -> bool:
        if self.proc != PROC or _group(self.proc, pid) != self.group:
            return False
        if self.job:
            return True
        for fd in (0, 1):
            try:
                if os.readlink(f"{self.proc}/{pid}/fd/{fd}") in self.pipes:
                    return True
            except OSError:
                continue
        return False


def _group(proc: str, pid: int) -> int | None:
    """The process group of `pid` (field 5 of /proc/PID/stat), or None."""
    stat = _read_text(f"{proc}/{pid}/stat")
    if not stat:
        return None
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[2])
    except (IndexError, ValueError):
        return None


def _is_shell(base: str) -> bool:
    names = {(_read_text(base + "/comm") or "").strip()}
    try:
        with open(base + "/cmdline", "rb") as fh:
            argv0 = fh.read(4096).split(b"\0", 1)[0].decode("utf-8", "replace")
        names.add(os.path.basename(argv0).lstrip("-"))
    except OSError:
        pass
    return bool(names & SHELL_PROGRAMS)


def _inspect(
    proc: str, pid: int, uid: int, btime: float | None, judge, partners=(), root: str | None = None
) -> Proc | None:
    base = f"{proc}/{pid}"
    status = _read_text(base + "/status")
    if status is None or _real_uid(status) != uid:
        return None  # gone, or another user's process
    if pid in partners:
        return None
    if root is not None:
        where = _cwd(base)
        if where is None or not _inside(where, root):
            return None
    try:
        with open(base + "/environ", "rb") as fh:
            raw_env = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return None  # gone, or no address space (a kernel thread or a zombie): no environment
    except OSError as exc:
        p = Proc(pid, _command(base, ()), _started(base, btime))
        p.state = "unreadable"
        p.problem = f"environment not readable: {exc.strerror or exc}"
        p.cwd = _cwd(base)
        return p
    if not raw_env:
        return None
    raw_env = b"\0" + raw_env  # so every variable, the first too, starts after a NUL
    cwd = _cwd(base)
    names = judge.names(cwd)
    environ = {n: v for n in names if (v := _env_value(raw_env, n))}
    variable = next((n for n in names if n in environ), None)
    if variable is None:
        return None
    secrets = [v for v in (_env_value(raw_env, "CTXSCOPE_TOKEN"), judge.token) if v and len(v) >= 4]
    p = Proc(pid, _command(base, secrets), _started(base, btime))
    p.cwd = cwd
    p.variable = variable
    p.launched = parse_marker(_env_value(raw_env, MARKER))
    held = environ[variable]
    p.scope = display(held)
    p.scope_problem = scope_problem(held)
    if cwd is None:
        p.problem = "working directory not readable"
        return p
    res, problem = judge.expected(cwd)
    p.resolution = res
    if res is None or res.resolved_scope is None or res.error is not None:
        if _is_shell(base):
            p.state, p.problem = "shell", SHELL_NOTE
            return p
        p.problem = problem or "no other source sets a scope for this directory"
        if p.scope_problem:
            p.problem += f"; it holds an invalid scope ({p.scope_problem})"
        return p
    p.expected, p.expected_from = res.resolved_scope, res.resolved_from
    p.state = "current" if held == res.resolved_scope else "stale"
    if _is_shell(base):
        p.state, p.problem = "shell", SHELL_NOTE
        return p
    if p.stale and p.scope_problem:
        p.problem = f"it holds an invalid scope ({p.scope_problem})"
    return p


class _SharedCloudContext(Context):
    """A Context whose Cloud is shared with every other directory using the same cloud.

    One scan resolves for many directories; sharing the Cloud keeps the command's
    single time budget (a cloud that is down costs one timeout, not one per
    directory) and reuses answers already fetched.
    """

    def __init__(self, pool: dict, **kwargs) -> None:
        super().__init__(**kwargs)
        self._pool = pool

    @property
    def cloud(self):
        url = self.config["cloud.url"]
        if not url:
            return None
        key = (
            str(url),
            self.config["cloud.backend"],
            self.config["cloud.prefix"],
            self.config["cloud.user"],
            self.config["cloud.timeout"],
            self.config["cloud.cache_ttl"],
            self.config["cloud.ca_file"],
        )
        if key not in self._pool:
            self._pool[key] = super().cloud
        return self._pool[key]

    def close(self) -> None:
        pass  # the pool's clouds are closed once, by the scan


class _Judge:
    """Config and expected resolution per directory, cached across processes.

    A resolution depends on the config (which project file is nearest) and the
    env, not on the directory itself, so both are cached by the nearest project
    file: a hundred workers under one repository cost one resolution.
    """

    def __init__(self, env: dict, own_config, *, offline: bool, refresh: bool) -> None:
        self.env = env
        self.token = env.get("CTXSCOPE_TOKEN")
        self.own_config = own_config
        self.offline, self.refresh = offline, refresh
        self._configs: dict = {}
        self._resolved: dict = {}
        self._clouds: dict = {}

    def _config(self, cwd: str):
        key = config_mod.find_project_file(cwd)
        if key not in self._configs:
            try:
                self._configs[key] = (config_mod.load(cwd, self.env), None)
            except CtxScopeError as exc:
                self._configs[key] = (None, exc.message)
        return key, self._configs[key]

    def names(self, cwd: str | None) -> list[str]:
        if cwd is None:
            return list(self.own_config["runtime.env"])
        _key, (config, _problem) = self._config(cwd)
        return list((config or self.own_config)["runtime.env"])

    def expected(self, cwd: str):
        """(Resolution without the runtime variables, or None; a problem text or None)."""
        key, (config, problem) = self._config(cwd)
        if config is None:
            return None, problem
        if key not in self._resolved:
            names = config["runtime.env"]
            env = {k: v for k, v in self.env.items() if k not in names}
            try:
                ctx = _SharedCloudContext(
                    self._clouds,
                    cwd=cwd,
                    env=env,
                    config=config,
                    offline=self.offline,
                    refresh=self.refresh,
                    command="ps",
                )
                res = resolve(context=ctx, log=False)
                self._resolved[key] = (res, res.error.message if res.error else None)
            except CtxScopeError as exc:
                self._resolved[key] = (None, exc.message)
        res, problem = self._resolved[key]
        if res is not None and res.cwd != cwd:
            res = res._replace(cwd=cwd)
        return res, problem

    def close(self) -> None:
        for cloud in self._clouds.values():
            if cloud is not None:
                cloud.close()


_PROC_READ_CAP = 1 << 20  # /proc/PID/status, stat, comm: a few KiB; never read more than this


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(_PROC_READ_CAP)
    except OSError:
        return None


def _real_uid(status: str) -> int | None:
    for line in status.splitlines():
        if line.startswith("Uid:"):
            fields = line.split()
            return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
    return None


def _parent_pid(proc: str, pid: int) -> int | None:
    status = _read_text(os.path.join(proc, str(pid), "status"))
    for line in (status or "").splitlines():
        if line.startswith("PPid:"):
            value = line.split(":", 1)[1].strip()
            return int(value) if value.isdigit() else None
    return None


def ancestors(pid: int | None = None, proc: str = PROC) -> list[int]:
    """The chain of parents of `pid` (default: this process), nearest first."""
    found: list[int] = []
    current = os.getpid() if pid is None else pid
    while True:
        parent = _parent_pid(proc, current)
        if not parent or parent in found:
            return found
        found.append(parent)
        current = parent


def _env_value(raw: bytes, name: str) -> str | None:
    """The value of `name` in a NUL-separated environment that starts with a NUL.

    Looking up the few names needed is much cheaper than decoding every variable
    of every process. The first occurrence wins, as getenv(3) finds it.
    """
    key = b"\0" + name.encode() + b"="
    start = raw.find(key)
    if start < 0:
        return None
    start += len(key)
    end = raw.find(b"\0", start)
    return raw[start : end if end >= 0 else None].decode("utf-8", "surrogateescape")


def _command(base: str, secrets) -> str:
    try:
        with open(os.path.join(base, "cmdline"), "rb") as fh:
            raw = fh.read()
    except OSError:
        raw = b""
    args = [a.decode("utf-8", "surrogateescape") for a in raw.split(b"\0")]
    while args and args[-1] == "":
        args.pop()
    # No arguments: a kernel thread or a zombie; show its name the way ps(1) does.
    comm = "[" + (_read_text(os.path.join(base, "comm")) or "?").strip() + "]"
    text = shlex.join(args) if args else comm
    for secret in secrets:
        text = text.replace(secret, "***")
    return display(text, COMMAND_LIMIT)


def _cwd(base: str) -> str | None:
    try:
        path = os.readlink(os.path.join(base, "cwd"))
    except OSError:
        return None
    return path.removesuffix(" (deleted)")


def _boot_time(proc: str) -> float | None:
    for line in (_read_text(os.path.join(proc, "stat")) or "").splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return None


def _started(base: str, btime: float | None) -> str | None:
    """The start time, ISO UTC, from field 22 of /proc/<pid>/stat (clock ticks after boot)."""
    stat = _read_text(os.path.join(base, "stat"))
    if btime is None or not stat:
        return None
    # The command name in field 2 may hold spaces and parentheses: split after the last ')'.
    fields = stat.rpartition(")")[2].split()
    try:
        ticks = int(fields[19])
        seconds = btime + ticks / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError, OSError):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# --- the drift event ------------------------------------------------------------------


def stale_event(p: Proc, command: str) -> dict:
    """The `scope_drift_detected` event for a stale process (the drift log's event).

    Built from the resolution for its directory, then adjusted: the process's
    scope is the runtime scope, the reason is `process_stale`, and `process`
    names it.
    """
    from .events import base_event

    res = p.resolution
    assert res is not None  # a stale process was judged against the resolution for its cwd
    event = base_event("scope_drift_detected", res, command)
    event["runtime_scope"] = None if p.scope_problem else p.scope
    if p.scope_problem:
        event["drift_snapshot"].setdefault("invalid", {})["runtime"] = p.scope
    if event["drift_snapshot"].get("state") == "SYNCED":
        event["drift_snapshot"]["state"] = "DRIFTED"  # its directory agrees; the process doesn't
    event["reason"] = "process_stale"
    event["reasons"] = list(dict.fromkeys(["process_stale", *res.reasons]))
    event["action_required"] = "restart_process"
    event["actions"] = list(dict.fromkeys(["restart_process", *res.actions]))
    event["cwd"] = p.cwd
    event["process"] = {"pid": p.pid, "command": p.command, "started": p.started, "variable": p.variable}
    return event


def record_stale(found: Scan, command: str = "ps") -> list[str]:
    """Log each stale process once per `[log] dedupe_seconds`; return warnings.

    The resolver's de-duplication compares with the last event only; a scan that
    finds several stale processes writes several events in a row, so here each
    process is compared with the recent events for that same process.
    """
    from .events import append, log_path

    stale = found.stale
    if not stale:
        return []
    config = found.config
    try:
        path = log_path(config)
    except CtxScopeError as exc:  # a [log] path refused: the same warning the resolver gives
        return [f"could not write the drift log: {exc.message}"]
    recent = _recent_process_events(path, float(config["log.dedupe_seconds"]))
    warnings = []
    for p in stale:
        key = (p.pid, p.started, None if p.scope_problem else p.scope, p.expected, p.cwd)
        if key in recent:
            continue
        warning = append(stale_event(p, command), config)
        if warning:
            warnings.append(warning)
            break  # the same failure would repeat for every process
    return warnings


def _recent_process_events(path: str, window: float) -> set:
    from .logview import iter_events_reverse, ts_string

    if window <= 0:
        return set()
    since = ts_string(time.time() - window)
    keys = set()
    for _line, event in iter_events_reverse([path]):
        if event is None:
            continue
        ts = event.get("ts")
        if isinstance(ts, str) and ts < since:
            break
        proc_info = event.get("process")
        if event.get("reason") == "process_stale" and isinstance(proc_info, dict):
            keys.add(
                (
                    proc_info.get("pid"),
                    proc_info.get("started"),
                    event.get("runtime_scope"),
                    event.get("resolved_scope"),
                    event.get("cwd"),
                )
            )
    return keys


# --- for `status` ---------------------------------------------------------------------


def status_summary(*, env=None, offline: bool = True) -> dict | None:
    """What `status` says about processes: the stale ones and the counts, or None.

    Cheap by design: cloud answers come from the cache (`offline`), and the
    processes `status` was started from are left out, since its own runtime row
    already shows the scope they handed down. Never fails `status`: a problem
    here returns None.
    """
    if not supported():
        return None
    try:
        root = repository_of(paths.working_dir())
        found = scan(env=env, offline=offline, exclude=ancestors(), root=root)
    except Exception:  # other users' /proc entries can hold anything; the note is advisory
        return None
    return {
        "root": root,
        "checked": len(found.processes),
        "stale": [p.to_dict() for p in found.stale],
        "unreadable": len(found.unreadable),
        "shells": len([p for p in found.processes if p.state == "shell"]),
    }
