"""``--allocator glibc,jemalloc,tcmalloc``: the suite once per allocator, each in its own process.

An allocator is chosen when a process starts (``LD_PRELOAD``), so a run of several is several
pytest processes: this module runs the same command line once per allocator, with
``--allocator NAME``, that allocator's library preloaded, and the run file (and checks file) of
each written beside the requested one as ``STEM.NAME.json``; the label gets the name appended.
Each run file records its allocator, and a report built from them shows the allocators side by
side. A library that is absent stops the run before anything runs: one line, exit 4.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from rnnsuite.suite.measure.memory import ALLOCATORS, PRELOADS, preload_path

PATH_OPTIONS = ("--benchmark-json", "--checks-json")


def per_allocator(path: str, name: str) -> str:
    """``out/run.json`` -> ``out/run.jemalloc.json``."""
    p = Path(path)
    return str(p.with_name(f"{p.stem}.{name}{p.suffix or '.json'}"))


def child_args(args: Sequence[str], name: str, label: str) -> list[str]:
    """The command line of one allocator's run: paths renamed, ``--allocator`` and ``--run-label`` set.

    Args:
        args: pytest's own arguments as given (``config.invocation_params.args``).
        name: the allocator.
        label: the run's label without the allocator.
    """
    out: list[str] = []
    it = iter(args)
    for arg in it:
        opt, eq, value = arg.partition("=")
        if opt in PATH_OPTIONS:
            value = value if eq else next(it, "")
            out.append(f"{opt}={per_allocator(value, name)}")
        elif opt in ("--allocator", "--run-label"):
            if not eq:
                next(it, None)
        else:
            out.append(arg)
    return [*out, f"--allocator={name}", f"--run-label={label} {name}"]


def child_env(name: str, env: dict[str, str]) -> dict[str, str]:
    """``env`` with ``LD_PRELOAD`` holding the allocator's library (and no other allocator's)."""
    keep = [
        p for p in env.get("LD_PRELOAD", "").split() if not any(lib.split(".so")[0] in p for lib in PRELOADS.values())
    ]
    lib = preload_path(name)
    preload = " ".join([*([lib] if lib else []), *keep])
    return {k: v for k, v in env.items() if k != "LD_PRELOAD"} | ({"LD_PRELOAD": preload} if preload else {})


def check_available(names: Sequence[str]) -> None:
    """Raise ``FileNotFoundError`` (one line) for the first allocator whose library is absent."""
    for name in names:
        if name not in ALLOCATORS:
            raise ValueError(f"--allocator: unknown value {name!r}; choose from {', '.join(ALLOCATORS)}")
        preload_path(name)


def run_each(args: Sequence[str], names: Sequence[str], label: str, cwd: str | None = None) -> int:
    """Run pytest once per allocator, in order; the worst exit status (0 when all passed)."""
    worst = 0
    for name in names:
        print(f"rnnsuite: --allocator {name}", flush=True)
        cmd = [sys.executable, "-m", "pytest", *child_args(args, name, label)]
        status = subprocess.run(cmd, env=child_env(name, dict(os.environ)), cwd=cwd, check=False).returncode
        worst = max(worst, status)
    return worst
