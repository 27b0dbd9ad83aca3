"""Every hand-written case is timed beside its baseline at the same shape (the report's section (b))."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from rnnsuite.cases import CASES
from rnnsuite.cases.load import LOADED, load


@pytest.fixture
def with_entry_points() -> Iterator[None]:
    """The installed examples registered for one test, then the registry as it was (other tests of
    this process iterate over every case and must not meet them)."""
    before, loaded, modules = dict(CASES), dict(LOADED), set(sys.modules)
    load()
    assert any(name.startswith("example_") for name in CASES), "the examples are not installed (make venv)"
    yield
    for name in set(sys.modules) - modules:  # imported again by the next load(), so registered again
        del sys.modules[name]
    CASES.clear()
    CASES.update(before)
    LOADED.clear()
    LOADED.update(loaded)


@pytest.mark.usefixtures("with_entry_points")
@pytest.mark.parametrize("preset", ["seed", "deepbench"])
def test_every_timed_shape_of_a_hand_written_case_has_its_baseline_beside_it(preset: str) -> None:
    hand = [c for c in CASES.values() if c.baseline is not None and c.timed]
    assert {"lstm_cell", "lstm_cell_seed", "gru_cell_seed", "rnn_cell_loop"} <= {c.name for c in hand}
    missing = []
    for case in hand:
        base = {s.label for s in CASES[case.baseline].timed_sizes(preset)}
        missing += [f"{case.name} {s.label}" for s in case.timed_sizes(preset) if s.label not in base]
    assert not missing, f"timed at a shape their baseline is not: {missing}"
