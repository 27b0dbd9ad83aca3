"""The benchmark tier: every case x device x dtype x pass x backend x size, timed by suite.timing."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from suite.harness import dtype_name
from suite.kernels import kernel_flags, kernel_label, kernel_ops
from suite.plugin import Options, Records
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
    with kernel_flags(bp.kernel):
        try:
            call, compile_s = make_call(bp, options.seed)
        except Exception as exc:  # torch.compile needs a working compiler toolchain
            if bp.backend == "compile":
                pytest.skip(f"torch.compile unavailable here: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            raise
        cuda = bp.device == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        held = torch.cuda.memory_allocated() if cuda else 0  # the model, its inputs and whatever else is alive
        timing = measure(benchmark, call, bp.device, options.min_time, options.slowdown.get(bp.case.name, 1.0))
        peak_mem = torch.cuda.max_memory_allocated() - held if cuda else None
        # One more call, untimed, under the profiler (not when timing is off: no run file, and CI stays quick).
        ops = {} if benchmark.disabled else kernel_ops(call)
    fwd_flops = bp.case.flops(size)
    benchmark.extra_info.update(
        {
            "schema": 1,
            "key": bp.id,
            "case": bp.case.name,
            "family": bp.case.family,
            "builtin": bp.case.builtin,
            "device": bp.device,
            "dtype": bp.dtype_name,
            "pass": bp.pass_,
            "backend": bp.backend_key,
            "kernel": bp.kernel,
            "kernel_ops": ops,
            "kernel_label": kernel_label(ops),
            "base": bp.case.base,
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
        }
        | timing
    )
    assert benchmark.disabled or benchmark.stats.stats.median > 0
