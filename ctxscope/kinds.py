"""The leaf vocabulary: sources, states, reasons and their actions, shells, directions.

Every other module names these from here, so each concept has one definition.
This module imports nothing from ctxscope but `errors` (for the exit codes), and
nothing heavy, so any layer can use it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from .errors import ExitCode

# The sources of a scope, in precedence order: the first one set wins.
PRECEDENCE = ("runtime", "local", "cloud", "fallback")

# The sources ctxscope can write (the runtime env belongs to the user's shell).
WRITTEN_SOURCES = ("local", "cloud")

# Overall states, first that applies wins, and the exit code of `status --check` for each.
STATE_EXIT = {
    "INVALID": ExitCode.ERROR,
    "UNRESOLVED": ExitCode.UNRESOLVED,
    "UNAUTHORIZED": ExitCode.UNAUTHORIZED,
    "DEGRADED": ExitCode.CLOUD,
    "DRIFTED": ExitCode.DRIFT,
    "SYNCED": ExitCode.OK,
}
STATES = tuple(STATE_EXIT)

# Each problem's reason and the action that fixes it.
ACTIONS = {
    "local_mismatch": "sync_local",
    "cloud_mismatch": "sync_cloud",
    "runtime_mismatch": "repair",
    "runtime_invalid": "repair",
    "local_invalid": "repair",
    "cloud_invalid": "repair",
    "fallback_invalid": "repair",
    "cloud_unreachable": "check_cloud",
    "cloud_error": "check_cloud",
    "scope_unauthorized": "request_access",
    "scope_unresolved": "set_scope",
    "process_stale": "restart_process",
    "observed_mismatch": "update_observed",
    "config_changed": "trust",
}

# The reasons that mean the cloud could not give an answer (not drift).
CLOUD_PROBLEMS = ("cloud_unreachable", "cloud_error")


class Problem(NamedTuple):
    """One drift or fault found by a resolution: why, what fixes it, where, and the details."""

    reason: str
    action: str
    source: str | None  # a source name, `observed:NAME`, or None (nothing resolved)
    detail: str | None


class Shell(StrEnum):
    """The shells ctxscope writes code for (`hook SHELL`, `repair --shell`)."""

    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"


SHELLS = tuple(s.value for s in Shell)


class Direction(StrEnum):
    """`sync --direction`: which source follows which. Never both ways."""

    RUNTIME_TO_LOCAL = "runtime-to-local"
    RESOLVED_TO_CLOUD = "resolved-to-cloud"
