"""Measure the regression gate on this machine: A/A trials (false alarms) and injected slowdowns.

Usage: python scripts/gate_study.py --out DIR [--aa 30] [--inject 1.05,1.10,1.25] [--trials 10]
       [--rounds 4] [--case nn_lstm] [-- pytest selection args]

Each trial is one ``python -m suite.ab`` with the same interpreter on both sides. For an
injected slowdown, side B is a wrapper interpreter that appends ``--inject-slowdown CASE=F`` to
pytest's arguments. Results go to DIR/results.csv (one row per trial and benchmark) and a
summary with the false-alarm rate, its 95% upper bound (Clopper-Pearson) and detection rates.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

from scipy.stats import beta

from reports.compare import compare_runs
from reports.runfile import load_run

DEFAULT_SELECTION = [
    "-m", "speed", "-k", "nn_lstm-cpu-float32-fwd-eager-seed or lstm_cell-cpu-float32-fwd-eager-seed",
    "--device", "cpu", "--dtype", "float32", "--pass", "fwd", "--size", "seed", "--min-time", "0.5",
]  # fmt: skip


def wrapper(out: Path, case: str, factor: float) -> Path:
    """An executable that runs this interpreter with ``--inject-slowdown CASE=FACTOR`` appended."""
    path = out / f"python-slow-{factor}"
    path.write_text(f'#!/bin/sh\nexec {sys.executable} "$@" --inject-slowdown {case}={factor}\n')
    path.chmod(0o755)
    return path


def trial(out: Path, name: str, b_python: str, rounds: int, selection: list[str]) -> list[dict[str, object]]:
    """One suite.ab run; one row per benchmark with its verdict and the gate's exit code."""
    d = out / name
    cmd = [sys.executable, "-m", "suite.ab", "--a", sys.executable, "--b", b_python, "--rounds", str(rounds),
           "--out", str(d), *selection]  # fmt: skip
    with open(out / f"{name}.log", "w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    if rc == 2:
        return [{"trial": name, "key": "", "ratio": "", "p": "", "verdict": "error", "rc": rc}]
    res = compare_runs(load_run(d / "a.json"), load_run(d / "b.json"))
    return [{"trial": name, "key": r.key, "ratio": r.ratio, "p": r.p, "verdict": r.verdict, "rc": rc} for r in res.rows]


def upper95(k: int, n: int) -> float:
    """One-sided 95% Clopper-Pearson upper bound of a rate with k events in n trials."""
    return 1.0 if k == n else float(beta.ppf(0.95, k + 1, n - k))


def main() -> int:
    """Run the study; print and write the summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--aa", type=int, default=30)
    ap.add_argument("--inject", default="1.25,1.10,1.05")
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--case", default="nn_lstm")
    args, rest = ap.parse_known_args()
    selection = [a for a in rest if a != "--"] or DEFAULT_SELECTION
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    plan = [("aa", sys.executable, args.aa)] + [
        (f"x{f}", str(wrapper(args.out, args.case, float(f))), args.trials) for f in args.inject.split(",") if f
    ]
    lines = []
    for kind, b_python, n in plan:
        alarms = 0
        for i in range(n):
            got = trial(args.out, f"{kind}-{i:02d}", b_python, args.rounds, selection)
            rows += got
            hit = any(
                r["verdict"] == "slower" for r in got if kind == "aa" or str(r["key"]).startswith(args.case + "-")
            )
            alarms += int(hit)
            print(
                f"{kind} {i + 1}/{n}: " + ", ".join(f"{str(r['key']).split('-')[0]}={r['verdict']}" for r in got),
                flush=True,
            )
        what = "false alarms (any benchmark slower)" if kind == "aa" else f"{args.case} caught as slower"
        lines.append(f"{kind}: {alarms}/{n} {what}; 95% upper bound {upper95(alarms, n):.0%}")
    with open(args.out / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["trial", "key", "ratio", "p", "verdict", "rc"])
        w.writeheader()
        w.writerows(rows)
    (args.out / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
