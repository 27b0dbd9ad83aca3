"""rnnsuite: the correctness and benchmarking suite for recurrent neural networks in PyTorch.

The public API is the case API (``rnnsuite.cases.api``), re-exported here::

    from rnnsuite import case, same_as, known_defect, Instance, Size, Tol, CaseError

It is imported on first use, so ``import rnnsuite`` (the command line, the pytest plugin, the reports)
never imports torch. The package's parts are ``rnnsuite.cases`` (what is tested), ``rnnsuite.suite``
(the pytest harness) and ``rnnsuite.reports`` (what a person reads); in a checkout they are the
folders ``cases/``, ``suite/`` and ``reports/`` (README, "How the folders are packaged").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = [
    "CaseError",
    "Instance",
    "KnownDefect",
    "Size",
    "Tol",
    "__version__",
    "case",
    "known_defect",
    "one_width_sizes",
    "same_as",
]

if TYPE_CHECKING:
    from rnnsuite.cases.api import (
        CaseError,
        Instance,
        KnownDefect,
        Size,
        Tol,
        case,
        known_defect,
        one_width_sizes,
        same_as,
    )


def __getattr__(name: str) -> Any:
    """The case API's names, imported (with torch) when first asked for."""
    if name in __all__ and name != "__version__":
        from rnnsuite.cases import api

        return getattr(api, name)
    raise AttributeError(f"module 'rnnsuite' has no attribute {name!r}")
