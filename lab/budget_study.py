"""``python lab/budget_study.py``: the errors the norm-wise budget is set from, over many seeds.

For each seed, case and dtype (CPU, seed sizes) it runs torch's forward and backward as the
correctness tier does and prints, per dtype, the largest norm-wise error of torch (whole tensor
and per step), the largest emulated (emulated) error, the budget, and the smallest margin
(budget / error; below 1 the tier would fail). docs/notes/tolerances.md quotes its output.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from rnnsuite.cases import CASES, DTYPES
from rnnsuite.suite.harness.budget import Budget, relative_errors
from rnnsuite.suite.harness.checks import (
    GRAD_TIME_AXIS,
    backward_expected,
    backward_grads,
    forward_expected,
    forward_outputs,
)
from rnnsuite.suite.harness.points import Point

Row = tuple[float, float, float, float, float]


def _worst(
    actual: Mapping[str, Tensor], expected: Mapping[str, np.ndarray], budget: Budget, axes: Mapping[str, int]
) -> Row:
    """(largest whole error, largest step error, largest emulated, largest budget, smallest margin), in u."""
    whole, step, emulated, most, margin = 0.0, 0.0, 0.0, 0.0, np.inf
    for name, exp in expected.items():
        w, s = relative_errors(actual[name].detach().double().cpu().numpy(), exp, axes.get(name))
        w, s_max = w / budget.u, float(s.max(initial=0.0)) / budget.u
        whole, step = max(whole, w), max(step, s_max)
        emulated, most = max(emulated, budget.emulated_u[name]), max(most, budget.whole_u(name))
        margin = min(margin, budget.whole_u(name) / max(w, 1e-300), budget.step_u(name) / max(s_max, 1e-300))
    return whole, step, emulated, most, margin


def study(seed: int, case_name: str, dtype: torch.dtype) -> list[tuple[str, Row]]:
    """``(kind, (err_u, step_err_u, emulated_u, budget_u, margin))`` for the forward and the backward."""
    point = Point(CASES[case_name], "cpu", dtype)
    expected, budget = forward_expected(point, seed)
    rows = [("forward", _worst(forward_outputs(point, seed), expected, budget, point.case.time_axis))]
    if point.case.reference_grad is not None:
        expected, budget = backward_expected(point, seed)
        rows.append(("backward", _worst(backward_grads(point, seed), expected, budget, dict(GRAD_TIME_AXIS))))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python lab/budget_study.py", description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 (default 20)")
    p.add_argument("--dtype", default="float64,float32,bfloat16,float16", help="comma list of dtypes")
    args = p.parse_args(argv)
    names = [d for d in args.dtype.split(",") if d]
    if args.seeds < 1 or any(d not in DTYPES for d in names):
        p.error(f"--seeds must be >= 1 and --dtype one of {', '.join(DTYPES)}")
    torch.set_num_threads(1)
    print(
        "dtype | kind | largest error (u), whole | per step | largest emulated (u) | budget (u) | smallest margin | at"
    )
    for name in names:
        rows = [
            (kind, r, seed, case)
            for seed in range(args.seeds)
            for case in CASES
            for kind, r in study(seed, case, DTYPES[name])
        ]
        for kind in ("forward", "backward"):
            mine = [(r, seed, case) for k, r, seed, case in rows if k == kind]
            worst = min(mine, key=lambda x: x[0][4])
            tops = [max(r[i] for r, _, _ in mine) for i in range(4)]
            print(
                f"{name} | {kind} | "
                + " | ".join(f"{v:.3g}" for v in tops)
                + f" | {worst[0][4]:.3g} | {worst[2]} seed {worst[1]}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
