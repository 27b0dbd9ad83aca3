"""The pytest plugin: the options, the hooks that build the matrix, and the records the run file gets.

Torch-free at import (the root conftest.py declares the options from suite.plugin.options for every
pytest run, ``pytest tests`` included); the hooks live in suite.plugin.hooks, loaded by suite/conftest.py.
"""
