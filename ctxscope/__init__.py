"""ctxscope: one resolver for AI-agent project scope.

    >>> import ctxscope
    >>> result = ctxscope.resolve()          # never prints, never exits
    >>> result.resolved_scope, result.state
    >>> scope = ctxscope.require_scope()     # the gate: the scope, or a ScopeError

Attributes are loaded on first use so that `import ctxscope` stays cheap for
shell hooks and agent runtimes.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    # What `__getattr__` loads on first use, for type checkers (`X as X` re-exports X).
    # Exactly the names in _LAZY (tests/test_types.py keeps the two the same).
    from .context import Context as Context
    from .errors import CtxScopeError as CtxScopeError
    from .errors import ExitCode as ExitCode
    from .gate import ScopeCloudError as ScopeCloudError
    from .gate import ScopeDrifted as ScopeDrifted
    from .gate import ScopeError as ScopeError
    from .gate import ScopeInvalid as ScopeInvalid
    from .gate import ScopeUnauthorized as ScopeUnauthorized
    from .gate import ScopeUnresolved as ScopeUnresolved
    from .gate import require_scope as require_scope
    from .resolver import Resolution as Resolution
    from .resolver import resolve as resolve

    __version__: str  # read from the installed package's metadata on first use
_LAZY = {
    "resolve": ("ctxscope.resolver", "resolve"),
    "Resolution": ("ctxscope.resolver", "Resolution"),
    "Context": ("ctxscope.context", "Context"),
    "ExitCode": ("ctxscope.errors", "ExitCode"),
    "CtxScopeError": ("ctxscope.errors", "CtxScopeError"),
    "require_scope": ("ctxscope.gate", "require_scope"),
    "ScopeError": ("ctxscope.gate", "ScopeError"),
    "ScopeInvalid": ("ctxscope.gate", "ScopeInvalid"),
    "ScopeDrifted": ("ctxscope.gate", "ScopeDrifted"),
    "ScopeUnauthorized": ("ctxscope.gate", "ScopeUnauthorized"),
    "ScopeUnresolved": ("ctxscope.gate", "ScopeUnresolved"),
    "ScopeCloudError": ("ctxscope.gate", "ScopeCloudError"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> object:
    if name == "__version__":  # read from the package metadata on first use
        from ._version import version

        return version()
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ctxscope' has no attribute {name!r}")
