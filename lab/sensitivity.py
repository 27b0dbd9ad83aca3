"""Known defects applied to real torch results, run through the tier's own check: does it catch them?

``python lab/sensitivity.py`` prints the table of docs/tolerances.md (perturbation -> caught
per dtype); ``tests/harness/test_sensitivity.py`` asserts that every one is caught. Each perturbation
is applied to one tensor at a time (every output or every gradient of every case in turn), except
where it names all of them; a perturbation that leaves the tensors unchanged does not apply.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor, nn

from rnnsuite.cases import CASES, DTYPES, Case
from rnnsuite.cases.load import LOADED
from rnnsuite.cases.models import GatedCell, GRUCell, LSTMCell
from rnnsuite.suite.harness.checks import (
    GRAD_TIME_AXIS,
    backward_expected,
    backward_grads,
    compare_both,
    forward_expected,
    forward_outputs,
)
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.harness.records import Records

Tensors = dict[str, Tensor]
# (tensors, time axes) -> [(what was changed, the perturbed tensors)]
Perturb = Callable[[Tensors, Mapping[str, int]], list[tuple[str, Tensors]]]
GATE_ERROR = 1.05  # a 5% error in one gate's activation
SMALL = 0.3  # "small" gradient elements: below 30% of the tensor's largest


def _each(fn: Callable[[Tensor], Tensor]) -> Perturb:
    """Apply ``fn`` to one tensor at a time."""
    return lambda ts, axes: [(k, ts | {k: fn(v)}) for k, v in ts.items()]


def _lag(ts: Tensors, axes: Mapping[str, int]) -> list[tuple[str, Tensors]]:
    """Each tensor with a time axis shows at step t what it held at t - 1 (step 0 unchanged)."""
    out = []
    for k, ax in axes.items():
        v = ts[k]
        if v.shape[ax] > 1:
            lagged = torch.cat([v.narrow(ax, 0, 1), v.narrow(ax, 0, v.shape[ax] - 1)], dim=ax)
            out.append((k, ts | {k: lagged}))
    return out


def _zero_small(ts: Tensors, axes: Mapping[str, int]) -> list[tuple[str, Tensors]]:
    """Every gradient element below 30% of its tensor's largest |value| set to zero, in all tensors at once."""
    new = {k: torch.where(v.abs() < SMALL * v.abs().max(), torch.zeros_like(v), v) for k, v in ts.items()}
    return [("all", new)] if any(not torch.equal(new[k], ts[k]) for k in ts) else []


@dataclass(frozen=True)
class Perturbation:
    name: str
    kind: str  # "forward" (outputs) or "backward" (gradients)
    apply: Perturb


PERTURBATIONS = (
    Perturbation("any output x0.95", "forward", _each(lambda v: v * 0.95)),
    Perturbation("any output x1.05", "forward", _each(lambda v: v * 1.05)),
    Perturbation("outputs lag one time step", "forward", _lag),
    Perturbation("any gradient x0.95", "backward", _each(lambda v: v * 0.95)),
    Perturbation("any gradient x1.05", "backward", _each(lambda v: v * 1.05)),
    Perturbation("any gradient halved", "backward", _each(lambda v: v * 0.5)),
    Perturbation("small gradient elements (< 30% of max) zeroed", "backward", _zero_small),
)


class _ScaledGate(GatedCell):
    """A copy of a corrected cell (same weights, device and dtype) with one gate's activation off by a factor."""

    def __init__(self, cell: GatedCell, gate: str, factor: float) -> None:
        super().__init__(cell.input_size, cell.hidden_size)
        self.load_state_dict(cell.state_dict())
        self.to(next(cell.parameters()))
        self.gate, self.factor = gate, factor


class _ScaledGateLSTM(_ScaledGate, LSTMCell):
    """The corrected LSTM cell with one gate's activation off by a factor."""

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h, c = state
        a = {g: self.project("x", g, x) + self.project("h", g, h) for g in self.gates}
        act = {g: torch.tanh(v) if g == "g" else torch.sigmoid(v) for g, v in a.items()}
        act[self.gate] = act[self.gate] * self.factor
        c_new = act["f"] * c + act["i"] * act["g"]
        return act["o"] * torch.tanh(c_new), c_new


class _ScaledGateGRU(_ScaledGate, GRUCell):
    """The corrected GRU cell with one gate's activation off by a factor."""

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        f = {g: self.factor if g == self.gate else 1.0 for g in self.gates}
        r = torch.sigmoid(self.project("x", "r", x) + self.project("h", "r", h)) * f["r"]
        z = torch.sigmoid(self.project("x", "z", x) + self.project("h", "z", h)) * f["z"]
        n = torch.tanh(self.project("x", "n", x) + r * self.project("h", "n", h)) * f["n"]
        return (1 - z) * n + z * h


