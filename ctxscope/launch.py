"""The environment `ctxscope exec` hands to the command it starts, and the marker it leaves.

A process started through `ctxscope exec` carries `CTXSCOPE_EXEC`, a record of the
scope it was launched with and when, so `ctxscope ps` can later say "launched with S
at T; S2 resolves now". The format is a list of `key=value` fields separated by `;`:

    CTXSCOPE_EXEC=scope=workout;from=local;t=1764561600

- `scope`: the resolved scope (a valid scope never holds `;` or `=`, so no quoting
  is needed);
- `from`: the source it came from (runtime, local, cloud or fallback);
- `t`: the launch time, whole seconds since the Unix epoch (UTC).

Parsers split on `;`, then each field on the first `=`, and ignore fields they do
not know, so fields can be added later. A marker whose `scope` is not a valid
scope or whose `t` is not a number is ignored as a whole.

No typer, no rich: `ps` and `status` read markers on their plain paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

MARKER = "CTXSCOPE_EXEC"


class Launch(NamedTuple):
    """What a marker says: the scope, its source (or None) and the launch time (Unix seconds)."""

    scope: str
    source: str | None
    at: int


def format_marker(scope: str, source: str | None, at: int) -> str:
    """The marker's value for a launch of `scope` (from `source`) at `at`."""
    fields = [f"scope={scope}"]
    if source:
        fields.append(f"from={source}")
    fields.append(f"t={int(at)}")
    return ";".join(fields)


def parse_marker(value: str | None) -> Launch | None:
    """The launch a marker records, or None when it is absent or malformed."""
    from .scope import scope_problem

    if not value:
        return None
    fields: dict[str, str] = {}
    for part in value.split(";"):
        key, eq, field = part.partition("=")
        if eq and key not in fields:
            fields[key] = field
    scope, at = fields.get("scope"), fields.get("t", "")
    if scope is None or scope_problem(scope) is not None or not at.isdigit() or len(at) > 12:
        return None
    return Launch(scope, fields.get("from") or None, int(at))


class Child(NamedTuple):
    """A launched command's environment, the variables set in it (in order), the observers
    whose variables were set, and warnings."""

    env: dict[str, str]
    names: list[str]
    observers: list[str]
    warnings: list[str]


def child_environment(res, base: Mapping[str, str], at: int) -> Child:
    """The environment for a command launched in the scope `res` resolved.

    Returns Child(env, names: the variables set, in order; observers: the names of
    the observers whose variables were set; warnings).

    Every configured runtime variable holds the scope, so the command and everything
    it starts resolve the same one; every observer that reads an environment
    variable gets the tool's id for the scope (`map[scope]`, else the scope itself),
    each of its variables; the marker records the launch. Observers that read a file
    cannot be set this way and are left as they are (`status` keeps showing them).
    """
    from .resolver import _observing

    scope = res.resolved_scope
    env = dict(base)
    assigned: dict[str, str] = {}
    done: list[str] = []
    for name in res.config["runtime.env"]:
        assigned[name] = scope
    warnings: list[str] = []
    found: list = []
    if _observing(res.config):  # else observe.py is never imported, as in resolve
        from .observe import observers

        found, _allow, _known = observers(res.config, res.cwd)  # resolve already warned
    for obs in found:
        if obs.problem or not obs.env:
            continue
        tool_id = obs.map.get(scope, scope)
        if "\0" in tool_id:
            warnings.append(f"observer {obs.name}: its id for {scope!r} holds a NUL byte; not set")
            continue
        for name in obs.env:
            if name in assigned and assigned[name] != tool_id:
                warnings.append(
                    f"observer {obs.name}: {name} is already set to "
                    f"{assigned[name]!r}; not changed to {tool_id!r}"
                )
                continue
            assigned[name] = tool_id
        done.append(obs.name)
    assigned[MARKER] = format_marker(scope, res.resolved_from, at)
    env.update(assigned)
    return Child(env, list(assigned), done, warnings)


def remaining_problems(res, child: Child) -> tuple:
    """The problems of `res` that launching with `child`'s environment does not settle.

    The launched command sees every runtime variable equal and every env observer
    set to its id, so runtime_mismatch and those observers' mismatches are not its
    problems; a file observer's mismatch, the local file and the cloud still are.
    """
    settled = {f"observed:{name}" for name in child.observers}
    return tuple(p for p in res.problems if p.reason != "runtime_mismatch" and p.source not in settled)


def dry_run_lines(env: Mapping[str, str], names: list[str], command: list[str]) -> list[str]:
    """What `exec --dry-run` prints: `export` lines for the variables it sets, then the command.

    Each value and argument is shell-quoted, so the text can be read by a POSIX shell.
    """
    import shlex

    lines = [f"export {name}={shlex.quote(env[name])}" for name in names]
    lines.append("exec " + shlex.join(command))
    return lines
