"""`ctxscope init [--scope S]`: link this repository to a scope, as `supabase link` does.

A write like any other, through `ctxscope.reconcile` and
`ctxscope.commands._writes` exactly as `sync` and `repair`: the plan sets the
repository's `.ctxscope.toml` (`sources.local.target_file(ctx, repository=True)`)
to the scope; `--dry-run` shows it; `[policy] mode` may refuse it; with a cloud
configured the target scope is asked fresh (`GET /v1/scopes/{scope}`) and
nothing is written when the token cannot see it; a terminal is asked unless
`--yes`, and without a terminal nothing is written (exit 2); the write keeps
comments, is read back, and is logged once with the state found before it.
Running it again changes nothing. Then it says what to do next: hook, trust, CI.
"""

from __future__ import annotations

import os


def next_steps(path: str, scope: str, trusted: bool, gated: list[str]) -> list[str]:
    steps = [
        "Shell hook, a one-line warning at shell start on drift:  "
        "ctxscope hook bash >> ~/.bashrc   (or zsh, fish)"
    ]
    if gated and not trusted:
        steps.append(
            f"Trust: {', '.join(f'[{t}]' for t in gated)} in the file count only "
            f"after you review it:  ctxscope trust {path}"
        )
    elif trusted:
        steps.append("Trust: the file is trusted (ctxscope re-trusted its own scope edit)")
    else:
        steps.append("Trust: not needed while the file holds only scope, [fallback] and [policy]")
    steps.append("CI: a step that runs  ctxscope diff  fails the build on drift (exit 3)")
    steps.append(f"Commit {os.path.basename(path)} so every clone resolves {scope!r}")
    return steps


def init(
    *,
    scope: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json_out: bool = False,
    force: bool = False,
) -> int:
    """Link this repository to `scope`: create or update .ctxscope.toml at its root."""
    from ._writes import run

    return run(
        command="init",
        to=scope,
        dry_run=dry_run,
        yes=yes,
        json_out=json_out,
        log=False,
        finish=_finish,
        force=force,
    )


def _finish(plan, ctx, report, *, result, access, applied, out, human) -> None:
    """init's closing report: the --json keys, then the lines and next steps for a person."""
    from ..config import TRUSTED_ONLY, read_file
    from ..sources.local import repository_root, target_file

    change = plan.changes[0] if plan.changes else None
    outcome = applied.outcomes[0] if applied is not None and applied.outcomes else None
    path = change.target if change is not None else target_file(ctx, repository=True)
    changed = outcome is not None and outcome.status == "written"
    after = read_file(path, "project") if os.path.exists(path) else None
    trusted = after is not None and _trusted(path)
    gated = [t for t in TRUSTED_ONLY if after is not None and t in after.data]
    names = ctx.config["runtime.env"]
    checked = access in ("read", "write")
    report.update(
        {
            "chosen_from": plan.origin,
            "root": repository_root(ctx.cwd) or os.path.abspath(ctx.cwd),
            "path": path,
            "created": changed and change is not None and change.action == "create",
            "changed": changed,
            "before": (
                outcome.before if outcome is not None else change.before if change is not None else plan.scope
            ),
            "cloud": {"url": ctx.cloud.url, "access": access} if checked else None,
            "authorization": "authorized" if checked else "not_checked",
            "trusted": trusted,
            "next_steps": next_steps(path, plan.scope, trusted, gated),
            "runtime_override": {n: ctx.env[n] for n in names if ctx.env.get(n) and ctx.env[n] != plan.scope},
        }
    )
    if human:
        _print(report, result, change, after, asked=ctx.cloud is not None, out=out)


def _trusted(path: str) -> bool:
    import hashlib

    from ..config import is_trusted
    from ..fsutil import read_regular

    try:
        digest = hashlib.sha256(read_regular(path)).hexdigest()
    except OSError:
        return False
    return is_trusted(path, digest)


def _print(report: dict, result: str, change, after, *, asked: bool, out) -> None:
    write = out.write
    scope, path = report["scope"], report["path"]
    where = path
    if after is not None and "scope" in after.lines:
        where = f"{path}:{after.lines['scope']}"
    was = "" if report["before"] is None else f" (was {report['before']!r})"
    if result == "in_sync":
        write(f"Already linked: {where} has scope {scope!r}; nothing written.\n")
    elif result == "planned":
        verb = "create" if change.action == "create" else "update"
        write(f"Would {verb} {path} with scope = {scope!r}{was}. Nothing written (--dry-run).\n")
    elif report["changed"]:
        verb = "created" if report["created"] else "updated"
        write(f"Linked {report['root']} to scope {scope!r}: {verb} {where}{was}.\n")
    else:  # another process wrote the same value in between
        write(f"Already linked: {where} has scope {scope!r}; nothing written.\n")
    cloud = report["cloud"]
    if cloud:
        write(f"Cloud: {cloud['url']} lets the token see {scope!r} ({cloud['access']} access).\n")
    elif asked:
        write("Cloud: not asked (nothing to write).\n")
    else:
        write("Cloud: not checked (no [cloud] url configured).\n")
    for name, value in report["runtime_override"].items():
        write(
            f"Note: {name}={value!r} in this shell still wins over the file; "
            "unset it, or see `ctxscope status`.\n"
        )
    write("\nNext steps:\n")
    for number, step in enumerate(report["next_steps"], 1):
        write(f"  {number}. {step}\n")
