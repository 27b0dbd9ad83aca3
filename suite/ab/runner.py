"""The A/B runner's processes: each side's correctness checks, its benchmark processes in alternating order, and
its counted run (``rnnsuite ab``: suite/ab/ab_command.py)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnsuite.reports.gate.stats import ALPHA, processes_needed
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.run import RunFileError
from rnnsuite.reports.runfile.schema import Error
from rnnsuite.suite.ab import counted as ab_counts

# Processes per side, at least. Each process is a fresh process, so warm-up and allocator state are
# sampled too; the gate's process-level test needs 7 a side to reach p < 0.001 at all, 8 for up to 12
# benchmarks, 9 for up to 48 (stats.processes_needed), and suite.ab raises the default to that.
PROCESSES = 8
TAIL_LINES = 15  # of a failed process's stderr, in the error message


class AbError(Exception):
    """A failure of the A/B run; the message starts with one line saying what failed."""


@dataclasses.dataclass(frozen=True)
class Side:
    """One side of the comparison: an interpreter and the checkout whose tests it runs."""

    name: str  # "a" or "b"
    python: str
    cwd: Path


def schedule(processes: int) -> list[str]:
    """The order of the processes: the Thue-Morse sequence, ``abbabaab...``.

    Args:
        processes: processes per side.

    Returns:
        ``2 * processes`` side names; each consecutive pair holds one of each, and which one
        goes first alternates (ABBA BAAB ABBA ...).
    """
    return ["ab"[bin(i).count("1") % 2] for i in range(2 * processes)]


def pytest_command(side: Side, json_path: Path, selection: Sequence[str]) -> list[str]:
    """The command line of one process.

    Args:
        side: the side to run.
        json_path: where pytest-benchmark writes the process's run file.
        selection: extra pytest arguments (``-k``, ``--size``, ...).

    Returns:
        The argument list for ``subprocess.run``.
    """
    return [
        *launcher(side),
        "suite/test_speed.py",  # the benchmark tier only: collecting the whole suite doubles a process's start-up
        "--benchmark-only",
        "--no-cold",  # the gate compares the warm timings only: a cold process per benchmark is time for nothing
        f"--benchmark-json={json_path}",
        "-q",
        "-p",
        "no:cacheprovider",
        *selection,
    ]


def launcher(side: Side) -> list[str]:
    """How a side's process starts pytest: under ``suite.isolate`` where its checkout has it (docs/crashes.md).

    A benchmark that crashes or hangs is then recorded in the process's run file (``rnnsuite.errors``) and the
    process goes on with the next one; the gate's verdict for it is ``crashed on A/B``. An older checkout
    runs pytest itself, and a crash fails the whole A/B (exit 2) as before.
    """
    if (side.cwd / "rnnsuite" / "suite" / "isolate.py").is_file():
        return [side.python, "-m", "rnnsuite.suite.isolate"]
    if (side.cwd / "suite" / "isolate.py").is_file():  # a checkout from before the rnnsuite package (0.1)
        return [side.python, "-m", "suite.isolate"]
    return [side.python, "-m", "pytest"]


# The selection options that narrow the correctness tier (--shard: a job of N runs its part of the checks too).
CHECK_OPTIONS = ("--device", "--dtype", "--seed", "--shard", "--cases")


def checks_selection(selection: Sequence[str]) -> list[str]:
    """The part of the pytest selection that applies to the correctness tier (``--device``, ...)."""
    kept, it = [], iter(selection)
    for arg in it:
        name = arg.split("=", 1)[0]
        if name in CHECK_OPTIONS:
            kept += [arg] if "=" in arg else [arg, next(it, "")]
    return kept


def run_checks(side: Side, path: Path, selection: Sequence[str]) -> list[dict[str, Any]]:
    """Run the correctness tier once under a side, on every core (pytest-xdist: the checks are not
    timed); its records (a failed check is data, not an error).

    Raises:
        AbError: the process crashed or wrote no records.
    """
    path.unlink(missing_ok=True)
    cmd = [*launcher(side), "suite", "-m", "correctness", "--benchmark-skip", "-q", "-p",
           "no:cacheprovider", "-n", "auto", f"--checks-json={path}", *checks_selection(selection)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=side.cwd, capture_output=True, text=True)
    path.with_suffix(".log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode in (0, 1) and path.is_file():
        return list(json.loads(path.read_text(encoding="utf-8")).get("correctness", []))
    raise AbError(f"correctness checks of side {side.name.upper()} failed: exit code {proc.returncode}; "
                  f"last lines:\n{_tail(proc.stderr if proc.stderr.strip() else proc.stdout)}")  # fmt: skip


def _tail(text: str) -> str:
    lines = text.rstrip().splitlines()[-TAIL_LINES:]
    return "\n".join("  " + line for line in lines)


def run_process(side: Side, label: str, json_path: Path, selection: Sequence[str]) -> None:
    """Run one process in its own process; its output goes to ``json_path`` with ``.log`` beside it.

    Args:
        side: the side to run.
        label: e.g. ``process 3/8 (B, its 2nd)`` for messages.
        json_path: the process's run file (removed first, so a stale one is never read).
        selection: extra pytest arguments.

    Raises:
        AbError: the process failed or wrote no run file.
    """
    json_path.unlink(missing_ok=True)
    proc = subprocess.run(pytest_command(side, json_path, selection), cwd=side.cwd, capture_output=True, text=True)
    _check_process(proc, label, json_path)


def run_counted_side(side: Side, name: str, json_path: Path, selection: Sequence[str], env: dict[str, str]) -> None:
    """Run one side's benchmarks once under callgrind (``--metric instructions``); as ``run_process``."""
    json_path.unlink(missing_ok=True)
    cmd = ab_counts.counted_command(side.python, json_path, selection, launcher(side))
    _check_process(ab_counts.run_captured(cmd, side.cwd, env), f"the count of side {name.upper()}", json_path)


