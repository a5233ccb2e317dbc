"""The Typer app: every command and option of `ctxscope` is declared here, and only here.

Each command's body is a plain function in `ctxscope/commands/<name>.py` that
takes typed keyword arguments and returns the exit code; the functions below
parse, call it, and exit with what it returns. Options several commands share
are in `ctxscope.options`. The fast path in `ctxscope._entry` calls the same
bodies without Typer. `run()` is the single error boundary for the full CLI.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from ._version import version
from .errors import CtxScopeError, ExitCode
from .hook import PROMPT_FORMAT
from .kinds import Direction, Shell
from .options import DryRunOpt, ForceOpt, JsonOpt, OfflineOpt, RefreshOpt, ScopeOpt, YesOpt
from .output import err, error_line, guarded, safe_streams


class _BoundaryGroup(TyperGroup):
    """The error boundary inside the app, so in-process runs (CliRunner) get it too."""

    def invoke(self, ctx):
        with safe_streams():
            try:
                return super().invoke(ctx)
            except CtxScopeError as exc:
                err("error", error_line(exc))
                raise typer.Exit(int(exc.exit_code)) from None
            except Exception as exc:
                # Typer carries its own copy of click: match its BadParameter by name.
                message = getattr(exc, "message", None)
                if type(exc).__name__ == "BadParameter" and isinstance(message, str):
                    exc.message = plain_parameter_message(message)  # type: ignore[attr-defined]
                raise


# What the validation library behind Typer says, and what ctxscope says instead.
_PLAIN = (
    ("Input should be a valid integer", "not a whole number"),
    ("Input should be a valid number", "not a number"),
    ("Input should be a valid boolean", "not true or false"),
)


def plain_parameter_message(message: str) -> str:
    """A bad option value's message in ctxscope's words, not the validation library's."""
    message = message.removeprefix("Value error, ")
    for theirs, ours in _PLAIN:
        if message.startswith(theirs):
            return ours
    return message


app = typer.Typer(
    cls=_BoundaryGroup,
    name="ctxscope",
    help=(
        "Resolve AI-agent project scope from one strict precedence chain "
        "(runtime > local > cloud > fallback), show where every value comes from, "
        "and report drift."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"ctxscope {version()}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Resolve AI-agent project scope from one strict precedence chain."""


@app.command()
def status(
    scope: ScopeOpt = None,
    json_out: JsonOpt = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit with the state's code: INVALID 1, DRIFTED 3, "
            "UNAUTHORIZED 4, UNRESOLVED 5, DEGRADED 6; 0 when SYNCED.",
        ),
    ] = False,
    offline: OfflineOpt = False,
    refresh: RefreshOpt = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep the table on screen and redraw it when a source "
            "changes (files at once, the cloud at its cache TTL), until Ctrl-C "
            "(exit 0). With --json: one JSON object per line per change.",
        ),
    ] = False,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            min=0.1,
            max=86400.0,
            metavar="SECONDS",
            help="With --watch: how often to look for changes.",
        ),
    ] = 1.0,
) -> None:
    """Show every source, its value, origin and state, which one wins, and how to fix drift."""
    from .commands.status import status as body

    raise typer.Exit(
        body(
            scope=scope,
            json_out=json_out,
            check=check,
            offline=offline,
            refresh=refresh,
            watch=watch,
            interval=interval,
        )
    )


@app.command()
def resolve(
    scope: ScopeOpt = None,
    json_out: JsonOpt = False,
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Show the whole chain on stderr."),
    ] = False,
    offline: OfflineOpt = False,
    refresh: RefreshOpt = False,
) -> None:
    """Print only the resolved scope on stdout, for `$(ctxscope resolve)`.

    Exits 1 (invalid), 4 (unauthorized), 5 (unresolved) or 6 (cloud needed but
    unreachable) with nothing on stdout when there is no scope to use. In
    [policy] mode = "enforce" it also fails on drift (3) and when authorization
    is not checked (4) or unknown (6).
    """
    from .commands.resolve import resolve as body

    raise typer.Exit(body(scope=scope, json_out=json_out, explain=explain, offline=offline, refresh=refresh))


@app.command()
def diff(
    scope: ScopeOpt = None,
    json_out: JsonOpt = False,
    offline: OfflineOpt = False,
    refresh: RefreshOpt = False,
) -> None:
    """Show each drifted source against the resolved scope; exit 3 on drift, 0 in sync.

    Other states exit with their own code (1 invalid, 4 unauthorized,
    5 unresolved, 6 cloud unreachable), so a CI step fails on anything not in sync.
    """
    from .commands.diff import diff as body

    raise typer.Exit(body(scope=scope, json_out=json_out, offline=offline, refresh=refresh))


