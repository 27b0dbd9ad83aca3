"""Measure the gate on instruction counts: A/A pairs of independent processes, and injected extra work.

Usage: python scripts/count_study.py --out DIR [--plain 9] [--inject 2,5,10,25] [--case nn_lstm] [--jobs 2]
           [--judge-only] -- [pytest selection]

Each process runs the benchmark tier once under callgrind (``--metric instructions``) with its own
hash seed and environment size (suite.ab_counts.side_env), as suite.ab runs a side. The plain
processes are the A/A pool: every pair of two of them is one A/A comparison (the first ``--pairs``
pairs in a fixed order). Each injected process (``--inject-work CASE=PCT``) is compared with every
plain process. Counts of one process do not depend on another, so a pair is as independent as its
two processes; pairs that share a process share that process's draw. Results go to DIR/study.csv.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reports.gate import compare_runs  # noqa: E402
from reports.runfile import load_run  # noqa: E402
from suite.ab_counts import counted_command, side_env  # noqa: E402


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


def judge(out: Path, plain: list[str], injected: list[str], pairs: int) -> list[dict[str, object]]:
    """Every A/A pair and every injected-against-plain comparison, one row per benchmark."""
    rows: list[dict[str, object]] = []
    aa = list(itertools.combinations(plain, 2))[:pairs]
    trials = [("A/A", a, b) for a, b in aa] + [(inj.split("-")[0], p, inj) for inj in injected for p in plain]
    for kind, a, b in trials:
        res = compare_runs(load_run(out / f"{a}.json"), load_run(out / f"{b}.json"))
        for r in res.rows:
            rows.append({"kind": kind, "base": a, "cand": b, "key": r.key, "ratio": f"{r.ratio:.6f}",
                         "verdict": r.verdict, "exit_code": res.exit_code})  # fmt: skip
    return rows


def main() -> int:
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--plain", type=int, default=9)
    ap.add_argument("--pairs", type=int, default=30)
    ap.add_argument("--inject", default="2,5,10,25")
    ap.add_argument("--case", default="nn_lstm")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--judge-only", action="store_true")
    args = ap.parse_args(argv[:cut])
    selection = argv[cut + 1 :]
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    plain = [f"plain-{i}" for i in range(1, args.plain + 1)]
    injected = [f"x{p}-1" for p in args.inject.split(",") if p]
    jobs = [(n, selection, side_env(rng)) for n in plain]
    extra = [(n, [*selection, "--inject-work", f"{args.case}={n[1:].split('-')[0]}"], side_env(rng)) for n in injected]
    # Injected and plain processes alternate, so that a study cut short still has both kinds;
    # processes already started (a log exists) go last, where an existing run file skips them.
    jobs = [j for pair in itertools.zip_longest(extra, jobs) for j in pair if j is not None]
    jobs.sort(key=lambda j: (args.out / f"{j[0]}.log").exists())
    if not args.judge_only:
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            done = list(pool.map(lambda j: run_one(j[0], args.out, j[1], j[2]), jobs))
        with (args.out / "processes.csv").open("a", newline="") as fh:
            csv.writer(fh).writerows(done)
        print(f"all processes: {time.perf_counter() - start:.0f} s wall", flush=True)
    rows = judge(args.out, plain, injected, args.pairs)
    with (args.out / "study.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for kind in dict.fromkeys(str(r["kind"]) for r in rows):
        for key in dict.fromkeys(str(r["key"]) for r in rows if r["kind"] == kind):
            sel = [r for r in rows if r["kind"] == kind and r["key"] == key]
            ratios = [float(str(r["ratio"])) for r in sel]
            slower = sum(r["verdict"] == "slower" for r in sel)
            print(f"{kind:5} {key[:40]:40} {len(sel):3} comparisons, {slower:3} slower, "
                  f"ratio {min(ratios):.5f}-{max(ratios):.5f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
