"""The suite's command-line options, for every pytest run here (``pytest tests`` too, without torch).

They are declared in suite/plugin/options.py; the hooks live in suite/plugin/hooks.py, loaded by
suite/conftest.py.
"""

from suite.plugin.options import pytest_addoption

__all__ = ["pytest_addoption"]
