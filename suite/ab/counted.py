"""``rnnsuite ab --metric instructions``: each side counted once under callgrind, both sides at once."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

EXIT_NO_VALGRIND = 4  # as pytest's own usage error, which the plugin raises where valgrind is absent
PAD_ENV = "RNNSUITE_LAYOUT_PAD"  # a random-length variable: moves the stack, so each side gets its own layout


def side_env(rng: random.Random) -> dict[str, str]:
    """The environment of one counted process: its own hash seed and memory layout.

    Counts do not depend on the machine's speed, but they do on where things land in memory and
    on the order of hashed containers; a fresh hash seed and an environment of random size (which
    moves the initial stack) make each process one draw of those, as the threshold assumes.
    """
    return dict(os.environ, PYTHONHASHSEED=str(rng.randrange(1, 2**32)), **{PAD_ENV: "x" * rng.randrange(4096)})


def counted_command(
    python: str, json_path: Path, selection: Sequence[str], launcher: Sequence[str] | None = None
) -> list[str]:
    """One side's command: the benchmark tier with ``--metric instructions`` (the plugin reruns it under callgrind).

    ``launcher`` starts pytest (default ``python -m pytest``; ``suite.ab.runner.launcher``: under suite.isolate).
    """
    return [*(launcher or [python, "-m", "pytest"]), "suite/test_speed.py", "--benchmark-only", f"--benchmark-json={json_path}",
            "-q", "-p", "no:cacheprovider", "--metric", "instructions", "--no-peak", *selection]  # fmt: skip


def run_counted(
    sides: dict[str, Any],
    out: Path,
    selection: Sequence[str],
    run_one: Callable[[Any, str, Path, Sequence[str], dict[str, str]], None],
    seed: int | None = None,
) -> dict[str, list[Path]]:
    """Run both sides once, at the same time (counts do not mind sharing the CPUs).

    Args:
        sides: ``{"a": Side, "b": Side}``.
        out: the output folder; the run files go to ``out/processes/<side>-1.json``.
        selection: the pytest selection.
        run_one: runs one side's command (``suite.ab.run_counted_side``); raises on failure.
        seed: of the hash seeds and layouts drawn (default: from the clock).

    Returns:
        Each side's one run file, as ``run_processes`` returns processes.
    """
    rng = random.Random(seed)
    envs = {name: side_env(rng) for name in sides}
    paths = {name: out / "processes" / f"{name}-1.json" for name in sides}
    start = time.perf_counter()
    print(f"counting instructions under callgrind: A and B at once ({', '.join(map(str, selection))}) ...", flush=True)
    with ThreadPoolExecutor(max_workers=len(sides)) as pool:
        futures = [pool.submit(run_one, side, name, paths[name], selection, envs[name]) for name, side in sides.items()]
        for f in futures:
            f.result()
    print(f"counted in {time.perf_counter() - start:.1f} s", flush=True)
    return {name: [paths[name]] for name in sides}


def valgrind_missing() -> str | None:
    """The one-line reason when valgrind is not on PATH, else None."""
    from rnnsuite.suite.measure.callgrind import INSTALL_HINT

    if shutil.which("valgrind"):
        return None
    return f"--metric instructions needs valgrind, which is not on PATH: {INSTALL_HINT}"


def run_captured(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` of one side's command, output captured."""
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
