"""`ctxscope init [--scope S]`: link this repository to a scope, as `supabase link` does.

Creates or updates `.ctxscope.toml` at the repository root (comments and layout
kept), but first asks the cloud, when one is configured, whether the token can
see the scope: if it cannot, nothing is written. Running it again changes
nothing. Then it says what to do next: the shell hook, trust, CI.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ..cli import JsonOpt, RefreshOpt, app


def link_target(cwd: str, config) -> tuple[str, str]:
    """(repository root, file to write): the project file in effect if it lies inside the
    repository, else `.ctxscope.toml` at the root (the nearest dir upward with `.git`, else cwd)."""
    from ..paths import PROJECT_FILE
    from ..sources.local import repository_root

    root = repository_root(cwd) or os.path.abspath(cwd)
    project = config.project
    if project is not None:
        folder = os.path.dirname(project.path)
        if os.path.commonpath([folder, root]) == root:
            return root, project.path
    return root, os.path.join(root, PROJECT_FILE)


def choose_scope(flag: str | None, ctx) -> tuple[str, str]:
    """The scope to link and why: --scope, else the project file's, else what resolves now."""
    from ..errors import UsageError

    if flag is not None:
        return flag, "--scope"
    project = ctx.config.project
    if project is not None and not project.error and isinstance(project.data.get("scope"), str):
        return project.data["scope"], project.where("scope")
    from ..resolver import resolve

    res = resolve(context=ctx, log=False)
    if res.resolved_scope and res.resolved_from != "fallback":
        origin = res.source(res.resolved_from).origin
        return res.resolved_scope, f"{res.resolved_from} ({origin})"
    raise UsageError("no scope to link: name one", hint="ctxscope init --scope NAME")


def check_cloud(ctx, scope: str) -> dict | None:
    """Ask the cloud whether the token can see `scope`. None when no cloud is configured.

    Raises UnauthorizedError (exit 4) when it cannot, CloudError (exit 6) when the
    cloud cannot answer: in both cases before anything is written.
    """
    from ..errors import CloudError, UnauthorizedError

    cloud = ctx.cloud
    if cloud is None:
        return None
    try:
        access, age = cloud.access(scope)
    except CloudError as exc:
        raise type(exc)(f"{exc.message}; cannot check that the cloud can see {scope!r}, "
                        "so nothing was written", hint="retry when the cloud answers") from None
    if access is None:
        raise UnauthorizedError(
            f"the cloud at {cloud.url} does not let the token see scope {scope!r}; "
            "nothing was written",
            hint="check the name and CTXSCOPE_TOKEN, or ask for access",
        )
    return {"url": cloud.url, "access": access, "cached_age": age}


def next_steps(path: str, scope: str, trusted: bool, gated: list[str]) -> list[str]:
    steps = ["Shell hook, a one-line warning at shell start on drift:  "
             "ctxscope hook bash >> ~/.bashrc   (or zsh, fish)"]
    if gated and not trusted:
        steps.append(f"Trust: {', '.join(f'[{t}]' for t in gated)} in the file count only "
                     f"after you review it:  ctxscope trust {path}")
    elif trusted:
        steps.append("Trust: the file is trusted (ctxscope re-trusted its own scope edit)")
    else:
        steps.append("Trust: not needed while the file holds only scope, [fallback] and "
                     "[policy]")
    steps.append("CI: a step that runs  ctxscope diff  fails the build on drift (exit 3)")
    steps.append(f"Commit {os.path.basename(path)} so every clone resolves {scope!r}")
    return steps


