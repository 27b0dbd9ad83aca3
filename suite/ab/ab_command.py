"""``rnnsuite ab``: benchmark two interpreters or checkouts in alternating processes, merge, then gate."""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from rnnsuite.reports.command_line import USAGE, OneLineParser, UsageError
from rnnsuite.reports.gate import compare_runs
from rnnsuite.reports.gate.settings import add_gate_options, gate_settings
from rnnsuite.reports.gate.text import to_markdown, to_text
from rnnsuite.reports.runfile.atomic import write_atomic
from rnnsuite.reports.runfile.processes import add_processes
from rnnsuite.reports.runfile.reader import dump, load_run
from rnnsuite.reports.runfile.run import RunFile, RunFileError
from rnnsuite.suite.ab import counted as ab_counts
from rnnsuite.suite.ab.runner import PROCESSES, AbError, Side, run_checks, run_counted_side, run_processes

USAGE_EPILOG = """\
Options this command does not know are passed to pytest as the selection, e.g.
  rnnsuite ab --a venv-a/bin/python --b venv-b/bin/python --out out/ab -k "nn_lstm and float32" --size chapter
Put them after "--" when one could be mistaken for an option of this command.
Processes run in the order ABBA BAAB ... (Thue-Morse), so that neither side always goes first and a
slow drift of the machine falls on both sides alike.
With --metric instructions each side runs once, both at once, under valgrind's callgrind, and the
gate compares instructions per call against --count-threshold (docs/gate.md).
exit codes: 0 no regression of B against A, 1 a slowdown or a check passed -> failed, 2 a process
failed, 3 no slowdown but a benchmark inconclusive (not a pass), 4 bad arguments or valgrind not found."""


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="rnnsuite ab",
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
    add_gate_options(p)  # as for rnnsuite compare
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
            merged = add_processes([load_run(p) for p in paths]) if args.metric == "time" else load_run(paths[0]).data
            if checks.get(name):  # the side's own correctness run is the record of its numerics
                merged["rnnsuite"]["correctness"] = checks[name]
            dump(out / f"{name}.json", merged)
        base, cand = _load(out / "a.json", "A"), _load(out / "b.json", "B")
        result = compare_runs(base, cand, **args.gate)
        write_atomic(out / "compare.md", to_markdown(result))
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    except (AbError, RunFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(to_text(result), end="")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
