"""The Typer option types several commands share, declared once (as pip-tools'
`scripts/options.py` does). Options only one command has are declared with it
in `ctxscope.cli`."""

from __future__ import annotations

from typing import Annotated

import typer

ScopeOpt = Annotated[
    str | None,
    typer.Option(
        "--scope", metavar="SCOPE", help="Runtime scope for this run; beats CTX_SCOPE and every other source."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
OfflineOpt = Annotated[
    bool,
    typer.Option("--offline", help="Never touch the network; use a cached cloud answer of any age."),
]
RefreshOpt = Annotated[
    bool,
    typer.Option("--refresh", help="Bypass the cloud cache and ask the cloud now."),
]

# The options every writing command (sync, repair, init) has.
DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Print the plan (source, file or URL, before, after) "
        "and write nothing; exit with the code the run would end with.",
    ),
]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace a local file even when it is read-only "
        "(its mode has no write bit). Without it a read-only file is refused "
        "(exit 1) and nothing is written.",
    ),
]
YesOpt = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        help="Write without asking. Without it a terminal is "
        "asked to confirm, and with no terminal nothing is written (exit 2).",
    ),
]
