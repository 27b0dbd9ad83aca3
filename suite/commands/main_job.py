"""``rnnsuite report``: the main job, in three phases, from any folder; ``rnnsuite resume`` finishes one cut short.

1. the correctness checks on every core (pytest-xdist), their records to a checks file;
2. the benchmarks in one process (timings need the machine to themselves), the run file also taking the
   checks file's records;
3. the run added to the results store, and the report built from it.

Both test phases run under the isolating supervisor (``rnnsuite isolate``): each record is journaled as
it finishes, and a test that crashes or passes the time limit is recorded against itself while the run
goes on. A run cut short (a kill, a power cut) leaves journals and no run file: the next ``rnnsuite
report`` resumes it (only what did not finish runs) unless ``--new``; a run whose torch build, machine or
options differ is not resumed. A failed check still gets its report: the exit status is the first
failing phase's, afterwards. A phase that selects nothing (pytest's 5) is no failure. Run files are
never overwritten.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rnnsuite.plugin import suite_dir
from rnnsuite.reports.command_line import USAGE, OneLineParser, UsageError

# The report's default pytest options (both test phases): the chapter's size, both kernels.
DEFAULT_ARGS = ("--size", "chapter", "--kernel", "vendor,native")
# The benchmarks' length: 5 rounds (pytest-benchmark's own default) of blocks of >= 50 ms, where
# `pytest suite` and the gate take 10 rounds and 0.5 s.
TIMING = ("--min-time", "0.25", "--min-rounds", "5")
# The benchmarks' selection (a -k among the pytest options replaces it; --select "" times everything):
# - every case in float32, bfloat16 and float16, both kernels; float64 is checked (phase 1) but not timed;
# - the layers' variants (bidir, proj, packed) and the examples (example_*) in float32, the variants with
#   the vendor kernel;
# - the built-in layers' one-layer seed shape (H20_L1) in float32 with the vendor kernel: section (b)
#   pairs each hand-written model with that row;
# - not the torch.compile'd examples (example_compiled_*: compiling is most of their time);
# - the chapter's cells as printed (lstm_cell_seed, gru_cell_seed: defect kept) in float32 only.
SELECT = (
    "not float64 and (float32 or not (bidir or proj or packed or example_)) and not (native and (H20_L1 or bidir "
    "or proj or packed)) and not ((nn_rnn or nn_lstm or nn_gru) and H20_L1 and not float32) and not "
    "example_compiled and not (_seed and not float32)"
)
NOTHING_SELECTED = 5


def parser(prog: str) -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=prog,
        description="The main job: the correctness checks on every core, the benchmarks in one process, then the "
        "results store and the report (OUT/report). A run cut short is resumed unless --new.",
        epilog="Options this command does not know go to pytest in both test phases (default: "
        f"{' '.join(DEFAULT_ARGS)}), e.g. --dtype float32 or --rnnsuite my_cases.py (your cases only); put them "
        "after -- where one could be mistaken for this command's. exit codes: as `rnnsuite --help`.",
    )
    p.add_argument("--out", type=Path, default=Path("rnnsuite-out"), help="output folder (default ./rnnsuite-out)")
    p.add_argument("--store", type=Path, default=None, help="the results store (default OUT/store)")
    p.add_argument("--new", action="store_true", help="start a new run even where an unfinished one is in OUT/runs")
    p.add_argument(
        "--select",
        default=SELECT,
        metavar="EXPR",
        help="the benchmarks' -k expression (default: the report's selection; \"\" times everything)",
    )
    return p


def unfinished(runs: Path) -> str | None:
    """The id of the newest run in ``runs`` with a checks journal and no run file, else None."""
    journals = sorted(runs.glob("checks-*.journal.jsonl"))
    if not journals:
        return None
    rid = journals[-1].name.removeprefix("checks-").removesuffix(".journal.jsonl")
    return None if (runs / f"run-{rid}.json").exists() else rid


def _isolated(args: Sequence[str]) -> int:
    return subprocess.run([sys.executable, "-m", "rnnsuite.suite.isolate", *args], check=False).returncode


def _resume(journal: Path) -> list[str]:
    return ["--resume", str(journal)] if journal.exists() else []


def _checks(runs: Path, rid: str, pytest_args: list[str]) -> int:
    checks = runs / f"checks-{rid}.json"
    return _isolated(
        [str(suite_dir()), "-m", "correctness", "-n", "auto", "--max-worker-restart=1000", "-q", "-p",
         "no:cacheprovider", "--benchmark-disable", f"--checks-json={checks}", *pytest_args,
         *_resume(runs / f"checks-{rid}.journal.jsonl")]
    )  # fmt: skip


def _benchmarks(runs: Path, rid: str, pytest_args: list[str], select: str) -> int:
    chosen = [] if not select or any(a == "-k" or a.startswith("-k") for a in pytest_args) else ["-k", select]
    return _isolated(
        [str(suite_dir() / "test_speed.py"), "-m", "speed", "-q", "-p", "no:cacheprovider", "--benchmark-quiet",
         "--benchmark-columns=median,iqr,rounds", "--benchmark-sort=fullname",
         f"--checks-from={runs / f'checks-{rid}.json'}", f"--benchmark-json={runs / f'run-{rid}.json'}",
         *TIMING, *chosen, *pytest_args, *_resume(runs / f"run-{rid}.journal.jsonl")]
    )  # fmt: skip


def _written(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def run(args: argparse.Namespace, pytest_args: list[str], rid: str, resuming: bool) -> int:
    """The three phases; the exit status of the first failing one."""
    runs = args.out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    t0, status = time.monotonic(), 0
    print("rnnsuite report: phase 1 of 3, the correctness checks on every core", flush=True)
    s = _checks(runs, rid, pytest_args)
    if s == USAGE and resuming:
        print(f"rnnsuite report: run {rid} cannot be resumed (above); starting a new run", flush=True)
        rid = time.strftime("%Y%m%d-%H%M%S")
        s = _checks(runs, rid, pytest_args)
    status = 0 if s in (0, NOTHING_SELECTED) else s
    if not _written(runs / f"checks-{rid}.json"):
        print(f"error: no checks file was written ({runs / f'checks-{rid}.json'})", file=sys.stderr)
        return status or 2
    t1 = time.monotonic()
    print(f"rnnsuite report: phase 1 took {t1 - t0:.0f} s; phase 2 of 3, the benchmarks in one process", flush=True)
    s = _benchmarks(runs, rid, pytest_args, args.select)
    status = status or (0 if s in (0, NOTHING_SELECTED) else s)
    run_file = runs / f"run-{rid}.json"
    if not _written(run_file):
        print(f"error: no run file was written ({run_file})", file=sys.stderr)
        return status or 2
    t2 = time.monotonic()
    print(f"rnnsuite report: phase 2 took {t2 - t1:.0f} s; phase 3 of 3, the report", flush=True)
    from rnnsuite.reports.output import build
    from rnnsuite.reports.runs import store

    store_dir = args.store or args.out / "store"
    s = store.main(["add", str(store_dir), str(run_file)]) or build.main(
        [str(run_file), "--out", str(args.out / "report"), "--force"]
    )
    if s:
        return s
    print(f"rnnsuite report: phase 3 took {time.monotonic() - t2:.0f} s; the report is in {args.out / 'report'}")
    return status


def _main(argv: Sequence[str], prog: str, must_resume: bool) -> int:
    p = parser(prog)
    try:
        args, rest = p.parse_known_args(list(argv))
    except SystemExit as exc:  # --help
        return int(exc.code or 0) if not isinstance(exc.code, str) else USAGE
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    if "--" in rest:
        rest.remove("--")  # the first only: what follows it is pytest's
    pytest_args = [*DEFAULT_ARGS, *rest]
    rid = None if args.new else unfinished(args.out / "runs")
    if must_resume and rid is None:
        print(f"error: {prog}: no unfinished run in {args.out / 'runs'}", file=sys.stderr)
        return 2
    if rid is not None:
        print(f"{prog}: resuming the unfinished run {rid} (only what did not finish runs; --new starts a new run)")
    return run(args, pytest_args, rid or time.strftime("%Y%m%d-%H%M%S"), rid is not None)


def main(argv: Sequence[str]) -> int:
    """``rnnsuite report``: the exit status of the first failing phase (0: every phase done, every check passed)."""
    return _main(argv, "rnnsuite report", must_resume=False)


def resume(argv: Sequence[str]) -> int:
    """``rnnsuite resume``: as ``report``, for the unfinished run in ``--out`` only (none: one line, exit 2)."""
    return _main(argv, "rnnsuite resume", must_resume=True)
