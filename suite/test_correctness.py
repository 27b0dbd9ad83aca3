"""The correctness tier: every case x device x dtype, shapes, values and gradients against the references."""

from __future__ import annotations

import pytest
import torch

from suite.harness import Point, build, compare, output_sample, reference
from suite.plugin import Options, Records, record_check

pytestmark = pytest.mark.correctness

# Gradients chain the forward and the backward recurrence: twice the rounding of the forward.
BACKWARD_TOL_FACTOR = 2.0


def _checked(records: Records, point: Point, check: str, fn, **extra):  # type: ignore[no-untyped-def]
    """Run one comparison, record its outcome and errors, re-raise a failure."""
    try:
        errs = fn()
    except AssertionError as exc:
        record_check(records, point, check, "failed", message=str(exc).splitlines()[0], **extra)
        raise
    fields = {"max_abs": errs.max_abs, "max_rel": errs.max_rel, "tensor": errs.tensor}
    record_check(records, point, check, "passed", rtol=errs.rtol, atol=errs.atol, **fields, **extra)
    return errs


def test_forward(point: Point, options: Options, records: Records) -> None:
    """Shapes and values of every output against the NumPy reference (and the chapter's numbers)."""
    case, size = point.case, point.case.size("seed")
    inst = build(case, size, options.seed, point.device, point.dtype)
    with torch.no_grad():
        out = case.forward(inst.model, inst.inputs)
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes == case.out_shapes(size), f"{point.id}: output shapes"
    assert all(v.dtype == point.dtype and v.device.type == point.device for v in out.values())
    tol = case.tolerance(point.dtype, size)
    expected = reference(case.name, "seed", options.seed, point.dtype)
    sample = {k: output_sample(v) for k, v in out.items()}
    _checked(
        records,
        point,
        "forward",
        lambda: compare(out, expected, tol, where=f"{point.id} forward", time_axis=case.time_axis),
        sample=sample,
    )
    if case.golden is not None:
        _checked(
            records,
            point,
            "golden",
            lambda: compare(out, case.golden, tol, where=f"{point.id} golden", time_axis=case.time_axis),
        )


def test_backward(point: Point, options: Options, records: Records) -> None:
    """Autograd gradients of every parameter and input against the NumPy backward (BPTT)."""
    case, size = point.case, point.case.size("seed")
    if case.reference_grad is None:
        pytest.skip(f"{case.name} has no NumPy backward reference (gradcheck covers it)")
    inst = build(case, size, options.seed, point.device, point.dtype)
    for v in inst.inputs.values():
        if v.is_floating_point():
            v.requires_grad_(True)
    out = case.forward(inst.model, inst.inputs)
    gen = torch.Generator().manual_seed(options.seed + 1)
    # Output gradients drawn in float64, rounded to the dtype: both sides get the same numbers.
    cot = {k: torch.randn(v.shape, generator=gen, dtype=torch.float64).to(point.dtype) for k, v in out.items()}
    torch.autograd.backward(list(out.values()), [c.to(point.device) for c in cot.values()])
    actual = dict(inst.model.named_parameters()) | {k: v for k, v in inst.inputs.items() if v.is_floating_point()}
    grads = {k: v.grad for k, v in actual.items()}
    assert all(g is not None for g in grads.values()), f"{point.id}: missing gradients"
    expected = case.reference_grad(
        inst.numpy_params(), inst.numpy_inputs(), {k: c.double().numpy() for k, c in cot.items()}
    )
    assert set(expected) == set(grads), f"{point.id}: reference and autograd name different tensors"
    base = case.tolerance(point.dtype, size)
    tol = type(base)(base.rtol * BACKWARD_TOL_FACTOR, base.atol * BACKWARD_TOL_FACTOR, base.reason)
    _checked(
        records,
        point,
        "backward",
        lambda: compare(grads, expected, tol, where=f"{point.id} backward", time_axis={"x": 0}, normwise=True),
    )


def test_deterministic(point: Point, options: Options) -> None:
    """Two runs with one seed give bitwise-identical outputs on the CPU."""
    if point.device != "cpu":
        pytest.skip("bitwise determinism is only promised on the CPU")
    case, size = point.case, point.case.size("seed")
    outs = []
    for _ in range(2):
        inst = build(case, size, options.seed, point.device, point.dtype)
        with torch.no_grad():
            outs.append(case.forward(inst.model, inst.inputs))
    for name in outs[0]:
        assert torch.equal(outs[0][name], outs[1][name]), f"{point.id}: {name!r} differs between two runs"
