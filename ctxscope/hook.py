"""Shell integration: the startup hook's snippet and check, and the prompt marker.

A shell runs these on every start and every prompt, so they follow three rules:

- Never block on the network: the cloud is read from the cache only
  (`offline=True`). A stale or missing answer is refreshed by a detached
  background process whose output goes to /dev/null; this shell never waits.
- Never slow the shell noticeably: a hard deadline (`DEADLINE`) ends the check
  silently, and nothing heavy is imported (no typer, rich, httpx or pydantic).
- Never make noise where ctxscope is not in use: the warning rules (documented in
  docs/how-to/shell.md) are in `warning()`.

No typer here: the commands `ctxscope/commands/hook.py` and `prompt.py` call
these functions, whichever entry path (Typer or the fast path in `_entry`) ran.
"""

from __future__ import annotations

import os
import re
import sys

from .kinds import CLOUD_PROBLEMS

DEADLINE = 1.0  # seconds; past this the check gives up without a word
PROMPT_FORMAT = "{scope}{mark}"
PROMPT_FIELDS = ("scope", "mark", "state", "source")
REFRESH_PAUSE = 10.0  # seconds between two background refreshes

_POSIX = """\
# ctxscope hook ({shell}): one line on stderr when the agent scope needs attention
# (drift, an invalid value, an unauthorized scope), at shell start and again when
# the working directory changes; silent when in sync, when the line is the one
# already shown, or when ctxscope is not installed. Never waits for the network.
# It runs {when}; a prompt in the same directory starts no process.
# Added by `ctxscope hook {shell}`; remove these lines to turn it off.
__ctxscope_hook() {{
    case $- in *i*) ;; *) return 0 ;; esac
    [ "$PWD" = "${{__ctxscope_pwd-}}" ] && return 0
    __ctxscope_pwd=$PWD
    command -v ctxscope >/dev/null 2>&1 || return 0
    local __ctxscope_line
    __ctxscope_line=$(command ctxscope hook {shell} --run 2>&1 >/dev/null </dev/null) || return 0
    __ctxscope_line=${{__ctxscope_line%%$'\\n'*}}
    [ "$__ctxscope_line" = "${{__ctxscope_said-}}" ] && return 0
    __ctxscope_said=$__ctxscope_line
    [ -n "$__ctxscope_line" ] && printf '%s\\n' "$__ctxscope_line" >&2
    return 0
}}
{install}
__ctxscope_hook
"""

# How each shell runs the check again after `cd`: bash before each prompt (the
# function returns at once when $PWD is unchanged), zsh and fish on the change itself.
_INSTALL = {
    "bash": (
        "from PROMPT_COMMAND",
        'case ";${PROMPT_COMMAND-};" in *";__ctxscope_hook;"*) ;;\n'
        '    *) PROMPT_COMMAND="__ctxscope_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}" ;; esac',
    ),
    "zsh": (
        "as a chpwd hook",
        "autoload -Uz add-zsh-hook && add-zsh-hook chpwd __ctxscope_hook",
    ),
}

_FISH = """\
# ctxscope hook (fish): one line on stderr when the agent scope needs attention
# (drift, an invalid value, an unauthorized scope), at shell start and again when
# the working directory changes; silent when in sync, when the line is the one
# already shown, or when ctxscope is not installed. Never waits for the network.
# It runs on PWD events; a prompt in the same directory starts no process.
# Added by `ctxscope hook fish`; remove these lines to turn it off.
if status is-interactive; and type -q ctxscope
    function __ctxscope_hook --on-variable PWD
        type -q ctxscope; or return 0
        set -l __ctxscope_line (command ctxscope hook fish --run 2>&1 >/dev/null </dev/null)
        or return 0
        test "$__ctxscope_line[1]" = "$__ctxscope_said"; and return 0
        set -g __ctxscope_said "$__ctxscope_line[1]"
        test -n "$__ctxscope_line[1]"; and printf '%s\\n' $__ctxscope_line[1] >&2
        return 0
    end
    __ctxscope_hook
end
"""


def snippet(shell: str) -> str:
    """The lines to add to the shell's startup file (~/.bashrc, ~/.zshrc, config.fish)."""
    if shell == "fish":
        return _FISH
    when, install = _INSTALL[shell]
    return _POSIX.format(shell=shell, when=when, install=install)