@app.command()
def trust(
    path: Annotated[
        str | None,
        typer.Argument(help="The project file to trust (default: the nearest .ctxscope.toml)."),
    ] = None,
    revoke: Annotated[bool, typer.Option("--revoke", help="Forget the trust instead.")] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Trust a file that changed since it was last "
            "trusted without asking (the diff is still printed).",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Trust a project .ctxscope.toml, so its [cloud], [runtime], [log] and [observe] count.

    Records the file's path and a hash of its content; any later change needs
    `ctxscope trust` again. Review the file first: a trusted file can send your
    token to the URL it names. When the file changed since it was last trusted
    (a git pull), the diff from the trusted content is shown first and a terminal
    is asked to confirm (without one, --yes is needed).
    """
    from .commands.trust import trust as body

    raise typer.Exit(body(path=path, revoke=revoke, yes=yes, json_out=json_out))


@app.command()
def mcp() -> None:
    """Serve read-only scope tools to an MCP client over stdio.

    Tools: scope_status, scope_resolve, scope_diff. Meant to be started by an
    MCP client (see docs/how-to/agent-code.md for a configuration snippet). Every call resolves
    like the CLI and logs drift with command "mcp"; nothing is written over MCP.
    Needs the optional extra: pip install 'ctxscope[mcp]'.
    """
    from .commands.mcp import mcp as body

    raise typer.Exit(body())


@app.command("ps")
def ps(
    json_out: Annotated[
        bool,
        typer.Option("--json", help="Print a JSON list of the processes on stdout."),
    ] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Exit 3 when any process holds a stale scope."),
    ] = False,
    pid: Annotated[
        list[int] | None,
        typer.Option("--pid", metavar="PID", help="Look only at this process (repeatable)."),
    ] = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Look at every process of this user on the machine, "
            "not only those working in the current repository.",
        ),
    ] = False,
    offline: OfflineOpt = False,
    refresh: RefreshOpt = False,
) -> None:
    """List processes whose environment holds a runtime scope (CTX_SCOPE) and mark stale ones.

    For each process of the current user started with one of the [runtime] env
    variables and working in the current repository (--all: anywhere), shows its
    pid, start time, working directory and command, the scope it holds, and the
    scope that resolves now for its directory from the other sources (local,
    cloud, fallback). A process whose scope differs is stale: it cached an old
    value at startup and must be restarted. Each stale process is logged as
    scope_drift_detected with reason process_stale. Shells are shown as shell:
    /proc holds their environment at start, which they may have changed since,
    so they are never counted as stale. ctxscope's own pipeline (ctxscope ps |
    cat) is left out. Processes whose environment cannot be read are listed as
    unreadable. Linux only (reads /proc).
    """
    from .commands.ps import ps as body

    raise typer.Exit(
        body(json_out=json_out, check=check, pid=pid, all_=all_, offline=offline, refresh=refresh)
    )


@app.command("log")
def log(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Only events at or after WHEN: a time back from now (90s, 30m, 2h, "
            "7d, 1w) or an ISO time (2026-11-24T10:00:00Z; without a zone it is "
            "local time).",
        ),
    ] = None,
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event", metavar="NAME", help="Only events named NAME, e.g. scope_drift_detected (repeatable)."
        ),
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option(
            "--scope",
            metavar="NAME",
            help="Only events where NAME is the runtime, local, cloud or resolved "
            "scope, or a sync's target, before or after value.",
        ),
    ] = None,
    tail: Annotated[
        int | None,
        typer.Option(
            "--tail",
            "-n",
            metavar="N",
            min=0,
            help="Only the last N matching events (read from the end of the log).",
        ),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Keep running and show new events as they are written; Ctrl-C stops."
        ),
    ] = False,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the matching events as raw JSON lines (with --stats: one JSON object of counts).",
        ),
    ] = False,
    stats: Annotated[
        bool,
        typer.Option(
            "--stats",
            help="Count the matching events by event, reason, scope and "
            "host, with a per-hour bar chart (UTC).",
        ),
    ] = False,
) -> None:
    """Show drift log events (rotated files included) as a table, newest last.

    Columns: time (UTC), event, resolved scope, reason, action, and the command
    that wrote it. Lines that are not JSON objects are counted, skipped and
    reported on stderr. The log is [log] path, CTXSCOPE_LOG, or drift.jsonl in
    the user state directory.
    """
    from .commands.log import log as body

    raise typer.Exit(
        body(since=since, event=event, scope=scope, tail=tail, follow=follow, json_out=json_out, stats=stats)
    )


@app.command(name="init")
def init_command(
    scope: Annotated[
        str | None,
        typer.Option(
            "--scope",
            metavar="SCOPE",
            help="The scope to link (default: the repository file's, else the scope that resolves now).",
        ),
    ] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Link this repository to a scope: create or update .ctxscope.toml at its root.

    The file is the project file in effect when it lies inside the repository,
    else a new .ctxscope.toml at the repository root (the nearest directory
    upward holding .git, else the working directory). Like every write: with a
    cloud configured the token must see the scope (a fresh GET /v1/scopes/SCOPE;
    exit 4, or 6 when the cloud cannot answer, with nothing written); [policy]
    mode observe refuses it (exit 1); without --yes a terminal is asked, and with
    no terminal nothing is written (exit 2). Keeps the file's comments; running it
    again changes nothing. Prints the next steps: shell hook, trust, CI.
    """
    from .commands.init import init as body

    raise typer.Exit(body(scope=scope, dry_run=dry_run, yes=yes, json_out=json_out, force=force))


