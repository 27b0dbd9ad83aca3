"""``python -m suite.ab``: benchmark two interpreters or checkouts in alternating processes, merge, then gate."""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_benchmark.stats import Stats

from reports.cli import OneLineParser, UsageError
from reports.gate import add_gate_options, compare_runs, gate_settings
from reports.gate_text import to_markdown, to_text
from reports.runfile.atomic import write_atomic
from reports.runfile.reader import RunFile, RunFileError, load_run
from reports.stats import ALPHA, processes_needed
from suite.ab import counts as ab_counts

# Processes per side, at least. Each process is a fresh process, so warm-up and allocator state are
# sampled too; the gate's process-level test needs 7 a side to reach p < 0.001 at all, 8 for up to 12
# benchmarks, 9 for up to 48 (stats.processes_needed), and suite.ab.runner raises the default to that.
PROCESSES = 8
TAIL_LINES = 15  # of a failed process's stderr, in the error message

USAGE_EPILOG = """\
Options this command does not know are passed to pytest as the selection, e.g.
  python -m suite.ab --a venv-a/bin/python --b venv-b/bin/python --out out/ab -k "nn_lstm and float32" --size seed
Put them after "--" when one could be mistaken for an option of this command.
Processes run in the order ABBA BAAB ... (Thue-Morse), so that neither side always goes first and a
slow drift of the machine falls on both sides alike.
With --metric instructions each side runs once, both at once, under valgrind's callgrind, and the
gate compares instructions per call against --count-threshold (docs/gate.md).
exit codes: 0 no regression of B against A, 1 a slowdown or a check passed -> failed, 2 a process
failed or bad arguments, 3 no slowdown but a benchmark inconclusive (not a pass), 4 valgrind not found."""


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
    if (side.cwd / "suite" / "isolate.py").is_file():
        return [side.python, "-m", "suite.isolate"]
    return [side.python, "-m", "pytest"]


# The selection options that narrow the correctness tier (--shard: a job of N runs its part of the checks too).
CHECK_OPTIONS = ("--device", "--dtype", "--seed", "--shard")


def checks_selection(selection: Sequence[str]) -> list[str]:
    """The part of the pytest selection that applies to the correctness tier (``--device``, ...)."""
    kept, it = [], iter(selection)
    for arg in it:
        name = arg.split("=", 1)[0]
        if name in CHECK_OPTIONS:
            kept += [arg] if "=" in arg else [arg, next(it, "")]
    return kept


def run_checks(side: Side, path: Path, selection: Sequence[str]) -> list[dict[str, Any]]:
    """Run the correctness tier once under a side; its records (a failed check is data, not an error).

    Raises:
        AbError: the process crashed or wrote no records.
    """
    path.unlink(missing_ok=True)
    cmd = [*launcher(side), "suite", "-m", "correctness", "--benchmark-skip", "-q", "-p",
           "no:cacheprovider", f"--checks-json={path}", *checks_selection(selection)]  # fmt: skip
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
    _check_process(ab_counts.run_process(cmd, side.cwd, env), f"the count of side {name.upper()}", json_path)


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


def _crashes(json_path: Path) -> list[dict[str, Any]]:
    """The benchmarks of a process's run file that crashed or timed out (``rnnsuite.errors``)."""
    try:
        errors = load_run(json_path).errors
    except RunFileError:
        return []
    return [e for e in errors if e.get("test") == "benchmark"]


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


