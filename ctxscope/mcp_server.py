"""`ctxscope mcp`: the resolver as read-only MCP tools, over stdio.

An agent asks the same resolver the CLI uses, and gets the CLI's answer:

    scope_status   the `ctxscope status --json` object
    scope_resolve  scope, source and authorization, or a structured error with the
                   reason and `ctxscope resolve`'s exit code (one rule: ctxscope.gate)
    scope_diff     the `ctxscope diff --json` object, with diff's exit code

Nothing is written over MCP except the drift log, which every call appends to
exactly as the CLI does (command "mcp"). The token never appears in a result:
results are built from a Resolution, which never holds it, and are scrubbed of
it all the same.

Built on the official `mcp` SDK (an optional extra: `pip install 'ctxscope[mcp]'`),
imported only when the server starts.
"""

from __future__ import annotations

import json
import os

from ._version import version
from .errors import CtxScopeError, ExitCode

INSTALL_HINT = "install it with: pip install 'ctxscope[mcp]'"
INSTRUCTIONS = (
    "ctxscope is the single authority for which project scope (agent memory namespace) "
    "this environment resolves to: runtime (--scope/CTX_SCOPE) > local .ctxscope.toml > "
    "cloud default > fallback. Call scope_resolve before reading or writing scoped memory "
    "and do not proceed when it returns an error. scope_status shows every source; "
    "scope_diff shows drift. All tools are read-only; fixes are for the user to run."
)

_COMMON_ARGS = (
    "Arguments: scope (optional) is a runtime override like --scope; cwd (optional) is "
    "the directory to resolve for (default: the server's working directory); offline "
    "uses a cached cloud answer of any age; refresh bypasses the cache."
)


class McpUnavailable(CtxScopeError):
    """The optional `mcp` SDK is not installed (exit 1)."""


def _sdk():
    """The SDK pieces the server needs, or McpUnavailable saying how to install them."""
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.types import CallToolResult, TextContent, ToolAnnotations
    except ImportError as exc:
        raise McpUnavailable(
            "`ctxscope mcp` needs the optional MCP SDK (the `mcp` package, version 2), which "
            f"is not installed or too old ({exc})",
            hint=INSTALL_HINT,
        ) from None
    return MCPServer, CallToolResult, TextContent, ToolAnnotations


# ---- the tools' answers as plain data (no SDK types: tested and reused as is) ----


def _resolve(scope, cwd, offline, refresh):
    from .resolver import resolve

    if cwd is not None:
        cwd = os.path.expanduser(cwd)
        if not os.path.isdir(cwd):
            raise _UsageProblem(f"cwd {cwd!r} is not a directory")
    return resolve(scope=scope, cwd=cwd, offline=offline, refresh=refresh, command="mcp")


class _UsageProblem(CtxScopeError):
    exit_code = ExitCode.USAGE


def status_answer(scope=None, cwd=None, offline=False, refresh=False) -> tuple[dict, bool]:
    """(`status --json` object, is_error): built by the function `status` itself uses."""
    from .commands.status import status_object

    return status_object(_resolve(scope, cwd, offline, refresh)), False


def diff_answer(scope=None, cwd=None, offline=False, refresh=False) -> tuple[dict, bool]:
    """(`diff --json` object plus `exit_code`, is_error). Drift is an answer, not an error."""
    from .commands.diff import diff_object

    res = _resolve(scope, cwd, offline, refresh)
    return {**diff_object(res), "exit_code": int(res.check_exit_code)}, False


def resolve_answer(scope=None, cwd=None, offline=False, refresh=False) -> tuple[dict, bool]:
    """(`{scope, source, authorization, ...}` or the same with `error`, is_error)."""
    from .gate import scope_failure, soft_warnings
    from .report import fix_command

    res = _resolve(scope, cwd, offline, refresh)
    failure = scope_failure(res)
    obj = {
        "scope": res.resolved_scope if failure is None else None,
        "source": res.resolved_from,
        "authorization": res.authorization,
        "authorized": res.authorized,
        "state": res.state,
        "mode": res.mode,
        "exit_code": int(failure.exit_code) if failure else 0,
        "warnings": [*res.warnings, *(soft_warnings(res) if failure is None else [])],
        "fix": fix_command(res),
    }
    if failure is not None:
        obj["error"] = failure.to_dict()
    return obj, failure is not None


