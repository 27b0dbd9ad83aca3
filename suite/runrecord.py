"""The writer of the run file's records: what each benchmark, check and run adds (reports/schema.py)."""

from __future__ import annotations

from typing import Any

import torch

from reports.schema import BENCH, CHECK, CHECKS_FILE, RUN, SCHEMA, checked
from suite.timing import BenchPoint


def benchmark_info(
    bp: BenchPoint,
    *,
    label: str,
    timing: dict[str, Any],
    peak_gflops: float | None,
    peak_mem_bytes: int | None,
    compile_s: float | None,
) -> dict[str, Any]:
    """A benchmark's ``extra_info``.

    Args:
        bp: the benchmark.
        label: the run label.
        timing: what ``suite.timing.measure`` returned (``block``, ``rounds``, ``injected_slowdown``).
        peak_gflops: the run's matmul peak for the device and dtype, or None.
        peak_mem_bytes: CUDA peak memory during timing, or None (CPU).
        compile_s: the compile backend's first-call time, or None.

    Returns:
        Every ``always`` field of ``reports.schema.BENCH``.
    """
    size = bp.size
    fwd_flops = bp.case.flops(size)
    info = {
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
        "peak_gflops": peak_gflops,
        "peak_mem_bytes": peak_mem_bytes,
        "peak_mem_note": "torch.cuda.max_memory_allocated during timing, less what was allocated before"
        if bp.device == "cuda"
        else "not measured: the CPU allocator keeps no peak counter",
        "compile_s": compile_s,
        "label": label,
    }
    return checked(BENCH, info | timing, "extra_info")


def check_record(ident: dict[str, Any], check: str, outcome: str, **fields: Any) -> dict[str, Any]:
    """One correctness record; ``ident`` holds ``key, case, device, dtype``; fields not given are null."""
    rec = ident | {"check": check, "outcome": outcome, "max_abs": None, "max_rel": None, "rtol": None}
    rec |= {"atol": None, "tensor": None, "sample": {}}
    return checked(CHECK, rec | fields, "correctness")


def run_section(label: str, peaks: list[dict[str, Any]], correctness: list[dict[str, Any]]) -> dict[str, Any]:
    """The run file's ``rnnsuite`` section."""
    return checked(RUN, {"schema": SCHEMA, "label": label, "peaks": peaks, "correctness": correctness}, "rnnsuite")


def checks_file(label: str, machine: dict[str, Any], correctness: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``--checks-json`` writes: the correctness records alone."""
    data = {"schema": SCHEMA, "label": label, "machine": machine, "correctness": correctness}
    return checked(CHECKS_FILE, data, "checks file")
