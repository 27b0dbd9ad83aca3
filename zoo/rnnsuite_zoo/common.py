"""What the zoo's case modules share: seeded draws, the sizes, the known defects and one way to declare a case.

Every model of the zoo is declared through the public case API (``rnnsuite.case``), as a user's own
would be. A model with several forwards (a parallel scan and a recurrent step) is one case with
``modes=``; a defect found in a package is declared on its case (``known_defects=``) with its reason
and the standalone reproducer under ``zoo/repro/`` that shows it without the suite.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rnnsuite import Size, case

REPRO = Path(__file__).resolve().parent.parent / "repro"

# One-layer sizes: "tiny" for the float64 gradcheck, "seed" the chapter's (T=100, B=32, I=10, H=20),
# where the built-in layers are timed: a zoo layer of that shape is timed beside them.
TINY = Size(seq_len=4, batch=3, input_size=5, hidden_size=6)
SEED = Size(seq_len=100, batch=32, input_size=10, hidden_size=20)
SIZES = {"tiny": (TINY,), "seed": (SEED,)}
# Models whose output width is their input width (Mamba's block): the seed's T and B at width 20.
# The checks at the edges (saturated inputs, 1,000 steps): a defect that shows at the seed size shows there too.
EDGES = ("edge_saturated", "edge_long")
ONE_WIDTH = {
    "tiny": (Size(seq_len=4, batch=3, input_size=6, hidden_size=6),),
    "seed": (Size(seq_len=100, batch=32, input_size=20, hidden_size=20),),
}


@dataclass(frozen=True)
class Defect:
    """A defect of a package, found by the suite and shown again by a standalone script.

    Attributes:
        checks: the checks that show it (``forward``, ``determinism``, ``backward``, ``gradcheck``, ...).
        modes: the forwards it is in (empty: every mode).
        dtypes: the dtypes whose check it fails, by name (empty: every dtype).
        reason: one line: what is wrong, in the package's terms.
        reproducer: the script's file name under ``zoo/repro/``.
    """

    checks: tuple[str, ...]
    modes: tuple[str, ...]
    dtypes: tuple[str, ...]
    reason: str
    reproducer: str

    @property
    def script(self) -> Path:
        return REPRO / self.reproducer

    @property
    def path(self) -> str:
        """The reproducer as the repository names it (``zoo/repro/NAME.py``)."""
        return f"zoo/repro/{self.reproducer}"


def draw(gen: torch.Generator, dtype: torch.dtype, *shape: int, scale: float = 1.0) -> Tensor:
    """A normal tensor drawn in float64 on the CPU and rounded to ``dtype`` (the same values in every dtype)."""
    return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).to(dtype)


def uniform(gen: torch.Generator, dtype: torch.dtype, *shape: int, low: float, high: float) -> Tensor:
    """A uniform tensor in ``[low, high)`` drawn in float64 and rounded to ``dtype``."""
    return (torch.rand(*shape, generator=gen, dtype=torch.float64) * (high - low) + low).to(dtype)


def redraw_(model: torch.nn.Module, gen: torch.Generator, scale: Callable[[str, Tensor], float]) -> torch.nn.Module:
    """Every floating parameter drawn again from ``gen`` (normal, times ``scale(name, p)``): the package's own
    initialisation draws from torch's global generator, which the suite does not seed."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.is_floating_point() and p.requires_grad:
                p.copy_(draw(gen, torch.float64, *p.shape, scale=scale(name, p)))
    return model


def _takes(keyword: str) -> bool:
    return keyword in inspect.signature(case).parameters


def declare(
    name: str,
    build: Callable[..., Any],
    modes: Mapping[str, Callable[..., dict[str, Tensor]]],
    *,
    defects: tuple[Defect, ...] = (),
    **options: Any,
) -> None:
    """One case with its modes and known defects, through ``rnnsuite.case``.

    Where the installed rnnsuite has no ``modes=`` (before the case API of issue 28), each mode is a
    case of its own, ``NAME.MODE``, and the defects are not declared: their checks fail as found.
    """
    if not _takes("modes"):
        for mode, forward in modes.items():
            case(f"{name}.{mode}" if len(modes) > 1 else name, build, forward, **options)
        return
    from rnnsuite.cases.api import known_defect

    declared = [
        known_defect(check, reason=d.reason, reproducer=d.path, dtypes=d.dtypes, modes=d.modes)
        for d in defects
        for check in d.checks
    ]
    case(name, build, modes=dict(modes), known_defects=declared, **options)
