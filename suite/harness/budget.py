"""The norm-wise check: relative error as a ratio to the dtype's unit roundoff, against a budget from the emulated error.

The model (after LAPACK's test drivers, which judge a result by its error as a ratio to eps
against one fixed threshold):

- The error of a tensor is the norm-wise relative error ``||actual - expected|| / ||expected||``
  (Frobenius norms) of the whole tensor and, for a tensor with a time axis, of each time step,
  so that a lag, a drift or a dead region shows where a whole-tensor figure would average it
  away. Expressed in units of the dtype's unit roundoff ``u`` (float64 2^-53, float32 2^-24,
  bfloat16 2^-8, float16 2^-11), one number means the same in every dtype.
- The emulated error is the same figure for the NumPy reference run in the dtype's rounding
  (``cases/rounding.py``): what an implementation that rounds where torch rounds gets wrong.
  It is taken per case, dtype, seed and tensor (whole, and the largest over its steps), so a
  well-conditioned tensor keeps a tight budget beside an ill-conditioned one.
- The budget is ``max(MULTIPLE x emulated, FLOOR_U[kind][dtype])``, in u (a case may raise the
  floor, with a reason: ``Case.norm_floor``). The multiple allows for the
  kernels rounding in another order; the floor for what the emulation cannot see: float64 is
  not emulated (emulated = 0), float32 sums in another order than the emulation's (MKL's blocked
  dot products), and a tensor of two elements can be lucky in the emulation. The constants
  were chosen from the measured errors of 20 seeds (docs/notes/tolerances.md), and are checked by the
  sensitivity tests (``tests/harness/test_sensitivity.py``): a 5% error must fail in every dtype.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

UNIT_ROUNDOFF: dict[torch.dtype, float] = {
    torch.float64: 2.0**-53,
    torch.float32: 2.0**-24,
    torch.bfloat16: 2.0**-8,
    torch.float16: 2.0**-11,
}
# The allowed multiple of the emulated error (the reference run in the dtype's rounding).
MULTIPLE = 2.0
# The least budget, in u, by kind: forward outputs, backward gradients. float64 and float32: the
# largest error seen on 20 seeds times about 4, rounded up to a power of two (the kernels sum in
# another order than NumPy; float64 is not emulated). The half types: above the largest error
# seen and below a 5% error (12.8u in bfloat16, 102u in float16). Gradients get more: autograd
# sums a parameter's gradient over its uses in the dtype, which the NumPy backward does not
# model (docs/tolerances.md has the rule, docs/notes/tolerances.md the figures).
FLOOR_U: dict[str, dict[torch.dtype, float]] = {
    "forward": {torch.float64: 32.0, torch.float32: 32.0, torch.bfloat16: 4.0, torch.float16: 4.0},
    "backward": {torch.float64: 64.0, torch.float32: 128.0, torch.bfloat16: 9.0, torch.float16: 24.0},
}
# Per device where it differs: cuDNN's float32 RNN kernels sum in another order than the CPU's, so
# their float32 errors sit far above the CPU's floor while the other dtypes' do not (the H100 run's
# figures, from its stored output samples: docs/notes/tolerances.md). That run stored no gradients,
# only their largest absolute error: the backward floor is an estimate.
FLOOR_U_DEVICE: dict[str, dict[tuple[str, torch.dtype], float]] = {
    "cuda": {("forward", torch.float32): 512.0, ("backward", torch.float32): 1024.0},
}


def _steps_norm(x: np.ndarray, axis: int) -> np.ndarray:
    """The Frobenius norm of each slice along ``axis``."""
    return np.sqrt(np.sum(np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1) ** 2, axis=1))


def relative_errors(actual: np.ndarray, expected: np.ndarray, axis: int | None) -> tuple[float, np.ndarray]:
    """``||a - e|| / ||e||`` of the whole tensor, and of each step along ``axis`` (empty without one).

    A zero reference gives the plain norm of ``a - e`` (0 when both are zero).
    """
    tiny = np.finfo(np.float64).tiny
    whole = float(np.linalg.norm(actual - expected) / max(float(np.linalg.norm(expected)), tiny))
    if axis is None or expected.ndim == 0 or expected.shape[axis] < 2:
        return whole, np.zeros(0)
    return whole, _steps_norm(actual - expected, axis) / np.maximum(_steps_norm(expected, axis), tiny)


POSITIONS = (1, 10, 100, 1000)  # the sequence positions (1-based) whose error a forward check records


def errors_at(
    actual: Mapping[str, Tensor | np.ndarray],
    expected: Mapping[str, np.ndarray],
    time_axis: Mapping[str, int],
    u: float,
) -> dict[str, float | None]:
    """The norm-wise relative error, in u, of one output at the :data:`POSITIONS` its sequence reaches.

    The output is ``output`` where it has a time axis, else the first that has one; none: empty. A
    step that is not finite is None. This is how a report sets the modes of a case side by side: a
    scan whose error grows with the position shows it here.
    """
    name = "output" if "output" in time_axis else next((k for k in expected if k in time_axis), None)
    if name is None or name not in actual:
        return {}
    a = actual[name]
    arr = a.detach().to("cpu", torch.float64).numpy() if isinstance(a, Tensor) else np.asarray(a, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        _, steps = relative_errors(arr, expected[name], time_axis[name])
    return {
        str(p): (float(steps[p - 1]) / u if np.isfinite(steps[p - 1]) else None) for p in POSITIONS if p <= steps.size
    }


@dataclass(frozen=True)
class Budget:
    """The norm-wise budgets of one case, dtype and kind (forward or backward), per tensor, in units of u."""

    u: float
    emulated_u: Mapping[str, float]  # each tensor's emulated whole-tensor error
    emulated_step_u: Mapping[str, float]  # each tensor's largest emulated per-step error
    floor_u: float
    multiple: float = MULTIPLE

    def whole_u(self, name: str) -> float:
        return max(self.multiple * self.emulated_u[name], self.floor_u)

    def step_u(self, name: str) -> float:
        return max(self.multiple * self.emulated_step_u[name], self.floor_u)


def budget_for(
    expected: Mapping[str, np.ndarray],
    emulated: Mapping[str, np.ndarray],
    dtype: torch.dtype,
    time_axis: Mapping[str, int],
    kind: str = "forward",
    floor_u: float | None = None,
    device: str = "cpu",
) -> Budget:
    """The budget from the reference and the emulated-precision reference of the same tensors.

    Args:
        expected: float64 references by tensor name.
        emulated: the same references run in the dtype's rounding (for float64, ``expected``).
        dtype: the dtype under test.
        time_axis: per tensor, its time axis (tensors without one get the whole-tensor check only).
        kind: "forward" (outputs) or "backward" (gradients), for the floor.
        floor_u: a case's own floor (``Case.norm_floor``), replacing the default.
        device: "cpu" or "cuda" (``FLOOR_U_DEVICE``).
    """
    u = UNIT_ROUNDOFF[dtype]
    whole, step = {}, {}
    for name, exp in expected.items():
        w, s = relative_errors(np.asarray(emulated[name], dtype=np.float64), exp, time_axis.get(name))
        whole[name], step[name] = w / u, float(s.max(initial=0.0)) / u
    default = FLOOR_U_DEVICE.get(device, {}).get((kind, dtype), FLOOR_U[kind][dtype])
    floor = max(default, floor_u) if floor_u is not None else default
    return Budget(u=u, emulated_u=whole, emulated_step_u=step, floor_u=floor)


@dataclass(frozen=True)
class NormError:
    """The worst norm-wise error of a comparison (the largest ratio of error to budget)."""

    err_u: float
    budget_u: float
    emulated_u: float
    tensor: str
    step: int | None

    @property
    def margin(self) -> float | None:
        """Budget over error: > 1 passes; None when the error is 0."""
        return self.budget_u / self.err_u if self.err_u > 0 else None

    @property
    def where(self) -> str:
        return self.tensor if self.step is None else f"{self.tensor}[step {self.step}]"


def check_normwise(
    actual: Mapping[str, Tensor | np.ndarray],
    expected: Mapping[str, np.ndarray],
    budget: Budget,
    *,
    where: str,
    time_axis: Mapping[str, int] | None = None,
) -> NormError:
    """Fail when any tensor's norm-wise relative error, whole or at a step, exceeds the budget.

    Args:
        actual: tensors from the code under test (any device and dtype), by name.
        expected: float64 references, same names.
        budget: from :func:`budget_for`.
        where: names the check in messages.
        time_axis: per tensor, the axis that counts time steps.

    Returns:
        The worst error (largest ratio to its budget), in u.

    Raises:
        AssertionError: names the tensor, the first step over budget, the error and the budget in u.
    """
    axes, worst = time_axis or {}, NormError(0.0, 1.0, 0.0, "", None)
    for name, exp in expected.items():
        a = actual[name]
        arr = a.detach().to("cpu", torch.float64).numpy() if isinstance(a, Tensor) else np.asarray(a, np.float64)
        whole, steps = relative_errors(arr, exp, axes.get(name))
        found = [NormError(whole / budget.u, budget.whole_u(name), budget.emulated_u[name], name, None)]
        if steps.size:
            over = np.flatnonzero(steps / budget.u > budget.step_u(name))
            t = int(over[0]) if over.size else int(np.argmax(steps))
            found.append(
                NormError(float(steps[t]) / budget.u, budget.step_u(name), budget.emulated_step_u[name], name, t)
            )
        for err in found:
            if err.err_u > err.budget_u:
                first = " (first step over budget)" if err.step is not None else ""
                raise AssertionError(
                    f"{where}: {err.where!r} norm-wise error {err.err_u:.3g}u over budget {err.budget_u:.3g}u{first} "
                    f"(emulated {err.emulated_u:.3g}u, u = {budget.u:.3g})"
                )
            if err.err_u / err.budget_u > worst.err_u / worst.budget_u:
                worst = err
    return worst
