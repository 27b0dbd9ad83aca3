"""The correctness tier: every case x device x dtype, shapes, values and gradients against the references."""

from __future__ import annotations

import pytest
import torch

from rnnsuite.suite.harness.builds import build
from rnnsuite.suite.harness.checks import backward_check, forward_check, run_and_record
from rnnsuite.suite.harness.compare import compare
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.harness.records import Records
from rnnsuite.suite.plugin.options import Options

pytestmark = pytest.mark.correctness


@pytest.mark.check("forward", also=("golden",))
def test_forward(point: Point, options: Options, records: Records) -> None:
    """Shapes and values of every output against the NumPy reference (and the chapter's numbers)."""
    out = forward_check(point, options.seed, records)
    case = point.case
    golden = case.golden
    if golden is not None:
        tol = case.tolerance(point.dtype, case.size("seed"))
        run_and_record(
            records,
            point,
            "golden",
            lambda: compare(out, golden, tol, where=f"{point.id} golden", time_axis=case.time_axis),
        )


@pytest.mark.check("backward")
def test_backward(point: Point, options: Options, records: Records) -> None:
    """Autograd gradients of every parameter and input against the NumPy backward (BPTT)."""
    backward_check(point, options.seed, records)


@pytest.mark.check("determinism")
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
        a, b = outs[0][name], outs[1][name]
        # NaN at the same places in both runs is the forward check's defect, not a nondeterministic one.
        same = torch.equal(a, b) or bool(torch.isclose(a, b, rtol=0, atol=0, equal_nan=True).all())
        assert same, f"{point.id}: {name!r} differs between two runs"
