"""The elementwise comparison of named tensors against float64 references, and what it reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from rnnsuite.cases import Tol


@dataclass(frozen=True)
class Errors:
    """The largest errors seen in one comparison, and the tolerance applied to that tensor."""

    max_abs: float
    max_rel: float
    tensor: str
    rtol: float
    atol: float


class NonFiniteError(AssertionError):
    """An output holds NaN or Inf."""


def first_bad_step(bad: np.ndarray, axis: int | None) -> str:
    """`` at step N (first bad step)`` for the first step along ``axis`` where ``bad`` holds; empty without an axis."""
    if axis is None or bad.ndim == 0:
        return ""
    steps = np.flatnonzero(bad.any(axis=tuple(a for a in range(bad.ndim) if a != axis)))
    return f" at step {int(steps[0])} (first bad step)"


def compare(
    actual: Mapping[str, Tensor],
    expected: Mapping[str, np.ndarray],
    tol: Tol,
    *,
    where: str,
    time_axis: Mapping[str, int] | None = None,
    normwise: bool = False,
) -> Errors:
    """Compare named tensors with ``|a - e| <= atol + rtol |e|``.

    Args:
        actual: tensors from the code under test (any device and dtype).
        expected: float64 reference values, same names.
        tol: the tolerance.
        where: names the check in messages, e.g. ``nn_lstm-cpu-float32 forward``.
        time_axis: per tensor, the axis that counts time steps.
        normwise: scale ``atol`` by ``max(1, max |e|)`` of each tensor. Gradients sum T x B
            products, so their rounding error scales with the largest gradient, not with each
            element.

    Returns:
        The largest absolute and relative errors and the tensor they are in.

    Raises:
        NonFiniteError: a tensor holds NaN or Inf (names the first bad step).
        AssertionError: a tensor is out of tolerance (names the tensor, step, errors, tolerance).
    """
    axes = time_axis or {}
    worst = Errors(0.0, 0.0, "", tol.rtol, tol.atol)
    for name, exp in expected.items():
        if not np.isfinite(exp).all():
            raise AssertionError(f"{where}: the reference for {name!r} holds NaN/Inf")
        a = actual[name].detach().to("cpu", torch.float64).numpy()
        if not np.isfinite(a).all():
            step = first_bad_step(~np.isfinite(a), axes.get(name))
            raise NonFiniteError(f"{where}: {name!r} holds NaN/Inf{step}")
        if a.shape != exp.shape:
            raise AssertionError(f"{where}: {name!r} has shape {a.shape}, expected {exp.shape}")
        err = np.abs(a - exp)
        rel = err / np.maximum(np.abs(exp), np.finfo(np.float64).tiny)
        max_abs, max_rel = float(err.max(initial=0.0)), float(rel.max(initial=0.0))
        atol = tol.atol * max(1.0, float(np.abs(exp).max(initial=0.0))) if normwise else tol.atol
        if max_abs >= worst.max_abs:
            worst = Errors(max_abs, max(max_rel, worst.max_rel), name, tol.rtol, atol)
        else:
            worst = replace(worst, max_rel=max(max_rel, worst.max_rel))
        bad = err > atol + tol.rtol * np.abs(exp)
        if bad.any():
            raise AssertionError(
                f"{where}: {name!r} out of tolerance{first_bad_step(bad, axes.get(name))}: "
                f"{int(bad.sum())} of {bad.size} elements, max abs err {max_abs:.3g}, "
                f"max rel err {max_rel:.3g}; tol rtol={tol.rtol:.3g} atol={atol:.3g}"
            )
    return worst


def output_sample(t: Tensor, n: int = 64) -> list[float]:
    """Up to ``n`` values evenly spaced over the flat tensor, for comparing runs."""
    flat = t.detach().to("cpu", torch.float64).flatten()
    idx = torch.linspace(0, flat.numel() - 1, min(n, flat.numel())).round().long()
    return [float(v) for v in flat[idx]]
