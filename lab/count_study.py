"""Measure the gate on instruction counts: A/A pairs of independent processes, and injected extra work.

Usage: python lab/count_study.py --out DIR [--plain 60] [--inject 2,5,10,25] [--trials 5] [--case nn_lstm]
           [--jobs 2] [--judge-only] -- [pytest selection]

Each process runs the benchmark tier once under callgrind (``--metric instructions``) with its own
hash seed and environment size (suite.ab.counted.side_env), as suite.ab runs a side. A trial is a
pair of processes that shares no process with another trial of its kind, so trials are
independent: A/A trials pair plain processes 1-2, 3-4, ...; injected trial j (``--inject-work
CASE=PCT`` on the candidate, ``--trials`` per percentage) has plain process j as its base.
Every pair of plain processes is judged too (``A/A-all``: more comparisons, not independent).
Results go to DIR/study.csv, each process's wall and CPU seconds to DIR/processes.csv.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnnsuite.reports.gate import compare_runs  # noqa: E402
from rnnsuite.reports.runfile.reader import load_run  # noqa: E402
from rnnsuite.suite.ab.counted import counted_command, side_env  # noqa: E402


def run_one(name: str, out: Path, selection: list[str], env: dict[str, str]) -> tuple[str, float, float]:
    """One counted process; returns (name, wall seconds, CPU seconds of the process and its children)."""
    path = out / f"{name}.json"
    if path.is_file():
        return name, 0.0, 0.0
    cmd = counted_command(sys.executable, path, selection)
    start = time.perf_counter()
    with (out / f"{name}.log").open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed: exit code {proc.returncode}; see {out / (name + '.log')}")
    print(f"{name}: {wall:.0f} s wall, {usage.ru_utime + usage.ru_stime:.0f} s CPU", flush=True)
    return name, wall, usage.ru_utime + usage.ru_stime


def judge(out: Path, plain: list[str], injected: list[str]) -> list[dict[str, object]]:
    """The independent trials (disjoint pairs), then every pair of plain processes; one row per benchmark."""
    done = [n for n in plain if (out / f"{n}.json").is_file()]
    rows: list[dict[str, object]] = []
    trials = [("A/A", a, b) for a, b in zip(done[0::2], done[1::2], strict=False)]
    trials += [
        (inj.split("-")[0], base, inj)
        for base, inj in zip(done, injected, strict=False)
        if (out / f"{inj}.json").is_file()
    ]
    trials += [("A/A-all", a, b) for a, b in itertools.combinations(done, 2)]
    runs: dict[str, Any] = {}
    for kind, a, b in trials:
        for n in (a, b):
            runs.setdefault(n, load_run(out / f"{n}.json"))
        res = compare_runs(runs[a], runs[b])
        for r in res.rows:
            rows.append({"kind": kind, "base": a, "cand": b, "key": r.key, "ratio": f"{r.ratio:.6f}",
                         "verdict": r.verdict, "exit_code": res.exit_code})  # fmt: skip
    return rows


def processes_cpu(path: Path) -> list[float]:
    """The CPU seconds of each counted process (DIR/processes.csv; processes skipped on a rerun count 0)."""
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return [float(row[2]) for row in csv.reader(fh) if len(row) == 3 and float(row[2]) > 0]


def main() -> int:
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--plain", type=int, default=60)
    ap.add_argument("--inject", default="2,5,10,25")
    ap.add_argument("--trials", type=int, default=5, help="injected processes per percentage")
    ap.add_argument("--case", default="nn_lstm")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--judge-only", action="store_true")
    args = ap.parse_args(argv[:cut])
    selection = argv[cut + 1 :]
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    plain = [f"plain-{i}" for i in range(1, args.plain + 1)]
    pcts = [p for p in args.inject.split(",") if p]
    injected = [f"x{p}-{k}" for k in range(1, args.trials + 1) for p in pcts]
    jobs = [(n, selection, side_env(rng)) for n in plain]
    extra = [(n, [*selection, "--inject-work", f"{args.case}={n[1:].split('-')[0]}"], side_env(rng)) for n in injected]
    # Two plain processes (an A/A trial) then an injected one, so that a study cut short still has
    # whole trials of both kinds; processes already started (a log exists) go last, where an
    # existing run file skips them.
    pairs = [jobs[i : i + 2] for i in range(0, len(jobs), 2)]
    jobs = [j for group in itertools.zip_longest(pairs, [[e] for e in extra], fillvalue=[]) for g in group for j in g]
    jobs.sort(key=lambda j: (args.out / f"{j[0]}.log").exists())
    if not args.judge_only:
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            done = list(pool.map(lambda j: run_one(j[0], args.out, j[1], j[2]), jobs))
        with (args.out / "processes.csv").open("a", newline="") as fh:
            csv.writer(fh).writerows(done)
        print(f"all processes: {time.perf_counter() - start:.0f} s wall", flush=True)
    rows = judge(args.out, plain, injected)
    with (args.out / "study.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for kind in dict.fromkeys(str(r["kind"]) for r in rows):
        for key in dict.fromkeys(str(r["key"]) for r in rows if r["kind"] == kind):
            sel = [r for r in rows if r["kind"] == kind and r["key"] == key]
            ratios = [float(str(r["ratio"])) for r in sel]
            verdicts = ", ".join(f"{n} {v}" for v, n in Counter(str(r["verdict"]) for r in sel).most_common())
            print(f"{kind:7} {key.split('-')[0] + ' ' + key.split('-')[3]:16} {len(sel):4} comparisons: {verdicts}; "
                  f"ratio {min(ratios):.5f}-{max(ratios):.5f}")  # fmt: skip
    cpu = processes_cpu(args.out / "processes.csv")
    if cpu:
        print(f"CPU a process: median {statistics.median(cpu):.0f} s, {min(cpu):.0f}-{max(cpu):.0f} s over {len(cpu)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
