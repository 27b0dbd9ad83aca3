"""The checks: build a case at a point of the matrix, compare against the reference, report errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from cases import CASES, DTYPES, Case, Instance, Size, Tol
from cases.rounding import run_rounded


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``"float32"``."""
    return str(dtype).removeprefix("torch.")


@dataclass(frozen=True)
class Point:
    """One point of the matrix: a case on a device in a dtype."""

    case: Case
    device: str
    dtype: torch.dtype

    @property
    def dtype_name(self) -> str:
        return dtype_name(self.dtype)

    @property
    def id(self) -> str:
        """The test id, ``case-device-dtype``."""
        return f"{self.case.name}-{self.device}-{self.dtype_name}"


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


def dtype_of(name: str) -> torch.dtype:
    """``"float32"`` -> ``torch.float32``."""
    return DTYPES[name]


def build(case: Case, size: Size, seed: int, device: str = "cpu", dtype: torch.dtype = torch.float64) -> Instance:
    """Build a case from a seeded CPU generator, then move it (inputs never depend on the device)."""
    inst = case.build(size, torch.Generator().manual_seed(seed))
    return inst if (device, dtype) == ("cpu", torch.float64) else inst.to(device, dtype)


def build_as_user(case: Case, size: Size, seed: int, device: str, dtype: torch.dtype) -> Instance:
    """Build a case as a user would, for timing: the constructor in ``dtype``, then moved to ``device``.

    Cases without ``build_in`` are built in float64 and cast (``built_note`` says which).
    """
    if case.build_in is None:
        return build(case, size, seed, device, dtype)
    inst = case.build_in(size, torch.Generator().manual_seed(seed), dtype)
    if device != "cpu":
        inst = Instance(inst.model.to(device), {k: v.to(device) for k, v in inst.inputs.items()})
    return inst


def built_note(case: Case, device: str, dtype: torch.dtype) -> str:
    """How ``build_as_user`` builds a case (the run file's ``built``)."""
    if case.build_in is None:
        return "float64 build cast to the dtype"
    return f"constructed in {dtype_name(dtype)}" + ("" if device == "cpu" else f", moved to {device}")


@lru_cache(maxsize=256)
def reference(case_name: str, preset: str, seed: int, dtype: torch.dtype) -> dict[str, np.ndarray]:
    """The NumPy reference outputs for the case's parameters and inputs rounded to ``dtype``.

    Rounding first means the comparison measures the arithmetic of ``dtype``, not the rounding of
    the weights; the reference itself is always float64.
    """
    case = CASES[case_name]
    inst = build(case, case.size(preset), seed, "cpu", dtype)
    return case.reference(inst.numpy_params(), inst.numpy_inputs())


def _first_bad_step(bad: np.ndarray, axis: int | None) -> str:
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
            step = _first_bad_step(~np.isfinite(a), axes.get(name))
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
                f"{where}: {name!r} out of tolerance{_first_bad_step(bad, axes.get(name))}: "
                f"{int(bad.sum())} of {bad.size} elements, max abs err {max_abs:.3g}, "
                f"max rel err {max_rel:.3g}; tol rtol={tol.rtol:.3g} atol={atol:.3g}"
            )
    return worst


def output_sample(t: Tensor, n: int = 64) -> list[float]:
    """Up to ``n`` values evenly spaced over the flat tensor, for comparing runs."""
    flat = t.detach().to("cpu", torch.float64).flatten()
    idx = torch.linspace(0, flat.numel() - 1, min(n, flat.numel())).round().long()
    return [float(v) for v in flat[idx]]


@lru_cache(maxsize=256)
def emulated_reference(case_name: str, preset: str, seed: int, dtype: torch.dtype) -> dict[str, np.ndarray]:
    """The reference outputs run in the dtype's rounding (``cases/rounding.py``): the emulated error's source.

    For float64, the reference itself (float64 is not emulated).
    """
    case = CASES[case_name]
    inst = build(case, case.size(preset), seed, "cpu", dtype)
    return run_rounded(case.reference, dtype_name(dtype), inst.numpy_params(), inst.numpy_inputs())


def cotangents(case: Case, size: Size, seed: int, dtype: torch.dtype) -> dict[str, Tensor]:
    """Output gradients for the backward check: drawn in float64 from ``seed + 1``, rounded to the dtype."""
    gen = torch.Generator().manual_seed(seed + 1)
    return {k: torch.randn(s, generator=gen, dtype=torch.float64).to(dtype) for k, s in case.out_shapes(size).items()}


@lru_cache(maxsize=256)
def reference_grads(
    case_name: str, preset: str, seed: int, dtype: torch.dtype
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The NumPy backward for :func:`cotangents`, and the same in the dtype's rounding.

    Returns:
        ``(expected, emulated)`` gradients by parameter and input name.
    """
    case = CASES[case_name]
    if case.reference_grad is None:
        raise ValueError(f"{case_name} has no NumPy backward reference")
    size = case.size(preset)
    inst = build(case, size, seed, "cpu", dtype)
    args = (inst.numpy_params(), inst.numpy_inputs())
    cot = {k: c.double().numpy() for k, c in cotangents(case, size, seed, dtype).items()}
    expected = case.reference_grad(*args, cot)
    emulated = expected if dtype == torch.float64 else run_rounded(case.reference_grad, dtype_name(dtype), *args, cot)
    return expected, emulated