class _ConfigGroup(TyperGroup):
    """`config KEY` still means `config get KEY` (a key is never a subcommand's name)."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["get", *args]
        return super().resolve_command(ctx, args)


config_app = typer.Typer(
    cls=_ConfigGroup,
    name="config",
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(config_app, name="config")

UserFileOpt = Annotated[
    bool,
    typer.Option(
        "--user",
        help="Edit the user config (CTXSCOPE_CONFIG, else config.toml in the user config directory).",
    ),
]
ProjectFileOpt = Annotated[
    bool,
    typer.Option(
        "--project",
        help="Edit the project file (the nearest .ctxscope.toml; "
        "a new one at the repository root when there is none).",
    ),
]


def _file_flag(user: bool, project: bool) -> str | None:
    from .errors import UsageError

    if user and project:
        raise UsageError("--user and --project cannot be combined", hint="choose one file")
    return "user" if user else ("project" if project else None)


@config_app.callback(invoke_without_command=True)
def config_command(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List every effective setting with its value and origin (file:line, env var, default).

    Like `git config --list --show-origin`, then the files read and whether the
    project file is trusted. The token (CTXSCOPE_TOKEN) is shown only as set or
    not set. `config KEY` prints one value; `config set KEY VALUE` and
    `config unset KEY` change one, as a write (plan, --dry-run, --yes, logged,
    taken back by `ctxscope undo`).
    """
    if ctx.invoked_subcommand is None:
        from .commands.config import config as body

        raise typer.Exit(body(key=None, json_out=json_out))


@config_app.command(name="get")
def config_get(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The setting, for example cloud.url.")],
    json_out: JsonOpt = False,
) -> None:
    """Print one setting's value, like `git config --get`; exit 1 when it is not set."""
    from .commands.config import config as body

    raise typer.Exit(body(key=key, json_out=json_out))


