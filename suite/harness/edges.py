"""Checks at the edges of a dtype, for every case (users' too): saturated pre-activations and one long sequence.

- **Saturated** (``edge_saturated``): the case's tiny-size inputs and states, every floating one, times
  the first of :data:`SCALES` at which the float64 reference is still finite. Standard-normal inputs
  keep a layer's pre-activations within about +-3; times 16 they reach tens, where gates saturate and
  an activation written through ``exp`` overflows in float16 (``(exp(2x) - 1) / (exp(2x) + 1)`` is NaN
  beyond x = 5.5, ``log(1 + exp(x))`` is Inf beyond 11) while float32 and float64 stay finite.
- **Long** (``edge_long``): 4 sequences of 1,000 steps at the tiny size's widths (``Case.long_size``; or the
  case's own ``"long"`` size preset), at the inputs' own scale: where the error of a scan grows with
  the position. Its record holds the error at positions 1, 10, 100 and 1000.

Each is judged as the forward check is, by the norm-wise budget (``suite/harness/budget.py``), against
the reference on the inputs rounded to the dtype; where the reference run in the dtype's rounding is
itself not finite it cannot widen the budget, which is then the floor. NaN or Inf where the reference
is finite fails, naming the first step. The case's own code runs with uninitialised memory poisoned
(``suite/harness/poison.py``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

from rnnsuite.cases import Instance
from rnnsuite.cases.rounding import run_rounded
from rnnsuite.suite.harness.budget import Budget, budget_for, check_normwise, errors_at
from rnnsuite.suite.harness.builds import build
from rnnsuite.suite.harness.checks import norm_fields
from rnnsuite.suite.harness.compare import NonFiniteError, first_bad_step
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.harness.poison import nan_poison
from rnnsuite.suite.harness.records import Records, record_check
from rnnsuite.vocabulary import dtype_name

SCALES = (16.0, 8.0, 4.0)  # the saturated check's input scales, tried in order: the first with a finite reference
SEED_STEPS = 100  # the steps at which the budgets' floors were measured (the seed size)


def _scaled(inst: Instance, scale: float) -> Instance:
    """The instance with every floating input (states too) times ``scale``."""
    inputs = {k: v * scale if v.is_floating_point() else v for k, v in inst.inputs.items()}
    return Instance(inst.model, inputs)


def _finite(out: dict[str, np.ndarray]) -> bool:
    return all(np.isfinite(v).all() for v in out.values())


def edge_instance(point: Point, seed: int, edge: str) -> tuple[Instance, dict[str, np.ndarray], float]:
    """The instance in the point's dtype (CPU), its float64 reference on the rounded values, and the scale.

    Skips (with the reason) where no scale of :data:`SCALES` keeps the float64 reference finite.
    """
    case = point.case
    if edge == "long":
        inst = build(case, case.long_size(), seed, "cpu", point.dtype)
        return inst, case.reference(inst.numpy_params(), inst.numpy_inputs()), 1.0
    base = build(case, case.size("tiny"), seed, "cpu", torch.float64)  # saturation is a scale, not a size
    for scale in SCALES:
        inst = _scaled(base, scale).to("cpu", point.dtype)
        expected = case.reference(inst.numpy_params(), inst.numpy_inputs())
        if _finite(expected):
            return inst, expected, scale
    pytest.skip(f"{case.name}: the float64 reference is not finite with the inputs scaled by {SCALES[-1]:g}")


def edge_budget(point: Point, inst: Instance, expected: dict[str, np.ndarray], steps: int) -> Budget:
    """The forward budget at the edge: from the emulated reference where it is finite, else the floor alone.

    The floors were measured at the seed size's 100 steps; over ``steps`` more, rounding walks on
    (a float64 layer-norm LSTM reached 32.2u at step 474 of 1,000): the floor grows by
    ``sqrt(steps / 100)`` beyond 100 steps, as a random walk does (3.2x at 1,000).
    """
    with np.errstate(all="ignore"), warnings.catch_warnings():  # the emulation may overflow: then it is not used
        warnings.simplefilter("ignore", RuntimeWarning)
        emulated = run_rounded(point.case.reference, dtype_name(point.dtype), inst.numpy_params(), inst.numpy_inputs())
    usable = {k: (emulated[k] if np.isfinite(emulated[k]).all() else expected[k]) for k in expected}
    budget = budget_for(expected, usable, point.dtype, point.case.time_axis, "forward", device=point.device)
    return replace(budget, floor_u=budget.floor_u * math.sqrt(max(steps, SEED_STEPS) / SEED_STEPS))


def _nonfinite(where: str, out: dict[str, Tensor], expected: dict[str, np.ndarray], axes: dict[str, int]) -> None:
    """NaN or Inf in an output where the reference is finite: the first step named."""
    for name, exp in expected.items():
        got = out[name].detach().to("cpu", torch.float64).numpy()
        if got.shape != exp.shape:
            raise AssertionError(f"{where}: {name!r} has shape {got.shape}, expected {exp.shape}")
        bad = ~np.isfinite(got) & np.isfinite(exp)
        if bad.any():
            raise NonFiniteError(
                f"{where}: {name!r} holds NaN/Inf where the reference is finite{first_bad_step(bad, axes.get(name))}"
            )


def edge_check(point: Point, seed: int, records: Records, edge: str) -> None:
    """Run the case at one edge (``saturated`` or ``long``) and judge it; the record holds its errors and scale."""
    check = f"edge_{edge}"
    where = f"{point.id} {check}"
    case, axes = point.case, dict(point.case.time_axis)
    inst, expected, scale = edge_instance(point, seed, edge)
    moved = inst.to(point.device, point.dtype)
    with torch.no_grad(), nan_poison():
        out = case.forward(moved.model, moved.inputs)
    steps = max((v.shape[axes[k]] for k, v in expected.items() if k in axes), default=0)
    budget = edge_budget(point, inst, expected, steps)
    fields: dict[str, Any] = {"err_at": errors_at(out, expected, axes, budget.u), "edge_scale": scale}
    try:
        _nonfinite(where, out, expected, axes)
        worst = check_normwise(out, expected, budget, where=where, time_axis=axes)
    except AssertionError as exc:
        record_check(records, point, check, "failed", message=str(exc).splitlines()[0], **fields)
        raise
    record_check(records, point, check, "passed", **fields, **norm_fields(worst, budget))
