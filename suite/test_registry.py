"""Completeness of the case registry: every case declared in full, no orphaned golden values."""

from __future__ import annotations

import pytest
import torch

from rnnsuite.cases import CASES, DTYPES
from rnnsuite.cases.registry import Case, Tol, flops_not_reported, register
from rnnsuite.suite.harness.builds import build

CHAPTER_MODELS = {
    "numpy_rnn", "nn_rnn", "rnn_cell_loop", "char_rnn", "lstm_cell_seed", "gru_cell_seed",
    "lstm_cell", "gru_cell", "nn_lstm", "nn_gru", "lstm_tagger",
}  # fmt: skip


def test_every_chapter_model_is_a_case() -> None:
    assert CHAPTER_MODELS <= set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_case_is_complete(name: str) -> None:
    """Sizes tiny and seed, a reference, shapes for every output, golden keys that are outputs."""
    case = CASES[name]
    assert {"tiny", "seed"} <= set(case.sizes)
    assert case.reference is not None
    assert case.summary
    inst = build(case, case.size("seed"), 0)
    out = case.reference(inst.numpy_params(), inst.numpy_inputs())
    assert set(out) == set(case.out_shapes(case.size("seed")))
    assert set(case.time_axis) <= set(out)
    if case.golden is not None:
        assert set(case.golden) <= set(out), "golden value for an output the case does not have"
    assert case.baseline is None or case.baseline in CASES
    if case.flops is not flops_not_reported:  # a case without flops= is "not reported", not incomplete
        flops = case.flops(case.size("seed"))
        assert flops > 0, f"{name}: flops= gives {flops!r} at the seed size; give a positive count, or leave flops= out"
    assert set(case.dtypes) <= set(DTYPES.values())


def test_registry_refuses_duplicates_and_unexplained_overrides() -> None:
    case = CASES["nn_rnn"]
    with pytest.raises(ValueError, match="duplicate"):
        register(case)
    fields = {k: getattr(case, k) for k in case.__dataclass_fields__}
    unexplained = Case(**(fields | {"name": "x_tmp", "tol": {torch.float32: Tol(1, 1)}}))
    with pytest.raises(ValueError, match="no reason"):
        register(unexplained)
    assert "x_tmp" not in CASES


def test_length_aware_tolerance_grows_then_caps() -> None:
    base = Tol(1e-3, 1e-3)
    assert base.for_length(1) == base
    assert base.for_length(4).rtol == pytest.approx(2e-3)
    assert base.for_length(10_000).rtol == pytest.approx(1e-2)
