"""`ctxscope ps`: this user's processes that hold a runtime scope, and which are stale."""

from __future__ import annotations

from ..errors import ExitCode
from ..output import err, print_json, warn_all


def ps(*, json_out: bool = False, check: bool = False, pid: list[int] | None = None,
       offline: bool = False, refresh: bool = False) -> int:
    """List the processes holding a runtime scope; with `check`, exit 3 when one is stale."""
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
    return int(ExitCode.DRIFT) if check and found.stale else 0
