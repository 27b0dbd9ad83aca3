"""suite/conftest.py loads every hook and fixture of suite/plugin/items.py (one left out silently does nothing);
the session's hooks (suite/plugin/hooks.py, registered by the plugin for the whole session) hold no fixture
and no per-test hook, which would reach a project's own tests under ``pytest --rnnsuite``."""

from __future__ import annotations

import inspect
from typing import Any

from _pytest.fixtures import getfixturemarker

import rnnsuite.suite.conftest as conftest
import rnnsuite.suite.plugin.hooks as hooks
import rnnsuite.suite.plugin.items as items

PER_TEST = {"pytest_generate_tests", "pytest_runtest_call", "pytest_runtest_makereport", "pytest_runtest_setup"}


def _hooks_and_fixtures(module: Any) -> set[str]:
    members = inspect.getmembers(module)
    wanted = {name for name, obj in members if name.startswith("pytest_") and callable(obj)}
    return wanted | {name for name, obj in members if getfixturemarker(obj) is not None}


def test_every_hook_and_fixture_of_the_suites_tests_is_loaded() -> None:
    wanted = _hooks_and_fixtures(items)
    assert "kernel_of_point" in wanted  # the autouse fixture that switches a point's kernel
    assert wanted <= set(vars(conftest)), sorted(wanted - set(vars(conftest)))


def test_the_session_hooks_hold_no_fixture_and_no_per_test_hook() -> None:
    found = _hooks_and_fixtures(hooks)
    assert "pytest_configure" in found
    leaking = {n for n in found if n in PER_TEST or getfixturemarker(getattr(hooks, n)) is not None}
    assert not leaking, sorted(leaking)
