"""``python -m suite.ab``: benchmark two interpreters or checkouts in alternating rounds, merge, then gate."""

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
from reports.compare import check_gate_options, compare_runs, to_markdown, to_text, write_atomic
from reports.counts import COUNT_THRESHOLD
from reports.runfile import RunFile, RunFileError, load_run
from reports.stats import ALPHA, MAX_NOISE, THRESHOLD, rounds_needed
from suite import ab_counts

# Rounds per side, at least. Each round is a fresh process, so warm-up and allocator state are
# sampled too; the gate's round-level test needs 7 a side to reach p < 0.001 at all, 8 for up to 12
# benchmarks, 9 for up to 48 (stats.rounds_needed), and suite.ab raises the default to that.
ROUNDS = 8
TAIL_LINES = 15  # of a failed round's stderr, in the error message

USAGE_EPILOG = """\
Options this command does not know are passed to pytest as the selection, e.g.
  python -m suite.ab --a venv-a/bin/python --b venv-b/bin/python --out out/ab -k "nn_lstm and float32" --size seed
Put them after "--" when one could be mistaken for an option of this command.
Rounds run in the order ABBA BAAB ... (Thue-Morse), so that neither side always goes first and a
slow drift of the machine falls on both sides alike.
With --metric instructions each side runs once, both at once, under valgrind's callgrind, and the
gate compares instructions per call against --count-threshold (docs/gate.md).
exit codes: 0 no regression of B against A, 1 a slowdown or a check passed -> failed, 2 a round
failed or bad arguments, 3 no slowdown but a benchmark inconclusive (not a pass), 4 valgrind not found."""


class AbError(Exception):
    """A failure of the A/B run; the message starts with one line saying what failed."""


@dataclasses.dataclass(frozen=True)
class Side:
    """One side of the comparison: an interpreter and the checkout whose tests it runs."""

    name: str  # "a" or "b"
    python: str
    cwd: Path


def schedule(rounds: int) -> list[str]:
    """The order of the rounds: the Thue-Morse sequence, ``abbabaab...``.

    Args:
        rounds: rounds per side.

    Returns:
        ``2 * rounds`` side names; each consecutive pair holds one of each, and which one
        goes first alternates (ABBA BAAB ABBA ...).
    """
    return ["ab"[bin(i).count("1") % 2] for i in range(2 * rounds)]


def pytest_command(side: Side, json_path: Path, selection: Sequence[str]) -> list[str]:
    """The command line of one round.

    Args:
        side: the side to run.
        json_path: where pytest-benchmark writes the round's run file.
        selection: extra pytest arguments (``-k``, ``--size``, ...).

    Returns:
        The argument list for ``subprocess.run``.
    """
    return [
        side.python,
        "-m",
        "pytest",
        "suite/test_speed.py",  # the benchmark tier only: collecting the whole suite doubles a round's start-up
        "--benchmark-only",
        f"--benchmark-json={json_path}",
        "-q",
        "-p",
        "no:cacheprovider",
        *selection,
    ]


