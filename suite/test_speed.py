"""The benchmark tier: every case x device x dtype x pass x backend x size, timed by suite.measure.timing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from rnnsuite.suite.harness.builds import built_note
from rnnsuite.suite.harness.kernels import DEFAULT_KERNEL, kernel_flags, kernel_ops
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.harness.records import Records
from rnnsuite.suite.measure.cold import run_cold
from rnnsuite.suite.measure.memory import warm_allocator
from rnnsuite.suite.measure.timing import make_call, matmul_peak, measure
from rnnsuite.suite.plugin.options import Options
from rnnsuite.suite.plugin.runrecord import benchmark_info
from rnnsuite.vocabulary import dtype_name

pytestmark = pytest.mark.speed


def _peak(records: Records, device: str, dtype: torch.dtype, threads: int) -> float:
    key = (device, dtype_name(dtype))
    if key not in records.peaks:
        records.peaks[key] = matmul_peak(device, dtype, threads)
    return float(records.peaks[key]["gflops"])


def test_speed(bench_point: Point, benchmark: Any, options: Options, records: Records) -> None:
    """Time (or count) one benchmark and describe it in ``extra_info`` (docs/run-file.md)."""
    bp = bench_point
    counted = options.metric == "instructions"
    extra_work = options.extra_work.get(bp.case.name, 0.0)
    warm_allocator()  # the warm state, the same whether this benchmark runs alone or after others
    with kernel_flags(bp.kernel):
        try:
            call, compile_s = make_call(bp, options.seed, extra_work)
        except Exception as exc:  # torch.compile needs a working compiler toolchain
            if bp.backend == "compile":
                pytest.skip(f"torch.compile unavailable here: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            raise
        cuda = bp.device == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        held = torch.cuda.memory_allocated() if cuda else 0  # the model, its inputs and whatever else is alive
        # One warm-up call runs under the profiler: the kernel record (not when timing is off or under valgrind).
        ops: dict[str, int] = {}
        if counted:
            timing = _counted(benchmark, call)
        else:
            slowdown = options.slowdown.get(bp.case.name, 1.0)
            profile = lambda fn: ops.update(kernel_ops(fn))  # noqa: E731
            timing = measure(benchmark, call, bp.device, options.min_time, slowdown, options.min_rounds, profile)
            timing |= {"metric": "time", "instructions": None}
        peak_mem = torch.cuda.max_memory_allocated() - held if cuda else None
    peak = _peak(records, bp.device, bp.dtype, options.threads) if options.peak and not benchmark.disabled else None
    # The cold state: the same benchmark in a process with no history (eager, vendor kernel: what a user's script runs).
    cold = options.cold and not benchmark.disabled and not counted
    cold = cold and bp.backend == "eager" and bp.kernel == DEFAULT_KERNEL
    benchmark.extra_info.update(
        benchmark_info(
            bp,
            label=options.label,
            timing=timing,
            peak_gflops=peak,
            peak_mem_bytes=peak_mem,
            compile_s=compile_s,
            allocator=options.allocator,
            built=built_note(bp.case, bp.device, bp.dtype),
            cold=_cold(bp, options) if cold else None,
            kernel_ops=ops,
            injected_work=extra_work,
        )
    )
    assert benchmark.disabled or benchmark.stats.stats.median > 0


def _cold(bp: Point, options: Options) -> dict[str, Any]:
    """The cold record: the benchmark in a process with no history (suite/measure/cold.py)."""
    return run_cold(bp.id, options.seed, options.threads, options.min_time, options.cold_process, options.cold_every)


def _counted(benchmark: Any, call: Callable[[], object]) -> dict[str, Any]:
    """``--metric instructions``: the call's instructions (suite/measure/counting.py).

    pytest-benchmark times the whole count as one round (warm-up and counted calls, under
    valgrind), so that the run file keeps its format; that time is no timing of the code, and
    the gate never compares the ``stats`` of a counted benchmark.
    """
    from rnnsuite.suite.measure import callgrind, counting

    try:
        toggle, dump = counting.torch_counter()
    except counting.CountError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        callgrind.instrument(toggle, dump)  # once a process: imports and this model's build ran uninstrumented
    except counting.CountError as exc:  # no benchmark of this process could be counted
        pytest.exit(f"--metric instructions: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    if benchmark.disabled:
        fields = counting.count_calls(call, toggle, dump)
    else:
        fields = benchmark.pedantic(counting.count_calls, args=(call, toggle, dump), rounds=1, iterations=1)
    return fields | {
        "metric": "instructions",
        "block": fields["count_calls"],
        "rounds": fields["count_repeats"],
        "injected_slowdown": 1.0,
    }
