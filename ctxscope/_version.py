"""ctxscope's version, from its one source: the installed package's metadata.

`pyproject.toml` sets the version; installing writes it into the package's
metadata, which `importlib.metadata.version("ctxscope")` reads. Importing
`importlib.metadata` costs more (email, zipfile, pathlib: about 50 ms measured on the
development machine) than a whole cached `ctxscope resolve`, so `version()` first looks
for the installed `ctxscope-VERSION.dist-info` directory along `sys.path`, in the order
`importlib.metadata` searches it, and only falls back to `importlib.metadata` when there
is none (an egg-info or zipped install). Nothing is read until a version is needed.
"""

from __future__ import annotations

import os
import sys

_DIST = "ctxscope"
_found: str | None = None


def version() -> str:
    """The installed version of ctxscope, e.g. "1.2.3" ("0+unknown" when not installed)."""
    global _found
    if _found is None:
        _found = _from_dist_info() or _from_metadata()
    return _found


def _from_dist_info() -> str | None:
    prefix, suffix = f"{_DIST}-", ".dist-info"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith(prefix) and name.endswith(suffix):
                found = name[len(prefix) : -len(suffix)]
                if found and "-" not in found:  # not another project named ctxscope-*
                    return found
    return None


def _from_metadata() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version(_DIST)
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"
