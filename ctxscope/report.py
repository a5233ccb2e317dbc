"""Plain-data views of a Resolution: the JSON object and the fixing command.

No rich and no typer here: `resolve`'s fast path and agent runtimes use these
too. The table is drawn by `ctxscope.render` from the same data.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from .kinds import CLOUD_PROBLEMS, PRECEDENCE
from .scope import display

if TYPE_CHECKING:
    from .resolver import Resolution

SCHEMA_VERSION = 1


def source_rows(res: Resolution) -> list[dict[str, Any]]:
    rows = []
    for r in res.sources:
        row: dict[str, Any] = {"source": r.source, "value": r.value, "origin": r.origin, "state": r.state}
        if r.raw is not None:
            row["raw"] = display(r.raw)
        if r.problem:
            row["problem"] = r.problem
        rows.append(row)
    return rows


def resolution_to_dict(res: Resolution) -> dict[str, Any]:
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
        "fixes": fix_commands(res),
        "error": res.error.message if res.error else None,
        "warnings": list(res.warnings),
        "cwd": res.cwd,
    }


def fix_command(res: Resolution) -> str | None:
    """The fixing commands for the summary line, the first one first (see `fix_commands`)."""
    fixes = fix_commands(res)
    return "; ".join(fixes) if fixes else None


def fix_commands(res: Resolution) -> list[str]:
    """The commands (or edits) that fix the state, the one to run first first.

    Each one runs as printed in the current `[policy] mode`: a fix that needs a
    write the mode does not allow starts with the `config set` that allows it.
    When the runtime override disagrees with the sources below it, the first fix
    drops the override (a stale shell variable is the usual cause) and keeping
    the runtime value, by writing it into the shared file and the cloud, is only
    the alternative.
    """
    state = res.state
    reasons = res.reasons
    if state == "SYNCED":
        if "config_changed" in reasons:
            return ["ctxscope trust  # shows what changed since you trusted it, then asks"]
        return []
    if state == "INVALID":
        return [_invalid_fix(res)]
    if state == "UNRESOLVED":
        return ["ctxscope init --scope NAME  # or: export CTX_SCOPE=NAME"]
    if state == "UNAUTHORIZED":
        return ["ctxscope repair --to SCOPE  # a scope the token can see; or ask for access"]
    if state == "DEGRADED":
        return [_degraded_fix(res)]
    # DRIFTED
    fixes: list[str] = []
    drop_to = drop_target(res)
    if drop_to is not None:
        if res.source("runtime").origin == "flag --scope":
            fixes.append(f"run without --scope: {shlex.quote(drop_to)} resolves then")
        else:
            fixes.append(repair_fix(res, drop_to, shell=True))
    keep = []
    if "local_mismatch" in reasons:
        keep.append(needs_mode(res, "local") + "ctxscope sync --direction runtime-to-local --yes")
    if "cloud_mismatch" in reasons:
        keep.append(needs_mode(res, "cloud") + "ctxscope sync --direction resolved-to-cloud --yes")
    if drop_to is not None and keep:
        fixes.append("or keep the runtime value: " + " && ".join(keep))
    elif drop_to is None:
        fixes.extend(keep)
    invalid = [r for r in reasons if r.endswith("_invalid")]
    if drop_to is None and (invalid or "runtime_mismatch" in reasons):
        fixes.append(repair_fix(res, res.resolved_scope or "SCOPE", shell="runtime_mismatch" in reasons))
    if "observed_mismatch" in reasons:
        from .observe import fix_hint

        fixes.extend(fix_hint(row) for row in res.observed if row.state == "drifted")
    return fixes or ["ctxscope diff  # to see what differs"]


def drop_target(res: Resolution) -> str | None:
    """The scope the sources below the runtime give, when the runtime override disagrees
    with it (else None): what dropping the override leads to."""
    if res.resolved_from != "runtime":
        return None
    below = next_below_runtime(res)
    return below if below is not None and below != res.resolved_scope else None


def next_below_runtime(res: Resolution) -> str | None:
    """The valid value of the first set source below the runtime (local, then cloud)."""
    for name in ("local", "cloud"):
        r = res.source(name)
        if r.value is not None:
            return r.value
        if r.state in ("invalid", "unreadable", "error"):
            continue
    return None


def repair_needs(res: Resolution, target: str) -> str | None:
    """The write `ctxscope repair --to target` needs from [policy] mode: "cloud", "local"
    or None (only shell code, or nothing to write)."""
    local, cloud = res.source("local"), res.source("cloud")
    if cloud.state == "invalid" or (cloud.value is not None and cloud.value != target):
        return "cloud"
    if local.state in ("invalid", "unreadable") or (local.value is not None and local.value != target):
        return "local"
    return None


def repair_fix(res: Resolution, target: str, *, shell: bool) -> str:
    """`ctxscope repair --to TARGET` as the user runs it, with the mode it needs first."""
    need = repair_needs(res, target)
    prefix = needs_mode(res, need) if need else ""
    to = shlex.quote(target)
    runtime_differs = any(v != target for v in res.source("runtime").extra.get("env_values", {}).values())
    if shell or runtime_differs:
        # With writes to make, --yes: `eval` hides the exit code of a run that stopped
        # to ask for a confirmation it could not get.
        yes = "--yes " if need else ""
        return prefix + f'eval "$(ctxscope repair --to {to} {yes}--shell bash)"'
    return prefix + f"ctxscope repair --to {to} --yes"


def needs_mode(res: Resolution, write: str) -> str:
    """'' when [policy] mode allows a `write` ("local" or "cloud"), else the command that
    allows it, ending in ` && ` so that the fix after it runs only once it succeeded."""
    mode = res.mode
    if write == "local" and mode != "observe":
        return ""
    if write == "cloud" and mode in ("cloud", "enforce"):
        return ""
    project = res.config.project
    origin = res.config.origin("policy.mode")
    where = "--project" if project is not None and origin.startswith(project.path) else "--user"
    return f"ctxscope config set policy.mode {write} {where} --yes && "


def _invalid_fix(res: Resolution) -> str:
    bad = next(r for r in res.sources if r.state in ("invalid", "unreadable"))
    if bad.source == "runtime":
        if bad.origin == "flag --scope":
            return "change the --scope value (or leave --scope out)"
        target = default_target(res)
        if target is not None:
            need = repair_needs(res, target)
            prefix = needs_mode(res, need) if need else ""
            # Without --to, repair unsets the variable when the sources below give the
            # same scope, so the fix is the same command whatever they hold.
            yes = "--yes " if need else ""
            return (
                prefix
                + f'eval "$(ctxscope repair {yes}--shell bash)"  # or fix '
                + (bad.origin or "the variable")
            )
        to = "" if only_unset(res) else "--to SCOPE "
        return f'eval "$(ctxscope repair {to}--shell bash)"  # or fix ' + (bad.origin or "the variable")
    if bad.source == "local":
        where = bad.extra.get("path") or bad.origin
        cloud = res.source("cloud").value
        if cloud is not None:
            return (
                needs_mode(res, "local")
                + f"ctxscope repair --to {shlex.quote(cloud)} --yes  # or fix {where}"
            )
        return f"fix {where}, or: ctxscope repair --to SCOPE"
    if bad.source == "cloud":
        return needs_mode(res, "cloud") + "ctxscope repair --to SCOPE --yes  # sets a valid cloud default"
    return f"fix [fallback] in {res.config.origin('fallback.policy')}"


def _degraded_fix(res: Resolution) -> str:
    if any("CTXSCOPE_TOKEN is not set" in (p.detail or "") for p in res.problems):
        return "export CTXSCOPE_TOKEN=...  # the token is not set; the cloud refused the request"
    if any("--offline" in (p.detail or "") for p in res.problems):
        return "run once without --offline to cache the cloud's answer"
    return "check the network and [cloud] url, or use --offline for the cached answer"


def default_target(res: Resolution) -> str | None:
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


def only_unset(res: Resolution) -> bool:
    """Whether `repair` without `--to` has only the runtime env to fix, by unsetting it.

    True when the runtime value is invalid and no other source sets a scope or is
    broken: there is no scope to bring anything to, and unsetting the invalid
    variables is the whole repair (what resolves then is the [fallback]'s answer).
    """
    if res.source("runtime").state != "invalid":
        return False
    return all(r.value is None and r.state not in ("invalid", "unreadable", "error") for r in res.sources[1:])


_AUTH_SHORT = {
    "authorized": "authorized",
    "denied": "not authorized",
    "not_checked": "authorization not checked: no cloud",
    "not_enforced": "authorization not enforced by the store",
    "unknown": "authorization unknown: cloud unreachable",
}


def summary_line(res: Resolution, *, with_authorization: bool = False) -> str:
    """One line naming the state and what fixes it (the table's last line, the hook's warning)."""
    state = res.state
    where = f"{res.resolved_scope!r} from {res.resolved_from}" if res.resolved_scope else "no scope"
    if with_authorization and res.resolved_scope and state not in ("SYNCED", "UNAUTHORIZED"):
        where += f" ({_AUTH_SHORT[res.authorization]})"
    if state == "SYNCED":
        auth = {
            "authorized": "authorized",
            "not_checked": "authorization not checked (no cloud)",
            "not_enforced": "authorization not enforced by the store",
            "unknown": "authorization unknown",
        }[res.authorization]
        line = f"SYNCED: {where}; every set source agrees; {auth}"
        changed = [p.detail for p in res.problems if p.reason == "config_changed"]
        if changed:
            line += f"; but [cloud] is {changed[0]}"
        return line
    detail = {
        "INVALID": res.error.message if res.error else "a source is invalid",
        "UNRESOLVED": "no source sets a scope and [fallback] policy is 'fail'",
        "UNAUTHORIZED": f"the token cannot see {res.resolved_scope!r}",
        "DEGRADED": next((p.detail for p in res.problems if p.reason in CLOUD_PROBLEMS), "cloud error"),
        "DRIFTED": ", ".join(res.reasons),
    }[state]
    return f"{state}: {where}; {detail}. Fix: {fix_command(res)}"
