"""One side's processes as one run file, as pyperf's ``Benchmark.add_runs`` gathers its ``Run`` s.

``suite.ab`` runs each side in several processes, one run file each; ``add_processes`` makes
them one file: a benchmark's samples concatenated in the order the processes ran, its stats
recomputed by pytest-benchmark's own ``Stats``, and each process kept as a record
(``extra_info.processes``: its median and how many of the samples are its own). No torch here.
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Sequence
from typing import Any

from pytest_benchmark.stats import Stats

from rnnsuite.reports.runfile.record import to_dict
from rnnsuite.reports.runfile.run import RunFile, RunFileError
from rnnsuite.reports.runfile.schema import Process


def merged_stats(stats: dict[str, Any], data: list[float]) -> dict[str, Any]:
    """A benchmark's ``stats`` recomputed over the concatenated samples of all processes.

    pytest-benchmark's own ``Stats`` computes them, so merged files read like native ones
    (same quartile method). ``iterations`` is the first process's.

    Args:
        stats: the first process's stats.
        data: every process's ``stats.data``, concatenated.

    Returns:
        The new stats, with ``data``.
    """
    fresh = Stats()
    for value in data:
        fresh.update(value)
    return {**stats, **fresh.as_dict(), "data": list(data)}


def add_processes(runs: Sequence[RunFile]) -> dict[str, Any]:
    """One run file's data from a side's processes.

    Args:
        runs: the side's processes, loaded, in the order they ran.

    Returns:
        The first process's file, with every benchmark's samples concatenated across processes (by
        key, in order of first appearance), its stats recomputed, each process a record in
        ``extra_info.processes`` (the gate's process-level test), and the correctness records of
        the first process that has any.

    Raises:
        RunFileError: a process's benchmark has no raw samples (``stats.data``).
    """
    merged = copy.deepcopy(runs[0].data)
    benches: dict[str, dict[str, Any]] = {}
    samples: dict[str, list[float]] = {}
    processes: dict[str, list[Process]] = {}
    for run in runs:
        for bench in run.benchmarks:
            key = run.key(bench)
            if not isinstance(bench["stats"].get("data"), list) or not bench["stats"]["data"]:
                raise RunFileError(f"{run.path}: benchmark {key} has no stats.data to merge")
            benches.setdefault(key, copy.deepcopy(bench))
            data = [float(v) for v in bench["stats"]["data"]]
            samples.setdefault(key, []).extend(data)
            processes.setdefault(key, []).append(Process(median_s=statistics.median(data), samples=len(data)))
    for key, bench in benches.items():
        bench["stats"] = merged_stats(bench["stats"], samples[key])
        bench["extra_info"]["processes"] = [to_dict(p) for p in processes[key]]
    merged["benchmarks"] = list(benches.values())
    merged["rnnsuite"]["correctness"] = next((r.correctness for r in runs if r.correctness), [])
    crashed = {e.nodeid: e for run in reversed(runs) for e in run.errors}  # a benchmark's first crash
    if crashed:
        merged["rnnsuite"]["errors"] = [to_dict(e) for e in crashed.values()]
    return merged