CHECK_OPTIONS = ("--device", "--dtype", "--seed")  # the selection options that narrow the correctness tier


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
    cmd = [side.python, "-m", "pytest", "suite", "-m", "correctness", "--benchmark-skip", "-q", "-p",
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


def run_round(side: Side, label: str, json_path: Path, selection: Sequence[str]) -> None:
    """Run one round in its own process; its output goes to ``json_path`` with ``.log`` beside it.

    Args:
        side: the side to run.
        label: e.g. ``round 3/8 (B, its 2nd)`` for messages.
        json_path: the round's run file (removed first, so a stale one is never read).
        selection: extra pytest arguments.

    Raises:
        AbError: the process failed or wrote no run file.
    """
    json_path.unlink(missing_ok=True)
    proc = subprocess.run(pytest_command(side, json_path, selection), cwd=side.cwd, capture_output=True, text=True)
    _check_round(proc, label, json_path)


def run_counted_side(side: Side, name: str, json_path: Path, selection: Sequence[str], env: dict[str, str]) -> None:
    """Run one side's benchmarks once under callgrind (``--metric instructions``); as ``run_round``."""
    json_path.unlink(missing_ok=True)
    cmd = ab_counts.counted_command(side.python, json_path, selection)
    _check_round(ab_counts.run_process(cmd, side.cwd, env), f"the count of side {name.upper()}", json_path)


def _check_round(proc: subprocess.CompletedProcess[str], label: str, json_path: Path) -> None:
    """Keep a round's output beside its run file; raise AbError when it failed or wrote none."""
    json_path.with_suffix(".log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode == 0 and json_path.is_file():
        return
    what = f"exit code {proc.returncode}" + (" (no tests selected)" if proc.returncode == 5 else "")
    if proc.returncode == 0:
        what = "no run file written"
    stream, text = ("stderr", proc.stderr) if proc.stderr.strip() else ("output", proc.stdout)
    raise AbError(f"{label} failed: {what}; last lines of its {stream}:\n{_tail(text)}")


def rounds_for(first: Path, rounds: int | None, alpha: float) -> int:
    """Rounds per side, once the first round has shown how many benchmarks the selection holds.

    Args:
        first: the first round's run file.
        rounds: ``--rounds``, or None for the default: ``ROUNDS``, or more when the gate's
            round-level test needs more to reach ``alpha`` after Holm over these benchmarks.
        alpha: the gate's significance level.

    Returns:
        The rounds per side. An explicit ``--rounds`` is kept even when too few (a warning says so).
    """
    k = len(load_run(first).benchmarks)
    need = rounds_needed(max(k, 1), alpha)
    if rounds is None:
        return max(ROUNDS, need)
    if rounds < need:
        print(f"warning: --rounds {rounds} cannot reach p < {alpha:g} over the rounds after Holm over {k} "
              f"benchmark(s); every verdict will be inconclusive; use --rounds {need}", file=sys.stderr, flush=True)  # fmt: skip
    return rounds


def run_rounds(
    sides: dict[str, Side], rounds: int | None, out: Path, selection: Sequence[str], alpha: float = ALPHA
) -> dict[str, list[Path]]:
    """Run all rounds in alternating order, printing progress.

    Args:
        sides: ``{"a": Side, "b": Side}``.
        rounds: rounds per side, or None to choose them after the first round (``rounds_for``).
        out: the output folder; round files go to ``out/rounds/<side>-<i>.json``.
        selection: extra pytest arguments.
        alpha: the gate's significance level (for the choice of rounds).

    Returns:
        Each side's round files, in the order they ran.
    """
    (out / "rounds").mkdir(parents=True, exist_ok=True)
    done: dict[str, list[Path]] = {"a": [], "b": []}
    n, total = 0, 2 * (rounds or ROUNDS)
    while n < total:
        n += 1
        name = schedule(total // 2)[n - 1]
        path = out / "rounds" / f"{name}-{len(done[name]) + 1}.json"
        label = f"round {n}/{total} ({name.upper()}, its round {len(done[name]) + 1})"
        print(f"round {n}/{total}: {name.upper()} ({sides[name].python} in {sides[name].cwd}) ...", flush=True)
        start = time.perf_counter()
        run_round(sides[name], label, path, selection)
        print(f"round {n}/{total}: {name.upper()} done in {time.perf_counter() - start:.1f} s", flush=True)
        done[name].append(path)
        if n == 1:
            total = 2 * rounds_for(path, rounds, alpha)
    return done


def merged_stats(stats: dict[str, Any], data: list[float]) -> dict[str, Any]:
    """A benchmark's ``stats`` recomputed over the concatenated samples of all rounds.

    pytest-benchmark's own ``Stats`` computes them, so merged files read like native ones
    (same quartile method). ``iterations`` is the first round's.

    Args:
        stats: the first round's stats.
        data: every round's ``stats.data``, concatenated.

    Returns:
        The new stats, with ``data``.
    """
    fresh = Stats()
    for value in data:
        fresh.update(value)
    return {**stats, **fresh.as_dict(), "data": list(data)}


def merge_rounds(runs: Sequence[RunFile]) -> dict[str, Any]:
    """One run file from a side's rounds.

    Args:
        runs: the side's rounds, loaded.

    Returns:
        The first round's file, with every benchmark's samples concatenated across rounds (by
        ``extra_info.key``, in order of first appearance), its stats recomputed, each round's
        median in ``extra_info.round_medians`` (the gate's round-level test), and the
        correctness records of the first round that has any.

    Raises:
        RunFileError: a round's benchmark has no raw samples (``stats.data``).
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
        bench["extra_info"]["round_medians"] = medians[key]
    merged["benchmarks"] = list(benches.values())
    merged["rnnsuite"]["correctness"] = next((r.correctness for r in runs if r.correctness), [])
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
        "--rounds",
        type=int,
        default=None,
        metavar="N",
        help=f"rounds per side (default {ROUNDS}, or as many as the gate needs for the benchmarks selected)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder: rounds/, a.json, b.json, compare.md")
    p.add_argument(
        "--threshold",
        type=float,
        default=THRESHOLD * 100,
        metavar="PCT",
        help="as for python -m reports compare (default 5; twice that below 1 ms)",
    )
    p.add_argument("--alpha", type=float, default=ALPHA, metavar="A", help=f"as for reports compare (default {ALPHA})")
    p.add_argument(
        "--max-noise",
        type=float,
        default=MAX_NOISE * 100,
        metavar="PCT",
        help=f"as for reports compare (default {MAX_NOISE * 100:g})",
    )
    p.add_argument(
        "--metric",
        choices=("time", "instructions"),
        default="time",
        help="time (alternating rounds, default) or instructions (each side counted once under callgrind)",
    )
    p.add_argument(
        "--count-threshold",
        type=float,
        default=COUNT_THRESHOLD * 100,
        metavar="PCT",
        help=f"change of instructions per call that counts (default {COUNT_THRESHOLD * 100:g})",
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
    if args.rounds is not None and args.rounds < 1:
        raise UsageError("--rounds must be >= 1")
    check_gate_options(args)
    if args.metric == "instructions" and args.rounds is not None:
        raise UsageError("--rounds: with --metric instructions each side is counted once")
    if not args.count_threshold > 0:
        raise UsageError("--count-threshold must be > 0")
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
        The gate's exit code (0, 1 or 3), 2 when a round failed or the arguments are bad, 4 when
        ``--metric instructions`` finds no valgrind.
    """
    try:
        args, selection = parse_args(sys.argv[1:] if argv is None else argv)
        sides = {"a": _side("a", args.a, args.a_dir), "b": _side("b", args.b, args.b_dir)}
        if args.metric == "instructions" and (missing := ab_counts.valgrind_missing()):
            print(f"error: {missing}", file=sys.stderr)
            return ab_counts.EXIT_NO_VALGRIND
        out = Path(args.out)
        (out / "rounds").mkdir(parents=True, exist_ok=True)
        checks = {}
        for name, side in sides.items():
            if args.checks:
                print(f"correctness checks: {name.upper()} ...", flush=True)
                checks[name] = run_checks(side, out / "rounds" / f"{name}-checks.json", selection)
        if args.metric == "instructions":
            rounds = ab_counts.run_counted(sides, out, selection, run_counted_side)
        else:
            rounds = run_rounds(sides, args.rounds, out, selection, args.alpha)
        for name, paths in rounds.items():
            merged = merge_rounds([load_run(p) for p in paths]) if args.metric == "time" else load_run(paths[0]).data
            if checks.get(name):  # the side's own correctness run is the record of its numerics
                merged["rnnsuite"]["correctness"] = checks[name]
            write_atomic(out / f"{name}.json", json.dumps(merged, indent=1))
        base, cand = _load(out / "a.json", "A"), _load(out / "b.json", "B")
        result = compare_runs(base, cand, args.threshold / 100, args.alpha, max_noise=args.max_noise / 100,
                              count_threshold=args.count_threshold / 100)  # fmt: skip
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
