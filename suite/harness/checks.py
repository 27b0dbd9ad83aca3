"""The forward and backward checks of one point, shared by the eager and the compiled tests.

Each compares with the elementwise bound (``harness.compare``) and the norm-wise budget
(``suite/harness/budget.py``), and records its outcome, errors and budget in the run file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import torch
from torch import Tensor

from rnnsuite.suite.harness.budget import Budget, NormError, budget_for, check_normwise, errors_at
from rnnsuite.suite.harness.builds import build, cotangents, emulated_reference, reference, reference_grads
from rnnsuite.suite.harness.compare import Errors, compare, output_sample
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.harness.poison import nan_poison
from rnnsuite.suite.harness.records import Records, record_check

# Gradients chain the forward and the backward recurrence: twice the rounding of the forward.
BACKWARD_TOL_FACTOR = 2.0
GRAD_TIME_AXIS = {"x": 0}  # the per-step axis of the input gradient, one definition for every backward check
Run = Callable[[Mapping[str, Tensor]], dict[str, Tensor]]
# A stand-in for the built model (same parameter names), e.g. one with a defect (suite/studies/sensitivity.py).
Swap = Callable[[torch.nn.Module], torch.nn.Module]


def norm_fields(norm: NormError, budget: Budget) -> dict[str, Any]:
    """The run-file fields of a norm-wise result (docs/run-file.md)."""
    return {
        "u": budget.u,
        "err_u": norm.err_u,
        "budget_u": norm.budget_u,
        "emulated_u": norm.emulated_u,
        "margin": norm.margin,
        "norm_at": norm.where,
    }


def run_and_record(records: Records, point: Point, check: str, fn: Callable[[], Errors], **extra: Any) -> Errors:
    """Run one comparison, record its outcome and errors, re-raise a failure."""
    try:
        errs = fn()
    except AssertionError as exc:
        record_check(records, point, check, "failed", message=str(exc).splitlines()[0], **extra)
        raise
    fields = {"max_abs": errs.max_abs, "max_rel": errs.max_rel, "tensor": errs.tensor}
    record_check(records, point, check, "passed", rtol=errs.rtol, atol=errs.atol, **fields, **extra)
    return errs


def compiler_missing(device: str) -> str | None:
    """Why ``torch.compile`` cannot build code here (no C++ compiler; no triton for CUDA), else None."""
    if device == "cuda":
        try:
            import triton  # noqa: F401
        except ImportError:
            return "torch.compile on CUDA needs triton, which is not installed"
        return None
    from torch._inductor import config

    names = [os.environ.get("CXX"), *(c for c in config.cpp.cxx if c)]
    if not any(n and shutil.which(n) for n in names):
        return f"torch.compile on the CPU needs a C++ compiler; none found ({', '.join(n for n in names if n)})"
    return None


def runner(point: Point, model: torch.nn.Module, backend: str) -> Run:
    """The case's forward on ``model``: eager with uninitialised memory poisoned, or compiled for the compile
    backend (not poisoned: the compiler would trace the patched constructors)."""
    case = point.case

    def run(inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return case.forward(model, inputs)

    def poisoned(inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        with nan_poison():  # a read of never-written memory is NaN (suite/harness/poison.py)
            return case.forward(model, inputs)

    if backend == "eager":
        return poisoned
    reason = compiler_missing(point.device)
    if reason:
        pytest.skip(reason)
    return torch.compile(run)


def call(point: Point, run: Run, inputs: Mapping[str, Tensor], backend: str) -> dict[str, Tensor]:
    """Run the forward; an error while compiling is a failure with its message."""
    if backend == "eager":
        return run(inputs)
    try:
        return run(inputs)
    except Exception as exc:  # torch.compile raises its backends' own exception types
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        pytest.fail(f"{point.id}: torch.compile failed: {type(exc).__name__}: {first}")


def forward_outputs(point: Point, seed: int, backend: str = "eager", swap: Swap | None = None) -> dict[str, Tensor]:
    """The case's outputs at the seed size (shapes and dtypes checked); ``swap`` replaces the built model."""
    case, size = point.case, point.case.size("seed")
    inst = build(case, size, seed, point.device, point.dtype)
    run = runner(point, inst.model if swap is None else swap(inst.model), backend)
    with torch.no_grad():
        out = call(point, run, inst.inputs, backend)
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes == case.out_shapes(size), f"{point.id}: output shapes"
    assert all(v.dtype == point.dtype and v.device.type == point.device for v in out.values())
    return out


def forward_expected(point: Point, seed: int) -> tuple[dict[str, Any], Budget]:
    """The float64 reference outputs and the forward budget of the point."""
    case = point.case
    expected = reference(case.name, "seed", seed, point.dtype)
    emulated = emulated_reference(case.name, "seed", seed, point.dtype)
    budget = budget_for(expected, emulated, point.dtype, case.time_axis, "forward", device=point.device)
    return expected, budget


