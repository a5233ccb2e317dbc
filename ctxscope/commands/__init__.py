"""The commands' bodies: one module per command, `commands/<name>.py`, with a function
named after the command that takes typed keyword arguments and returns the exit code.

No Typer here: `ctxscope.cli` declares the commands and options and calls these,
and the fast path in `ctxscope._entry` calls the hot ones directly. Errors are
raised as `ctxscope.errors.CtxScopeError` subclasses; the entry paths' one error
boundary turns them into one line on stderr and their exit code.
"""
