"""`ctxscope diff`: each drifted source against the resolved scope; the state's exit code."""

from __future__ import annotations

from ..output import print_json, warn_all

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing on the fast path
if TYPE_CHECKING:
    from typing import Any

    from ..resolver import Resolution


def diff(
    *, scope: str | None = None, json_out: bool = False, offline: bool = False, refresh: bool = False
) -> int:
    """Show each drifted source against the resolved scope; the exit code is the state's."""
    from ..resolver import resolve

    res = resolve(scope=scope, offline=offline, refresh=refresh, command="diff")
    warn_all(res.warnings)
    if json_out:
        print_json(diff_object(res))
    else:
        from ..render import make_console, print_diff

        print_diff(res, make_console())
    return int(res.check_exit_code)


def diff_object(res: Resolution) -> dict[str, Any]:
    """The `diff --json` object for a Resolution; the MCP tool scope_diff returns it too."""
    return res.to_dict()
