"""The benchmark record of the run file (``extra_info``; the other records: reports/runfile/writer.py)."""

from __future__ import annotations

from typing import Any

import torch

from rnnsuite.reports.runfile.record import to_dict
from rnnsuite.reports.runfile.run import cold_record
from rnnsuite.reports.runfile.schema import SCHEMA, Bench
from rnnsuite.suite.harness.kernels import kernel_label
from rnnsuite.suite.harness.points import Point

# The memory fields when the timed rounds did not run (--benchmark-disable): timing has none.
NOT_MEASURED = {
    "minor_faults_per_call": None,
    "major_faults_per_call": None,
    "rss_before_bytes": None,
    "peak_rss_bytes": None,
    "peak_rss_note": "not measured: benchmarks disabled",
}


def benchmark_info(
    bp: Point,
    *,
    label: str,
    timing: dict[str, Any],
    peak_gflops: float | None,
    peak_mem_bytes: int | None,
    compile_s: float | None,
    allocator: str,
    built: str,
    cold: dict[str, Any] | None,
    kernel_ops: dict[str, int],
    injected_work: float,
) -> dict[str, Any]:
    """A benchmark's ``extra_info``.

    Args:
        bp: the benchmark.
        label: the run label.
        timing: what ``suite.measure.timing.measure`` returned (``block``, ``rounds``, ``injected_slowdown``).
        peak_gflops: the run's matmul peak for the device and dtype, or None.
        peak_mem_bytes: CUDA peak memory during timing, or None (CPU).
        compile_s: the compile backend's first-call time, or None.
        allocator: the process's malloc.
        built: how the timed model was built (``suite.harness.builds.built_note``).
        cold: the benchmark timed in a fresh process (``suite.measure.cold.run_cold``), or None.
        kernel_ops: the aten ops of one profiled call (``suite.harness.kernels.kernel_ops``; empty: not profiled).
        injected_work: the extra fraction of the sequence each call runs (``--inject-work``; 0.0).

    Returns:
        ``reports.runfile.schema.Bench`` as its dict.

    Raises:
        ValueError: a value not of its field's type (a writer out of step with the schema).
    """
    size = bp.bench_size
    if bp.preset is None:  # set with the size and the pass of every benchmark point
        raise ValueError(f"{bp.id} is not a benchmark")
    fwd_flops = bp.case.flops(size)
    fields: dict[str, Any] = NOT_MEASURED | timing
    info = Bench(
        schema=SCHEMA,
        key=bp.id,
        case=bp.case.name,
        family=bp.case.family,
        baseline=bp.case.baseline,
        device=bp.device,
        dtype=bp.dtype_name,
        pass_=bp.bench_pass,
        backend=bp.backend_key,
        kernel=bp.kernel,
        kernel_ops=kernel_ops,
        kernel_label=kernel_label(kernel_ops),
        size=bp.preset,
        shape=size.label,
        seq_len=size.seq_len,
        batch=size.batch,
        input_size=size.input_size,
        hidden_size=size.hidden_size,
        num_layers=size.num_layers,
        output_size=size.output_size,
        # The backward pass costs about two forwards in matrix FLOPs (two products per product).
        flops=fwd_flops if bp.pass_ == "fwd" else 3 * fwd_flops,
        tokens=size.seq_len * size.batch,
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        peak_gflops=peak_gflops,
        peak_mem_bytes=peak_mem_bytes,
        peak_mem_note="torch.cuda.max_memory_allocated during timing, less what was allocated before"
        if bp.device == "cuda"
        else "CPU: see peak_rss_bytes (the process's resident-set high-water mark)",
        compile_s=compile_s,
        label=label,
        allocator=allocator,
        built=built,
        state="warm",
        cold=None if cold is None else cold_record(cold, strict=True),
        injected_work=injected_work,
        **fields,
    )
    return to_dict(info)
