"""Loads the suite's pytest plugin for the tests under suite/ only (``pytest tests`` never imports torch).

Every hook and fixture of suite/plugin/hooks.py must be named here (tests/harness/test_conftest.py checks it).
"""

from suite.plugin.hooks import (
    kernel_of_point,
    options,
    pytest_benchmark_update_json,
    pytest_benchmark_update_machine_info,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_generate_tests,
    pytest_runtest_makereport,
    pytest_runtestloop,
    pytest_sessionfinish,
    pytest_testnodedown,
    records,
)
from suite.plugin.user_cases import pytest_runtest_call

__all__ = [
    "kernel_of_point",
    "options",
    "pytest_benchmark_update_json",
    "pytest_benchmark_update_machine_info",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "pytest_runtestloop",
    "pytest_sessionfinish",
    "pytest_testnodedown",
    "records",
]
