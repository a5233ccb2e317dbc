"""The Typer app: declares commands and options, calls the core, hands results to render.

Each command module stays small; the logic lives in the core (resolver, sources,
reconcile). `run()` is the single error boundary for the full CLI.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from ._version import __version__
from .errors import CtxScopeError, ExitCode
from .output import err, error_line, guarded, print_json


class _BoundaryGroup(TyperGroup):
    """The error boundary inside the app, so in-process runs (CliRunner) get it too."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CtxScopeError as exc:
            err("error", error_line(exc))
            raise typer.Exit(int(exc.exit_code)) from None


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

ScopeOpt = Annotated[
    str | None,
    typer.Option("--scope", metavar="SCOPE",
                 help="Runtime scope for this run; beats CTX_SCOPE and every other source."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
OfflineOpt = Annotated[
    bool,
    typer.Option("--offline", help="Never touch the network; use a cached cloud answer of any age."),
]
RefreshOpt = Annotated[
    bool, typer.Option("--refresh", help="Bypass the cloud cache and ask the cloud now."),
]


def _version(value: bool) -> None:
    if value:
        print(f"ctxscope {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Resolve AI-agent project scope from one strict precedence chain."""


@app.command()
def status(
    scope: ScopeOpt = None,
    json_out: JsonOpt = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Exit with the state's code: INVALID 1, DRIFTED 3, "
                     "UNAUTHORIZED 4, UNRESOLVED 5, DEGRADED 6; 0 when SYNCED."),
    ] = False,
    offline: OfflineOpt = False,
    refresh: RefreshOpt = False,
    watch: Annotated[
        bool,
        typer.Option("--watch", help="Keep the table on screen and redraw it when a source "
                     "changes (files at once, the cloud at its cache TTL), until Ctrl-C "
                     "(exit 0). With --json: one JSON object per line per change."),
    ] = False,
    interval: Annotated[
        float,
        typer.Option("--interval", min=0.1, metavar="SECONDS",
                     help="With --watch: how often to look for changes."),
    ] = 1.0,
) -> None:
    """Show every source, its value, origin and state, which one wins, and how to fix drift."""
    if watch:
        from .errors import UsageError
        from .watch import watch_status

        if check:
            raise UsageError("--watch and --check cannot be combined",
                             hint="use --check alone in scripts and CI")
        raise typer.Exit(watch_status(scope=scope, json_out=json_out, offline=offline,
                                      refresh=refresh, interval=interval))
    from . import status_command

    raise typer.Exit(status_command.status(scope=scope, json_out=json_out, check=check,
                                           offline=offline, refresh=refresh))


@app.command()
def resolve(
    scope: ScopeOpt = None,
    json_out: JsonOpt = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the whole chain on stderr."),
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
    from . import resolve_command

    code = resolve_command.run(scope=scope, json_out=json_out, explain=explain,
                               offline=offline, refresh=refresh)
    raise typer.Exit(code)


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
    from . import status_command

    raise typer.Exit(status_command.diff(scope=scope, json_out=json_out, offline=offline,
                                         refresh=refresh))


@app.command()
def trust(
    path: Annotated[
        str | None,
        typer.Argument(help="The project file to trust (default: the nearest .ctxscope.toml)."),
    ] = None,
    revoke: Annotated[bool, typer.Option("--revoke", help="Forget the trust instead.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Trust a project .ctxscope.toml, so its [cloud], [runtime], [log] and [observe] count.

    Records the file's path and a hash of its content; any later change needs
    `ctxscope trust` again. Review the file first: a trusted file can send your
    token to the URL it names.
    """
    from .trust import trust_file

    result = trust_file(path, revoke=revoke)
    if json_out:
        print_json(result)
    else:
        verb = "no longer trusted" if revoke else "trusted"
        print(f"{result['path']}: {verb} (sha256 {result['sha256'][:12]}…)")


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


def _register_commands() -> None:
    from .commands import register

    register()


_register_commands()
