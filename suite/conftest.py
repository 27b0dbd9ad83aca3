"""Loads the suite's pytest plugin for the tests under suite/ only (``pytest tests`` never imports torch)."""

from suite.plugin import (
    options,
    pytest_benchmark_update_json,
    pytest_benchmark_update_machine_info,
    pytest_configure,
    pytest_generate_tests,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    records,
)

__all__ = [
    "options",
    "pytest_benchmark_update_json",
    "pytest_benchmark_update_machine_info",
    "pytest_configure",
    "pytest_generate_tests",
    "pytest_runtest_makereport",
    "pytest_sessionfinish",
    "records",
]
