"""Is a fork of the cold server as cold as a fresh process? Faults per call and time, alternating, per key.

Usage: python lab/cold_check.py KEY [KEY ...] [--rounds 5] [--threads 1] [--min-time 0.5]

For each benchmark key, ``--rounds`` times: its cold record from a fork of the cold server, then
from a fresh interpreter (the order alternates each round), both timed whatever their faults
(``--cold-every``). Prints, per key and process kind, the medians over the rounds of faults per
call and of the median time, and the fork/fresh ratio of each. A fork that is as cold as a fresh
process has a faults ratio near 1 on the rows that churn (fault counts move from block to block:
read the ratio beside the spread of the rounds).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

from rnnsuite.suite.measure.cold import run_cold


def check(key: str, rounds: int, threads: int, min_time: float) -> dict[str, Any]:
    """The rounds of one key: ``{"fork": [records], "fresh": [records]}``."""
    got: dict[str, list[dict[str, Any]]] = {"fork": [], "fresh": []}
    for i in range(rounds):
        for process in ("fork", "fresh") if i % 2 == 0 else ("fresh", "fork"):
            rec = run_cold(key, 0, threads, min_time, process=process, every=True)
            if "error" in rec:
                raise SystemExit(f"{key}: {process}: {rec['error']}")
            got[process].append(rec)
    return got


def _median(recs: list[dict[str, Any]], field: str) -> float:
    return float(statistics.median(r[field] for r in recs))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("keys", nargs="+")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=0.5)
    args = ap.parse_args(argv)
    print("| key | fork faults/call | fresh faults/call | ratio | fork ms | fresh ms | ratio | fork faults by round |")
    print("|---|---|---|---|---|---|---|---|")
    for key in args.keys:
        got = check(key, args.rounds, args.threads, args.min_time)
        ff, sf = _median(got["fork"], "minor_faults_per_call"), _median(got["fresh"], "minor_faults_per_call")
        ft, st = _median(got["fork"], "median_s") * 1e3, _median(got["fresh"], "median_s") * 1e3
        spread = ", ".join(f"{r['minor_faults_per_call']:.0f}" for r in got["fork"])
        ratio = f"{ff / sf:.2f}" if sf else "-"
        print(f"| {key} | {ff:.0f} | {sf:.0f} | {ratio} | {ft:.2f} | {st:.2f} | {ft / st:.3f} | {spread} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