def _check_process(proc: subprocess.CompletedProcess[str], label: str, json_path: Path) -> None:
    """Keep a process's output beside its run file; raise AbError when it failed or wrote none."""
    json_path.with_suffix(".log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode == 0 and json_path.is_file():
        return
    if proc.returncode == 1 and json_path.is_file() and _crashes(json_path):  # recorded by suite.isolate
        return
    what = f"exit code {proc.returncode}" + (" (no tests selected)" if proc.returncode == 5 else "")
    if proc.returncode == 0:
        what = "no run file written"
    stream, text = ("stderr", proc.stderr) if proc.stderr.strip() else ("output", proc.stdout)
    raise AbError(f"{label} failed: {what}; last lines of its {stream}:\n{_tail(text)}")


def _crashes(json_path: Path) -> list[Error]:
    """The benchmarks of a process's run file that crashed or timed out (``rnnsuite.errors``)."""
    try:
        errors = load_run(json_path).errors
    except RunFileError:
        return []
    return [e for e in errors if e.test == "benchmark"]


def processes_for(first: Path, processes: int | None, alpha: float) -> int:
    """Processes per side, once the first process has shown how many benchmarks the selection holds.

    Args:
        first: the first process's run file.
        processes: ``--processes``, or None for the default: ``PROCESSES``, or more when the gate's
            process-level test needs more to reach ``alpha`` after Holm over these benchmarks.
        alpha: the gate's significance level.

    Returns:
        The processes per side. An explicit ``--processes`` is kept even when too few (a warning says so).
    """
    k = len(load_run(first).benchmarks)
    need = processes_needed(max(k, 1), alpha)
    if processes is None:
        return max(PROCESSES, need)
    if processes < need:
        print(f"warning: --processes {processes} cannot reach p < {alpha:g} over the processes after Holm over {k} "
              f"benchmark(s); every verdict will be inconclusive; use --processes {need}", file=sys.stderr, flush=True)  # fmt: skip
    return processes


def run_processes(
    sides: dict[str, Side], processes: int | None, out: Path, selection: Sequence[str], alpha: float = ALPHA
) -> dict[str, list[Path]]:
    """Run all processes in alternating order, printing progress.

    Args:
        sides: ``{"a": Side, "b": Side}``.
        processes: processes per side, or None to choose them after the first process (``processes_for``).
        out: the output folder; process files go to ``out/processes/<side>-<i>.json``.
        selection: extra pytest arguments.
        alpha: the gate's significance level (for the choice of processes).

    Returns:
        Each side's process files, in the order they ran.
    """
    (out / "processes").mkdir(parents=True, exist_ok=True)
    done: dict[str, list[Path]] = {"a": [], "b": []}
    n, total = 0, 2 * (processes or PROCESSES)
    while n < total:
        n += 1
        name = schedule(total // 2)[n - 1]
        path = out / "processes" / f"{name}-{len(done[name]) + 1}.json"
        label = f"process {n}/{total} ({name.upper()}, its process {len(done[name]) + 1})"
        print(f"process {n}/{total}: {name.upper()} ({sides[name].python} in {sides[name].cwd}) ...", flush=True)
        start = time.perf_counter()
        run_process(sides[name], label, path, selection)
        print(f"process {n}/{total}: {name.upper()} done in {time.perf_counter() - start:.1f} s", flush=True)
        done[name].append(path)
        if n == 1:
            total = 2 * processes_for(path, processes, alpha)
    return done
