"""The body of `ctxscope log --stats` (declared with `ctxscope log`)."""

from __future__ import annotations

from ..logstats import stats
from ..logview import Filters, Reader, malformed_warning
from ..output import err, print_json, warn_all


def print_stats_for(
    reader: Reader, filters: Filters, *, tail: int | None = None, json_out: bool = False
) -> int:
    """Count the events `filters` selects (the last `tail` of them, if given) and show them."""
    if tail is not None:
        events = (e for _line, e in reader.last(tail, filters))
    else:
        events = (e for _line, e in reader.forward(filters))
    data = stats(events, since=filters.since)
    warn_all(reader.errors)
    warning = malformed_warning(reader.malformed)
    if warning:
        err("warning", warning)
    if json_out:
        print_json(data)
        return 0
    from ..render import make_console
    from ..render_stats import print_stats

    print_stats(data, make_console())
    return 0
