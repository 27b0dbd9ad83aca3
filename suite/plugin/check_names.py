"""The check name and identity of each correctness test, and where the session keeps its records."""

from __future__ import annotations

from typing import Any

import pytest

from cases import CASES
from suite.harness.kernels import kernel_of
from suite.harness.points import Point
from suite.harness.records import Records

RECORDS = pytest.StashKey[Records]()

# The check name of a test in the run file (others: the test's name without "test_").
CHECK_OF_TEST = {
    "test_forward": "forward",
    "test_backward": "backward",
    "test_forward_compiled": "forward_compile",
    "test_backward_compiled": "backward_compile",
    "test_deterministic": "determinism",
    "test_gradcheck": "gradcheck",
    "test_rnn_cell_loop_equals_nn_rnn_at_every_step": "equivalence",
    "test_corrected_cell_equals_builtin": "equivalence",
    "test_training_tags_both_sentences": "tagger_training",
    "test_state_does_not_leak_between_sentences": "state_isolation",
    "test_reference_backward_matches_finite_differences": "reference_fd",
    "test_reference_is_not_trivial": "reference_nontrivial",
}
POINT_PARAMS = ("point", "point64", "compiled_point")


def item_identity(item: pytest.Item) -> tuple[dict[str, Any], str]:
    """The record's ``key, case, device, dtype`` and check name of a correctness test.

    A test on a point of the matrix is that point; one on a case's NumPy reference is the case on
    ``cpu`` in ``float64``; any other is keyed by its test id, with no case.
    """
    name = getattr(item, "originalname", item.name)
    check = CHECK_OF_TEST.get(name, name.removeprefix("test_"))
    params = (getattr(item, "callspec", None) and item.callspec.params) or {}
    point = next((params[p] for p in POINT_PARAMS if isinstance(params.get(p), Point)), None)
    if point is not None:
        ident = {"key": point.id, "case": point.case.name, "device": point.device, "dtype": point.dtype_name}
        return ident | {"kernel": kernel_of(point)}, check
    if params.get("name") in CASES:
        case = params["name"]
        return {"key": f"{case}-cpu-float64", "case": case, "device": "cpu", "dtype": "float64"}, check
    return {"key": item.name, "case": None, "device": None, "dtype": None}, check


WORKER_RECORDS = "rnnsuite_correctness"  # the key of an xdist worker's records in its ``workeroutput``
