"""The cold variant of a benchmark: timed in a fresh process, right after the model is built as a user builds it.

The suite's own process has a history (earlier tests, the matmul peak, and ``memory.warm_allocator``
before each build), and with glibc that history decides whether a no-grad forward's buffers fault
in again on every call (docs/page-faults.md). A user's script that builds one model and times it
has none. So each benchmark is also timed here, in a child process that imports torch, builds the
model (``timing.make_call``), warms up as the suite does (``timing.calibrate``) and times blocks of
calls for ``--min-time`` seconds, with the page faults and resident-set peak of those blocks. The
first block is kept apart: it is what a user timing a handful of calls sees.

Usage: python -m suite.cold KEY --seed S --threads N --min-time SECONDS   (prints one JSON object)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from typing import Any

COLD_TIMEOUT_S = 600


def time_cold(key: str, seed: int, threads: int, min_time: float) -> dict[str, Any]:
    """Build and time one benchmark in this (fresh) process; the run file's ``cold`` record."""
    import time

    import torch

    from suite.memory import Probe
    from suite.timing import BenchPoint, calibrate, make_call, synchronizer, time_block

    torch.set_num_threads(threads)
    bp = BenchPoint.from_key(key)
    call, _ = make_call(bp, seed)
    sync = synchronizer(bp.device)
    n, _, _ = calibrate(call, sync, min_time)
    probe = Probe()
    probe.start()
    blocks, end = [], time.perf_counter() + min_time
    while len(blocks) < 3 or time.perf_counter() < end:
        blocks.append(time_block(call, sync, n))
    memory = probe.stop(n * len(blocks))
    return {
        "median_s": statistics.median(blocks),
        "first_block_s": blocks[0],
        "block": n,
        "blocks": len(blocks),
        "threads": torch.get_num_threads(),
    } | memory


def run_cold(key: str, seed: int, threads: int, min_time: float) -> dict[str, Any]:
    """``time_cold`` in a fresh child process (the environment, ``LD_PRELOAD`` included, is inherited).

    Returns:
        The ``cold`` record, or ``{"error": one line}`` when the child failed.
    """
    cmd = [sys.executable, "-m", "suite.cold", key, "--seed", str(seed), "--threads", str(threads)]
    cmd += ["--min-time", str(min_time)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=COLD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"the cold process ran past {COLD_TIMEOUT_S} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"the cold process exited with {proc.returncode}: {last[:300]}"}
    try:
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    except (json.JSONDecodeError, IndexError):
        return {"error": f"the cold process printed no record: {proc.stdout[-200:]!r}"}


def main() -> int:
    """Print the cold record of one benchmark key as one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("key")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=0.5)
    args = ap.parse_args()
    print(json.dumps(time_cold(args.key, args.seed, args.threads, args.min_time)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
