"""Measure the regression gate on this machine: A/A trials (false alarms) and injected slowdowns.

Usage: python lab/gate_study.py --out DIR [--aa 30] [--inject 1.05,1.10,1.25] [--trials 10]
       [--rounds 8] [--case nn_lstm] [-- pytest selection args]
       python lab/gate_study.py --out DIR --rejudge [--max-noise PCT] [--power]

Each trial is one ``rnnsuite ab`` with the same interpreter on both sides. For an
injected slowdown, side B is a wrapper interpreter that appends ``--inject-slowdown CASE=F`` to
pytest's arguments (the case's timed work is scaled by F). Every trial keeps its rounds in
DIR/<trial>/processes, and is judged by merging them and running the gate's ``compare_runs``, so
``--rejudge`` can judge a finished study again with the current rules, measuring nothing.
Results go to DIR/results.csv (one row per trial and benchmark; ``rc`` is the gate's exit code, 2 for
a trial whose suite.ab run failed) and DIR/summary.txt: the
false-alarm rate with its 95% upper bound (Clopper-Pearson), and the detection rate per level.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import beta

from rnnsuite.reports.gate import compare_runs
from rnnsuite.reports.gate.stats import ALPHA, MAX_NOISE, u_test
from rnnsuite.reports.runfile.processes import add_processes
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.run import RunFile

DEFAULT_SELECTION = [
    "--no-checks", "--no-peak", "-m", "speed",
    "-k", "nn_lstm-cpu-float32-fwd-eager-seed or char_rnn-cpu-float32-fwd-eager-seed",
    "--device", "cpu", "--dtype", "float32", "--pass", "fwd", "--size", "chapter", "--min-time", "0.5", "--threads", "1",
]  # fmt: skip
FIELDS = ["trial", "key", "ratio", "p", "p_processes", "noise_base", "noise_cand", "verdict", "reason", "rc"]


def wrapper(out: Path, case: str, factor: float, option: str = "--inject-slowdown") -> Path:
    """An executable that runs this interpreter with ``--inject-slowdown CASE=FACTOR`` (or ``option``) appended."""
    path = out / f"python-{option.rsplit('-', 1)[1]}-{factor}"
    path.write_text(f'#!/bin/sh\nexec {sys.executable} "$@" {option} {case}={factor:g}\n')
    path.chmod(0o755)
    return path


def finished(d: Path) -> bool:
    """Whether a trial's suite.ab run merged both sides (a failed trial merged nothing)."""
    return (d / "a.json").is_file() and (d / "b.json").is_file()


def processes_dir(d: Path) -> Path:
    """Where a trial's suite.ab run keeps its processes' run files (``rounds/`` in trials run before the rename)."""
    return d / "processes" if (d / "processes").is_dir() else d / "rounds"


def merged(d: Path, side: str) -> RunFile:
    """A side's rounds of a trial, merged as suite.ab merges them (round medians included)."""
    paths = sorted(processes_dir(d).glob(f"{side}-[0-9]*.json"), key=lambda p: int(p.stem.split("-")[1]))
    data = add_processes([load_run(p) for p in paths])
    return RunFile(path=d / f"{side}.json", data=data, label=side)


def judge(d: Path, max_noise: float = MAX_NOISE) -> list[dict[str, Any]]:
    """One row per benchmark of a finished trial: ratio, p over samples and rounds, noise, verdict."""
    base, cand = merged(d, "a"), merged(d, "b")
    res = compare_runs(base, cand, max_noise=max_noise)
    return [
        {
            "trial": d.name,
            "key": r.key,
            "ratio": r.ratio,
            "p": r.p,
            "p_processes": "" if r.p_process is None else r.p_process,
            "noise_base": r.noise[0] if r.noise else "",
            "noise_cand": r.noise[1] if r.noise else "",
            "verdict": r.verdict,
            "reason": r.reason,
            "rc": res.exit_code,
        }
        for r in res.rows
    ]


