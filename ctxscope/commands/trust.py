"""`ctxscope trust [PATH] [--revoke] [--yes]`: record (or forget) that a project file was
reviewed; when it changed since the last trust, show the diff and ask first."""

from __future__ import annotations

import sys

from ..output import print_json


def trust(*, path: str | None = None, revoke: bool = False, yes: bool = False, json_out: bool = False) -> int:
    """Trust the project file at `path` (default: the nearest .ctxscope.toml); print the record."""
    from ..trust import trust_file

    def confirm(diff: str) -> bool:
        out = sys.stderr if json_out else sys.stdout
        out.write(
            "changed since it was last trusted:\n"
            + (diff or "(the trusted content was not kept, so there is no diff; review the whole file)\n")
        )
        out.flush()
        if yes:
            return True
        if not sys.stdin.isatty():
            from ..errors import UsageError

            raise UsageError(
                "not trusting a changed file without confirmation and there is "
                "no terminal to ask; pass --yes after reviewing the diff"
            )
        sys.stderr.write("Trust this content? [y/N] ")
        sys.stderr.flush()
        return sys.stdin.readline().strip().lower() in ("y", "yes")

    result = trust_file(path, revoke=revoke, confirm=confirm)
    if json_out:
        print_json(result)
    else:
        verb = "no longer trusted" if revoke else "trusted"
        print(f"{result['path']}: {verb} (sha256 {result['sha256'][:12]}…)")
    return 0
