"""A fixture for tests that register cases of their own: whatever they register is removed after them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rnnsuite.cases import CASES


@pytest.fixture
def scratch() -> Iterator[None]:
    """Cases registered by a test are removed after it."""
    before = set(CASES)
    yield
    for name in set(CASES) - before:
        del CASES[name]
