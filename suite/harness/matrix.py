"""The one generator of the matrix: every point the options select, for the checks, the autocast
checks and the benchmarks alike (the plugin wraps each in a ``pytest.param`` with its id)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Protocol

import torch

from rnnsuite.cases import CASES, Case, Size
from rnnsuite.suite.harness.points import DEFAULT_KERNEL, Point

# The autocast checks' dtypes per device: the dtype torch.autocast computes in (CPU: bfloat16 only).
AUTOCAST_DTYPES = {"cpu": (torch.bfloat16,), "cuda": (torch.float16, torch.bfloat16)}
KINDS = ("check", "autocast", "benchmark")


class Selection(Protocol):
    """What the options select (suite.plugin.options.Options has these and more)."""

    devices: tuple[str, ...]
    dtypes: tuple[torch.dtype, ...]
    sizes: tuple[str, ...]
    passes: tuple[str, ...]
    backends: tuple[str, ...]


def points(
    sel: Selection,
    kind: str = "check",
    *,
    only_cases: tuple[str, ...] | None = None,
    only_dtypes: tuple[torch.dtype, ...] | None = None,
) -> Iterator[Point]:
    """Every point of one kind the selection and the cases allow, in a fixed order.

    Args:
        sel: the devices, dtypes, size presets, passes, backends and kernels (``kernels``; the
            default kernel where absent) asked for.
        kind: ``check`` (a case x device x dtype x kernel), ``autocast`` (a fused case in float32
            under autocast to each of the device's autocast dtypes asked for) or ``benchmark``
            (a timed case x timed size x device x dtype x pass x backend x kernel).
        only_cases: these cases only (a test's ``@pytest.mark.cases``).
        only_dtypes: these dtypes only (the float64-only gradcheck).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind of point {kind!r}; choose from {', '.join(KINDS)}")
    asked = getattr(sel, "kernels", (DEFAULT_KERNEL,))
    for case in CASES.values():
        if (only_cases is not None and case.name not in only_cases) or not _has(case, kind):
            continue
        kernels = asked if case.fused and kind != "autocast" else (DEFAULT_KERNEL,)
        for preset, size in _sizes(case, sel, kind):
            for device in (d for d in sel.devices if d in case.devices):
                for dtype in _dtypes(case, sel, kind, device, only_dtypes):
                    if kind == "check":
                        yield from (Point(case, device, dtype, k) for k in kernels)
                    elif kind == "autocast":
                        yield Point(case, device, dtype, autocast=True)
                    else:
                        for pass_, backend, k in itertools.product(sel.passes, sel.backends, kernels):
                            yield Point(case, device, dtype, k, pass_, backend, preset, size)


def _has(case: Case, kind: str) -> bool:
    return {"check": True, "autocast": case.fused, "benchmark": case.timed}[kind]


def _sizes(case: Case, sel: Selection, kind: str) -> list[tuple[str | None, Size | None]]:
    if kind != "benchmark":
        return [(None, None)]
    return [(preset, size) for preset in sel.sizes for size in case.timed_sizes(preset)]


def _dtypes(
    case: Case, sel: Selection, kind: str, device: str, only: tuple[torch.dtype, ...] | None
) -> list[torch.dtype]:
    if kind == "autocast":  # in the device's order of autocast dtypes
        return [t for t in AUTOCAST_DTYPES[device] if t in sel.dtypes and (only is None or t in only)]
    return [t for t in sel.dtypes if t in case.dtypes and (only is None or t in only)]