def warning(res) -> str | None:
    """The one line the startup hook prints for this resolution, or None (docs/how-to/shell.md).

    Warns on DRIFTED, INVALID and UNAUTHORIZED; on UNRESOLVED only inside a
    directory with a project file; never where no source is set at all, and not
    when the only problem is a cloud that was never reached (offline, nothing
    cached). Drift found alongside an unreachable cloud is still drift.
    """
    from .report import summary_line

    state = res.state
    if state == "SYNCED" and "config_changed" in res.reasons:
        return summary_line(res)
    if state in ("DRIFTED", "INVALID", "UNAUTHORIZED"):
        return summary_line(res)
    if state == "UNRESOLVED":
        return summary_line(res) if res.config.project is not None else None
    if state == "DEGRADED":
        from .resolver import is_drift

        rest = tuple(p for p in res.problems if p.reason not in CLOUD_PROBLEMS)
        if is_drift(rest):
            return summary_line(res._replace(state="DRIFTED", problems=rest))
    return None


def _first_time_for(project) -> bool:
    """Whether the hook has not yet said that this content of the project file changed
    since it was trusted; records that it now has (it says it once per content)."""
    import json

    from . import paths

    if project is None or project.digest is None:
        return False
    store = os.path.join(paths.state_dir(), "hook-notes.json")
    try:
        with open(store, encoding="utf-8") as fh:
            seen = json.load(fh)
        if not isinstance(seen, dict):
            seen = {}
    except (OSError, ValueError, RecursionError):
        seen = {}
    real = os.path.realpath(project.path)
    if seen.get(real) == project.digest:
        return False
    seen[real] = project.digest
    try:
        from .fsutil import atomic_write_text, ensure_private_dir

        ensure_private_dir(os.path.dirname(store))
        atomic_write_text(store, json.dumps(seen, sort_keys=True), default_mode=0o600)
    except Exception:  # a note that cannot be recorded is said again next time
        pass
    return True


def for_shell(line: str, shell: str) -> str:
    """Say the fixing commands the way `shell` runs them (the summary is written for bash)."""
    if shell == "fish":
        return re.sub(r'eval "\$\((ctxscope repair [^)]*?)--shell bash\)"', r"\1--shell fish | source", line)
    return line.replace("--shell bash", f"--shell {shell}")


def run_check(shell: str = "bash", *, deadline: float | None = DEADLINE, json_out: bool = False) -> int:
    """`ctxscope hook SHELL --run`: the startup check. Always exits 0.

    One line on stderr when the scope needs attention, nothing otherwise. The
    cloud comes from the cache; when that answer is stale or missing a detached
    background process refreshes it for the next shell.

    With `json_out`, nothing on stderr and one object on stdout instead:
    `{"state", "warning"}`, where `warning` is the line (or null) and `state` is
    the resolution's state, "ERROR" for a config that stops every command, or
    null when the check gave up at the deadline.
    """
    state = line = None
    with give_up_after(deadline):
        state, line = _check_or_error(shell)
    if json_out:
        from .output import print_json

        print_json({"state": state, "warning": f"ctxscope: {line}" if line else None})
    elif line:
        sys.stderr.write(f"ctxscope: {line}\n")
    return 0


def _check_or_error(shell: str) -> tuple[str, str | None]:
    from .errors import CtxScopeError
    from .output import error_line

    try:
        return _check(shell)
    except CtxScopeError as exc:  # a broken config is worth the one line too
        return "ERROR", f"error: {error_line(exc)}"


def _check(shell: str) -> tuple[str, str | None]:
    """(the state, the line to print or None)."""
    from .resolver import Context, resolve

    ctx = Context(offline=True, command="hook")
    try:
        res = resolve(context=ctx, log=False)
    finally:
        ctx.close()
    line = warning(res)
    if line and res.state == "SYNCED" and not _first_time_for(res.config.project):
        line = None  # a changed trusted file is said once per content, not at every start
    if line:
        from .events import record_resolution

        record_resolution(res, ctx)  # de-duplicated; a log that cannot be written stays quiet
        line = for_shell(line, shell)
    if ctx.cloud is not None and _stale(ctx.cloud, res.resolved_scope):
        refresh_in_background()
    return res.state, line


def prompt_fields() -> dict:
    """The prompt's fields for the working directory, from the cache only."""
    from .errors import CtxScopeError
    from .resolver import Context, resolve

    try:
        ctx = Context(offline=True, command="prompt")
        try:
            res = resolve(context=ctx, log=False)
        finally:
            ctx.close()
    except CtxScopeError:
        return {"scope": "", "mark": "!", "state": "ERROR", "source": ""}
    return {
        "scope": res.resolved_scope or "",
        "mark": "!" if warning(res) else "",
        "state": res.state,
        "source": res.resolved_from or "",
    }


