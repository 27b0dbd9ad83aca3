"""``rnnsuite merge OUT.json SHARD.json ...``: the run files of one selection split by ``--shard`` as one run file.

Shards of one run are the same checkout, torch build, machine and metric, each holding its part of
the selection; merging them gives the file an unsharded run would have written, less timing
order. The benchmarks and correctness records are concatenated (a benchmark key in two shards
means the shards overlap: refused), the matmul peaks keep the higher figure per device and dtype,
and ``rnnsuite.shard`` becomes null with ``merged_from`` naming the shards. The gate then judges the
merged files as one family (``rnnsuite compare``: Holm over every benchmark).
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnsuite.reports.command_line import OneLineParser, one_line_errors
from rnnsuite.reports.runfile.machine_identity import machine_id
from rnnsuite.reports.runfile.reader import dump, load_run
from rnnsuite.reports.runfile.run import RunFile, RunFileError


class MergeError(Exception):
    """Shards that do not make one run; the message is one line."""


def _facts(run: RunFile) -> dict[str, Any]:
    return {
        "torch": run.machine.get("torch"),
        "metric": run.metric,
        "machine": machine_id(run),
        "label": run.data["rnnsuite"].get("label"),
    }


def merge(runs: Sequence[RunFile]) -> dict[str, Any]:
    """One run file's data from the shards.

    Args:
        runs: the shards' loaded run files (at least one).

    Returns:
        The merged run file's data.

    Raises:
        MergeError: the shards differ in torch, metric, machine or label, or share a benchmark key.
    """
    first = _facts(runs[0])
    for run in runs[1:]:
        diff = [f"{k} {first[k]!r} vs {v!r}" for k, v in _facts(run).items() if v != first[k]]
        if diff:
            raise MergeError(f"{run.path} is not a shard of {runs[0].path}'s run: {', '.join(diff)}")
    seen: dict[str, Path] = {}
    for run in runs:
        for bench in run.benchmarks:
            key = run.key(bench)
            if key in seen:
                raise MergeError(f"benchmark {key} is in {seen[key]} and {run.path}: the shards overlap")
            seen[key] = run.path
    merged = copy.deepcopy(runs[0].data)
    merged["benchmarks"] = [copy.deepcopy(b) for run in runs for b in run.benchmarks]
    merged["datetime"] = min(str(run.data.get("datetime", "")) for run in runs)
    section = merged["rnnsuite"]
    section["correctness"] = [copy.deepcopy(c) for run in runs for c in run.correctness]
    section["peaks"] = _peaks(runs)
    section["shard"] = None
    section["merged_from"] = [run.path.name for run in runs]
    return merged


def _peaks(runs: Sequence[RunFile]) -> list[dict[str, Any]]:
    """Each device and dtype's peak: the highest the shards measured (as one run keeps the higher of two)."""
    best: dict[tuple[Any, Any], dict[str, Any]] = {}
    for run in runs:
        for peak in run.peaks:
            k = (peak.get("device"), peak.get("dtype"))
            if k not in best or float(peak.get("gflops") or 0) > float(best[k].get("gflops") or 0):
                best[k] = copy.deepcopy(peak)
    return list(best.values())


def parser() -> argparse.ArgumentParser:
    """The command line of ``merge``."""
    p = OneLineParser(prog="rnnsuite merge", description="Merge the run files of --shard I/N jobs.")
    p.add_argument("out", type=Path, metavar="OUT.json", help="the merged run file (not overwritten without --force)")
    p.add_argument("shards", nargs="+", metavar="SHARD.json", help="the shards' run files")
    p.add_argument("--force", action="store_true", help="replace OUT.json")
    return p


def main(argv: list[str]) -> int:
    """Merge; returns 0, or 2 with a one-line error."""

    def body() -> int:
        args = parser().parse_args(argv)
        if args.out.exists() and not args.force:
            raise MergeError(f"{args.out} exists; pass --force to replace it")
        if any(Path(s).resolve() == args.out.resolve() for s in args.shards):
            raise MergeError(f"{args.out} is one of the shards")
        data = merge([load_run(s) for s in args.shards])
        dump(args.out, data)
        print(f"merged {len(args.shards)} shard(s), {len(data['benchmarks'])} benchmarks: {args.out}")
        return 0

    return one_line_errors(body, RunFileError, MergeError)
