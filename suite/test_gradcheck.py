"""torch.autograd.gradcheck (float64, the tiny size) on every hand-written cell and nn layer."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import torch
from torch import Tensor, nn

from rnnsuite.cases import Case
from rnnsuite.suite.harness.builds import build
from rnnsuite.suite.harness.points import Point

pytestmark = pytest.mark.correctness


class _Run(nn.Module):
    """The case's forward as one module call, so functional_call can swap its parameters."""

    def __init__(self, case: Case, model: nn.Module, inputs: Mapping[str, Tensor], names: list[str]) -> None:
        super().__init__()
        self.case, self.model, self.inputs, self.names = case, model, dict(inputs), names

    def forward(self, *floats: Tensor) -> tuple[Tensor, ...]:
        inputs = self.inputs | dict(zip(self.names, floats, strict=True))
        return tuple(self.case.forward(self.model, inputs).values())


@pytest.mark.check("gradcheck")
def test_gradcheck(point64: Point) -> None:
    """Analytic gradients of the case against finite differences, wrt every parameter and input."""
    case = point64.case
    inst = build(case, case.size("tiny"), 0, point64.device, torch.float64)
    names = [k for k, v in inst.inputs.items() if v.is_floating_point() and k not in case.no_grad_inputs]
    run = _Run(case, inst.model, inst.inputs, names)
    pnames = [f"model.{k}" for k, _ in inst.model.named_parameters()]

    def fn(*tensors: Tensor) -> tuple[Tensor, ...]:
        params = dict(zip(pnames, tensors[len(names) :], strict=True))
        return torch.func.functional_call(run, params, tuple(tensors[: len(names)]))

    args = tuple(inst.inputs[k].detach().requires_grad_(True) for k in names)
    args += tuple(p.detach().clone().requires_grad_(True) for p in inst.model.parameters())
    # fast_mode checks random projections of the Jacobian (every entry is covered by the NumPy BPTT
    # comparison in test_correctness); the defaults are gradcheck's own.
    assert torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)
