"""The project's own unit test: it knows nothing of rnnsuite, and the installed plugin leaves it alone."""

import warnings

import torch
from my_rnn import GateGRU


def test_shapes_and_a_deprecation_warning_that_stays_a_warning() -> None:
    model = GateGRU(3, 5)
    out, h = model(torch.randn(7, 2, 3), torch.zeros(2, 5))
    assert out.shape == (7, 2, 5)
    assert torch.equal(out[-1], h)
    # A plain warning: were a "warnings are errors" filter of rnnsuite's to leak into this session, it would
    # raise here and fail the test.
    warnings.warn("the old way", DeprecationWarning, stacklevel=1)