class _Deadline(BaseException):
    """Raised by the timer; a BaseException so no `except Exception` swallows it."""


class give_up_after:  # lower case: it reads like a function, `with give_up_after(1.0):`
    """Give up silently (exit 0, no output) when the block runs past `seconds`."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.armed = False

    def __enter__(self):
        if self.seconds and hasattr(os, "fork"):
            import signal

            try:
                self.previous = signal.signal(signal.SIGALRM, _give_up)
                signal.setitimer(signal.ITIMER_REAL, self.seconds)
                self.armed = True
            except ValueError:  # not the main thread: no timer, no harm
                pass
        return self

    def __exit__(self, kind, exc, tb):
        if self.armed:
            import signal

            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return kind is _Deadline or _caused_by_deadline(exc)


def _caused_by_deadline(exc: BaseException | None) -> bool:
    """The timer fired inside code that wrapped it (an import running a class body
    turns it into a RuntimeError): still the deadline, still no word."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, _Deadline):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _give_up(signum, frame):
    raise _Deadline()


def _stale(cloud, scope: str | None) -> bool:
    """Whether the cached cloud answers this check used are missing or past their TTL."""
    names = ["scope"] + ([f"access:{scope}"] if scope else [])
    for name in names:
        hit = cloud.cache.get(name)
        if hit is None or hit[1] > cloud.ttl:
            return True
    return False


def _stamp_path() -> str:
    from . import paths

    return os.path.join(paths.cache_dir(), "refresh.stamp")


def refresh_in_background() -> bool:
    """Start a detached `python -P -m ctxscope.hook --refresh` here; don't wait for it.

    Its stdin, stdout and stderr are /dev/null and it has its own session, so
    the shell neither waits for it nor sees its output. At most one start per
    REFRESH_PAUSE seconds, so a dozen terminals opening at once start one.
    Returns whether a process was started.
    """
    import time

    stamp = _stamp_path()
    try:
        if time.time() - os.stat(stamp).st_mtime < REFRESH_PAUSE:
            return False
    except OSError:
        pass
    try:
        from .fsutil import ensure_private_dir

        ensure_private_dir(os.path.dirname(stamp))
        _touch_private(stamp)
    except Exception:  # no stamp only means a refresh may start twice
        pass
    # -P: never import a `ctxscope` that happens to sit in the working directory.
    argv = [sys.executable, "-P", "-m", "ctxscope.hook", "--refresh"]
    try:
        _spawn_detached(argv)
    except Exception:  # a refresh that cannot start only costs freshness
        return False
    return True


def _touch_private(path: str) -> None:
    """Set `path`'s modification time to now; create it empty and 0600 when missing.

    0600 whatever the umask, like the rest of the cache: the mode given to open()
    is filtered by the umask, so a new file also gets an fchmod. An existing file
    is only touched (utime needs no write permission from its owner).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        os.utime(path, follow_symlinks=False)  # a link planted here is touched, not its target
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _spawn_detached(argv: list[str]) -> None:
    if not hasattr(os, "fork"):
        import subprocess

        subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,
        )
        return
    # fork + exec rather than subprocess: importing subprocess costs the hook more
    # than the fork. The child gets a new session and /dev/null for 0, 1 and 2, and
    # closes every other inherited descriptor, so a `$(...)` in the shell does not
    # wait for it; it is reaped by init once this short-lived process exits.
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; observed by the tests through its effect
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            try:
                highest = os.sysconf("SC_OPEN_MAX")
            except (ValueError, OSError):
                highest = 65536
            os.closerange(3, highest if highest > 0 else 65536)
            os.execv(argv[0], argv)
        finally:
            os._exit(0)


def refresh() -> int:
    """The background refresher: ask the cloud now and fill the cache; silent, log-free."""
    from contextlib import ExitStack

    from . import paths
    from .fsutil import ensure_private_dir, file_lock

    lock_path = os.path.join(paths.cache_dir(), "refresh.lock")
    with ExitStack() as held:
        try:
            ensure_private_dir(os.path.dirname(lock_path))
            held.enter_context(file_lock(lock_path, timeout=0))  # try once, never wait
        except Exception:  # another refresher is at it, or no cache dir
            return 0
        from .resolver import Context, resolve

        ctx = Context(refresh=True, command="hook")
        try:
            resolve(context=ctx, log=False)
        finally:
            ctx.close()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--refresh"]:
        try:
            sys.exit(refresh())
        except Exception:  # nobody reads this process's output
            sys.exit(1)
    sys.exit(2)
