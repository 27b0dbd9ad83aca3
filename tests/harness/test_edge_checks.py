"""The checks at the edges (suite/harness/edges.py) and the poisoned uninitialised memory (poison.py), fed defects.

An RNN cell whose activation overflows in float16 at moderate magnitudes must fail the saturated check in
float16, naming the step, and pass in float32 and float64; a forward that reads a ``torch.empty`` buffer
before writing it must fail every run. The expected values are NumPy's (``np.tanh``, ``np.logaddexp``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from rnnsuite.cases import CASES, Instance, Size
from rnnsuite.cases.api import case
from rnnsuite.suite.harness.checks import forward_check
from rnnsuite.suite.harness.compare import NonFiniteError
from rnnsuite.suite.harness.edges import SCALES, edge_check
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.harness.poison import nan_poison
from rnnsuite.suite.harness.records import Records
from tests.harness.scratch import scratch  # noqa: F401  (a fixture)

SIZES = {
    "tiny": (Size(seq_len=4, batch=3, input_size=5, hidden_size=6),),
    "seed": (Size(seq_len=100, batch=32, input_size=10, hidden_size=20),),
}
Act = Callable[[Tensor], Tensor]

# Activations written through exp, each overflowing in float16 (max 65504) at a moderate input; with
# the NumPy function each stands for.
ACTIVATIONS: dict[str, tuple[Act, Callable[[np.ndarray], np.ndarray]]] = {
    # exp(2x) overflows beyond x = 5.5: inf / inf = NaN
    "tanh_via_exp": (lambda a: (torch.exp(2 * a) - 1) / (torch.exp(2 * a) + 1), np.tanh),
    # exp(x) overflows beyond x = 11.1: log(inf) = inf (the output, unbounded above, stays finite in float64)
    "softplus_via_exp": (lambda a: torch.log(1 + torch.exp(a)), lambda a: np.logaddexp(0.0, a)),
    # exp(-x) overflows below x = -11.1: x / inf = 0 is right, but exp(-x) * 0 ... : the SiLU of 1 / (1 + exp(-x))
    # is stable; its quotient form x * exp(x) / (1 + exp(x)) is inf / inf = NaN beyond x = 11.1
    "silu_via_exp": (lambda a: a * torch.exp(a) / (1 + torch.exp(a)), lambda a: a / (1 + np.exp(-a))),
}


def _build(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    model = nn.RNNCell(size.input_size, size.hidden_size, dtype=torch.float64)
    k = size.hidden_size**-0.5
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-k, k, generator=gen)
    x = torch.randn(size.seq_len, size.batch, size.input_size, generator=gen, dtype=torch.float64)
    return Instance(model.to(dtype), {"x": x.to(dtype)})


def _forward(act: Act) -> Callable[[Any, Mapping[str, Tensor]], dict[str, Tensor]]:
    def forward(model: Any, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:  # an nn.RNNCell
        x = inputs["x"]
        h, outs = x.new_zeros(x.shape[1], model.hidden_size), []
        for x_t in x:
            h = act(x_t @ model.weight_ih.T + model.bias_ih + h @ model.weight_hh.T + model.bias_hh)
            outs.append(h)
        return {"output": torch.stack(outs)}

    return forward


def _reference(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[..., dict[str, np.ndarray]]:
    def reference(p: Mapping[str, np.ndarray], i: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        h, outs = np.zeros((i["x"].shape[1], p["weight_hh"].shape[0])), []
        for x_t in i["x"]:
            h = fn(x_t @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"])
            outs.append(h)
        return {"output": np.stack(outs)}

    return reference


def _point(name: str, dtype: torch.dtype) -> Point:
    return Point(CASES[name], "cpu", dtype)


@pytest.mark.usefixtures("scratch")
@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_an_activation_that_overflows_in_float16_fails_there_only(act: str) -> None:
    fn, np_fn = ACTIVATIONS[act]
    case(f"edge_{act}", _build, _forward(fn), reference=_reference(np_fn), sizes=SIZES, time_axis={"output": 0})
    for dtype in (torch.float64, torch.float32):
        records = Records()
        edge_check(_point(f"edge_{act}", dtype), 0, records, "saturated")
        assert records.correctness[-1]["outcome"] == "passed"
        assert records.correctness[-1]["edge_scale"] == SCALES[0]
    with pytest.raises(NonFiniteError, match=r"'output' holds NaN/Inf where the reference is finite at step \d+"):
        edge_check(_point(f"edge_{act}", torch.float16), 0, Records(), "saturated")
    # The same model at the forward check's standard-normal inputs passes in float16: only the edge finds it.
    forward_check(_point(f"edge_{act}", torch.float16), 0, Records())


@pytest.mark.usefixtures("scratch")
def test_the_stable_activation_passes_at_the_edge_in_every_dtype() -> None:
    """The control: torch.tanh on the same inputs passes in float16 too, so the failures above are the activations'."""
    case("edge_tanh", _build, _forward(torch.tanh), reference=_reference(np.tanh), sizes=SIZES, time_axis={"output": 0})
    for dtype in (torch.float64, torch.float32, torch.bfloat16, torch.float16):
        for edge in ("saturated", "long"):
            records = Records()
            edge_check(_point("edge_tanh", dtype), 0, records, edge)
            assert records.correctness[-1]["outcome"] == "passed", records.correctness[-1]


