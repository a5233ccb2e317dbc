"""`ctxscope ps`: this user's processes that hold a runtime scope, and which are stale."""

from __future__ import annotations

from ..errors import ExitCode
from ..output import err, print_json, warn_all


def ps(
    *,
    json_out: bool = False,
    check: bool = False,
    pid: list[int] | None = None,
    all_: bool = False,
    offline: bool = False,
    refresh: bool = False,
) -> int:
    """List the processes holding a runtime scope; with `check`, exit 3 when one is stale.

    Without `all_`, only the processes working in the current repository (see
    `procs.repository_of`); shells are never stale; ctxscope's own pipeline is left out.
    """
    from ..paths import working_dir
    from ..procs import record_stale, repository_of, require_supported, scan

    require_supported()
    root = None if all_ else repository_of(working_dir())
    found = scan(offline=offline, refresh=refresh, pids=pid, root=root)
    warn_all(found.config.warnings)
    warn_all(record_stale(found, command="ps"))
    if pid:
        seen = {p.pid for p in found.processes}
        for missing in pid:
            if missing not in seen:
                where = f" working in {root}" if root else ""
                err(
                    "warning",
                    f"pid {missing}: no process of this user{where} holding "
                    f"{' or '.join(found.config['runtime.env'])}" + (" (--all: anywhere)" if root else ""),
                )
    if json_out:
        print_json([p.to_dict() for p in found.processes])
        from ..render_forensics import unreadable_warning

        warning = unreadable_warning(found.unreadable)
        if warning:
            err("warning", warning)
    else:
        from ..render import make_console
        from ..render_forensics import print_ps

        print_ps(found, make_console(), list(found.config["runtime.env"]), root=root)
    return int(ExitCode.DRIFT) if check and found.stale else 0
