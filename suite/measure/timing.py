"""All timing: one calibrated block timer, the matmul peak, and the benchmark entry point.

Following torch.utils.benchmark: a block of N calls is timed as one and CUDA is synchronised at
block boundaries only, never per call; N grows until a block is long enough for the timer's own
cost to vanish. pytest-benchmark then times rounds of such blocks and keeps every round's time.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from rnnsuite.suite.harness.builds import build_as_user
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.measure.inject import block_for, prefix_inputs, scaled, then
from rnnsuite.suite.measure.memory import Probe
from rnnsuite.vocabulary import dtype_name

MIN_BLOCK_S = 0.05  # a timed block lasts at least this long: shorter blocks spread more (docs/notes/cpu-speed.md)
MIN_ROUNDS, MAX_ROUNDS = 10, 1000
WARMUP_CALLS, WARMUP_S = 3, 0.05  # the warm-up before the timed rounds: at least this many calls and seconds
PEAK_BLOCKS = 3  # matmul_peak: the best of this many blocks per size
PEAK_NEXT_S = 0.25  # matmul_peak: no larger size whose one product would take longer than this (was 0.8)


def synchronizer(device: str) -> Callable[[], None]:
    """What waits for the device: ``torch.cuda.synchronize`` on CUDA, nothing on the CPU."""
    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


def time_block(fn: Callable[[], object], sync: Callable[[], None], n: int) -> float:
    """Seconds per call of ``n`` back-to-back calls, synchronised once at the end."""
    sync()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return (time.perf_counter() - start) / n


def calibrate(
    fn: Callable[[], object],
    sync: Callable[[], None],
    min_time: float,
    min_rounds: int = MIN_ROUNDS,
    profile: Callable[[Callable[[], object]], object] | None = None,
) -> tuple[int, int, float]:
    """Warm up, timing each call, then choose calls per block and rounds (at least ``min_rounds``).

    The warm-up is at least ``WARMUP_CALLS`` calls and ``WARMUP_S`` seconds, each call synchronised
    and timed on its own; the block is sized from the median of those calls after the first (which
    carries the lazy set-up), so that no call runs only to size the block.

    Args:
        profile: called with ``fn`` in place of the second warm-up call (the kernel record's profiled
            call is then a warm-up call too; at least one plain call follows it); its time is not used.

    Returns:
        ``(calls per block, rounds, seconds per call)``.
    """
    times: list[float] = []
    start, calls = time.perf_counter(), 0
    while calls < WARMUP_CALLS or time.perf_counter() - start < WARMUP_S:
        if profile is not None and calls == 1:
            profile(fn)
        else:
            times.append(time_block(fn, sync, 1))
        calls += 1
    per_call = max(statistics.median(times[1:] or times), 1e-9)
    n = max(1, math.ceil(MIN_BLOCK_S / per_call - 1e-9))
    rounds = int(min(MAX_ROUNDS, max(min_rounds, min_time / (per_call * n))))
    return n, rounds, per_call


def measure(
    benchmark: Any,
    fn: Callable[[], object],
    device: str,
    min_time: float,
    slowdown: float = 1.0,
    min_rounds: int = MIN_ROUNDS,
    profile: Callable[[Callable[[], object]], object] | None = None,
) -> dict[str, Any]:
    """Time ``fn`` with pytest-benchmark: calibrated blocks, one sync per block, raw rounds kept.

    Args:
        benchmark: the pytest-benchmark fixture.
        fn: one call of the work.
        device: "cpu" or "cuda".
        min_time: seconds of timed rounds to aim for.
        min_rounds: timed rounds at least (``--min-rounds``).
        profile: run on one warm-up call (``calibrate``): the kernel record's profiled call.
        slowdown: >= 1; the work of each call is scaled by it (see ``scaled``; gate studies only).
            Calibration sees the unscaled call; the block is then raised so that every block runs
            the same whole number of extra calls (``block_for``).

    Returns:
        ``{"block": calls per round, "rounds": rounds, "injected_slowdown": the work per call
        actually timed, relative to one call}`` and the memory fields of ``Probe.stop`` over
        the timed rounds. pytest-benchmark runs no warm-up round of its own: ``calibrate`` warmed
        the call up just before (pytest-benchmark's default is none either, outside PyPy).
    """
    sync = synchronizer(device)
    if benchmark.disabled:  # --benchmark-disable / xdist: one untimed call, as pytest-benchmark does
        benchmark.pedantic(fn)
        return {"block": 1, "rounds": 1, "injected_slowdown": 1.0}
    n, rounds, _ = calibrate(fn, sync, min_time, min_rounds, profile)
    n = block_for(n, slowdown)
    work = scaled(fn, slowdown)
    count = 0

    def target() -> None:
        nonlocal count
        work()
        count += 1
        if count % n == 0:  # the last call of a block: wait for the device once
            sync()

    probe = Probe()
    probe.start()
    benchmark.pedantic(target, iterations=n, rounds=rounds, warmup_rounds=0)
    return {"block": n, "rounds": rounds, "injected_slowdown": round(n * slowdown) / n} | probe.stop(count)


def matmul_peak(device: str, dtype: torch.dtype, threads: int) -> dict[str, Any]:
    """Dense matmul GFLOP/s of this device and dtype: the best of growing square sizes.

    Sizes double from 256 until the next size's product would take over ``PEAK_NEXT_S`` (8 times this
    size's) or the size reaches 2048 (8192 on CUDA): float16 on a CPU without a float16 GEMM is slow
    at every size, and a product that takes most of a second, measured twice a run, would set the run's
    length (the figures: docs/notes/make-costs.md).
    Each size: one warm-up product, then the best of ``PEAK_BLOCKS`` blocks of at least
    ``MIN_BLOCK_S`` (a product is one kernel with no state to settle: the RNN calibration's
    warm-up is not needed, and a large product on a CPU costs a good part of a second).
    """
    sync, best, best_n = synchronizer(device), 0.0, 0
    gen = torch.Generator().manual_seed(0)
    n = 256
    while n <= (8192 if device == "cuda" else 2048):
        a, b = (torch.randn(n, n, generator=gen).to(device, dtype) for _ in range(2))
        product = lambda: a @ b  # noqa: E731, B023
        first = time_block(product, sync, 1)  # the warm-up product, timed to size the blocks
        block = max(1, int(MIN_BLOCK_S / max(first, 1e-9)) + 1) if first < MIN_BLOCK_S else 1
        per_call = min(time_block(product, sync, block) for _ in range(PEAK_BLOCKS))
        gflops = 2 * n**3 / per_call / 1e9
        if gflops > best:
            best, best_n = gflops, n
        if 8 * per_call > PEAK_NEXT_S:
            break
        n *= 2
    return {
        "device": device,
        "dtype": dtype_name(dtype),
        "threads": threads,
        "gflops": best,
        "n": best_n,
    }


def make_call(bp: Point, seed: int, extra: float = 0.0) -> tuple[Callable[[], object], float | None]:
    """The timed call of a benchmark, and the compile time (first call) for the compile backend.

    The model is built as a user builds it (``harness.build_as_user``), not cast from float64.

    Args:
        bp: the benchmark.
        seed: the generator seed of weights and inputs.
        extra: > 0 in gate studies only (``--inject-work``): each call also runs the pass on the
            first ``extra`` of the sequence (0.05: 5 more steps of 100), real extra work of the
            model, as a change of the code would add.
    """
    case = bp.case
    inst = build_as_user(case, bp.bench_size, seed, bp.device, bp.dtype)
    model, inputs = inst.model, inst.inputs
    forward: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] = lambda i: case.forward(model, i)  # noqa: E731
    if bp.backend == "compile":
        forward = torch.compile(forward)
    call = _pass_call(bp.bench_pass, model, forward, inputs)
    if extra > 0:
        call = then(call, _pass_call(bp.bench_pass, model, forward, prefix_inputs(inputs, extra)))
    compile_s = None
    if bp.backend == "compile":
        start = time.perf_counter()
        call()
        synchronizer(bp.device)()
        compile_s = time.perf_counter() - start
    return call, compile_s


def _pass_call(
    pass_: str,
    model: torch.nn.Module,
    forward: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]],
    inputs: dict[str, torch.Tensor],
) -> Callable[[], object]:
    """One call of the pass (``fwd`` or ``fwd_bwd``) of ``forward`` on ``inputs``."""
    if pass_ == "fwd":

        def call() -> object:
            with torch.no_grad():
                return forward(inputs)

        return call
    leaves = [*model.parameters(), *(v.requires_grad_(True) for v in inputs.values() if v.is_floating_point())]
    ones: list[torch.Tensor] = []  # the output gradients, made once by the first call (a warm-up call, never timed)

    def call_bwd() -> object:
        outs = list(forward(inputs).values())
        if not ones:  # no forward of its own to learn the outputs' shapes: one call costs seconds under valgrind
            with torch.no_grad():
                ones.extend(torch.ones_like(o) for o in outs)
        torch.autograd.backward(outs, ones)
        for t in leaves:
            t.grad = None
        return None

    return call_bwd