@pytest.mark.usefixtures("scratch")
def test_a_scan_whose_error_grows_with_the_position_fails_the_long_check() -> None:
    """A drift of 1e-4 of the output a step (10% by step 1,000; 1% at the forward check's step 100, 2.6u in
    bfloat16, within its floor): over the long check's budget in every dtype, its error at 1000 over that at 10."""

    def drifting(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        out = _forward(torch.tanh)(model, inputs)["output"]
        ramp = 1 + 1e-4 * torch.arange(out.shape[0], dtype=out.dtype)[:, None, None]
        return {"output": out * ramp}

    case("edge_drift", _build, drifting, reference=_reference(np.tanh), sizes=SIZES, time_axis={"output": 0})
    for dtype in (torch.float64, torch.float32, torch.bfloat16, torch.float16):
        records = Records()
        with pytest.raises(AssertionError, match=r"edge_drift-cpu-\w+ edge_long: 'output(\[step \d+\])?' norm-wise"):
            edge_check(_point("edge_drift", dtype), 0, records, "long")
        err_at = records.correctness[-1]["err_at"]
        assert records.correctness[-1]["outcome"] == "failed"
        assert err_at["1000"] > 10 * err_at["100"] or dtype in (torch.bfloat16, torch.float16)  # 10% against 1%
        assert err_at["1000"] > err_at["10"]


def _reads_before_writing(model: Any, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The state buffer's row 0 is read as the initial state but never written (meant: zeros)."""
    x = inputs["x"]
    states = torch.empty(x.shape[0] + 1, x.shape[1], model.hidden_size, dtype=x.dtype)
    for t, x_t in enumerate(x):
        states[t + 1] = model(x_t, states[t])
    return {"output": states[1:]}


@pytest.mark.usefixtures("scratch")
def test_a_forward_that_reads_an_empty_buffer_fails_every_run() -> None:
    case(
        "edge_empty", _build, _reads_before_writing, reference=_reference(np.tanh), sizes=SIZES, time_axis={"output": 0}
    )
    for seed in range(3):
        for dtype in (torch.float64, torch.float32):
            with pytest.raises(NonFiniteError, match="'output' holds NaN/Inf at step 0"):
                forward_check(_point("edge_empty", dtype), seed, Records())


def test_poisoning_fills_floating_empties_with_nan_and_is_undone() -> None:
    with nan_poison():
        made = [
            torch.empty(3),
            torch.empty_like(torch.ones(2)),
            torch.ones(2).new_empty(4),
            torch.empty_strided((2,), (1,)),
        ]
        ints = torch.empty(3, dtype=torch.int64)
    assert all(bool(torch.isnan(t).all()) for t in made)
    assert ints.dtype == torch.int64  # integers are left as they are
    assert torch.empty is not None
    with torch.no_grad():
        after = torch.empty(1000).fill_(1.0)
    assert not bool(torch.isnan(after).any())
    assert torch.empty.__module__ != __name__  # torch's own again