def forward_check(point: Point, seed: int, records: Records, backend: str = "eager") -> dict[str, Tensor]:
    """Shapes, dtypes and values of every output against the reference and its budget.

    Returns:
        The outputs (for further checks such as the chapter's printed numbers).
    """
    check = "forward" if backend == "eager" else f"forward_{backend}"
    out = forward_outputs(point, seed, backend)
    expected, budget = forward_expected(point, seed)
    compare_both(records, point, check, out, expected, budget, sample={k: output_sample(v) for k, v in out.items()})
    return out


def compare_both(
    records: Records,
    point: Point,
    check: str,
    actual: Mapping[str, Tensor],
    expected: Mapping[str, Any],
    budget: Budget,
    **extra: Any,
) -> None:
    """The elementwise and the norm-wise comparison of one check, recorded as one record."""
    case, size = point.case, point.case.size("seed")
    tol = case.tolerance(point.dtype, size)
    grads = check.startswith("backward")
    if grads:
        tol = type(tol)(tol.rtol * BACKWARD_TOL_FACTOR, tol.atol * BACKWARD_TOL_FACTOR, tol.reason)
    axes = dict(GRAD_TIME_AXIS) if grads else dict(case.time_axis)
    where = f"{point.id} {check}"
    norm: list[NormError] = []
    if not grads:
        extra = extra | {"err_at": errors_at(actual, expected, axes, budget.u)}

    def both() -> Errors:
        errs = compare(actual, expected, tol, where=where, time_axis=axes, normwise=grads)
        norm.append(check_normwise(actual, expected, budget, where=where, time_axis=axes))
        return errs

    try:
        run_and_record(records, point, check, both, **extra)
    finally:
        if norm:  # passed: add the norm-wise figures to the record just written
            records.correctness[-1] |= norm_fields(norm[0], budget)


def backward_grads(point: Point, seed: int, backend: str = "eager", swap: Swap | None = None) -> dict[str, Tensor]:
    """Autograd gradients of every parameter and input for the cotangents (``swap`` replaces the built model)."""
    case, size = point.case, point.case.size("seed")
    inst = build(case, size, seed, point.device, point.dtype)
    wrt = [k for k, v in inst.inputs.items() if v.is_floating_point() and k not in case.no_grad_inputs]
    for k in wrt:
        inst.inputs[k].requires_grad_(True)
    model = inst.model if swap is None else swap(inst.model)
    out = call(point, runner(point, model, backend), inst.inputs, backend)
    cot = cotangents(case, size, seed, point.dtype)
    assert set(cot) == set(out), f"{point.id}: outputs {sorted(out)} differ from the declared {sorted(cot)}"
    torch.autograd.backward(list(out.values()), [cot[k].to(point.device) for k in out])
    trainable = {k: p for k, p in model.named_parameters() if p.requires_grad}  # a frozen one (a mask) has none
    leaves = trainable | {k: inst.inputs[k] for k in wrt}
    grads = {k: v.grad for k, v in leaves.items()}
    unused = [k for k, g in grads.items() if g is None]
    assert not unused, f"{point.id}: no gradient reaches {', '.join(unused)} (the outputs do not depend on it)"
    return grads  # type: ignore[return-value]


def backward_expected(point: Point, seed: int) -> tuple[dict[str, Any], Budget]:
    """The NumPy backward's gradients and the backward budget of the point."""
    expected, emulated = reference_grads(point.case.name, "seed", seed, point.dtype)
    skip = point.case.no_grad_inputs  # not differentiable: a reference's gradient of them is not asked for
    expected, emulated = ({k: v for k, v in g.items() if k not in skip} for g in (expected, emulated))
    own = point.case.norm_floor.get(point.dtype)
    floor = own.backward_u if own is not None else None
    return expected, budget_for(expected, emulated, point.dtype, dict(GRAD_TIME_AXIS), "backward", floor, point.device)


def backward_check(point: Point, seed: int, records: Records, backend: str = "eager") -> None:
    """Autograd gradients of every parameter and input against the NumPy backward (BPTT) and its budget."""
    if point.case.reference_grad is None:
        pytest.skip(f"{point.case.name} has no NumPy backward reference (gradcheck covers it)")
    if point.dtype in point.case.grad_unchecked:
        pytest.skip(f"{point.case.name} gradients in {point.dtype_name}: {point.case.grad_unchecked[point.dtype]}")
    check = "backward" if backend == "eager" else f"backward_{backend}"
    grads = backward_grads(point, seed, backend)
    expected, budget = backward_expected(point, seed)
    assert set(expected) == set(grads), f"{point.id}: reference and autograd name different tensors"
    compare_both(records, point, check, grads, expected, budget)
