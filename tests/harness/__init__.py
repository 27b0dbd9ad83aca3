"""The harness's tests; ``lab`` loads one of lab/'s modules (a folder, not a package: the product never imports it)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

LAB = Path(__file__).resolve().parents[2] / "lab"


def lab(name: str) -> ModuleType:
    """``lab/NAME.py`` as a module (registered in ``sys.modules``, which dataclasses need), loaded once."""
    key = f"lab_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, LAB / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module
