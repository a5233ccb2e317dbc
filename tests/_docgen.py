"""tools/docgen.py, the developer tool that generates the completions, the man page and
docs/reference/cli.md, imported for the tests (it lives outside the installed package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCGEN_PATH = ROOT / "tools" / "docgen.py"


def _load():
    if "docgen" in sys.modules:
        return sys.modules["docgen"]
    spec = importlib.util.spec_from_file_location("docgen", DOCGEN_PATH)
    assert spec and spec.loader, DOCGEN_PATH
    module = importlib.util.module_from_spec(spec)
    sys.modules["docgen"] = module
    spec.loader.exec_module(module)
    return module


docgen = _load()
