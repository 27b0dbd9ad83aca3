"""A usage error of ``pytest suite``, got in this process: the exit status and the non-blank output lines.

pytest stops a bad command line while it parses it or configures the session, before it collects or
runs anything, so ``pytest.main`` here goes through the same code as ``python -m pytest`` in a shell
without the seconds of a new interpreter importing torch. Only for command lines that must stop:
a good one would run its tests inside this test. One real process per test file still checks that
the command line itself prints the one line and exits 4 (``usage_error_in_a_process``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def usage_error(
    args: tuple[str, ...] | list[str], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, list[str]]:
    """``pytest ARGS`` in this process, from the project's root: (exit status, non-blank lines of its output)."""
    monkeypatch.chdir(ROOT)
    for name in [n for n in os.environ if n.startswith("PYTEST_XDIST")]:  # as a shell's pytest, not a worker
        monkeypatch.delenv(name)
    capfd.readouterr()
    status = pytest.main([*args, "-q", "-p", "no:cacheprovider"])
    out, err = capfd.readouterr()
    return int(status), [line for line in (out + err).splitlines() if line.strip()]


def usage_error_in_a_process(*args: str, env: dict[str, str] | None = None) -> tuple[int, list[str], str]:
    """``python -m pytest ARGS`` as a shell runs it: (exit status, non-blank output lines, stderr)."""
    cmd = [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()], proc.stderr