def merge_processes(runs: Sequence[RunFile]) -> dict[str, Any]:
    """One run file from a side's processes.

    Args:
        runs: the side's processes, loaded.

    Returns:
        The first process's file, with every benchmark's samples concatenated across processes (by
        ``extra_info.key``, in order of first appearance), its stats recomputed, each process's
        median in ``extra_info.process_medians`` (the gate's process-level test), and the
        correctness records of the first process that has any.

    Raises:
        RunFileError: a process's benchmark has no raw samples (``stats.data``).
    """
    merged = copy.deepcopy(runs[0].data)
    benches: dict[str, dict[str, Any]] = {}
    samples: dict[str, list[float]] = {}
    medians: dict[str, list[float]] = {}
    for run in runs:
        for bench in run.benchmarks:
            key = str(bench["extra_info"]["key"])
            if not isinstance(bench["stats"].get("data"), list) or not bench["stats"]["data"]:
                raise RunFileError(f"{run.path}: benchmark {key} has no stats.data to merge")
            benches.setdefault(key, copy.deepcopy(bench))
            data = [float(v) for v in bench["stats"]["data"]]
            samples.setdefault(key, []).extend(data)
            medians.setdefault(key, []).append(statistics.median(data))
    for key, bench in benches.items():
        bench["stats"] = merged_stats(bench["stats"], samples[key])
        bench["extra_info"]["process_medians"] = medians[key]
    merged["benchmarks"] = list(benches.values())
    merged["rnnsuite"]["correctness"] = next((r.correctness for r in runs if r.correctness), [])
    crashed = {e["nodeid"]: e for run in reversed(runs) for e in run.errors}  # a benchmark's first crash
    if crashed:
        merged["rnnsuite"]["errors"] = list(crashed.values())
    return merged


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="python -m suite.ab",
        allow_abbrev=False,
        epilog=USAGE_EPILOG,
        description=__doc__.split(": ", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--a", required=True, metavar="PYTHON_A", help="interpreter of side A (the base)")
    p.add_argument("--b", required=True, metavar="PYTHON_B", help="interpreter of side B (the candidate)")
    p.add_argument("--a-dir", default=".", metavar="DIR_A", help="checkout whose suite A runs (default: .)")
    p.add_argument("--b-dir", default=".", metavar="DIR_B", help="checkout whose suite B runs (default: .)")
    p.add_argument(
        "--processes",
        "--rounds",  # the name before 0.2; the A/B rounds were always processes
        dest="processes",
        type=int,
        default=None,
        metavar="N",
        help=f"processes per side (default {PROCESSES}, or as many as the gate needs for the benchmarks selected)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder: processes/, a.json, b.json, compare.md")
    add_gate_options(p)  # as for python -m reports compare
    p.add_argument(
        "--metric",
        choices=("time", "instructions"),
        default="time",
        help="time (alternating processes, default) or instructions (each side counted once under callgrind)",
    )
    p.add_argument(
        "--no-checks",
        dest="checks",
        action="store_false",
        help="skip each side's correctness run (numerical drift and passed->failed checks need it)",
    )
    return p


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Split the command line into this command's options and the pytest selection.

    Args:
        argv: the arguments; everything after ``--`` and every unknown option goes to pytest.

    Returns:
        The options and the pytest arguments.
    """
    argv = list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args, extra = _parser().parse_known_args(argv[:cut])
    if args.processes is not None and args.processes < 1:
        raise UsageError("--processes must be >= 1")
    args.gate = gate_settings(args)
    if args.metric == "instructions" and args.processes is not None:
        raise UsageError("--processes: with --metric instructions each side is counted once")
    return args, extra + argv[cut + 1 :]


def _side(name: str, python: str, directory: str) -> Side:
    found = shutil.which(python)
    if found is None:
        raise UsageError(f"--{name}: interpreter {python!r} not found or not executable")
    cwd = Path(directory).resolve()
    if not (cwd / "suite").is_dir():
        raise UsageError(f"--{name}-dir: {directory!r} is not a checkout of this project (no suite/ folder)")
    return Side(name, os.path.abspath(found), cwd)  # abspath, not resolve: a venv's python is a symlink


def _load(path: Path, side: str) -> RunFile:
    run = load_run(path)
    return dataclasses.replace(run, label=f"{side} {run.label}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the A/B comparison.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).

    Returns:
        The gate's exit code (0, 1 or 3), 2 when a process failed or the arguments are bad, 4 when
        ``--metric instructions`` finds no valgrind.
    """
    try:
        args, selection = parse_args(sys.argv[1:] if argv is None else argv)
        sides = {"a": _side("a", args.a, args.a_dir), "b": _side("b", args.b, args.b_dir)}
        if args.metric == "instructions" and (missing := ab_counts.valgrind_missing()):
            print(f"error: {missing}", file=sys.stderr)
            return ab_counts.EXIT_NO_VALGRIND
        out = Path(args.out)
        (out / "processes").mkdir(parents=True, exist_ok=True)
        checks = {}
        for name, side in sides.items():
            if args.checks:
                print(f"correctness checks: {name.upper()} ...", flush=True)
                checks[name] = run_checks(side, out / "processes" / f"{name}-checks.json", selection)
        if args.metric == "instructions":
            processes = ab_counts.run_counted(sides, out, selection, run_counted_side)
        else:
            processes = run_processes(sides, args.processes, out, selection, args.alpha)
        for name, paths in processes.items():
            merged = merge_processes([load_run(p) for p in paths]) if args.metric == "time" else load_run(paths[0]).data
            if checks.get(name):  # the side's own correctness run is the record of its numerics
                merged["rnnsuite"]["correctness"] = checks[name]
            write_atomic(out / f"{name}.json", json.dumps(merged, indent=1))
        base, cand = _load(out / "a.json", "A"), _load(out / "b.json", "B")
        result = compare_runs(base, cand, **args.gate)
        write_atomic(out / "compare.md", to_markdown(result))
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except (UsageError, AbError, RunFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(to_text(result), end="")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
