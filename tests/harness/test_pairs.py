"""Every hand-written case is timed beside its baseline at the same shape (the report's section (b))."""

from __future__ import annotations

import pytest

from cases import CASES
from cases.load import load


@pytest.mark.parametrize("preset", ["seed", "deepbench"])
def test_every_timed_shape_of_a_hand_written_case_has_its_baseline_beside_it(preset: str) -> None:
    load()  # the installed examples too
    hand = [c for c in CASES.values() if c.builtin is not None and c.timed]
    assert {"lstm_cell", "lstm_cell_seed", "gru_cell_seed", "rnn_cell_loop"} <= {c.name for c in hand}
    missing = []
    for case in hand:
        base = {s.label for s in CASES[case.builtin].timed_sizes(preset)}
        missing += [f"{case.name} {s.label}" for s in case.timed_sizes(preset) if s.label not in base]
    assert not missing, f"timed at a shape their baseline is not: {missing}"
