"""Tables for incident forensics: `ctxscope ps` and `ctxscope log`, in render.py's style.

The core (`procs`, `logview`) hands plain data here; `--json` never passes
through rich.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .render import new_table

_PROC_STYLE = {
    "stale": "bold yellow",
    "current": "green",
    "unknown": "dim",
    "unreadable": "bold red",
    "shell": "dim",
}
_EVENT_STYLE = {
    "scope_drift_detected": "yellow",
    "scope_synced": "green",
    "scope_repaired": "green",
    "scope_sync_failed": "bold red",
    "scope_unauthorized": "bold red",
    "scope_unresolved": "bold red",
    "scope_exec_refused": "bold red",
}


def _dash(value) -> Text:
    return Text(str(value)) if value not in (None, "") else Text("-", style="dim")


def ps_table(processes, width: int | None = None) -> Table:
    """One row per process. The command, often long, gets the width that is left."""
    rows = []
    for p in processes:
        scope = Text(p.scope, style="red" if p.scope_problem else "") if p.scope else _dash(None)
        expected = _dash(p.expected)
        if p.expected_from:
            expected.append(f" ({p.expected_from})", style="dim")
        started = (p.started or "").replace("T", " ").rstrip("Z")
        rows.append(
            [
                Text(str(p.pid)),
                _dash(started),
                scope,
                expected,
                Text(p.state, style=_PROC_STYLE.get(p.state, "")),
                _dash(p.cwd),
            ]
        )
    headers = ("pid", "started (UTC)", "scope", "expected", "state", "cwd")
    used = sum(max([len(h)] + [len(r[i].plain) for r in rows]) + 2 for i, h in enumerate(headers))
    budget = max(10, width - used - 1) if width else None
    table = new_table()
    table.add_column("pid", justify="right", no_wrap=True)
    table.add_column("started (UTC)", no_wrap=True)
    table.add_column("scope", overflow="fold")
    table.add_column("expected", overflow="fold")
    table.add_column("state", no_wrap=True)
    table.add_column("cwd", overflow="fold")
    table.add_column("command", no_wrap=True, overflow="ellipsis")
    for p, row in zip(processes, rows, strict=True):
        table.add_row(*row, Text(_cut(p.command, budget)))
    return table


def _cut(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def print_ps(found, console: Console, names: list[str], *, root: str | None = None) -> None:
    """The table, then one summary line that says what to do."""
    shown = found.processes
    variables = " or ".join(names)
    if not shown:
        where = f" working in {root}" if root else ""
        more = " (ctxscope ps --all: the whole machine)" if root else ""
        console.print(
            Text(f"no process of this user{where} holds {variables}{more}", style="dim"), soft_wrap=True
        )
        return
    # The command is the one value cut to fit: to the terminal's width, or in a pipe to
    # COLUMNS when it is set (else never).
    from .render import PIPE_WIDTH, columns

    width = columns() if console.width >= PIPE_WIDTH else console.width
    console.print(ps_table(shown, width))
    console.print()
    stale = found.stale
    if stale:
        noun = "process holds" if len(stale) == 1 else "processes hold"
        pids = " ".join(str(p.pid) for p in stale)
        line = Text.assemble(
            ("STALE", "bold yellow"),
            f": {len(stale)} {noun} a scope that no longer resolves for its directory "
            f"(pid {', '.join(str(p.pid) for p in stale)}). Fix: restart "
            f"{'it' if len(stale) == 1 else 'them'} so {'it reads' if len(stale) == 1 else 'they read'}"
            f" the scope again (e.g. kill {pids}, then start it with {stale[0].variable} "
            "unset or set to the expected scope)",
        )
    else:
        line = Text.assemble(
            ("OK", "bold green"), ": no process holds a scope that differs from what resolves now"
        )
    console.print(line, soft_wrap=True)
    for p in shown:
        if p.problem and p.state in ("stale", "unknown"):
            console.print(Text(f"pid {p.pid}: {p.problem}", style="dim"), soft_wrap=True)
        if p.launched is not None:
            console.print(Text(launched_line(p), style="dim"), soft_wrap=True)

    shells = [p for p in shown if p.state == "shell"]
    if shells:
        pids = ", ".join(str(p.pid) for p in shells)
        console.print(Text(f"pid {pids}: {SHELL_LINE}", style="dim"), soft_wrap=True)
    if root:
        console.print(
            Text(f"(processes working in {root}; ctxscope ps --all for the whole machine)", style="dim"),
            soft_wrap=True,
        )
    unreadable = found.unreadable
    if unreadable:
        console.print(Text(_unreadable_line(unreadable), style="bold red"), soft_wrap=True)


def launched_line(p) -> str:
    """`pid N: launched by ctxscope exec with S at T; S2 resolves now`."""
    import time

    at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(p.launched.at))
    line = f"pid {p.pid}: launched by ctxscope exec with {p.launched.scope} at {at}"
    if p.expected is not None:
        line += f"; {p.expected} resolves now"
    return line


SHELL_LINE = (
    "shell: environment at start, may have changed (/proc shows what a shell "
    "started with, not what it exported or unset since); not counted as stale"
)


def _unreadable_line(unreadable) -> str:
    n = len(unreadable)
    pids = ", ".join(str(p.pid) for p in unreadable[:10]) + (", …" if n > 10 else "")
    noun = "process" if n == 1 else "processes"
    why = "; ".join(sorted({p.problem for p in unreadable if p.problem})) or "not readable"
    return (
        f"{n} {noun} of this user could not be inspected (pid {pids}: {why}); "
        "any of them may hold a stale scope"
    )


def unreadable_warning(unreadable) -> str | None:
    return _unreadable_line(unreadable) if unreadable else None


def print_stale_note(summary: dict, console: Console) -> None:
    """The lines `status` adds when it finds stale processes."""
    stale = summary["stale"]
    noun = "process holds" if len(stale) == 1 else "processes hold"
    console.print()
    console.print(
        Text.assemble(
            ("STALE PROCESSES", "bold yellow"),
            f": {len(stale)} {noun} a scope that no longer resolves for its directory; "
            f"restart {'it' if len(stale) == 1 else 'them'}. Details: ctxscope ps",
        ),
        soft_wrap=True,
    )
    for p in stale[:5]:
        console.print(
            Text(
                f"  pid {p['pid']}  {p['scope']} (expected {p['expected']})  {p['cwd']}  {p['command']}",
                style="dim",
            ),
            soft_wrap=True,
        )
    if len(stale) > 5:
        console.print(Text(f"  … and {len(stale) - 5} more", style="dim"))


# --- log ------------------------------------------------------------------------------

# Fixed widths for --follow, so rows printed one at a time line up under the header.
_FOLLOW_WIDTHS = {"time (UTC)": 19, "event": 14, "resolved": 14, "reason": 18, "action": 15}


def log_table(events, *, header: bool = True, fixed: bool = False) -> Table:
    table = new_table(show_header=header)
    for name, min_width in (
        ("time (UTC)", None),
        ("event", 8),
        ("resolved", 8),
        ("reason", 8),
        ("action", 8),
    ):
        width = _FOLLOW_WIDTHS[name] if fixed else None
        table.add_column(
            name, overflow="fold", width=width, min_width=min_width, no_wrap=name.startswith("time")
        )
    table.add_column("command", overflow="fold", min_width=8)
    for event in events:
        table.add_row(*log_cells(event))
    return table


def log_cells(event: dict) -> list[Text]:
    name = event.get("event")
    reason = event.get("reason") or (f"{event['direction']}" if event.get("direction") else None)
    command = str(event.get("command") or "")
    proc = event.get("process")
    if isinstance(proc, dict) and proc.get("pid") is not None:
        command = f"{command} (pid {proc['pid']})".strip()
    if name == "scope_exec_refused":
        reason = event.get("refusal") or reason
        if event.get("program"):
            command = f"{command} {event['program']} (not started)".strip()
    if name in ("scope_synced", "scope_repaired") and ("before" in event or "after" in event):
        reason = f"{reason or name}: {event.get('before') or '-'} -> {event.get('after') or '-'}"
    ts = event.get("ts")
    shown_ts = ts.replace("T", " ").rstrip("Z") if isinstance(ts, str) else ts
    # "scope_" starts every event name: the table drops it to leave room for the rest.
    short = str(name).removeprefix("scope_") if name else "?"
    return [
        _dash(shown_ts),
        Text(short, style=_EVENT_STYLE.get(name, "") if isinstance(name, str) else ""),
        _dash(event.get("resolved_scope")),
        _dash(reason),
        _dash(event.get("action_required")),
        _dash(command),
    ]


def print_log(events, console: Console, *, fixed: bool = False) -> None:
    console.print(log_table(events, fixed=fixed))


def print_log_row(event: dict, console: Console) -> None:
    """One more row for --follow, in the fixed column widths of the header."""
    console.print(log_table([event], header=False, fixed=True))