def error_answer(exc: CtxScopeError) -> tuple[dict, bool]:
    """A failure that stopped the tool itself (a broken config, a bad argument)."""
    reason = {ExitCode.USAGE: "usage"}.get(exc.exit_code, _snake(type(exc).__name__))
    return {
        "error": {"reason": reason, "message": exc.message, "hint": exc.hint, "exit_code": int(exc.exit_code)}
    }, True


def _snake(name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Error")).lower() or "error"


def redact(obj, secret: str | None):
    """`obj` with every encoding of `secret` (raw, repr'd, JSON-escaped, URL-quoted...)
    in its strings replaced by `***`, and credentials inside URLs masked."""
    from .sanitize import mask_url_credentials, secret_forms
    from .sanitize import redact as redact_text

    forms = secret_forms(secret) if secret else ()

    def walk(node):
        if isinstance(node, str):
            return mask_url_credentials(redact_text(node, forms))
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v) for v in node]
        return node

    cleaned = walk(obj)
    return obj if cleaned == obj else cleaned


def answer(func, **kwargs) -> tuple[dict, bool]:
    """Run one tool body: anticipated failures become structured errors, never tracebacks."""
    try:
        obj, is_error = func(**kwargs)
    except CtxScopeError as exc:
        obj, is_error = error_answer(exc)
    return redact(obj, os.environ.get("CTXSCOPE_TOKEN")), is_error


# ---- the server ----


def build_server():
    """The MCPServer with the three read-only tools (raises McpUnavailable without the SDK)."""
    MCPServer, CallToolResult, TextContent, ToolAnnotations = _sdk()

    server = MCPServer("ctxscope", version=version(), instructions=INSTRUCTIONS, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)

    def result(func, **kwargs):
        obj, is_error = answer(func, **kwargs)
        text = json.dumps(obj, indent=2, ensure_ascii=False)
        return CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content=obj, is_error=is_error
        )

    @server.tool(
        title="Scope status",
        annotations=read_only,
        description=(
            "Every scope source (runtime, local, cloud, fallback) with value, origin and state, "
            "which one wins, the overall state (SYNCED, DRIFTED, UNAUTHORIZED, UNRESOLVED, "
            "INVALID, DEGRADED), reasons, actions and the command that fixes it: the same "
            "object as `ctxscope status --json`. " + _COMMON_ARGS
        ),
    )
    def scope_status(
        scope: str | None = None, cwd: str | None = None, offline: bool = False, refresh: bool = False
    ):
        return result(status_answer, scope=scope, cwd=cwd, offline=offline, refresh=refresh)

    @server.tool(
        title="Resolve the scope",
        annotations=read_only,
        description=(
            "The scope to use now, where it came from and whether the token may use it: "
            "{scope, source, authorization, authorized, state, mode, exit_code, warnings, fix}. "
            "When there is no scope that may be used (invalid, unauthorized, unresolved, cloud "
            "needed but down, or drift in enforce mode) it is an error result whose `error` "
            "holds {reason, message, hint, exit_code}, exit_code being `ctxscope resolve`'s. " + _COMMON_ARGS
        ),
    )
    def scope_resolve(
        scope: str | None = None, cwd: str | None = None, offline: bool = False, refresh: bool = False
    ):
        return result(resolve_answer, scope=scope, cwd=cwd, offline=offline, refresh=refresh)

    @server.tool(
        title="Scope drift",
        annotations=read_only,
        description=(
            "Which sources differ from the resolved scope and why: the `ctxscope diff --json` "
            "object plus `exit_code` (0 in sync, 3 drift, 1/4/5/6 for other states). Fixing "
            "drift is a write, which this server never does: `fix` names the command for the "
            "user. " + _COMMON_ARGS
        ),
    )
    def scope_diff(
        scope: str | None = None, cwd: str | None = None, offline: bool = False, refresh: bool = False
    ):
        return result(diff_answer, scope=scope, cwd=cwd, offline=offline, refresh=refresh)

    return server


def serve() -> None:
    """Serve over stdin/stdout until the client closes stdin."""
    server = build_server()
    server.run("stdio")
