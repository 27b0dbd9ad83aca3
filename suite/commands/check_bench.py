"""``rnnsuite check`` and ``rnnsuite bench``: the suite's checks or benchmarks of given case modules, as pytest runs.

Each is ``python -m pytest SUITE --rnnsuite CASES ...`` in a process of its own (pytest in this one would find
the plugin's modules imported before it could rewrite their asserts): the suite's folder is named on the
command line, so a project's own tests (and its pytest configuration, which is found from the folders
named) stay out of it. With no case module, the shipped cases run. Every argument from the first that
starts with ``-`` goes to pytest as it is (``-k``, ``-n auto``, ``--dtype float32``, ``--checks-json``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rnnsuite.plugin import suite_dir

CHECK_HELP = """\
usage: rnnsuite check [CASES ...] [PYTEST ARGS ...]

The correctness checks (values, gradients, determinism, gradcheck, ...) of the cases of each CASES
(a module name or a .py file; none: the shipped cases) in every device and dtype asked for.

  CASES         a module of cases (`from rnnsuite import case`), by dotted name or as a .py file
  PYTEST ARGS   from the first argument that starts with "-": pytest's and the suite's options, e.g.
                -k float32, -n auto, --dtype float32,bfloat16, --device cpu, --checks-json FILE
                (`pytest --help`, group "RNN suite", lists the suite's)

exit codes: 0 every check passed, 1 a check failed, 2 interrupted, 4 bad command line or case module,
5 nothing selected"""

BENCH_HELP = """\
usage: rnnsuite bench [CASES ...] [PYTEST ARGS ...]

The benchmarks of the cases of each CASES (none: the shipped cases), timed with pytest-benchmark into a
run file: --benchmark-json FILE, else rnnsuite-out/runs/run-STAMP.json (`rnnsuite build FILE` reports it).

  CASES         a module of cases, by dotted name or as a .py file
  PYTEST ARGS   from the first argument that starts with "-", e.g. -k "float32 and fwd", --size deepbench,
                --min-time 0.25, --benchmark-json FILE

exit codes: 0 done, 1 a benchmark failed, 2 interrupted, 4 bad command line or case module, 5 nothing selected"""


def split(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """The case modules (the arguments before the first that starts with ``-``) and the rest, for pytest."""
    args = list(argv)
    first = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))
    return args[:first], args[first:]


def pytest_args(cases: Sequence[str], rest: Sequence[str], target: str = "") -> list[str]:
    """The pytest command line of the suite's folder (or a file of it) for ``cases`` (none: the shipped ones)."""
    where = str(suite_dir() / target) if target else str(suite_dir())
    asked = [a for c in cases for a in ("--rnnsuite", str(Path(c).resolve()) if c.endswith(".py") else c)]
    return [where, "-p", "no:cacheprovider", f"--rootdir={os.getcwd()}", *asked, *rest]


def _wants_help(argv: Sequence[str]) -> bool:
    return bool(argv) and argv[0] in ("-h", "--help")


def check(argv: Sequence[str]) -> int:
    """``rnnsuite check``: pytest's exit code."""
    if _wants_help(argv):
        print(CHECK_HELP)
        return 0
    cases, rest = split(argv)
    return _pytest(pytest_args(cases, ["-m", "correctness", "--benchmark-disable", *rest]))


def bench(argv: Sequence[str]) -> int:
    """``rnnsuite bench``: pytest's exit code; the run file where ``--benchmark-json`` does not name one."""
    if _wants_help(argv):
        print(BENCH_HELP)
        return 0
    cases, rest = split(argv)
    if not any(a == "--benchmark-json" or a.startswith("--benchmark-json=") for a in rest):
        run = Path("rnnsuite-out", "runs", f"run-{time.strftime('%Y%m%d-%H%M%S')}.json")
        run.parent.mkdir(parents=True, exist_ok=True)
        rest = [f"--benchmark-json={run}", *rest]
        print(f"rnnsuite bench: the run file is {run}", file=sys.stderr)
    return _pytest(pytest_args(cases, ["-m", "speed", *rest], "test_speed.py"))


def _pytest(args: Sequence[str]) -> int:
    return subprocess.run([sys.executable, "-m", "pytest", *args], check=False).returncode
