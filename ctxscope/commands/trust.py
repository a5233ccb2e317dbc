"""`ctxscope trust [PATH] [--revoke]`: record (or forget) that a project file was reviewed."""

from __future__ import annotations

from ..output import print_json


def trust(*, path: str | None = None, revoke: bool = False, json_out: bool = False) -> int:
    """Trust the project file at `path` (default: the nearest .ctxscope.toml); print the record."""
    from ..trust import trust_file

    result = trust_file(path, revoke=revoke)
    if json_out:
        print_json(result)
    else:
        verb = "no longer trusted" if revoke else "trusted"
        print(f"{result['path']}: {verb} (sha256 {result['sha256'][:12]}…)")
    return 0
