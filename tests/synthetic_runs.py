"""Synthetic run files for the reports' and the gate's tests (no timing, no torch).

Every record is checked against reports/runfile/schema.py, as the suite's writer is, and the statistics
come from pytest-benchmark's own ``Stats``, as in real and merged files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pytest_benchmark.stats import Stats

from rnnsuite.reports.runfile.record import checked
from rnnsuite.reports.runfile.schema import SCHEMA, Bench, Check, Machine, Peak, Run

# The checks that add the norm-wise figures (suite/harness/checks.py), and the unit roundoff of each dtype.
NORMWISE = ("forward", "backward", "forward_compile", "backward_compile")
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "bfloat16": 2.0**-8, "float16": 2.0**-11}


def bench(
    case: str = "nn_lstm",
    *,
    samples: Sequence[float],
    device: str = "cpu",
    dtype: str = "float32",
    pass_: str = "fwd",
    backend: str = "eager",
    size: str = "seed",
    shape: tuple[int, int, int, int, int] = (100, 32, 10, 20, 1),
    flops: int = 10_000_000,
    family: str = "lstm",
    baseline: str | None = None,
    peak_gflops: float | None = 100.0,
) -> dict[str, Any]:
    """One benchmark entry with the given raw per-iteration samples (seconds)."""
    t, b, i, h, n_layers = shape
    label = f"T{t}_B{b}_I{i}_H{h}_L{n_layers}"
    key = f"{case}-{device}-{dtype}-{pass_}-{backend}-{size}-{label}"
    data = [float(s) for s in samples]
    extra = {
        "schema": SCHEMA,
        "key": key,
        "case": case,
        "family": family,
        "baseline": baseline,
        "device": device,
        "dtype": dtype,
        "pass": pass_,
        "backend": backend,
        "size": size,
        "shape": label,
        "seq_len": t,
        "batch": b,
        "input_size": i,
        "hidden_size": h,
        "num_layers": n_layers,
        "output_size": 0,
        "flops": flops,
        "tokens": t * b,
        "torch": "2.13.0",
        "threads": 2,
        "peak_gflops": peak_gflops,
        "peak_mem_bytes": None,
        "peak_mem_note": "not measured on CPU",
        "compile_s": None,
        "label": "synthetic",
        "block": 1,
        "rounds": len(data),
        "injected_slowdown": 1.0,
        "minor_faults_per_call": 0.5,
        "major_faults_per_call": 0.0,
        "rss_before_bytes": 400_000_000,
        "peak_rss_bytes": 401_000_000,
        "peak_rss_note": "VmHWM during the timed calls (reset through /proc/self/clear_refs)",
        "allocator": "glibc",
        "built": f"constructed in {dtype}",
        "state": "warm",
        "cold": None,
        "kernel": "vendor",
        "kernel_ops": {"aten::lstm": 1, "aten::mkldnn_rnn_layer": shape[4]},
        "kernel_label": f"mkldnn_rnn_layer x{shape[4]}",
        "metric": "time",
        "instructions": None,
        "injected_work": 0.0,
    }
    stats = Stats()
    for value in data:
        stats.update(value)
    return {
        "group": None,
        "name": f"test_speed[{key}]",
        "fullname": f"suite/test_speed.py::test_speed[{key}]",
        "params": None,
        "param": key,
        "extra_info": checked(Bench, extra, "extra_info"),
        "stats": stats.as_dict() | {"iterations": 1, "data": data},
        "options": {},
    }


def correctness(
    case: str = "nn_lstm",
    *,
    device: str = "cpu",
    dtype: str = "float32",
    check: str = "forward",
    outcome: str = "passed",
    max_abs: float | None = 1e-6,
    max_rel: float | None = 1e-6,
    sample: dict[str, list[float]] | None = None,
) -> dict[str, Any]:
    """One correctness record; a passed forward or backward check carries the norm-wise figures too."""
    rec: dict[str, Any] = {
        "key": f"{case}-{device}-{dtype}",
        "case": case,
        "device": device,
        "dtype": dtype,
        "check": check,
        "outcome": outcome,
        "max_abs": max_abs,
        "max_rel": max_rel,
        "rtol": 1.3e-5,
        "atol": 1e-4,
        "tensor": "output",
        "sample": sample or {},
        "kernel": "vendor",
    }
    if check in ("forward", "forward_compile"):  # the output's error at positions 1, 10, 100 (seed size T 100)
        rec["err_at"] = {"1": 1.0, "10": 2.0, "100": 3.0}
    if check in NORMWISE and outcome == "passed":
        u = UNIT_ROUNDOFF.get(dtype, 2.0**-24)
        rec |= {"u": u, "err_u": max_rel / u if max_rel else 0.0, "budget_u": 16.0, "emulated_u": 2.0}
        rec |= {"margin": 16.0 * u / max_rel if max_rel else None, "norm_at": "output"}
    return checked(Check, rec, "correctness")


def run(
    benchmarks: Sequence[dict[str, Any]],
    checks: Sequence[dict[str, Any]] = (),
    *,
    label: str = "synthetic",
    torch_version: str = "2.13.0",
) -> dict[str, Any]:
    """A whole run file."""
    machine = {
        "cpu_model": "Synthetic CPU",
        "cores": 2,
        "threads": 2,
        "torch": torch_version,
        "cuda": None,
        "cudnn": None,
        "gpu": None,
        "blas": "mkl",
        "onednn": "3.12",
        "numpy": "2.4",
        "tf32": False,
        "allocator": "glibc",
        "valgrind": None,
        "cpu_flags": ["avx2", "fma", "sse4_2"],
        "memory_bytes": 8 * 2**30,
        "gpu_driver": None,
        "torch_git": "0" * 40,
        "torch_config": "PyTorch built with: synthetic",
        "python": "3.11.7",
        "instrumentation": None,
        "rnnsuite": "0.2.0",
    }
    peak = {"device": "cpu", "dtype": "float32", "threads": 2, "gflops": 100.0, "n": 1024}
    peak |= {"gflops_start": 100.0, "gflops_end": 95.0}
    section = {
        "schema": SCHEMA,
        "metric": "time",
        "label": label,
        "allocator": "glibc",
        "shard": None,
        "peaks": [checked(Peak, peak, "peaks")],
        "correctness": list(checks),
    }
    return {
        "machine_info": {
            "node": "test",
            "processor": "x86_64",
            "python_version": "3.11.7",
            "rnnsuite": checked(Machine, machine, "machine_info.rnnsuite"),
        },
        "commit_info": {"id": "0" * 40, "dirty": False, "branch": "main"},
        "benchmarks": list(benchmarks),
        "datetime": "2026-11-26T00:00:00",
        "version": "5.3.1",
        "rnnsuite": checked(Run, section, "rnnsuite"),
    }


def write(path: Path, data: dict[str, Any]) -> Path:
    """Write a run file; returns its path."""
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def noisy(median: float, n: int = 15, spread: float = 0.01, seed: int = 0) -> list[float]:
    """``n`` samples around ``median`` with relative log-normal spread ``spread``."""
    rng = np.random.default_rng(seed)
    return list(median * np.exp(rng.normal(0.0, spread, n)))
