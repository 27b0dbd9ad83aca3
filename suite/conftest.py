"""The suite's tests' hooks and fixtures (suite/plugin/items.py), for the tests under suite/ only.

The session's hooks (suite/plugin/hooks.py) are registered by the rnnsuite pytest plugin where a run asks
for the suite (``pytest suite`` in a checkout, ``pytest --rnnsuite CASES`` anywhere); a conftest's hooks
and fixtures reach only its folder, so a project's own tests keep theirs. Every hook and fixture of
items.py must be named here (tests/harness/test_conftest.py checks it).
"""

from rnnsuite.suite.plugin.items import (
    kernel_of_point,
    options,
    pytest_generate_tests,
    pytest_runtest_makereport,
    records,
)
from rnnsuite.suite.plugin.user_cases import pytest_runtest_call

__all__ = [
    "kernel_of_point",
    "options",
    "pytest_generate_tests",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "records",
]