@config_app.command(name="set")
def config_set(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The setting, for example policy.mode.")],
    value: Annotated[
        str,
        typer.Argument(
            metavar="VALUE", help='The value: text, a number, true/false, or a list as A,B or ["A", "B"].'
        ),
    ],
    user: UserFileOpt = False,
    project: ProjectFileOpt = False,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Set one setting in a config file, keeping its comments (undo: ctxscope undo).

    Without --user or --project the file is the one that sets the key now, else
    the user config. The value is checked by the setting's own rule first. Like
    every write: --dry-run shows the plan, a terminal is asked unless --yes, and
    without a terminal nothing is written (exit 2). The token is never a setting.
    """
    from .commands.config_edit import set_setting

    raise typer.Exit(
        set_setting(
            key=key, value=value, where=_file_flag(user, project), dry_run=dry_run, yes=yes, json_out=json_out
        )
    )


@config_app.command(name="unset")
def config_unset(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The setting, for example cloud.timeout.")],
    user: UserFileOpt = False,
    project: ProjectFileOpt = False,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Remove one setting from a config file, so the next file or the default applies."""
    from .commands.config_edit import unset_setting

    raise typer.Exit(
        unset_setting(key=key, where=_file_flag(user, project), dry_run=dry_run, yes=yes, json_out=json_out)
    )


@app.command()
def sync(
    direction: Annotated[
        Direction,
        typer.Option(
            "--direction",
            show_default=False,
            help="runtime-to-local: write the runtime scope (CTX_SCOPE or --scope) "
            "into the local file. resolved-to-cloud: PUT the resolved scope as "
            "the cloud default. Required; there is no default direction.",
        ),
    ],
    scope: ScopeOpt = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Write one source from another, verify it by reading it back, and log it.

    runtime-to-local edits `scope` in the file that holds the local scope (or a new
    .ctxscope.toml at the repository root), keeping its comments, layout and mode,
    atomically and under a lock. resolved-to-cloud PUTs the resolved scope with
    If-Match (a 412 is a conflict: exit 1, never retried) and needs write access.
    Already in sync: nothing written, exit 0. Allowed by [policy] mode: local
    writes in local, cloud and enforce; cloud writes in cloud and enforce.
    """
    from .commands.sync import sync as body

    raise typer.Exit(
        body(direction=direction, scope=scope, dry_run=dry_run, yes=yes, json_out=json_out, force=force)
    )


@app.command()
def repair(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="SCOPE",
            help="The scope to bring every source to (default: the resolved scope; "
            "with an invalid CTX_SCOPE, what resolves without it).",
        ),
    ] = None,
    shell: Annotated[
        Shell | None,
        typer.Option(
            "--shell",
            help="Print only shell code on stdout that fixes the runtime "
            'env, for eval "$(ctxscope repair --shell bash)" (fish: | source).',
        ),
    ] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Bring the local file, the cloud default, its cache and the runtime env to one scope.

    Authorizes the target (not the scope that resolves now), writes the local file
    (a file that cannot be parsed is backed up beside itself first), PUTs the cloud
    default when [policy] mode allows it, clears the cache entries it changed, and
    reads every write back. The shell that started ctxscope cannot be changed from
    here: without --shell a differing CTX_SCOPE leaves the run unfinished (exit 3)
    and the exact eval command is printed. A write the mode refused exits 1.
    """
    from .commands.repair import repair as body

    raise typer.Exit(body(to=to, shell=shell, dry_run=dry_run, yes=yes, json_out=json_out, force=force))


@app.command()
def hook(
    shell: Annotated[
        Shell,
        typer.Argument(metavar="SHELL", help="The shell whose startup file gets the snippet."),
    ],
    run: Annotated[
        bool,
        typer.Option(
            "--run",
            help="Run the startup check instead of printing the snippet: one "
            "line on stderr when the scope needs attention, nothing otherwise; "
            "always exits 0.",
        ),
    ] = False,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print one JSON object on stdout: {"shell", "snippet"}; '
            'with --run, {"state", "warning"} (the line, or null) and nothing on '
            "stderr.",
        ),
    ] = False,
) -> None:
    """Print a snippet for ~/.bashrc, ~/.zshrc or config.fish that warns at shell start.

    The snippet prints one line on stderr when the scope is DRIFTED, INVALID or
    UNAUTHORIZED (UNRESOLVED only inside a directory with a .ctxscope.toml), and
    nothing when in sync, where ctxscope is not used, or when ctxscope is missing
    or fails. It reads the cloud from the cache and never waits for the network; a
    stale answer is refreshed in the background for the next shell. Install:
    `ctxscope hook bash >> ~/.bashrc`.
    """
    from .commands.hook import hook as body

    raise typer.Exit(body(shell=shell, run=run, json_out=json_out))


@app.command()
def prompt(
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="What to print: {scope} the resolved scope, {mark} '!' when the "
            "scope needs attention, {state} e.g. SYNCED, {source} e.g. local.",
        ),
    ] = PROMPT_FORMAT,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print one JSON object on stdout: {"scope", "mark", '
            '"state", "source", "text"}, where text is what the prompt prints (null '
            "for nothing).",
        ),
    ] = False,
) -> None:
    """Print a short scope marker for the shell prompt; nothing when no scope is set.

    For bash and zsh: PS1='$(ctxscope prompt --format "[{scope}{mark}] ")'"$PS1"
    (zsh needs `setopt prompt_subst`). Reads the cloud answer from the cache only,
    never waits for the network, and never writes a file.
    """
    from .commands.prompt import prompt as body

    raise typer.Exit(body(fmt=fmt, json_out=json_out))


@app.command()
def completion(
    shell: Annotated[
        Shell,
        typer.Argument(metavar="SHELL", help="The shell to print the completion script for."),
    ],
) -> None:
    """Print the completion script for bash, zsh or fish on stdout.

    The script ships with ctxscope and completes every command, option and choice;
    a TAB never starts ctxscope. Install it once, e.g. `ctxscope completion bash >
    ~/.local/share/bash-completion/completions/ctxscope`, `ctxscope completion zsh >
    ~/.zfunc/_ctxscope` (a directory on $fpath), or `ctxscope completion fish >
    ~/.config/fish/completions/ctxscope.fish`.
    """
    from .commands.completion import completion as body

    raise typer.Exit(body(shell=shell))


