"""`ctxscope whoami`: who the cloud thinks you are, and what you may do with the scope.

In the manner of `gh auth status`: the cloud URL and where it is configured,
whether CTXSCOPE_TOKEN is set (never its value), the identity the cloud answers
for it, and the access the token has to the scope that resolves here.

Exit codes: 0 the cloud answered for the token; 1 no cloud is configured; 4 the
cloud refused the token (or there is none and it wants one); 6 the cloud could
not be reached or answered outside its contract.
"""

from __future__ import annotations

from ..errors import CloudError, CtxScopeError, ExitCode
from ..output import print_json, warn_all

TOKEN_VAR = "CTXSCOPE_TOKEN"


def whoami(
    *, scope: str | None = None, json_out: bool = False, refresh: bool = False, offline: bool = False
) -> int:
    """Build the report, print it, and return its exit code."""
    from ..resolver import Context, resolve

    ctx = Context(scope=scope, refresh=refresh, offline=offline, command="whoami")
    try:
        warn_all(ctx.config.warnings)
        report = _report(ctx, resolve)
    finally:
        ctx.close()
    if json_out:
        print_json(report)
    else:
        _print(report)
    return report["exit_code"]


def _report(ctx, resolve) -> dict:
    token = ctx.env.get(TOKEN_VAR) or None
    report: dict = {
        "cloud": None,
        "cloud_origin": None,
        "token": "set" if token else "not set",
        "token_origin": f"env {TOKEN_VAR}",
        "identity": None,
        "scope": None,
        "scope_from": None,
        "access": None,
        "problem": None,
        "exit_code": int(ExitCode.OK),
    }
    cloud = ctx.cloud  # None also for an empty `url = ""`
    if cloud is None:
        report.update(
            problem="no cloud is configured: set [cloud] url in the user config, or CTXSCOPE_CLOUD_URL",
            exit_code=int(ExitCode.ERROR),
        )
        return report
    report.update(cloud=cloud.url, cloud_origin=ctx.config.origin("cloud.url"))
    try:
        report["identity"] = cloud.whoami()[0]
    except CtxScopeError as exc:
        return _failed(report, exc, token)
    res = resolve(context=ctx, log=False)
    report.update(scope=res.resolved_scope, scope_from=res.resolved_from)
    if res.resolved_scope is not None:
        try:
            access = cloud.access(res.resolved_scope)[0]
        except CtxScopeError as exc:
            return _failed(report, exc, token)
        report["access"] = access or "none"
        if access is None:
            report.update(
                problem=f"the token cannot see {res.resolved_scope!r}", exit_code=int(ExitCode.UNAUTHORIZED)
            )
    return report


def _failed(report: dict, exc: CtxScopeError, token: str | None) -> dict:
    message, code = exc.message, exc.exit_code
    if isinstance(exc, CloudError) and exc.status in (401, 403):
        code = ExitCode.UNAUTHORIZED
        if token is None:
            message = (
                f"the cloud wants a token and {TOKEN_VAR} is not set: "
                f"export {TOKEN_VAR}=... (the token is read only from the environment)"
            )
        else:
            message = f"the cloud refused the token in {TOKEN_VAR} ({message})"
    report.update(problem=message, exit_code=int(code))
    return report


def _print(report: dict) -> None:
    from ..render import make_console, print_whoami

    rows = [
        (
            "cloud",
            report["cloud"] or "not configured",
            f"(from {report['cloud_origin']})" if report["cloud_origin"] else "",
        ),
        ("token", report["token"], f"({report['token_origin']}; never shown)"),
        ("identity", report["identity"] or "unknown", ""),
    ]
    if report["scope"] is not None or report["cloud"]:
        rows.append(
            (
                "scope",
                report["scope"] or "(none resolves)",
                f"(from {report['scope_from']})" if report["scope_from"] else "",
            )
        )
        rows.append(("access", report["access"] or "unknown", ""))
    print_whoami(rows, make_console())
    if report["problem"]:
        from ..output import err

        err("error", report["problem"])
