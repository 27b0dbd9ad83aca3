"""The torch.compile'd models checked by value: forward and backward against the references and budgets.

Run with ``--backend compile`` (compiling is slow: without it these tests skip). An error while
compiling fails the test with its message; only a missing compiler toolchain skips it.
"""

from __future__ import annotations

import pytest

from rnnsuite.suite.harness.checks import backward_check, forward_check
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.harness.records import Records
from rnnsuite.suite.plugin.options import Options

pytestmark = pytest.mark.correctness


@pytest.mark.check("forward_compile")
def test_forward_compiled(compiled_point: Point, options: Options, records: Records) -> None:
    """Outputs of the compiled model against the NumPy reference, elementwise and norm-wise."""
    forward_check(compiled_point, options.seed, records, backend="compile")


@pytest.mark.check("backward_compile")
def test_backward_compiled(compiled_point: Point, options: Options, records: Records) -> None:
    """Gradients through the compiled model against the NumPy backward, elementwise and norm-wise."""
    backward_check(compiled_point, options.seed, records, backend="compile")
