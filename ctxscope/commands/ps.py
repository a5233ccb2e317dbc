"""`ctxscope ps`: this user's processes that hold a runtime scope, and which are stale."""

from __future__ import annotations

from typing import Annotated

import typer

from ..cli import OfflineOpt, RefreshOpt, app
from ..errors import ExitCode
from ..output import err, print_json, warn_all


@app.command("ps")
def ps(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of the processes on stdout."),
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 3 when any process holds a stale scope."),
    ] = False,
    pid: Annotated[
        list[int] | None,
        typer.Option("--pid", metavar="PID", help="Look only at this process (repeatable)."),
    ] = None,
    offline: OfflineOpt = False,
    refresh: RefreshOpt = False,
) -> None:
    """List processes whose environment holds a runtime scope (CTX_SCOPE) and mark stale ones.

    For each process of the current user started with one of the [runtime] env
    variables, shows its pid, start time, working directory and command, the
    scope it holds, and the scope that resolves now for its directory from the
    other sources (local, cloud, fallback). A process whose scope differs is
    stale: it cached an old value at startup and must be restarted. Each stale
    process is logged as scope_drift_detected with reason process_stale.
    Processes whose environment cannot be read are listed as unreadable.
    Linux only (reads /proc).
    """
    from ..procs import record_stale, scan

    found = scan(offline=offline, refresh=refresh, pids=pid)
    warn_all(found.config.warnings)
    warn_all(record_stale(found, command="ps"))
    if pid:
        seen = {p.pid for p in found.processes}
        for missing in pid:
            if missing not in seen:
                err("warning", f"pid {missing}: no process of this user holding "
                    f"{' or '.join(found.config['runtime.env'])}")
    if json_out:
        print_json([p.to_dict() for p in found.processes])
        from ..render_forensics import unreadable_warning

        warning = unreadable_warning(found.unreadable)
        if warning:
            err("warning", warning)
    else:
        from ..render import make_console
        from ..render_forensics import print_ps

        print_ps(found, make_console(), list(found.config["runtime.env"]))
    raise typer.Exit(int(ExitCode.DRIFT) if check and found.stale else 0)
