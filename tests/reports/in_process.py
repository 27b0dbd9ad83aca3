"""``rnnsuite ARGS`` in this process, through the command line's own entry (``rnnsuite.cli.main``).

For the bad-input tests: a new interpreter spends seconds importing pandas, scipy and matplotlib before
it refuses a command line. Each command still has a test that runs it as a real process.
"""

from __future__ import annotations

import pytest

from rnnsuite.cli import main


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """(exit status, stderr) of ``rnnsuite ARGS`` run here."""
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as stop:  # argparse's own stop
        code = stop.code if isinstance(stop.code, int) else 2
    return code, capsys.readouterr().err