@app.command("exec", context_settings={"allow_interspersed_args": False})
def exec_(
    scope: ScopeOpt = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the environment it would set and the command, shell-quoted, and start nothing.",
        ),
    ] = False,
    offline: OfflineOpt = False,
    refresh: RefreshOpt = False,
    *,
    # Last, so the usage line and the man page show the options before COMMAND.
    command: Annotated[
        list[str],
        typer.Argument(
            metavar="COMMAND",
            show_default=False,
            help="The command to start, with its arguments; options after "
            "COMMAND (or after --) are COMMAND's.",
        ),
    ],
) -> None:
    """Resolve and authorize like `resolve`, then replace itself with COMMAND in that scope.

    COMMAND gets the resolved scope in the runtime variable (CTX_SCOPE), each
    observer that reads an environment variable gets its id for the scope, and
    CTXSCOPE_EXEC records the scope and launch time. Its pid, signals, stdin,
    stdout and exit code are COMMAND's. When resolve would fail (1 invalid, 3 drift
    in enforce mode, 4 unauthorized, 5 unresolved, 6 cloud needed and down),
    COMMAND is not started and scope_exec_refused is logged. A COMMAND that cannot
    be found exits 127.
    """
    from .commands.exec import exec_ as body

    raise typer.Exit(body(command=command, scope=scope, dry_run=dry_run, offline=offline, refresh=refresh))


@app.command()
def whoami(
    scope: ScopeOpt = None,
    json_out: JsonOpt = False,
    offline: OfflineOpt = False,
    refresh: RefreshOpt = False,
) -> None:
    """Show the cloud, whether CTXSCOPE_TOKEN is set, who the cloud says you are, and your access.

    Like `gh auth status`. The token's value is never shown. Exits 0 when the
    cloud answered for the token, 1 when no cloud is configured, 4 when the
    cloud refused the token or it cannot see the resolved scope, 6 when the
    cloud could not be reached.
    """
    from .commands.whoami import whoami as body

    raise typer.Exit(body(scope=scope, json_out=json_out, offline=offline, refresh=refresh))


@app.command()
def undo(
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Revert the last write ctxscope made here (sync, repair, init, config set/unset, undo).

    The write is read from the drift log; each file or cloud value it changed is
    set back to the value before, as a write like any other: refused when the
    target changed since (exit 1), checked against [policy] mode and the cloud's
    permissions, confirmed, read back and logged. Running it again undoes the undo.
    """
    from .commands.undo import undo as body

    raise typer.Exit(body(dry_run=dry_run, yes=yes, json_out=json_out))


@app.command()
def serve(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            metavar="HOST",
            help="Address to listen on. Anything but loopback gets a warning: "
            "the endpoints have no authentication.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port",
            metavar="PORT",
            min=0,
            max=65535,
            help="Port to listen on (0: any free port, shown on stderr).",
        ),
    ] = 9464,
) -> None:
    """Serve /healthz, /status and /metrics over HTTP on uvicorn, for probes and scrapes.

    /healthz answers 200 when the scope may be used (SYNCED, or DRIFTED outside
    enforce mode) and 503 otherwise; /status is the `status --json` object;
    /metrics is Prometheus text. Each request resolves like `status`, within the
    cloud timeout. One line on stderr names the URL; SIGINT or SIGTERM stops it
    (exit 0). Needs the optional extra: pip install 'ctxscope[serve]'.
    """
    from .commands.serve import serve as body

    raise typer.Exit(body(host=host, port=port))


@app.command()
def metrics(
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Replace FILE atomically instead of printing, e.g. "
            "ctxscope.prom in node_exporter's textfile directory.",
        ),
    ] = None,
) -> None:
    """Print the Prometheus metrics: state, resolved scope, drift, cloud, drift-event counts.

    The same text as /metrics of `ctxscope serve`. Event counts are read from the
    drift log incrementally (a checkpoint in the state directory). Needs the
    optional extra: pip install 'ctxscope[metrics]'.
    """
    from .commands.metrics import metrics as body

    raise typer.Exit(body(output=output))


def run(argv: list[str] | None = None) -> int:
    """Run the app with the error boundary around it; return the exit code."""
    args = sys.argv[1:] if argv is None else argv

    def call() -> int:
        try:
            app(args=args, prog_name="ctxscope", standalone_mode=True)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return int(ExitCode.OK)

    return guarded(call)
