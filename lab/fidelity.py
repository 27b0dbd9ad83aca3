"""Fidelity: the suite's median against torch.utils.benchmark.Timer.blocked_autorange on the same call.

Usage: python lab/fidelity.py KEY [KEY ...] [--rounds N] [--fresh]
       python lab/fidelity.py --fresh --deepbench [--rounds 5]
KEY is a benchmark key (``case-device-dtype-pass-backend-size-shape``). For each round the script
runs the suite's benchmark in a fresh pytest process, then times the same call with Timer in a
fresh process of its own, alternating; it prints both medians and their ratio.

``--fresh`` times what a user times instead of the suite's call: a layer freshly constructed with
``torch.nn.LSTM/GRU/RNN(I, H, L)`` in a fresh process that imports nothing of the suite, run under
``torch.no_grad()`` (forward keys only). It prints the suite's warm median and its cold one (the
fresh-process variant, docs/run-file.md) against Timer, and names the state where the warm median
is more than 5% off while the cold one agrees. ``--deepbench`` selects every DeepBench forward of
nn_lstm, nn_gru and nn_rnn (float32, CPU, eager).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from rnnsuite.suite.harness.points import Point

TIMER = r"""
import sys, torch, torch.utils.benchmark as tb
from rnnsuite.suite.harness.kernels import kernel_flags
from rnnsuite.suite.measure.timing import make_call
key, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
bp = Point.from_key(key)
with kernel_flags(bp.kernel):
    call, _ = make_call(bp, 0)
    m = tb.Timer(stmt="call()", globals={"call": call}, num_threads=threads).blocked_autorange(min_run_time=1.0)
print(m.median)
"""


FRESH = r"""
import sys, torch, torch.utils.benchmark as tb
mode, t, b, i, h, layers, threads = sys.argv[1], *map(int, sys.argv[2:])
torch.set_num_threads(threads)
layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[mode](i, h, layers)
x = torch.randn(t, b, i)
def call():
    with torch.no_grad():
        return layer(x)
m = tb.Timer(stmt="call()", globals={"call": call}, num_threads=threads).blocked_autorange(min_run_time=1.0)
print(m.median)
"""
TOLERANCE = 0.05
LAYERS = ("nn_lstm", "nn_gru", "nn_rnn")


def suite_bench(key: str, threads: int) -> dict[str, Any]:
    """The run-file entry of one benchmark, run by the suite in a fresh pytest process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        bp = Point.from_key(key)
        cmd = [sys.executable, "-m", "pytest", "suite/test_speed.py", "-q", "-p", "no:cacheprovider",
               "--benchmark-quiet", f"--benchmark-json={out}", "--threads", str(threads), "--min-time", "1.0",
               "--size", bp.preset, "--backend", bp.backend, "--kernel", bp.kernel, "--no-peak", "--cold-every",
               "-k", key]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        return dict(next(b for b in json.loads(out.read_text())["benchmarks"] if b["extra_info"]["key"] == key))


def suite_median(key: str, threads: int) -> float:
    """The suite's (warm) median of one benchmark."""
    return float(suite_bench(key, threads)["stats"]["median"])


def suite_medians(key: str, threads: int) -> tuple[float, float]:
    """The suite's warm median and its cold median (``--cold-every``: a fresh interpreter), one run."""
    bench = suite_bench(key, threads)
    return float(bench["stats"]["median"]), float(bench["extra_info"]["cold"]["median_s"])


def fresh_median(key: str, threads: int) -> float:
    """Timer's median of a freshly constructed built-in layer of the key's shape, in a fresh process."""
    bp = Point.from_key(key)
    if bp.case.name not in LAYERS or bp.pass_ != "fwd" or (bp.device, bp.dtype_name) != ("cpu", "float32"):
        raise SystemExit(f"--fresh: {key} is not a float32 CPU forward of {', '.join(LAYERS)}")
    s = bp.bench_size
    args = [bp.case.family, s.seq_len, s.batch, s.input_size, s.hidden_size, s.num_layers, threads]
    proc = subprocess.run([sys.executable, "-c", FRESH, *map(str, args)], check=True, capture_output=True, text=True)
    return float(proc.stdout.split()[-1])


def spread(rounds: list[float]) -> float:
    """Interquartile range over median of a side's round medians."""
    q1, med, q3 = statistics.quantiles(rounds, n=4) if len(rounds) > 1 else (rounds[0],) * 3
    return (q3 - q1) / med


def verdict(warm: float, cold: float, timer: float, noise: float = 0.0) -> str:
    """Whether the suite agrees with Timer on a fresh layer within 5%, or the state that explains the difference.

    ``noise`` is the largest ``spread`` of the three sides' rounds: above 10%, a difference is not judged.
    """
    if abs(warm / timer - 1) <= TOLERANCE:
        return "holds (warm)"
    if abs(cold / timer - 1) <= TOLERANCE:
        return "state: the warm process differs; the cold (fresh-process) median agrees"
    if noise > 2 * TOLERANCE:
        return f"inconclusive: the rounds spread {noise:.0%} (IQR / median); run more rounds on a quieter machine"
    return "differs in both states"


def deepbench_keys() -> list[str]:
    """Every DeepBench-size float32 CPU eager forward of the built-in layers."""
    from rnnsuite.cases import CASES

    return [
        Point.benchmark(CASES[c], "cpu", torch.float32, "fwd", "eager", "deepbench", size).id
        for c in LAYERS
        for size in CASES[c].sizes["deepbench"]
    ]


def fresh_rounds(key: str, rounds: int, threads: int) -> None:
    """Print one key's fresh-mode line: the medians over alternating rounds and the verdict."""
    warm, cold, timer = [], [], []
    for _ in range(rounds):
        w, c = suite_medians(key, threads)
        warm.append(w)
        cold.append(c)
        timer.append(fresh_median(key, threads))
    mw, mc, mt = (statistics.median(v) for v in (warm, cold, timer))
    print(f"{key}  suite warm {mw * 1e3:.3f} ms  suite cold {mc * 1e3:.3f} ms  Timer(fresh) {mt * 1e3:.3f} ms  "
          f"warm/Timer {mw / mt:.3f}  cold/Timer {mc / mt:.3f}  {verdict(mw, mc, mt, max(map(spread, (warm, cold, timer))))}  "
          f"(rounds ms: warm {[round(v * 1e3, 2) for v in warm]}, cold {[round(v * 1e3, 2) for v in cold]}, "
          f"Timer {[round(v * 1e3, 2) for v in timer]})", flush=True)  # fmt: skip


def timer_median(key: str, threads: int) -> float:
    proc = subprocess.run([sys.executable, "-c", TIMER, key, str(threads)], check=True, capture_output=True, text=True)
    return float(proc.stdout.split()[-1])


def main() -> int:
    """Print ``key suite_ms timer_ms ratio`` per key (medians over alternating rounds)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("keys", nargs="*")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fresh", action="store_true", help="against Timer on a freshly constructed built-in layer")
    ap.add_argument("--deepbench", action="store_true", help="every DeepBench forward of nn_lstm, nn_gru, nn_rnn")
    args = ap.parse_args()
    keys = args.keys + (deepbench_keys() if args.deepbench else [])
    if not keys or args.rounds < 1:
        ap.error("give a benchmark KEY or --deepbench, and --rounds of at least 1")
    if args.fresh:
        for key in keys:
            fresh_rounds(key, args.rounds, args.threads)
        return 0
    for key in keys:
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
