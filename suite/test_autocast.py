"""Autocast as a mode of the matrix: float32 layers under ``torch.autocast`` against the reference.

Points: every fused layer case (the plain layers and their variants) on the CPU with bfloat16 and
on CUDA with float16 and bfloat16; ids read ``nn_lstm[bidir]-cpu-bfloat16-autocast``. The model
and inputs stay float32; autocast casts the inputs of matrix products down. The reference takes
the weights and inputs rounded to the autocast dtype (what the products see) and the check uses
that dtype's budget, as for a model built in that dtype. Whether torch autocasts a layer at all
differs by kernel (on the CPU nn.LSTM runs in bfloat16, nn.GRU and nn.RNN stay float32 in
torch 2.13): the record says which output dtype came back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import torch

from cases import CASES
from suite.harness import Point, build, compare, reference
from suite.plugin import OPTIONS, Options, Records, _device_marks, record_check

pytestmark = pytest.mark.correctness

AUTOCAST_DTYPES = {"cpu": (torch.bfloat16,), "cuda": (torch.float16, torch.bfloat16)}
BACKWARD_TOL_FACTOR = 2.0  # as in test_correctness: the backward chains twice the rounding


@dataclass(frozen=True)
class AutocastPoint(Point):
    """A case run in float32 under ``torch.autocast(device, dtype)``."""

    @property
    def id(self) -> str:
        return f"{super().id}-autocast"


def autocast_points(opts: Options) -> list[Any]:
    """``pytest.param(AutocastPoint)`` for every fused case, device and autocast dtype the options allow."""
    params = []
    for case in (c for c in CASES.values() if c.fused):
        for device in (d for d in opts.devices if d in case.devices):
            for dtype in (t for t in AUTOCAST_DTYPES[device] if t in opts.dtypes):
                point = AutocastPoint(case, device, dtype)
                params.append(pytest.param(point, id=point.id, marks=_device_marks(device)))
    return params


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "apoint" in metafunc.fixturenames:
        metafunc.parametrize("apoint", autocast_points(metafunc.config.stash[OPTIONS]))


def _check(records: Records, point: AutocastPoint, check: str, fn: Any, out_dtype: torch.dtype) -> None:
    extra = {"mode": "autocast", "out_dtype": str(out_dtype).removeprefix("torch.")}
    try:
        errs = fn()
    except AssertionError as exc:
        record_check(records, point, check, "failed", message=str(exc).splitlines()[0], **extra)
        raise
    fields = {"max_abs": errs.max_abs, "max_rel": errs.max_rel, "tensor": errs.tensor, "rtol": errs.rtol}
    record_check(records, point, check, "passed", atol=errs.atol, **fields, **extra)


def test_autocast_forward(apoint: AutocastPoint, options: Options, records: Records) -> None:
    """Outputs under autocast against the reference at the autocast dtype's budget."""
    case, size = apoint.case, apoint.case.size("seed")
    inst = build(case, size, options.seed, apoint.device, torch.float32)
    with torch.no_grad(), torch.autocast(apoint.device, dtype=apoint.dtype):
        out = case.forward(inst.model, inst.inputs)
    assert {k: tuple(v.shape) for k, v in out.items()} == case.out_shapes(size)
    expected = reference(case.name, "seed", options.seed, apoint.dtype)
    tol = case.tolerance(apoint.dtype, size)
    where = f"{apoint.id} forward"
    _check(
        records,
        apoint,
        "forward",
        lambda: compare(out, expected, tol, where=where, time_axis=case.time_axis),
        out["output"].dtype,
    )


def test_autocast_backward(apoint: AutocastPoint, options: Options, records: Records) -> None:
    """float32 gradients of a forward under autocast against the NumPy backward at the autocast dtype."""
    case, size = apoint.case, apoint.case.size("seed")
    assert case.reference_grad is not None
    inst = build(case, size, options.seed, apoint.device, torch.float32)
    for v in inst.inputs.values():
        if v.is_floating_point():
            v.requires_grad_(True)
    with torch.autocast(apoint.device, dtype=apoint.dtype):
        out = case.forward(inst.model, inst.inputs)
    gen = torch.Generator().manual_seed(options.seed + 1)
    cot = {k: torch.randn(v.shape, generator=gen, dtype=torch.float64).to(apoint.dtype) for k, v in out.items()}
    torch.autograd.backward(
        list(out.values()), [c.to(apoint.device, v.dtype) for c, v in zip(cot.values(), out.values(), strict=True)]
    )
    actual = dict(inst.model.named_parameters()) | {k: v for k, v in inst.inputs.items() if v.is_floating_point()}
    grads = {k: v.grad for k, v in actual.items()}
    low = build(case, size, options.seed, "cpu", apoint.dtype)  # weights and inputs as the products see them
    expected = case.reference_grad(
        low.numpy_params(), low.numpy_inputs(), {k: c.double().numpy() for k, c in cot.items()}
    )
    base = case.tolerance(apoint.dtype, size)
    tol = type(base)(base.rtol * BACKWARD_TOL_FACTOR, base.atol * BACKWARD_TOL_FACTOR, base.reason)
    where = f"{apoint.id} backward"
    _check(
        records,
        apoint,
        "backward",
        lambda: compare(grads, expected, tol, where=where, time_axis={"x": 0}, normwise=True),
        out["output"].dtype,
    )


def test_autocast_check_catches_a_wrong_reference(options: Options) -> None:
    """The autocast comparison fails where the reference's gate order is permuted (a defect it must catch)."""
    case = CASES["nn_lstm"]
    size = case.size("seed")
    inst = build(case, size, options.seed, "cpu", torch.float32)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = case.forward(inst.model, inst.inputs)
    low = build(case, size, options.seed, "cpu", torch.bfloat16)
    params = {
        k: (v[list(range(20, 40)) + list(range(20)) + list(range(40, 80))] if k.startswith(("weight", "bias")) else v)
        for k, v in low.numpy_params().items()
    }
    expected = case.reference(params, low.numpy_inputs())
    with pytest.raises(AssertionError, match="out of tolerance"):
        compare(out, expected, case.tolerance(torch.bfloat16, size), where="swapped gates", time_axis=case.time_axis)
