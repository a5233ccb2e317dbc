"""`ctxscope log`: the drift log as a table (or raw JSON lines), filtered, newest last."""

from __future__ import annotations

import os
import sys

from .. import paths
from ..output import err, warn_all

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from rich.console import Console


def log(
    *,
    since: str | None = None,
    event: list[str] | None = None,
    scope: str | None = None,
    tail: int | None = None,
    follow: bool = False,
    json_out: bool = False,
    stats: bool = False,
) -> int:
    """Show the matching drift log events; with `follow`, then new ones until Ctrl-C. Exits 0.

    With `stats`, count them instead (`log_stats`)."""
    from .. import config as config_mod
    from ..logview import Filters, Reader, log_files, malformed_warning, parse_since
    from ..logview import follow as follow_log

    config = config_mod.load(paths.working_dir(), os.environ)
    warn_all(config.warnings)
    filters = Filters(since=parse_since(since) if since else None, events=event, scope=scope)
    path, files = log_files(config)
    reader = Reader(files)
    if stats:
        from ..errors import UsageError

        if follow:
            raise UsageError(
                "--stats and --follow cannot be combined",
                hint="use --stats with --since to choose the window",
            )
        from .log_stats import print_stats_for

        return print_stats_for(reader, filters, tail=tail, json_out=json_out)
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

    console: Console | None = None  # None with --json
    if json_out:
        for line, _event in entries:
            sys.stdout.write(line + "\n")
    else:
        from ..render import make_console

        console = make_console()
        if entries or follow:
            from ..render_forensics import print_log

            print_log([e for _line, e in entries], console, fixed=follow)
        elif not files:
            console.print(f"no drift log yet at {path}", style="dim")
        else:
            console.print("no events match", style="dim")
    if not follow:
        return 0

    sys.stdout.flush()
    from ..render_forensics import print_log_row

    try:
        for line, found in follow_log(path, filters, reader.end):
            if found is None:
                err("warning", f"skipped a malformed line of the drift log {path}")
            elif console is None:  # --json
                sys.stdout.write(line + "\n")
            else:
                print_log_row(found, console)
            sys.stdout.flush()
    except KeyboardInterrupt:
        return 0
    return 0
