"""Options and markers for every pytest run of the checkout (``pytest tests`` too, without torch).

The suite's options are declared by the rnnsuite pytest plugin (rnnsuite/plugin.py, loaded through its
``pytest11`` entry point once the checkout is installed, as ``make venv`` does); the markers are in
pyproject.toml. Where plugin autoloading is off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``), the plugin is
loaded from here.
"""

import sys

from rnnsuite.suite.plugin.options import add_options

if "rnnsuite.plugin" not in sys.modules:
    pytest_plugins = ["rnnsuite.plugin"]


def pytest_addoption(parser):  # type: ignore[no-untyped-def]
    add_options(parser)  # idempotent: the plugin's own call then declares nothing
