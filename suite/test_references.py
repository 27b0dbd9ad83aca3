"""The references themselves: the chapter's printed numbers, finite differences, and sensitivity.

These tests check the NumPy code with NumPy alone (no torch in the expected values), so that
a wrong reference cannot make the suite pass: the same bug would have to be in two places.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnsuite.cases import CASES, DEFAULT_TOL
from rnnsuite.cases import chapter as ch
from rnnsuite.cases.reference_chapter import chapter_rnn
from rnnsuite.cases.reference_layers import LayerSpec, layers_forward
from rnnsuite.suite.harness.builds import build
from rnnsuite.suite.harness.compare import compare

pytestmark = pytest.mark.correctness

CASE_NAMES = list(CASES)


@pytest.mark.check("chapter_loop_prints_the_chapter_numbers")
def test_chapter_loop_prints_the_chapter_numbers() -> None:
    """The chapter's NumPy loop reproduces its printed states and outputs to 1e-8."""
    states, outputs = chapter_rnn(ch.W_CELL_STATE, ch.B_CELL, ch.W_OUTPUT, ch.B_OUTPUT, ch.X)
    np.testing.assert_allclose(np.stack(states), ch.CHAPTER_STATES, rtol=0, atol=1e-8)
    np.testing.assert_allclose(np.stack(outputs), ch.CHAPTER_OUTPUTS, rtol=0, atol=1e-8)


@pytest.mark.check("generic_rnn_reference_agrees_with_the_chapter_loop")
def test_generic_rnn_reference_agrees_with_the_chapter_loop() -> None:
    """The multi-layer reference, given the chapter's weights, gives the chapter's numbers."""
    p = {
        "weight_ih_l0": ch.W_CELL_STATE[2:].T,
        "weight_hh_l0": ch.W_CELL_STATE[:2].T,
        "bias_ih_l0": ch.B_CELL,
        "bias_hh_l0": np.zeros(2),
    }
    out, _, _ = layers_forward(
        LayerSpec(family="rnn", num_layers=1), p, np.array(ch.X).reshape(2, 1, 1), (np.zeros((1, 1, 2)),)
    )
    np.testing.assert_allclose(out[:, 0, :], ch.CHAPTER_STATES, rtol=0, atol=1e-8)


def _flat(d: dict[str, np.ndarray]) -> list[str]:
    return sorted(k for k, v in d.items() if np.issubdtype(v.dtype, np.floating))


@pytest.mark.check("reference_fd")
@pytest.mark.parametrize("name", CASE_NAMES)
def test_reference_backward_matches_finite_differences(name: str) -> None:
    """NumPy BPTT against central differences of the NumPy forward, at the tiny size."""
    case = CASES[name]
    if case.reference_grad is None:
        pytest.skip("no NumPy backward")
    inst = build(case, case.size("tiny"), seed=3)
    params, inputs = inst.numpy_params(), inst.numpy_inputs()
    ref_out = case.reference(params, inputs)
    rng = np.random.default_rng(0)
    cot = {k: rng.standard_normal(v.shape) for k, v in ref_out.items()}
    grads = case.reference_grad(params, inputs, cot)

    def loss(p: dict[str, np.ndarray], i: dict[str, np.ndarray]) -> float:
        out = case.reference(p, i)
        return float(sum((out[k] * cot[k]).sum() for k in cot))

    eps = 1e-6
    frozen = {k for k, v in inst.model.named_parameters() if not v.requires_grad}  # no gradient asked of them
    for group in (params, inputs):
        for key in (k for k in _flat(group) if k not in case.no_grad_inputs and k not in frozen):
            arr = group[key]
            # Probe a few entries of each tensor (all of a small one).
            for idx in list(np.ndindex(arr.shape))[:: max(1, arr.size // 12)]:
                old = arr[idx]
                arr[idx] = old + eps
                up = loss(params, inputs)
                arr[idx] = old - eps
                down = loss(params, inputs)
                arr[idx] = old
                fd = (up - down) / (2 * eps)
                assert abs(grads[key][idx] - fd) <= 1e-6 + 1e-5 * abs(fd), f"{name}: d/d {key}{idx}"


@pytest.mark.check("reference_nontrivial")
@pytest.mark.parametrize("name", CASE_NAMES)
def test_reference_is_not_trivial(name: str) -> None:
    """Guard against a vacuous pass: every reference output is finite and varies."""
    case = CASES[name]
    inst = build(case, case.size("seed"), seed=0)
    for key, value in case.reference(inst.numpy_params(), inst.numpy_inputs()).items():
        assert np.isfinite(value).all(), key
        assert value.std() > 1e-3, f"{name}: reference {key!r} is (nearly) constant"


# --------------------------------------------------- the suite fails on a broken implementation


def _swap_gates(w: np.ndarray, blocks: int, a: int, b: int) -> np.ndarray:
    parts = np.split(w, blocks)
    parts[a], parts[b] = parts[b], parts[a]
    return np.concatenate(parts)


MUTATIONS = {
    # name: (case, how the "broken torch" differs from the reference)
    "lstm gate order i<->f": (
        "nn_lstm",
        lambda k, v: _swap_gates(v, 4, 0, 1) if k.startswith(("weight", "bias")) else v,
    ),
    "gru gate order r<->z": ("nn_gru", lambda k, v: _swap_gates(v, 3, 0, 1) if k.startswith(("weight", "bias")) else v),
    "dropped bias": ("nn_rnn", lambda k, v: np.zeros_like(v) if k == "bias_hh_l1" else v),
    "biased activation": ("lstm_cell", lambda k, v: v + 1e-3 if k.endswith("bias") else v),
}


@pytest.mark.check("suite_catches_broken_implementation")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_suite_catches_broken_implementation(mutation: str, dtype: torch.dtype) -> None:
    """A model whose weights are used as if gates were permuted, a bias dropped or an activation
    biased must fail the comparison at the suite's tolerance (float32 at least; bfloat16 for
    the gross errors)."""
    if mutation == "biased activation" and dtype == torch.bfloat16:
        pytest.skip("a 1e-3 bias shift is below bfloat16 resolution")
    case_name, mutate = MUTATIONS[mutation]
    case = CASES[case_name]
    size = case.size("seed")
    inst = build(case, size, 0, "cpu", dtype)
    with torch.no_grad():
        out = case.forward(inst.model, inst.inputs)
    broken = {k: mutate(k, v) for k, v in inst.numpy_params().items()}
    expected = case.reference(broken, inst.numpy_inputs())
    with pytest.raises(AssertionError, match="out of tolerance"):
        compare(out, expected, case.tolerance(dtype, size), where=mutation, time_axis=case.time_axis)


@pytest.mark.check("default_tolerances_start_from_assert_close")
def test_default_tolerances_start_from_assert_close() -> None:
    """The rtol column is torch.testing.assert_close's defaults (torch/testing/_comparison.py)."""
    assert {str(k): v.rtol for k, v in DEFAULT_TOL.items()} == {
        "torch.float64": 1e-7,
        "torch.float32": 1.3e-6,
        "torch.bfloat16": 1.6e-2,
        "torch.float16": 1e-3,
    }
