"""Noise trace: how a machine's speed moves while one benchmark call runs again and again.

Usage: python lab/noise_trace.py KEY [--seconds 40] [--block 0.01] [--threads 1] [--processes 0]

KEY is a benchmark key (``case-device-dtype-pass-backend-size-shape``, as in a run file). The
script times the call in back-to-back blocks of ``--block`` seconds for ``--seconds`` in one
process and prints: the median of every second (does the machine switch between speeds?), and
IQR/median of the blocks when consecutive blocks are averaged into longer samples (does a longer
block average the noise away, or does it last longer than any block?). With ``--processes P`` it
then runs P fresh processes of 1 s each, one after the other, and prints each one's median (how
far apart are processes?). The regression gate's noise limit is IQR/median 10% (docs/gate.md):
when none of the sample lengths gets under it, the gate will say ``inconclusive`` on this machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def trace(key: str, seconds: float, block: float, threads: int) -> list[float]:
    """Seconds per call of consecutive blocks of about ``block`` seconds, for ``seconds``."""
    import torch

    from rnnsuite.suite.harness.points import Point
    from rnnsuite.suite.measure.timing import make_call, synchronizer, time_block

    torch.set_num_threads(threads)
    try:
        bp = Point.from_key(key)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    if bp.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"error: {key!r}: no CUDA device here")
    call, _ = make_call(bp, 0)
    sync = synchronizer(bp.device)
    warm_until = time.perf_counter() + 0.2
    while time.perf_counter() < warm_until:
        call()
    n = max(1, round(block / time_block(call, sync, 5)))
    out, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        out.append(time_block(call, sync, n))
    return out


def iqr_ratio(x: np.ndarray) -> float:
    """IQR/median."""
    q1, q3 = np.percentile(x, [25, 75])
    return float((q3 - q1) / np.median(x))


def main() -> int:
    """Trace, then print the per-second medians, the noise per sample length and the process medians."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("key")
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--block", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--processes", type=int, default=0)
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # a child process's output
    args = ap.parse_args()
    if args.json:
        print(json.dumps(trace(args.key, args.seconds, args.block, args.threads)))
        return 0
    x = np.array(trace(args.key, args.seconds, args.block, args.threads))
    per_s = max(1, int(len(x) / args.seconds))
    seconds = [float(np.median(x[i : i + per_s])) * 1e3 for i in range(0, len(x) - per_s + 1, per_s)]
    print(
        f"{args.key}: {len(x)} blocks of ~{args.block * 1e3:.0f} ms in {args.seconds:.0f} s, {args.threads} thread(s)"
    )
    print(f"median {np.median(x) * 1e3:.3f} ms, fastest second {min(seconds):.3f} ms, slowest {max(seconds):.3f} ms")
    print("median of each second (ms): " + " ".join(f"{v:.2f}" for v in seconds))
    for length in (0.05, 0.2, 1.0, 4.0):
        k = max(1, round(length / (args.seconds / len(x))))
        if len(x) // k >= 8:
            samples = x[: len(x) // k * k].reshape(-1, k).mean(axis=1)
            print(f"samples of {length:g} s: {len(samples)}, IQR/median {iqr_ratio(samples):.1%}")
    if args.processes:
        meds = []
        for _ in range(args.processes):
            cmd = [sys.executable, __file__, args.key, "--seconds", "1", "--block", str(args.block),
                   "--threads", str(args.threads), "--json"]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                raise SystemExit(f"error: a child process failed (exit code {proc.returncode}): {last}")
            meds.append(float(np.median(json.loads(proc.stdout))))
        m = np.array(meds)
        print(f"{args.processes} processes of 1 s, medians (ms): " + " ".join(f"{v * 1e3:.2f}" for v in m))
        print(f"between processes: IQR/median {iqr_ratio(m):.1%}, max/min {m.max() / m.min():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
