"""`ctxscope metrics`: the Prometheus exposition, on stdout or into a file for node_exporter."""

from __future__ import annotations

import sys

from ..errors import CtxScopeError
from ..output import err, warn_all


def metrics(*, output: str | None = None) -> int:
    """Print the metrics, or replace FILE with them atomically (temp file + rename)."""
    from .. import metrics as metrics_mod

    if output is not None and ("\x00" in output or not output.strip()):
        from ..errors import UsageError

        raise UsageError("--output must name a file (no NUL byte, not empty)")
    if not metrics_mod.available():
        raise CtxScopeError(
            "ctxscope metrics needs prometheus_client", hint="pip install 'ctxscope[metrics]'"
        )
    import os

    from .. import config as config_mod
    from .. import paths
    from ..health import take_snapshot

    # A config that stops every command (a token in a file, a wrong type) stops this one.
    config_mod.load(paths.working_dir(), os.environ)

    snap = take_snapshot(command="metrics", processes=True, bounded=False)
    if snap.config is not None:
        warn_all(snap.config.warnings)
    if snap.error:
        err(
            "warning",
            snap.error
            if snap.error != "health_timeout"
            else f"resolution took longer than the cloud budget ({snap.budget:g}s)",
        )
    text = metrics_mod.exposition(snap)
    if output is None:
        sys.stdout.write(text.decode("utf-8"))
        return 0
    from ..fsutil import atomic_write_text

    # node_exporter's textfile collector reads *.prom files: the temporary file is made
    # beside the target under a name that does not end in .prom, then renamed over it.
    atomic_write_text(output, text.decode("utf-8"), default_mode=0o644)
    return 0
