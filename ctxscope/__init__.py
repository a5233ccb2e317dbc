"""ctxscope: one resolver for AI-agent project scope.

    >>> import ctxscope
    >>> result = ctxscope.resolve()          # never prints, never exits
    >>> result.resolved_scope, result.state
    >>> scope = ctxscope.require_scope()     # the gate: the scope, or a ScopeError

Attributes are loaded on first use so that `import ctxscope` stays cheap for
shell hooks and agent runtimes.
"""

from __future__ import annotations

_LAZY = {
    "resolve": ("ctxscope.resolver", "resolve"),
    "Resolution": ("ctxscope.resolver", "Resolution"),
    "Context": ("ctxscope.resolver", "Context"),
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


def __getattr__(name: str):
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
