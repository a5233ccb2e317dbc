"""Exit codes and the error classes every layer raises.

One base class carries its exit code; the CLI's single error boundary
(`ctxscope.cli.run`) turns any of them into a one-line message and that code.
Library callers catch `CtxScopeError` or one of the subclasses.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes shared by every command (docs/reference/exit-codes.md)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    DRIFT = 3
    UNAUTHORIZED = 4
    UNRESOLVED = 5
    CLOUD = 6


class CtxScopeError(Exception):
    """Base of every anticipated failure: a message, an optional hint, an exit code."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(CtxScopeError):
    """A config file is unreadable, malformed or holds a forbidden key."""


class InvalidScopeError(CtxScopeError):
    """A scope value breaks the scope rules (`ctxscope.scope`)."""


class ConflictError(CtxScopeError):
    """Someone changed the value between our read and our write (HTTP 412)."""


class VerificationError(CtxScopeError):
    """A write did not read back as written."""


class UsageError(CtxScopeError):
    exit_code = ExitCode.USAGE


class DriftError(CtxScopeError):
    exit_code = ExitCode.DRIFT


class UnauthorizedError(CtxScopeError):
    exit_code = ExitCode.UNAUTHORIZED


class UnresolvedError(CtxScopeError):
    exit_code = ExitCode.UNRESOLVED


class CloudError(CtxScopeError):
    """The cloud answered something outside the v1 contract."""

    exit_code = ExitCode.CLOUD
    status: int | None = None  # the HTTP status, when the cloud answered with one


class CloudUnreachable(CloudError):
    """Connecting failed or the command's time budget ran out."""

    timed_out: bool = False  # the budget ran out (rather than a connect failure)