@app.command(name="init")
def init_command(
    scope: Annotated[
        str | None,
        typer.Option("--scope", metavar="SCOPE",
                     help="The scope to link (default: the project file's, else the scope "
                          "that resolves now)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and print what would be written; write nothing."),
    ] = False,
    json_out: JsonOpt = False,
    refresh: RefreshOpt = False,
) -> None:
    """Link this repository to a scope: create or update .ctxscope.toml at its root.

    With a cloud configured, first checks that the token can see the scope
    (GET /v1/scopes/SCOPE) and writes nothing when it cannot (exit 4) or when the
    cloud cannot answer (exit 6). Keeps the file's comments; running it again
    changes nothing. Prints the next steps: shell hook, trust, CI.
    """
    from ..errors import ConfigError, InvalidScopeError
    from ..output import print_json, warn_all
    from ..resolver import Context
    from ..scope import display, scope_problem

    ctx = Context(cwd=os.getcwd(), refresh=refresh, command="init")
    try:
        warn_all(ctx.config.warnings)
        target, why = choose_scope(scope, ctx)
        problem = scope_problem(target)
        if problem:
            raise InvalidScopeError(f"scope {display(target)!r} {problem}")
        root, path = link_target(ctx.cwd, ctx.config)
        if ctx.config.mode == "observe":
            raise ConfigError(
                f"[policy] mode is 'observe' ({ctx.config.origin('policy.mode')}): ctxscope "
                "writes nothing in this mode",
                hint='set [policy] mode = "local", or add scope = "..." to .ctxscope.toml by hand')
        cloud = check_cloud(ctx, target)
        existed = os.path.lexists(path)
        runtime = {n: ctx.env[n] for n in ctx.config["runtime.env"] if ctx.env.get(n)}
        written = None
        if not dry_run:
            from ..sources.local import LocalSource

            written = LocalSource().write(ctx, target, path=path)
    finally:
        ctx.close()

    from ..config import read_file

    after = read_file(path, "project") if os.path.exists(path) else None
    trusted = bool(after is not None and _trusted(path))
    gated = [t for t in ("cloud", "runtime", "log", "observe") if after and t in after.data]
    changed = bool(written and written.changed)
    result = {
        "scope": target, "chosen_from": why, "root": root, "path": path,
        "created": changed and not existed,
        "changed": changed, "dry_run": dry_run,
        "before": written.before if written else _current(path),
        "cloud": cloud, "authorization": "authorized" if cloud else "not_checked",
        "trusted": trusted,
        "next_steps": next_steps(path, target, trusted, gated),
        "runtime_override": {n: v for n, v in runtime.items() if v != target},
    }
    if changed:
        _log(result)
    if json_out:
        print_json(result)
        raise typer.Exit(0)
    _print(result, after)
    raise typer.Exit(0)


def _trusted(path: str) -> bool:
    import hashlib

    from ..config import is_trusted

    try:
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return False
    return is_trusted(path, digest)


def _current(path: str):
    from ..config import read_file

    if not os.path.exists(path):
        return None
    cf = read_file(path, "project")
    return None if cf.error else cf.data.get("scope")


def _log(result: dict) -> None:
    """Record the write in the drift log (`scope_synced`, direction `init`), so it can be undone."""
    from ..events import append, base_event
    from ..output import err
    from ..resolver import resolve

    res = resolve(command="init", log=False, offline=True)
    event = base_event("scope_synced", res, "init")
    event.update(direction="init", target=result["path"], before=result["before"],
                 after=result["scope"], verified=True)
    warning = append(event, res.config)
    if warning:
        err("warning", warning)


def _print(result: dict, after) -> None:
    import sys

    out = sys.stdout.write
    where = result["path"]
    if after is not None and "scope" in after.lines:
        where = f"{result['path']}:{after.lines['scope']}"
    if result["dry_run"]:
        if result["before"] == result["scope"]:
            out(f"Already linked: {where} has scope {result['scope']!r}; nothing to write.\n")
        else:
            verb = "update" if os.path.exists(result["path"]) else "create"
            was = "" if result["before"] is None else f" (was {result['before']!r})"
            out(f"Would {verb} {result['path']} with scope = {result['scope']!r}{was}. "
                "Nothing written (--dry-run).\n")
    elif result["changed"]:
        verb = "created" if result["created"] else "updated"
        was = "" if result["before"] is None else f" (was {result['before']!r})"
        out(f"Linked {result['root']} to scope {result['scope']!r}: {verb} {where}{was}.\n")
    else:
        out(f"Already linked: {where} has scope {result['scope']!r}; nothing written.\n")
    cloud = result["cloud"]
    if cloud:
        out(f"Cloud: {cloud['url']} lets the token see {result['scope']!r} "
            f"({cloud['access']} access).\n")
    else:
        out("Cloud: not checked (no [cloud] url configured).\n")
    for name, value in result["runtime_override"].items():
        out(f"Note: {name}={value!r} in this shell still wins over the file; "
            "unset it, or see `ctxscope status`.\n")
    out("\nNext steps:\n")
    for number, step in enumerate(result["next_steps"], 1):
        out(f"  {number}. {step}\n")
