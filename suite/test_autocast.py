"""Autocast as a mode of the matrix: float32 layers under ``torch.autocast`` against the reference.

Points: every fused layer case (the plain layers and their variants) on the CPU with bfloat16 and
on CUDA with float16 and bfloat16; ids read ``nn_lstm[bidir]-cpu-bfloat16-autocast``. The model
and inputs stay float32; autocast casts the inputs of matrix products down. The reference takes
the weights and inputs rounded to the autocast dtype (what the products see) and the check uses
that dtype's checks (elementwise and norm-wise budget, suite/harness/checks.py), as for a model built in
that dtype. Whether torch autocasts a layer at all
differs by kernel (on the CPU nn.LSTM runs in bfloat16, nn.GRU and nn.RNN stay float32 in
torch 2.13): the record says which output dtype came back.
"""

from __future__ import annotations

import pytest
import torch

from rnnsuite.cases import CASES
from rnnsuite.suite.harness.builds import build, cotangents
from rnnsuite.suite.harness.checks import backward_expected, compare_both, forward_expected
from rnnsuite.suite.harness.compare import compare
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.harness.records import Records
from rnnsuite.suite.plugin.items import matrix
from rnnsuite.suite.plugin.options import OPTIONS_KEY, Options

pytestmark = pytest.mark.correctness


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "apoint" in metafunc.fixturenames:
        metafunc.parametrize("apoint", matrix(metafunc.config.stash[OPTIONS_KEY], "autocast"))


def _extra(out: dict[str, torch.Tensor]) -> dict[str, str]:
    return {"mode": "autocast", "out_dtype": str(out["output"].dtype).removeprefix("torch.")}


@pytest.mark.check("autocast_forward")
def test_autocast_forward(apoint: Point, options: Options, records: Records) -> None:
    """Outputs under autocast against the reference, by the elementwise and the norm-wise check of the dtype."""
    case, size = apoint.case, apoint.case.size("seed")
    inst = build(case, size, options.seed, apoint.device, torch.float32)
    with torch.no_grad(), torch.autocast(apoint.device, dtype=apoint.dtype):
        out = case.forward(inst.model, inst.inputs)
    assert {k: tuple(v.shape) for k, v in out.items()} == case.out_shapes(size)
    expected, budget = forward_expected(apoint, options.seed)
    compare_both(records, apoint, "forward", out, expected, budget, **_extra(out))


@pytest.mark.check("autocast_backward")
def test_autocast_backward(apoint: Point, options: Options, records: Records) -> None:
    """float32 gradients of a forward under autocast against the NumPy backward and the dtype's budget."""
    case, size = apoint.case, apoint.case.size("seed")
    assert case.reference_grad is not None
    if apoint.dtype in case.grad_unchecked:
        pytest.skip(f"{case.name} gradients in {apoint.dtype_name}: {case.grad_unchecked[apoint.dtype]}")
    inst = build(case, size, options.seed, apoint.device, torch.float32)
    for v in inst.inputs.values():
        if v.is_floating_point():
            v.requires_grad_(True)
    with torch.autocast(apoint.device, dtype=apoint.dtype):
        out = case.forward(inst.model, inst.inputs)
    cot = cotangents(case, size, options.seed, apoint.dtype)  # as the dtype's own backward check draws them
    torch.autograd.backward(list(out.values()), [cot[k].to(apoint.device, out[k].dtype) for k in out])
    actual = dict(inst.model.named_parameters()) | {k: v for k, v in inst.inputs.items() if v.is_floating_point()}
    grads = {k: v.grad for k, v in actual.items()}
    assert all(g is not None for g in grads.values()), f"{apoint.id}: missing gradients"
    expected, budget = backward_expected(apoint, options.seed)
    compare_both(records, apoint, "backward", grads, expected, budget, **_extra(out))  # type: ignore[arg-type]


@pytest.mark.check("autocast_check_catches_a_wrong_reference")
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
