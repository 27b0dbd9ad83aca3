"""suite/conftest.py loads every hook and fixture of suite/plugin/hooks.py (one left out silently does nothing)."""

from __future__ import annotations

import inspect

from _pytest.fixtures import getfixturemarker

import suite.conftest
import suite.plugin.hooks


def test_every_hook_and_fixture_of_the_plugin_is_loaded() -> None:
    members = inspect.getmembers(suite.plugin.hooks)
    wanted = {name for name, obj in members if name.startswith("pytest_") and callable(obj)}
    wanted |= {name for name, obj in members if getfixturemarker(obj) is not None}
    assert "kernel_of_point" in wanted  # the autouse fixture that switches a point's kernel
    assert wanted <= set(vars(suite.conftest)), sorted(wanted - set(vars(suite.conftest)))
