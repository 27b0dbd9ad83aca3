"""Checks at the edges of each dtype (suite/harness/edges.py): saturated gates and one long sequence."""

from __future__ import annotations

import pytest

from rnnsuite.suite.harness.edges import edge_check
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.harness.records import Records
from rnnsuite.suite.plugin.options import Options

# Slower than the tier allows (4 x 1,000 steps and the emulated references of each dtype): a tier of its own,
# left out unless --slow-tier (or a -m naming slow_tier) asks for it; make test runs it.
pytestmark = [pytest.mark.correctness, pytest.mark.slow_tier]


def _one_kernel(point: Point, options: Options) -> None:
    """The edges are a model's numerics, judged once: with the first kernel asked (the tier checks each kernel)."""
    if point.kernel != options.kernels[0]:
        pytest.skip(f"the edges run with one kernel ({options.kernels[0]}); the other checks cover {point.kernel}")


@pytest.mark.check("edge_saturated")
def test_saturated(point: Point, options: Options, records: Records) -> None:
    """Inputs and states scaled until the pre-activations reach tens: no overflow where the reference is finite."""
    _one_kernel(point, options)
    edge_check(point, options.seed, records, "saturated")


@pytest.mark.check("edge_long")
def test_long_sequence(point: Point, options: Options, records: Records) -> None:
    """One sequence of 1,000 steps at a small width: the error stays within budget at every step."""
    _one_kernel(point, options)
    edge_check(point, options.seed, records, "long")
