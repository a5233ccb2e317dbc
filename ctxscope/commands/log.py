"""`ctxscope log`: the drift log as a table (or raw JSON lines), filtered, newest last."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from .. import paths
from ..cli import app
from ..output import err, warn_all


@app.command("log")
def log(
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="WHEN",
                     help="Only events at or after WHEN: a time back from now (90s, 30m, 2h, "
                     "7d, 1w) or an ISO time (2026-11-24T10:00:00Z; without a zone it is "
                     "local time)."),
    ] = None,
    event: Annotated[
        list[str] | None,
        typer.Option("--event", metavar="NAME",
                     help="Only events named NAME, e.g. scope_drift_detected (repeatable)."),
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option("--scope", metavar="NAME",
                     help="Only events where NAME is the runtime, local, cloud or resolved "
                     "scope, or a sync's target, before or after value."),
    ] = None,
    tail: Annotated[
        int | None,
        typer.Option("--tail", "-n", metavar="N", min=0,
                     help="Only the last N matching events (read from the end of the log)."),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f",
                     help="Keep running and show new events as they are written; Ctrl-C stops."),
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the matching events as raw JSON lines."),
    ] = False,
) -> None:
    """Show drift log events (rotated files included) as a table, newest last.

    Columns: time (UTC), event, resolved scope, reason, action, and the command
    that wrote it. Lines that are not JSON objects are counted, skipped and
    reported on stderr. The log is [log] path, CTXSCOPE_LOG, or drift.jsonl in
    the user state directory.
    """
    from .. import config as config_mod
    from ..logview import Filters, Reader, log_files, malformed_warning, parse_since
    from ..logview import follow as follow_log

    config = config_mod.load(paths.working_dir(), os.environ)
    warn_all(config.warnings)
    filters = Filters(since=parse_since(since) if since else None, events=event, scope=scope)
    path, files = log_files(config)
    reader = Reader(files)
    if tail is not None:
        entries = reader.last(tail, filters)
    elif follow:
        entries = reader.last(10, filters)  # like tail -f: some context, then new events
    else:
        entries = list(reader.forward(filters))
    warn_all(reader.errors)
    warning = malformed_warning(reader.malformed)
    if warning:
        err("warning", warning)

    console = None
    if not json_out:
        from ..render import make_console

        console = make_console()
    if json_out:
        for line, _event in entries:
            sys.stdout.write(line + "\n")
    elif entries or follow:
        from ..render_forensics import print_log

        print_log([e for _line, e in entries], console, fixed=follow)
    elif not files:
        console.print(f"no drift log yet at {path}", style="dim")
    else:
        console.print("no events match", style="dim")
    if not follow:
        raise typer.Exit(0)

    sys.stdout.flush()
    from ..render_forensics import print_log_row

    try:
        for line, found in follow_log(path, filters, reader.end):
            if found is None:
                err("warning", f"skipped a malformed line of the drift log {path}")
            elif json_out:
                sys.stdout.write(line + "\n")
            else:
                print_log_row(found, console)
            sys.stdout.flush()
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
