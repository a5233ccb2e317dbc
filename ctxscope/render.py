"""The one place that draws for humans: rich tables and summary lines.

Commands hand data here; `--json` output never passes through rich.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from .kinds import PRECEDENCE
from .output import raw_stream
from .report import fix_command, summary_line
from .sanitize import clean, escape_controls

_STATE_STYLE = {
    "resolved": "bold green",
    "in_sync": "green",
    "drifted": "bold yellow",
    "invalid": "bold red",
    "unreadable": "bold red",
    "error": "red",
    "unset": "dim",
    "standby": "dim",
    "not_configured": "dim",
    "set": "",
    "unmapped": "yellow",
    "not_allowed": "red",
    "ignored": "bold yellow",
}
_OVERALL_STYLE = {
    "SYNCED": "bold green",
    "DRIFTED": "bold yellow",
    "DEGRADED": "bold magenta",
    "UNAUTHORIZED": "bold red",
    "UNRESOLVED": "bold red",
    "INVALID": "bold red",
}


# The width a console lays out for when its output is not a terminal: wide enough
# that no value is ever folded onto a second line (`status | cat`, `log | grep`).
PIPE_WIDTH = 1 << 15


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def columns() -> int | None:
    """COLUMNS from the environment, when it is a sensible positive number."""
    value = os.environ.get("COLUMNS", "").strip()
    return int(value) if value.isdigit() and 0 < int(value) <= PIPE_WIDTH else None


def make_console(stderr: bool = False) -> Console:
    """Consoles are made here only.

    - Every value is cleaned (`sanitize.clean`: control characters escaped, the
      token and URL passwords masked) before it is laid out; see SafeConsole.
    - On a terminal the width is COLUMNS when set, else the terminal's; long
      values fold inside their column.
    - Anywhere else (a pipe, a file) nothing is hard-wrapped: each row and each
      message stays on one line, whatever its length.
    - Colour follows NO_COLOR, FORCE_COLOR and TERM=dumb (rich reads them).
    """
    stream = raw_stream(sys.stderr if stderr else sys.stdout)
    width = None if _is_tty(stream) else PIPE_WIDTH
    return SafeConsole(file=stream, stderr=stderr, width=width, highlight=False, markup=False, emoji=False)


def safe_text(text: Text) -> Text:
    """A copy of `text` with each styled piece cleaned (styles kept), or `text` itself."""
    plain = text.plain
    if clean(plain) == plain:
        return text
    if not text.spans:
        pieces = [text]
    else:
        cuts = sorted({offset for span in text.spans for offset in (span.start, span.end)})
        pieces = list(text.divide(cuts))
    out = Text(
        style=text.style,
        justify=text.justify,
        overflow=text.overflow,
        no_wrap=text.no_wrap,
        end=text.end,
        tab_size=text.tab_size,
    )
    for piece in pieces:
        part = Text(clean(piece.plain))
        for span in piece.spans:
            part.stylize(span.style)
        out.append_text(part)
    return out


def _safe(renderable: RenderableType) -> RenderableType:
    if isinstance(renderable, str):
        return clean(renderable)
    if isinstance(renderable, Text):
        return safe_text(renderable)
    if isinstance(renderable, Table):
        for column in renderable.columns:
            column.header = _safe(column.header)
            column._cells[:] = [_safe(cell) for cell in column._cells]
    return renderable


class SafeConsole(Console):
    """A rich Console that cleans what it renders.

    Strings and Text are cleaned before layout, so the escapes are measured like
    any other character; a table's cells are cleaned in place before the table
    measures them. Anything that still carries a control character after
    rendering (a renderable of another kind) has it escaped in the segment.
    """

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(_safe(renderable), options):
            if segment.control is None and escape_controls(segment.text) != segment.text:
                segment = Segment(escape_controls(segment.text), segment.style)
            yield segment


def new_table(*, show_header: bool = True) -> Table:
    """Every table ctxscope draws has this look: no box, no edge, bold headers."""
    return Table(box=None, pad_edge=False, show_edge=False, header_style="bold", show_header=show_header)


def value_text(r) -> Text:
    if r.value is not None:
        return Text(r.value)
    if r.raw is not None:
        from .scope import display

        return Text(repr(display(r.raw, 40)), style="red")
    return Text("-", style="dim")


def state_text(r) -> Text:
    label = r.state.replace("_", " ")
    if r.state == "ignored":
        return Text(r.problem or label, style=_STATE_STYLE["ignored"])
    if r.problem and r.state in ("invalid", "unreadable", "error"):
        label += f": {r.problem}"
    return Text(label, style=_STATE_STYLE.get(r.state, ""))


def status_table(res) -> Table:
    table = new_table()
    table.add_column("", width=1)
    table.add_column("source")
    table.add_column("value", overflow="fold")
    table.add_column("origin", overflow="fold")
    table.add_column("state", overflow="fold")
    for r in res.sources:
        mark = Text("▶", style="bold green") if r.state == "resolved" else Text("")
        table.add_row(mark, Text(r.source), value_text(r), Text(r.origin or ""), state_text(r))
    if res.observed:
        table.add_row(Text(""), Text("observed", style="dim"))  # never used to resolve
        for o in res.observed:
            label = o.state.replace("_", " ")
            if o.problem:
                label += f": {o.problem}"
            value = Text(o.value) if o.value is not None else Text("-", style="dim")
            table.add_row(
                Text(""),
                Text("  " + o.name),
                value,
                Text(o.origin or ""),
                Text(label, style=_STATE_STYLE.get(o.state, "")),
            )
    return table


def summary(res) -> Text:
    line = summary_line(res, with_authorization=True)
    state, _, rest = line.partition(":")
    return Text.assemble((state, _OVERALL_STYLE[res.state]), ":" + rest)


def authorization_text(res) -> Text | None:
    auth = {
        "authorized": "authorized by the cloud",
        "denied": "DENIED by the cloud",
        "not_checked": "not checked (no cloud configured)",
        "not_enforced": "not enforced by the store (etcd authentication is off)",
        "unknown": "unknown (cloud unreachable, no fresh cached answer)",
    }[res.authorization]
    return Text(f"authorization: {auth}", style="dim") if res.resolved_scope else None


def print_status(res, console: Console) -> None:
    console.print(status_table(res))
    console.print()
    console.print(summary(res), soft_wrap=True)


def print_diff(res, console: Console) -> None:
    """Each drifted source against the resolved scope, the way a diff reads."""
    if res.resolved_scope:
        console.print(
            Text(
                f"resolved: {res.resolved_scope} (from {res.resolved_from}, "
                f"{res.source(res.resolved_from).origin})",
                style="bold",
            )
        )
    else:
        console.print(Text("resolved: nothing", style="bold"))
    shown = False
    for p in res.problems:
        r = res.source(p.source) if p.source in PRECEDENCE else None
        if r is None:
            continue
        shown = True
        before = r.value if r.value is not None else (repr(r.raw) if r.raw is not None else "-")
        if r.state == "error" and r.value is None:
            before = f" (no value: {r.problem})"
            last = r.extra.get("last_known")
            if last is not None:
                age = r.extra.get("last_known_age")
                before += f"; last known {last!r}" + (f", {age:.0f}s ago" if age is not None else "")
        console.print(Text(f"--- {r.source}  {r.origin or ''}", style="bold"))
        console.print(Text(f"+++ {r.source}  (wanted)", style="bold"))
        console.print(Text(f"-{before}", style="red"))
        if res.resolved_scope and p.reason.endswith("_mismatch"):
            console.print(Text(f"+{res.resolved_scope}", style="green"))
        console.print(Text(f"  {p.reason}: {p.detail}  -> {p.action}", style="dim"))
    for o in res.observed:
        if o.state != "drifted":
            continue
        shown = True
        console.print(Text(f"--- {o.name}  {o.origin or ''}  (observed)", style="bold"))
        console.print(Text(f"+++ {o.name}  (wanted for {res.resolved_scope})", style="bold"))
        console.print(Text(f"-{o.value}", style="red"))
        console.print(Text(f"+{o.expected}", style="green"))
        console.print(Text("  observed_mismatch: ctxscope never writes it -> update_observed", style="dim"))
    if not shown and res.state == "SYNCED":
        console.print(Text("no drift: every set source agrees", style="green"))
    fix = fix_command(res)
    if fix:
        console.print(Text(f"fix: {fix}"), soft_wrap=True)


def print_config(
    settings: list[tuple[str, str, str]], files: list[tuple[str, str, str]], console: Console
) -> None:
    """`ctxscope config`: (key, value, origin) rows, then (file, path, state) rows.

    A setting whose origin is "default" is dimmed.
    """
    table = new_table()
    table.add_column("key")
    table.add_column("value", overflow="fold")
    table.add_column("origin", overflow="fold")
    for key, value, origin in settings:
        style = "dim" if origin == "default" else ""
        table.add_row(Text(key), Text(value, style=style), Text(origin, style=style))
    console.print(table)
    console.print()
    files_table = new_table()
    files_table.add_column("file")
    files_table.add_column("path", overflow="fold")
    files_table.add_column("state", overflow="fold")
    for name, path, state in files:
        files_table.add_row(Text(name), Text(path), Text(state))
    console.print(files_table)


def print_whoami(rows: list[tuple[str, str, str]], console: Console) -> None:
    """`ctxscope whoami`: (what, value, where) rows, no header, the names bold."""
    table = new_table(show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_column("where", style="dim")
    for what, value, where in rows:
        table.add_row(Text(what), Text(value), Text(where))
    console.print(table)
