"""`ctxscope status --watch`: the status table, redrawn whenever a source changes.

Every `interval` seconds it looks at the files a resolution depends on (each
`.ctxscope.toml` candidate from the working directory up, the user config, the
trust records, the cloud cache that other ctxscope processes refresh, and the
files observers read) by mtime, size and inode, and resolves again when one
changed, or when the cloud's cache TTL has run out (so the cloud is asked at
its TTL, never more often). With the etcd backend a background thread also
follows the default scope's key with etcd's own watch, so a change made with
`etcdctl put` is redrawn at once instead of at the TTL. The environment is this process's own and cannot
change. On a terminal the table is redrawn in place (rich.live); otherwise each
change is printed below the last, or with --json as one JSON object per line.
Ctrl-C stops it with exit code 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time

from . import paths

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from rich.console import RenderableType


def watched_paths(cwd: str, config) -> list[str]:
    """The files whose change can change the resolution."""
    from . import paths

    found = []
    directory = os.path.abspath(cwd)
    while True:
        found.append(os.path.join(directory, paths.PROJECT_FILE))
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    found += [paths.user_config_file(), paths.trust_file()]
    if config is None:
        return found
    url = config["cloud.url"]
    if url and config["cloud.backend"] == "etcd":
        from .errors import CtxScopeError
        from .etcd import cache_path

        with contextlib.suppress(CtxScopeError):  # the resolution reports a bad setting
            found.append(cache_path(config, os.environ))
    elif url:
        from .cache import CloudCache

        token = os.environ.get("CTXSCOPE_TOKEN") or None
        first = url[0] if isinstance(url, list) and url else url
        if isinstance(first, str):
            found.append(CloudCache(first.rstrip("/"), token).path)
    from . import observe

    for obs in observe.observers(config, cwd)[0]:
        path = observe.file_path(obs)
        if path:
            found.append(path)
    return found


def fingerprint(files: list[str]) -> tuple:
    out: list[tuple[object, ...]] = []
    for path in files:
        try:
            st = os.stat(path)
            out.append((path, st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append((path, None))
    return tuple(out)


def signature(res) -> str:
    """What the table shows, minus cache ages, to tell a real change from a re-read."""
    data = res.to_dict()
    for row in data["sources"]:
        if row["source"] == "cloud" and row.get("origin"):
            row["origin"] = row["origin"].split(" (cached", 1)[0]
    return json.dumps(data, sort_keys=True, default=str)


class Watcher:
    """Resolve when something changed; `poll()` returns a new Resolution or None."""

    def __init__(self, *, scope, offline, refresh, cwd=None):
        self.scope, self.offline, self.refresh = scope, offline, refresh
        self.cwd = os.path.abspath(cwd or paths.working_dir())
        self.files: list[str] = watched_paths(self.cwd, None)
        self.seen = None
        self.resolved_at = None
        self.ttl = None
        self.last_signature = None
        self.error = None
        self._woken = threading.Event()
        self._stopped = threading.Event()
        self._store_watch: threading.Thread | None = None

    def wait(self, interval: float) -> None:
        """Sleep until the next poll: `interval`, or less when the store says it changed."""
        self._woken.wait(interval)

    def stop(self) -> None:
        self._stopped.set()

    def _follow_store(self, config) -> None:
        """Start following the etcd key of the default scope (once, in a daemon thread)."""
        if (
            self._store_watch is not None
            or self.offline
            or config is None
            or config["cloud.backend"] != "etcd"
            or not config["cloud.url"]
        ):
            return
        from .errors import CtxScopeError
        from .etcd import make_cloud, watch_default

        try:
            cloud = make_cloud(config, os.environ)
        except CtxScopeError:
            return

        def changed() -> None:
            cloud.cache.drop("scope")  # the next resolution reads the key again
            self._woken.set()

        self._store_watch = threading.Thread(
            target=watch_default,
            args=(cloud, changed, self._stopped.is_set),
            name="ctxscope-etcd-watch",
            daemon=True,
        )
        self._store_watch.start()

    def due(self) -> bool:
        if self.resolved_at is None:
            return True
        if self._woken.is_set():
            self._woken.clear()
            return True
        if self.ttl is not None and time.monotonic() - self.resolved_at >= self.ttl:
            return True
        return fingerprint(self.files) != self.seen

    def resolve(self):
        """Resolve once; a config error is kept and shown instead of stopping the watch."""
        from .errors import CtxScopeError
        from .resolver import Context, resolve

        before = fingerprint(self.files)
        self.resolved_at = time.monotonic()
        try:
            ctx = Context(
                cwd=self.cwd, scope=self.scope, offline=self.offline, refresh=self.refresh, command="status"
            )
        except CtxScopeError as exc:
            self.error, res, config = exc, None, None
        else:
            try:
                res = resolve(context=ctx)
                self.error, config = None, ctx.config
            except CtxScopeError as exc:
                self.error, res, config = exc, None, ctx.config
            finally:
                ctx.close()
        self.refresh = False  # --refresh asks the cloud once, then the TTL rules
        self.ttl = None
        if config is not None and config["cloud.url"] and not self.offline:
            self.ttl = max(float(config["cloud.cache_ttl"]), 0.0)
        self._follow_store(config)
        files = watched_paths(self.cwd, config)
        self.seen = before if files == self.files else fingerprint(files)
        self.files = files
        return res

    def poll(self):
        """A resolution when something changed since the last one drawn, else None."""
        if not self.due():
            return None
        res = self.resolve()
        sig = signature(res) if res is not None else f"error: {self.error}"
        if sig == self.last_signature:
            return None
        self.last_signature = sig
        return res if res is not None else self.error


def _view(res_or_error, cwd: str):
    from rich.console import Group
    from rich.text import Text

    from . import render
    from .errors import CtxScopeError

    stamp = time.strftime("%H:%M:%S")
    header = Text(f"ctxscope status --watch  {cwd}  (changed {stamp}; Ctrl-C to stop)", style="dim")
    if isinstance(res_or_error, CtxScopeError):
        from .output import error_line

        return Group(header, Text(f"error: {error_line(res_or_error)}", style="bold red"))
    res = res_or_error
    parts: list[RenderableType] = [header, render.status_table(res), Text(""), render.summary(res)]
    auth = render.authorization_text(res)
    if auth is not None:
        parts.append(auth)
    parts.extend(Text(f"warning: {w}", style="yellow") for w in res.warnings)
    return Group(*parts)


def watch_status(*, scope=None, json_out=False, offline=False, refresh=False, interval: float = 1.0) -> int:
    """Run until Ctrl-C; return 0."""
    from .render import make_console

    watcher = Watcher(scope=scope, offline=offline, refresh=refresh)
    console = make_console()
    try:
        if json_out or not console.is_terminal:
            _stream(watcher, console, json_out, interval)
        else:
            _live(watcher, console, interval)
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    return 0


def _stream(watcher: Watcher, console, json_out: bool, interval: float) -> None:
    from .errors import CtxScopeError
    from .output import err, error_line, warn_all

    first = True
    while True:
        found = watcher.poll()
        if isinstance(found, CtxScopeError):
            err("error", error_line(found))
        elif found is not None:
            warn_all(found.warnings)
            if json_out:
                data = found.to_dict()
                data["watched_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
                sys.stdout.flush()
            else:
                from .render import print_status

                if not first:
                    console.print()
                console.print(f"-- {time.strftime('%H:%M:%S')} --", style="dim")
                print_status(found, console)
                console.file.flush()
            first = False
        watcher.wait(interval)


def _live(watcher: Watcher, console, interval: float) -> None:
    from rich.live import Live

    found = watcher.poll()
    with Live(
        _view(found, watcher.cwd),
        console=console,
        auto_refresh=False,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as live:
        while True:
            watcher.wait(interval)
            found = watcher.poll()
            if found is not None:
                live.update(_view(found, watcher.cwd), refresh=True)
