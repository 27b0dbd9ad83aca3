"""The benchmark tier: every case x device x dtype x pass x backend x size, timed by suite.timing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from suite.harness import dtype_name
from suite.plugin import SCHEMA, Options, Records
from suite.timing import BenchPoint, make_call, matmul_peak, measure

pytestmark = pytest.mark.speed


def _peak(records: Records, device: str, dtype: torch.dtype, threads: int) -> float:
    key = (device, dtype_name(dtype))
    if key not in records.peaks:
        records.peaks[key] = matmul_peak(device, dtype, threads)
    return float(records.peaks[key]["gflops"])


def test_speed(bench_point: BenchPoint, benchmark: Any, options: Options, records: Records) -> None:
    """Time one benchmark and describe it in ``extra_info`` (docs/run-file.md)."""
    bp, size = bench_point, bench_point.size
    try:
        call, compile_s = make_call(bp, options.seed, options.extra_work.get(bp.case.name, 0.0))
    except Exception as exc:  # torch.compile needs a working compiler toolchain
        if bp.backend == "compile":
            pytest.skip(f"torch.compile unavailable here: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        raise
    cuda = bp.device == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    held = torch.cuda.memory_allocated() if cuda else 0  # the model, its inputs and whatever else is alive
    if options.metric == "instructions":
        timing = _counted(benchmark, call)
    else:
        timing = measure(benchmark, call, bp.device, options.min_time, options.slowdown.get(bp.case.name, 1.0))
        timing |= {"metric": "time", "instructions": None}
    peak_mem = torch.cuda.max_memory_allocated() - held if cuda else None
    fwd_flops = bp.case.flops(size)
    benchmark.extra_info.update(
        {
            "schema": SCHEMA,
            "key": bp.id,
            "case": bp.case.name,
            "family": bp.case.family,
            "builtin": bp.case.builtin,
            "device": bp.device,
            "dtype": bp.dtype_name,
            "pass": bp.pass_,
            "backend": bp.backend,
            "size": bp.preset,
            "shape": size.label,
            "seq_len": size.seq_len,
            "batch": size.batch,
            "input_size": size.input_size,
            "hidden_size": size.hidden_size,
            "num_layers": size.num_layers,
            "output_size": size.output_size,
            # The backward pass costs about two forwards in matrix FLOPs (two products per product).
            "flops": fwd_flops if bp.pass_ == "fwd" else 3 * fwd_flops,
            "tokens": size.seq_len * size.batch,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "peak_gflops": _peak(records, bp.device, bp.dtype, options.threads)
            if options.peak and not benchmark.disabled
            else None,
            "peak_mem_bytes": peak_mem,
            "peak_mem_note": "torch.cuda.max_memory_allocated during timing, less what was allocated before"
            if cuda
            else "not measured: the CPU allocator keeps no peak counter",
            "compile_s": compile_s,
            "label": options.label,
            "injected_work": options.extra_work.get(bp.case.name, 0.0),
        }
        | timing
    )
    assert benchmark.disabled or benchmark.stats.stats.median > 0


def _counted(benchmark: Any, call: Callable[[], object]) -> dict[str, Any]:
    """``--metric instructions``: the call's instructions (suite/counting.py).

    pytest-benchmark times the whole count as one round (warm-up and counted calls, under
    valgrind), so that the run file keeps its format; that time is no timing of the code, and
    the gate never compares the ``stats`` of a counted benchmark.
    """
    from suite import counting

    try:
        toggle, dump = counting.torch_counter()
    except counting.CountError as exc:
        pytest.fail(str(exc), pytrace=False)
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
