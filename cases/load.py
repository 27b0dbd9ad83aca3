"""Loading users' cases: the modules of ``--cases`` and of the entry-point group ``rnnsuite.cases``.

A module registers its cases when imported (``cases/api.py``). Every process that looks a case up
by name loads the same modules: pytest (``suite/plugin/user_cases.py``), its xdist workers, the
cold server and a fresh cold process (``suite/measure/cold.py``), both sides of an A/B and the
process counted under callgrind. ``--cases`` reaches the processes pytest starts through the
environment variable ``RNNSUITE_CASES``; the entry points are found on install.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from rnnsuite.cases.registry import CASES

GROUP = "rnnsuite.cases"
ENV = "RNNSUITE_CASES"
# Modules loaded in this process, each with the cases it registered.
LOADED: dict[str, tuple[str, ...]] = {}


class LoadError(Exception):
    """A module of cases that could not be loaded (one line: the module and why)."""


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return (text.splitlines() or [text])[0][:300]


def _import(spec: str) -> None:
    """Import a module by dotted name, or a ``.py`` file by path."""
    if spec.endswith(".py") or os.sep in spec:
        path = Path(spec).expanduser().resolve()
        if not path.is_file():
            raise ModuleNotFoundError(f"no file {str(path)!r}")
        name = f"rnnsuite_user_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot import {str(path)!r}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as ``python -m`` does: a module beside the command line is found
    importlib.import_module(spec)


def load_module(spec: str, source: str) -> tuple[str, ...]:
    """Import one module of cases (once per process); the names of the cases it registered.

    Args:
        spec: a dotted module name or a path to a ``.py`` file.
        source: how it was named, for messages (``--cases``, ``entry point examples``).

    Raises:
        LoadError: one line: the module does not import (its warnings are not errors: they are recorded
            on its cases' checks, ``cases/user_code.py``), or a case of it is wrong (a name clash, a
            baseline that is not a registered case: checked once the module has declared all its
            cases, so a case may name one declared after it).
            The cases it registered before the error are removed again.
    """
    spec = _normal(spec)
    if spec in LOADED:
        return LOADED[spec]
    from rnnsuite.cases.api import CaseError
    from rnnsuite.cases.user_code import IMPORT_WARNINGS, note_warnings

    before = set(CASES)
    try:
        with warnings.catch_warnings(record=True) as caught:  # a module's warnings: recorded on its cases' checks
            warnings.simplefilter("always")
            _import(spec)
    except CaseError as exc:
        _forget(before)
        raise LoadError(f"{source} {spec}: {exc}") from None
    except BaseException as exc:  # SystemExit and KeyboardInterrupt of a module's top level too
        _forget(before)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise LoadError(f"{source} {spec}: the module does not import: {_one_line(exc)}") from None
    new = tuple(n for n in CASES if n not in before)
    unknown = [(n, CASES[n].baseline) for n in new if CASES[n].baseline not in (None, *CASES)]
    if unknown:
        _forget(before)
        name, baseline = unknown[0]
        raise LoadError(f"{source} {spec}: case {name!r}: baseline {baseline!r} is not a registered case")
    for name in new:
        note_warnings(name, caught, IMPORT_WARNINGS)
    LOADED[spec] = new
    return LOADED[spec]


def _forget(before: set[str]) -> None:
    for name in [n for n in CASES if n not in before]:
        del CASES[name]


def _normal(spec: str) -> str:
    """A path made absolute (one file is one module whatever the path that named it); a module name as is."""
    return str(Path(spec).expanduser().resolve()) if (spec.endswith(".py") or os.sep in spec) else spec


def from_env() -> list[str]:
    """The modules ``RNNSUITE_CASES`` names (comma-separated)."""
    return [m.strip() for m in os.environ.get(ENV, "").split(",") if m.strip()]


def load(modules: Sequence[str] = ()) -> list[str]:
    """Load the entry points' modules, ``modules`` and those of ``RNNSUITE_CASES``; the new case names.

    Raises:
        LoadError: see :func:`load_module`.
    """
    names: list[str] = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        names += load_module(ep.module, f"entry point {ep.name!r} ({GROUP}):")
    for spec in dict.fromkeys([*modules, *from_env()]):
        names += load_module(spec, "--cases")
    return names


def export(modules: Sequence[str]) -> None:
    """Name ``modules`` in ``RNNSUITE_CASES`` for the processes this one starts (paths made absolute)."""
    specs = [_normal(m) for m in modules]
    if specs:
        os.environ[ENV] = ",".join(dict.fromkeys([*from_env(), *specs]))
