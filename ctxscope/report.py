"""Plain-data views of a Resolution: the JSON object and the fixing command.

No rich and no typer here: `resolve`'s fast path and agent runtimes use these
too. The table is drawn by `ctxscope.render` from the same data.
"""

from __future__ import annotations

import shlex

from .kinds import CLOUD_PROBLEMS, PRECEDENCE
from .scope import display

SCHEMA_VERSION = 1


def source_rows(res) -> list[dict]:
    rows = []
    for r in res.sources:
        row = {"source": r.source, "value": r.value, "origin": r.origin, "state": r.state}
        if r.raw is not None:
            row["raw"] = display(r.raw)
        if r.problem:
            row["problem"] = r.problem
        rows.append(row)
    return rows


def resolution_to_dict(res) -> dict:
    """The stable `status --json` / `diff --json` / `resolve --json` object."""
    return {
        "schema_version": SCHEMA_VERSION,
        "state": res.state,
        "resolved_scope": res.resolved_scope,
        "resolved_from": res.resolved_from,
        "authorized": res.authorized,
        "authorization": res.authorization,
        "reasons": res.reasons,
        "actions": res.actions,
        "problems": [
            {"reason": p.reason, "action": p.action, "source": p.source, "detail": p.detail}
            for p in res.problems
        ],
        "sources": source_rows(res),
        "source_precedence": list(PRECEDENCE),
        "observed": [row.to_dict() for row in res.observed],
        "mode": res.mode,
        "fix": fix_command(res),
        "error": res.error.message if res.error else None,
        "warnings": list(res.warnings),
        "cwd": res.cwd,
    }


def fix_command(res) -> str | None:
    """The exact command (or edit) that fixes the state, for the summary line."""
    state = res.state
    reasons = res.reasons
    if state == "SYNCED":
        return None
    if state == "INVALID":
        bad = next(r for r in res.sources if r.state in ("invalid", "unreadable"))
        if bad.source == "runtime":
            # Without --to, repair brings the variable to what resolves without it, or
            # only unsets it when nothing else is set; a broken source below needs a name.
            to = "" if default_target(res) is not None or only_unset(res) else "--to SCOPE "
            return (f'eval "$(ctxscope repair {to}--shell bash)"  # or fix '
                    + (bad.origin or "the variable"))
        if bad.source == "local":
            where = bad.extra.get("path") or bad.origin
            return f"fix {where}, or: ctxscope repair --to SCOPE"
        if bad.source == "cloud":
            needs = '  (needs [policy] mode = "cloud")' if res.mode in ("observe", "local") else ""
            return "ctxscope repair --to SCOPE  # sets a valid cloud default" + needs
        return f"fix [fallback] in {res.config.origin('fallback.policy')}"
    if state == "UNRESOLVED":
        return "ctxscope init --scope NAME  # or: export CTX_SCOPE=NAME"
    if state == "UNAUTHORIZED":
        return "ctxscope repair --to SCOPE  # a scope the token can see; or ask for access"
    if state == "DEGRADED":
        if any("--offline" in (p.detail or "") for p in res.problems):
            return "run once without --offline to cache the cloud's answer"
        return "check the network and [cloud] url, or use --offline for the cached answer"
    # DRIFTED
    fixes = []
    mode = res.mode
    if "local_mismatch" in reasons:
        needs = '  (needs [policy] mode = "local")' if mode == "observe" else ""
        fixes.append("ctxscope sync --direction runtime-to-local --yes" + needs)
    if "cloud_mismatch" in reasons:
        needs = '  (needs [policy] mode = "cloud")' if mode in ("observe", "local") else ""
        fixes.append("ctxscope sync --direction resolved-to-cloud --yes" + needs)
    invalid = [r for r in reasons if r.endswith("_invalid")]
    if invalid or "runtime_mismatch" in reasons:
        target = shlex.quote(res.resolved_scope or "SCOPE")
        needs = ""
        if "cloud_invalid" in invalid and mode in ("observe", "local"):
            needs = '  (needs [policy] mode = "cloud")'
        elif invalid and mode == "observe":
            needs = '  (needs [policy] mode = "local")'
        if "runtime_mismatch" in reasons:
            # The other variables live in the user's shell: only shell code can unset them.
            fixes.append(f'eval "$(ctxscope repair --to {target} --shell bash)"' + needs)
        else:
            fixes.append(f"ctxscope repair --to {target} --yes" + needs)
    if "observed_mismatch" in reasons:
        from .observe import fix_hint

        fixes.extend(fix_hint(row) for row in res.observed if row.state == "drifted")
    if res.resolved_from == "runtime" and any(r.endswith("_mismatch") and r != "observed_mismatch"
                                              for r in reasons):
        # The value the override hides: the first of local/cloud that differs from it.
        other = next((v for v in (res.source("local").value, res.source("cloud").value)
                      if v and v != res.resolved_scope), None)
        if other:
            fixes.append(f'or drop the override: eval "$(ctxscope repair --to {shlex.quote(other)} '
                         '--shell bash)"')
    return "; ".join(fixes) if fixes else "ctxscope diff  # to see what differs"


def default_target(res) -> str | None:
    """`repair`'s target without `--to`: the resolved scope.

    When resolution stopped at an invalid runtime value, it is what resolves
    without the runtime override (so `eval "$(ctxscope repair --shell bash)"`
    fixes a broken `CTX_SCOPE`). Otherwise, with nothing resolved, there is none.
    """
    if res.resolved_scope is not None:
        return res.resolved_scope
    if res.source("runtime").state != "invalid":
        return None
    for r in res.sources[1:]:
        if r.state in ("invalid", "unreadable", "error"):
            return None
        if r.value is not None:
            return r.value
    return None


def only_unset(res) -> bool:
    """Whether `repair` without `--to` has only the runtime env to fix, by unsetting it.

    True when the runtime value is invalid and no other source sets a scope or is
    broken: there is no scope to bring anything to, and unsetting the invalid
    variables is the whole repair (what resolves then is the [fallback]'s answer).
    """
    if res.source("runtime").state != "invalid":
        return False
    return all(r.value is None and r.state not in ("invalid", "unreadable", "error")
               for r in res.sources[1:])


_AUTH_SHORT = {"authorized": "authorized", "denied": "not authorized",
               "not_checked": "authorization not checked: no cloud",
               "unknown": "authorization unknown: cloud unreachable"}


def summary_line(res, *, with_authorization: bool = False) -> str:
    """One line naming the state and what fixes it (the table's last line, the hook's warning)."""
    state = res.state
    where = f"{res.resolved_scope!r} from {res.resolved_from}" if res.resolved_scope else "no scope"
    if with_authorization and res.resolved_scope and state not in ("SYNCED", "UNAUTHORIZED"):
        where += f" ({_AUTH_SHORT[res.authorization]})"
    if state == "SYNCED":
        auth = {"authorized": "authorized", "not_checked": "authorization not checked (no cloud)",
                "unknown": "authorization unknown"}[res.authorization]
        return f"SYNCED: {where}; every set source agrees; {auth}"
    detail = {
        "INVALID": res.error.message if res.error else "a source is invalid",
        "UNRESOLVED": "no source sets a scope and [fallback] policy is 'fail'",
        "UNAUTHORIZED": f"the token cannot see {res.resolved_scope!r}",
        "DEGRADED": next((p.detail for p in res.problems
                          if p.reason in CLOUD_PROBLEMS), "cloud error"),
        "DRIFTED": ", ".join(res.reasons),
    }[state]
    return f"{state}: {where}; {detail}. Fix: {fix_command(res)}"