def trial(
    out: Path, name: str, b_python: str, rounds: int, selection: list[str], max_noise: float
) -> list[dict[str, Any]]:
    """One suite.ab run, then its judgement."""
    d = out / name
    if finished(d):  # run before: judge it again, measure nothing
        return judge(d, max_noise)
    cmd = [sys.executable, "-m", "rnnsuite", "ab", "--a", sys.executable, "--b", b_python, "--rounds", str(rounds),
           "--out", str(d), *selection]  # fmt: skip
    with open(out / f"{name}.log", "w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    if rc == 2:
        return [{"trial": name, "key": "", "verdict": "error", "rc": rc}]
    return judge(d, max_noise)


def upper95(k: int, n: int) -> float:
    """One-sided 95% Clopper-Pearson upper bound of a rate with k events in n trials."""
    return 1.0 if k == n else float(beta.ppf(0.95, k + 1, n - k))


def summary(rows: list[dict[str, Any]], case: str) -> list[str]:
    """Per kind of trial (aa, x1.25, ...): false alarms or detections, ratios, noise, verdicts."""
    lines = []
    kinds = list(dict.fromkeys(str(r["trial"]).split("-")[0] for r in rows))
    for kind in kinds:
        mine = [r for r in rows if str(r["trial"]).split("-")[0] == kind]
        trials = sorted({r["trial"] for r in mine})
        target = [r for r in mine if kind != "aa" and str(r["key"]).startswith(case + "-")]
        others = [r for r in mine if r not in target]
        alarms = len({r["trial"] for r in others if r["verdict"] == "slower"})
        noise = [
            float(r[f"noise_{s}"]) for r in mine if r.get("noise_base") not in (None, "") for s in ("base", "cand")
        ]
        noise_text = (
            f"pooled IQR/median median {statistics.median(noise):.0%} (range {min(noise):.0%}-{max(noise):.0%})"
            if noise
            else ""
        )
        if kind == "aa":
            lines.append(f"aa: {alarms}/{len(trials)} trials with a false alarm (any benchmark slower); "
                         f"95% upper bound {upper95(alarms, len(trials)):.0%}; {noise_text}; "
                         f"verdicts {dict(Counter(r['verdict'] for r in mine))}")  # fmt: skip
            continue
        caught = sum(r["verdict"] == "slower" for r in target)
        ratios = [float(r["ratio"]) for r in target if r.get("ratio") not in (None, "")]
        lines.append(
            f"{kind}: {caught}/{len(trials)} {case} caught as slower (95% upper bound {upper95(caught, len(trials)):.0%}); "
            f"measured ratios {min(ratios, default=0):.2f}-{max(ratios, default=0):.2f} (median "
            f"{statistics.median(ratios) if ratios else 0:.2f}); verdicts {dict(Counter(r['verdict'] for r in target))}; "
            f"false alarms on the other benchmarks {alarms}/{len(trials)}; {noise_text}"
        )
    return lines


def power(out: Path, case: str, alpha: float, draws: int = 400) -> list[str]:
    """Detection rate against rounds a side, by resampling the round medians the injected trials measured.

    For each kind of injected trial, the round medians of ``case`` are pooled per side over its
    trials; ``draws`` times, r rounds a side are drawn with replacement and the gate's exact
    one-sided U test is run on them. The share with p < alpha estimates how often that many
    rounds would find the slowdown significant on this machine (before the noise limit and the
    ratio threshold). An estimate, not a trial: rounds of one trial are not independent draws.
    """
    rng = np.random.default_rng(0)
    lines = []
    kinds = sorted({d.name.split("-")[0] for d in out.iterdir() if (d / "a.json").is_file()} - {"aa"})
    for kind in kinds:
        sides: dict[str, list[float]] = {"a": [], "b": []}
        for d in sorted(out.glob(f"{kind}-*")):
            if finished(d):
                for side, values in sides.items():
                    run = merged(d, side)
                    for b in run.benchmarks:
                        if b["extra_info"]["case"] == case:
                            values += [float(m) for m in run.process_medians(b) or []]
        a, b = np.array(sides["a"]), np.array(sides["b"])
        if a.size < 2 or b.size < 2:
            continue
        rates = []
        for r in (8, 16, 24, 32, 48):
            hits = sum(u_test(rng.choice(a, r), rng.choice(b, r), "exact")[0] < alpha for _ in range(draws))
            rates.append(f"{r}: {hits / draws:.0%}")
        lines.append(f"{kind}: {case} found slower (p < {alpha:g}) with r rounds a side, resampled from "
                     f"{a.size} + {b.size} measured rounds: " + ", ".join(rates))  # fmt: skip
    return lines


def main() -> int:
    """Run (or re-judge) the study; print and write the summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--aa", type=int, default=30)
    ap.add_argument("--inject", default="1.25,1.10,1.05")
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--case", default="nn_lstm")
    ap.add_argument(
        "--work", action="store_true", help="--inject gives percents of extra sequence (--inject-work), not factors"
    )
    ap.add_argument("--rejudge", action="store_true", help="judge the trials kept in --out again; measure nothing")
    ap.add_argument(
        "--max-noise", type=float, default=MAX_NOISE * 100, help="the gate's noise limit (percent) to judge with"
    )
    ap.add_argument("--power", action="store_true", help="with --rejudge: detection rate against rounds, resampled")
    args, rest = ap.parse_known_args()
    selection = [a for a in rest if a != "--"] or DEFAULT_SELECTION
    rows: list[dict[str, Any]] = []
    if args.rejudge:
        for d in sorted(p for p in args.out.iterdir() if processes_dir(p).is_dir()):
            rows += (
                judge(d, args.max_noise / 100)
                if finished(d)
                else [{"trial": d.name, "key": "", "verdict": "error", "rc": 2}]
            )
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        option = "--inject-work" if args.work else "--inject-slowdown"
        plan = [("aa", sys.executable, args.aa)] + [
            (f"x{f}", str(wrapper(args.out, args.case, float(f), option)), args.trials)
            for f in args.inject.split(",")
            if f
        ]
        for kind, b_python, n in plan:
            for i in range(n):
                got = trial(args.out, f"{kind}-{i:02d}", b_python, args.rounds, selection, args.max_noise / 100)
                rows += got
                verdicts = ", ".join(f"{str(r['key']).split('-')[0]}={r['verdict']}" for r in got)
                print(f"{kind} {i + 1}/{n}: {verdicts}", flush=True)
    with open(args.out / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, restval="")
        w.writeheader()
        w.writerows(rows)
    lines = summary(rows, args.case) + (power(args.out, args.case, ALPHA) if args.power else [])
    (args.out / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
