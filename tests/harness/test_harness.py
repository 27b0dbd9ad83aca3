"""The comparison's failure messages: NaN/Inf names the first bad step, a mismatch names everything."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnsuite.cases import Tol
from rnnsuite.suite.harness.compare import NonFiniteError, compare, output_sample

TOL = Tol(1e-6, 1e-6)


def _pair(t: int = 10) -> tuple[dict[str, torch.Tensor], dict[str, np.ndarray]]:
    exp = np.linspace(-1, 1, t * 6).reshape(t, 2, 3)
    return {"output": torch.tensor(exp.copy())}, {"output": exp}


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_output_names_first_bad_step(bad: float) -> None:
    actual, expected = _pair()
    actual["output"][7, 1, 2] = bad
    actual["output"][9, 0, 0] = bad
    with pytest.raises(NonFiniteError, match=r"nn_x-cpu-float32 forward: 'output' holds NaN/Inf at step 7 \(first"):
        compare(actual, expected, TOL, where="nn_x-cpu-float32 forward", time_axis={"output": 0})


def test_mismatch_message_names_tensor_step_errors_and_tolerance() -> None:
    actual, expected = _pair()
    actual["output"][4] += 0.5
    with pytest.raises(AssertionError) as info:
        compare(actual, expected, TOL, where="case-cpu-float64 forward", time_axis={"output": 0})
    msg = str(info.value)
    for part in ("case-cpu-float64 forward", "'output'", "at step 4", "max abs err 0.5", "rtol=1e-06", "atol=1e-06"):
        assert part in msg, part


def test_errors_are_reported_when_passing() -> None:
    actual, expected = _pair()
    actual["output"][2, 0, 0] += 5e-7
    errs = compare(actual, expected, TOL, where="w")
    assert errs.tensor == "output"
    assert errs.max_abs == pytest.approx(5e-7, rel=1e-6)


def test_normwise_scales_atol_by_the_largest_value() -> None:
    exp = np.array([1000.0, 0.0])
    actual = {"g": torch.tensor([1000.0, 5e-4])}
    with pytest.raises(AssertionError):
        compare(actual, {"g": exp}, TOL, where="w")
    assert compare(actual, {"g": exp}, Tol(0, 1e-6), where="w", normwise=True).max_abs == pytest.approx(5e-4)


def test_output_sample_is_evenly_spaced() -> None:
    assert output_sample(torch.arange(10.0), n=4) == [0.0, 3.0, 6.0, 9.0]