# The cases whose gates are reachable: the hand-written cells (a fused layer's gates are inside its kernel).
GATED: dict[str, tuple[type[_ScaledGateLSTM] | type[_ScaledGateGRU], tuple[str, ...]]] = {
    "lstm_cell": (_ScaledGateLSTM, LSTMCell.gates),
    "gru_cell": (_ScaledGateGRU, GRUCell.gates),
}


@lru_cache(maxsize=128)
def torch_results(case: str, dtype: torch.dtype, seed: int = 0) -> tuple[Tensors, Tensors | None]:
    """Real torch outputs and gradients of a case (CPU, seed size), as the tier computes them."""
    point = Point(CASES[case], "cpu", dtype)
    grads = backward_grads(point, seed) if point.case.reference_grad is not None else None
    return forward_outputs(point, seed), grads


def caught(point: Point, kind: str, actual: Mapping[str, Tensor], seed: int = 0) -> bool:
    """Whether the tier's check (elementwise and norm-wise) fails these outputs or gradients."""
    expected, budget = (forward_expected if kind == "forward" else backward_expected)(point, seed)
    try:
        compare_both(Records(), point, kind, actual, expected, budget)
    except AssertionError:
        return True
    return False


def shipped() -> dict[str, Case]:
    """The suite's own cases: those of the registry less any a user loaded (--cases, an entry point)."""
    loaded = {n for names in LOADED.values() for n in names}
    return {name: case for name, case in CASES.items() if name not in loaded}


def applications(p: Perturbation, dtype: torch.dtype) -> Iterator[tuple[str, bool]]:
    """``(case: tensor, caught)`` for every shipped case and tensor the perturbation applies to (the
    cases a user loaded with --cases or an entry point are theirs to study: the study's figures are
    about the suite's own)."""
    for name, case in shipped().items():
        if dtype not in case.dtypes or (p.kind == "backward" and dtype in case.grad_unchecked):
            continue  # the tier does not check these (Case.grad_unchecked says why)
        outs, grads = torch_results(name, dtype)
        ts = outs if p.kind == "forward" else grads
        if ts is None:
            continue
        axes = dict(case.time_axis) if p.kind == "forward" else dict(GRAD_TIME_AXIS)
        for what, changed in p.apply(ts, {k: a for k, a in axes.items() if k in ts}):
            yield f"{name}: {what}", caught(Point(case, "cpu", dtype), p.kind, changed)


def gate_applications(dtype: torch.dtype, seed: int = 0) -> Iterator[tuple[str, bool]]:
    """``(case: gate, caught)``: a 5% error in one gate's activation, each gate of each gated cell in turn;
    caught when the forward or the backward check fails."""
    for name, (cls, gates) in GATED.items():
        point = Point(CASES[name], "cpu", dtype)
        for gate in gates:

            def swap(m: nn.Module, g: str = gate, cls: type = cls) -> nn.Module:
                return cls(m, g, GATE_ERROR)

            fwd = caught(point, "forward", forward_outputs(point, seed, swap=swap), seed)
            bwd = fwd or caught(point, "backward", backward_grads(point, seed, swap=swap), seed)
            yield f"{name}: gate {gate}", bwd


def table(dtypes: Sequence[torch.dtype]) -> list[tuple[str, dict[torch.dtype, tuple[int, int, list[str]]]]]:
    """Per perturbation and dtype: (caught, applications, what escaped)."""
    rows = []
    for p in (*PERTURBATIONS, None):
        cells = {}
        for dtype in dtypes:
            results = list(gate_applications(dtype) if p is None else applications(p, dtype))
            cells[dtype] = (sum(ok for _, ok in results), len(results), [w for w, ok in results if not ok])
        rows.append(("5% error in one gate's activation" if p is None else p.name, cells))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python lab/sensitivity.py", description=__doc__.splitlines()[0])
    p.add_argument("--dtype", default=",".join(DTYPES), help="comma list of dtypes (default: all four)")
    names = [d for d in p.parse_args(argv).dtype.split(",") if d]
    if any(d not in DTYPES for d in names) or not names:
        p.error(f"--dtype: choose from {', '.join(DTYPES)}")
    torch.set_num_threads(1)
    print("| perturbation | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    escaped = []
    for name, cells in table([DTYPES[d] for d in names]):
        print(f"| {name} | " + " | ".join(f"{c}/{n}" for c, n, _ in cells.values()) + " |", flush=True)
        escaped += [f"{name} ({d}): {w}" for d, (_, _, ws) in zip(names, cells.values(), strict=True) for w in ws]
    for line in escaped:
        print(f"not caught: {line}")
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())
