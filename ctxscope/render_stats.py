"""Draw `ctxscope log --stats`: count tables and a per-hour bar chart, from plain data."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .render import new_table

_BAR = "█"
_TOP = 10  # rows per count table; the rest are summed into "others"


def _counts(title: str, counts: dict[str, int], total: int) -> Table:
    table = new_table()
    table.add_column(title)
    table.add_column("events", justify="right")
    table.add_column("share", justify="right")
    items = list(counts.items())
    shown, rest = items[:_TOP], items[_TOP:]
    if rest:
        shown.append((f"({len(rest)} others)", sum(n for _k, n in rest)))
    for name, n in shown:
        share = f"{100 * n / total:.0f}%" if total else "-"
        table.add_row(Text(name, style="dim" if name.startswith("(") else ""), str(n), share)
    return table


def print_stats(data: dict, console: Console) -> None:
    total = data["total"]
    window = f"since {data['since']}" if data.get("since") else "whole log"
    if not total:
        console.print(f"no events match ({window})", style="dim")
        return
    console.print(Text(f"{total} events ({window}), {data['first']} to {data['last']}", style="bold"))
    for key, title in (
        ("by_event", "event"),
        ("by_reason", "reason"),
        ("by_scope", "scope"),
        ("by_host", "host"),
    ):
        console.print()
        console.print(_counts(title, data[key], total))
    hours = data["per_hour"]
    if not hours:
        return
    console.print()
    console.print(Text("events per hour (UTC)", style="bold"))
    peak = max(h["count"] for h in hours) or 1
    width = max(10, min(60, console.width - 24))
    for h in hours:
        n = h["count"]
        bar = _BAR * (max(1, round(width * n / peak)) if n else 0)
        label = h["hour"][:13].replace("T", " ") + "h"
        line = Text(f"{label}  ")
        line.append(bar, style="yellow")
        line.append(f" {n}" if n else "  ·", style="" if n else "dim")
        console.print(line, no_wrap=True, overflow="ignore")
