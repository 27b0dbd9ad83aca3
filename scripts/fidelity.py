"""Fidelity: the suite's median against torch.utils.benchmark.Timer.blocked_autorange on the same call.

Usage: python scripts/fidelity.py KEY [KEY ...] [--rounds N]
KEY is a benchmark key (``case-device-dtype-pass-backend-size-shape``). For each round the script
runs the suite's benchmark in a fresh pytest process, then times the same call with Timer in a
fresh process of its own, alternating; it prints both medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from suite.timing import BenchPoint

TIMER = r"""
import sys, torch, torch.utils.benchmark as tb
from suite.kernels import kernel_flags
from suite.timing import BenchPoint, make_call
key, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
bp = BenchPoint.from_key(key)
with kernel_flags(bp.kernel):
    call, _ = make_call(bp, 0)
    m = tb.Timer(stmt="call()", globals={"call": call}, num_threads=threads).blocked_autorange(min_run_time=1.0)
print(m.median)
"""


def suite_median(key: str, threads: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        bp = BenchPoint.from_key(key)
        cmd = [sys.executable, "-m", "pytest", "suite/test_speed.py", "-q", "-p", "no:cacheprovider",
               "--benchmark-quiet", f"--benchmark-json={out}", "--threads", str(threads), "--min-time", "1.0",
               "--size", bp.preset, "--backend", bp.backend, "--kernel", bp.kernel, "--no-peak", "-k", key]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        benches = [b for b in json.loads(out.read_text())["benchmarks"] if b["extra_info"]["key"] == key]
        return float(benches[0]["stats"]["median"])


def timer_median(key: str, threads: int) -> float:
    proc = subprocess.run([sys.executable, "-c", TIMER, key, str(threads)], check=True, capture_output=True, text=True)
    return float(proc.stdout.split()[-1])


def main() -> int:
    """Print ``key suite_ms timer_ms ratio`` per key (medians over alternating rounds)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("keys", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    for key in args.keys:
        s, t = [], []
        for _ in range(args.rounds):
            s.append(suite_median(key, args.threads))
            t.append(timer_median(key, args.threads))
        ms, mt = statistics.median(s), statistics.median(t)
        print(f"{key}  suite {ms * 1e3:.3f} ms  Timer {mt * 1e3:.3f} ms  suite/Timer {ms / mt:.3f}  "
              f"(rounds: suite {[round(v * 1e3, 3) for v in s]}, Timer {[round(v * 1e3, 3) for v in t]})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
