"""The run file's one definition: every field the suite writes and the reports read.

A run file is pytest-benchmark's JSON with the suite's fields added (docs/run-file.md, which a
test checks against this module). Everything that writes or reads those fields goes through
the declarations here, the way pytest-benchmark's ``Stats.fields`` declares its own:

- the writer (``suite/plugin/runrecord.py``) builds each record and checks it with ``checked``;
- the reader (``reports/runfile/reader.py``) refuses files that lack a ``required`` field or carry a
  newer ``SCHEMA``, and ``reports/table.py`` takes its column types from ``kind``;
- the test fakes (``tests/synthetic_runs.py``) fill every ``always`` field from here.

This module imports only the standard library: the suite (torch) and the reports (no torch)
both import it, and it is the one place where a field is added. It lives in ``reports/``
because the reports own the format's reading; the suite's writer importing this one module is
the only import from suite to reports (README, "Layout").

History of ``SCHEMA`` (a field's ``since`` says where it came in; a file of an older schema
lacks the fields added after it, and readers treat them as missing):

- 1: the first format.
- 2: memory behaviour and process state of every benchmark (page faults per call, resident-set
  peak, the allocator, how the model was built, the cold-process timing); the allocator of the
  run and of the machine; the kernel that ran and, for a variant, its plain layer; the metric
  (``time`` or ``instructions``), instruction counts under callgrind and valgrind's version, and
  the injected extra work of a gate study. Schema 1 files read as metric ``time``.
- 3: the machine's identity, enough to tell machines apart in a results store (reports/store.py):
  CPU flags, memory, GPU driver, torch's git version and build configuration, Python; the shard
  of a run split with ``--shard I/N``; how callgrind instrumented a counted run's process
  (``instrumentation``: switched on after the imports, or from the start where
  ``callgrind_control`` is missing); and the cold record's ``process``, ``server_threads``,
  ``timed`` and ``note``. Files of schema 1 and 2 lack them: the store takes what it can from
  pytest-benchmark's own ``machine_info`` (CPU flags and count).
- 4: the tests that crashed or timed out (``rnnsuite.errors``, one ``ERROR`` record each) and those
  that did not finish (``rnnsuite.unfinished``), both only in a run file assembled from a journal
  (reports/runfile/journal.py, docs/crashes.md); a check that crashed or timed out has the outcome
  ``crashed`` or ``timed out``. Files of schema 1 to 3 have neither: no test of theirs crashed on record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SCHEMA = 4


@dataclass(frozen=True)
class Field:
    """One field of a record.

    Attributes:
        name: the JSON key.
        kind: ``str``, ``int``, ``float``, ``bool``, ``list`` or ``dict``.
        doc: what it holds (one line; docs/run-file.md says more).
        nullable: null is allowed (e.g. ``builtin``, CUDA fields on a CPU run).
        required: a reader refuses a file whose record lacks it.
        always: every record the suite writes has it (false: only some writers, e.g. ``suite.ab.runner``).
        since: the schema version that added it.
    """

    name: str
    kind: str
    doc: str
    nullable: bool = False
    required: bool = False
    always: bool = True
    since: int = 1


def _f(name: str, kind: str, doc: str, *, since: int = 1, **flags: bool) -> Field:
    return Field(name, kind, doc, since=since, **flags)


# benchmarks[i].extra_info: one per timed benchmark.
BENCH: tuple[Field, ...] = (
    _f("schema", "int", "the run-file schema (SCHEMA)"),
    _f("key", "str", "case-device-dtype-pass-backend-size-shape, stable across runs", required=True),
    _f("case", "str", "the case", required=True),
    _f("family", "str", "rnn, lstm, gru or other"),
    _f("builtin", "str", "the built-in case this one is measured against", nullable=True),
    _f("device", "str", "cpu or cuda", required=True),
    _f("dtype", "str", "float64, float32, bfloat16 or float16", required=True),
    _f("pass", "str", "fwd or fwd_bwd", required=True),
    _f("backend", "str", "eager, eager_native or compile", required=True),
    _f("size", "str", "the size preset: seed, deepbench or sweep", required=True),
    _f("shape", "str", "the shape label, e.g. T25_B16_I512_H512_L1"),
    _f("seq_len", "int", "T"),
    _f("batch", "int", "B"),
    _f("input_size", "int", "I"),
    _f("hidden_size", "int", "H"),
    _f("num_layers", "int", "L"),
    _f("output_size", "int", "the output layer's size (0: none)"),
    _f("flops", "int", "analytic matrix FLOPs of one call of this pass (fwd_bwd: 3x fwd)", required=True),
    _f("tokens", "int", "seq_len * batch"),
    _f("torch", "str", "torch version"),
    _f("threads", "int", "torch threads"),
    _f("peak_gflops", "float", "the run's matmul peak for the device and dtype (final figure)", nullable=True),
    _f("peak_mem_bytes", "int", "CUDA max allocated during timing, less what was held", nullable=True),
    _f("peak_mem_note", "str", "how peak memory was measured, or why it was not"),
    _f("compile_s", "float", "first-call time of the compiled model", nullable=True),
    _f("label", "str", "the run label (as rnnsuite.label)"),
    _f("block", "int", "calls per timed block"),
    _f("rounds", "int", "timed blocks (pytest-benchmark rounds) chosen by the calibration"),
    _f("injected_slowdown", "float", "1.0, or the work per call under --inject-slowdown"),
    # Memory behaviour and process state (reports/memory.py; null: not measured, e.g. benchmarks disabled).
    _f("minor_faults_per_call", "float", "minor page faults per call over the timed rounds", nullable=True, since=2),
    _f("major_faults_per_call", "float", "major page faults per call over the timed rounds", nullable=True, since=2),
    _f("rss_before_bytes", "int", "the resident set when the timed rounds began", nullable=True, since=2),
    _f("peak_rss_bytes", "int", "the resident high-water mark during the timed rounds", nullable=True, since=2),
    _f("peak_rss_note", "str", "how peak_rss_bytes was measured, or why it was not", since=2),
    _f("allocator", "str", "the process's malloc: glibc, jemalloc or tcmalloc", since=2),
    _f("built", "str", "how the timed model was built", since=2),
    _f("state", "str", "warm: timed in the suite's process after a large buffer was freed", since=2),
    _f("cold", "dict", "the same benchmark timed in a fresh process right after the build", nullable=True, since=2),
    # The kernel that ran (suite/harness/kernels.py) and the plain layer a variant is timed against.
    _f("kernel", "str", "vendor (oneDNN / cuDNN) or native (--kernel)", since=2),
    _f("kernel_ops", "dict", "aten op -> calls in one profiled call", since=2),
    _f("kernel_label", "str", "the op that names the path, e.g. mkldnn_rnn_layer x2", since=2),
    _f("base", "str", "for a variant, the plain layer it is timed against", nullable=True, since=2),
    # --metric instructions (suite/measure/counting.py): callgrind's counts; the gate compares these, not stats.
    _f("metric", "str", "time or instructions", since=2),
    _f("instructions", "float", "instructions per call, median over the counted repeats", nullable=True, since=2),
    _f("instructions_repeats", "list", "instructions only: each repeat's instructions per call", always=False),
    _f("count_calls", "int", "instructions only: calls per counted repeat", always=False),
    _f("count_repeats", "int", "instructions only: counted repeats", always=False),
    _f("count_warmup", "int", "instructions only: calls run before them, not counted", always=False),
    _f("instructions_spread", "float", "instructions only: (max - min) / median of the repeats", always=False),
    _f("injected_work", "float", "0.0, or the extra fraction of the sequence each call runs", since=2),
    _f("process_medians", "list", "each A/B process's median, in the order they ran", always=False),
)

# rnnsuite.correctness[i]: one per check that ran.
CHECK: tuple[Field, ...] = (
    _f("key", "str", "case-device-dtype (a test not about one case: its test id)", required=True),
    _f("case", "str", "the case", nullable=True),
    _f("device", "str", "cpu or cuda", nullable=True),
    _f("dtype", "str", "the dtype", nullable=True),
    _f("check", "str", "the check: forward, backward, golden, gradcheck, equivalence, ...", required=True),
    _f("outcome", "str", "passed, failed, crashed or timed out"),
    _f("max_abs", "float", "largest absolute error against the reference", nullable=True),
    _f("max_rel", "float", "largest relative error against the reference", nullable=True),
    _f("rtol", "float", "rtol applied to the tensor with the largest error", nullable=True),
    _f("atol", "float", "atol applied to that tensor (gradients: scaled by its largest value)", nullable=True),
    _f("tensor", "str", "the tensor with the largest error", nullable=True),
    _f("sample", "dict", "forward only: up to 64 evenly spaced values per output tensor"),
    _f("message", "str", "failed only: the first line of the failure", always=False),
    _f("kernel", "str", "checks of a matrix point: vendor or native", always=False),
    _f("mode", "str", "autocast checks only: autocast", always=False),
    _f("out_dtype", "str", "autocast checks only: the dtype the output came back in", always=False),
    # The norm-wise check of the forward and backward checks (docs/tolerances.md).
    _f("u", "float", "the dtype's unit roundoff", always=False),
    _f("err_u", "float", "norm-wise relative error, in units of u", always=False),
    _f("budget_u", "float", "the budget, in u: max(2 x honest_u, floor)", always=False),
    _f("honest_u", "float", "the error of the reference run in the dtype's rounding, in u", always=False),
    _f("margin", "float", "budget_u / err_u (> 1 passes)", nullable=True, always=False),
    _f("norm_at", "str", "the tensor (and time step) closest to its budget", always=False),
)

# machine_info.rnnsuite
MACHINE: tuple[Field, ...] = (
    _f("cpu_model", "str", "the CPU's model name"),
    _f("cores", "int", "logical CPUs"),
    _f("threads", "int", "torch threads used"),
    _f("torch", "str", "torch version"),
    _f("cuda", "str", "CUDA version", nullable=True),
    _f("cudnn", "int", "cuDNN version", nullable=True),
    _f("gpu", "str", "GPU name", nullable=True),
    _f("blas", "str", "BLAS torch was built with, e.g. mkl", nullable=True),
    _f("onednn", "str", "oneDNN version", nullable=True),
    _f("numpy", "str", "NumPy version"),
    _f("tf32", "bool", "false: the suite switches TF32 off"),
    _f("allocator", "str", "the malloc the process runs with", since=2),
    _f("valgrind", "str", "valgrind's version under --metric instructions", nullable=True, since=2),
    # The machine's identity (reports/store.py derives the store's machine id from the hardware ones).
    _f("cpu_flags", "list", "the CPU's feature flags (/proc/cpuinfo), sorted", since=3),
    _f("memory_bytes", "int", "total memory (MemTotal)", nullable=True, since=3),
    _f("gpu_driver", "str", "the NVIDIA driver's version", nullable=True, since=3),
    _f("torch_git", "str", "the git revision torch was built from", nullable=True, since=3),
    _f("torch_config", "str", "torch.__config__.show(): how torch was built", since=3),
    _f("python", "str", "Python version", since=3),
    _f("instrumentation", "str", "under --metric instructions: switched or full", nullable=True, since=3),
)

# rnnsuite.peaks[i]: the dense matmul peak of each device and dtype benchmarked.
PEAK: tuple[Field, ...] = (
    _f("device", "str", "cpu or cuda"),
    _f("dtype", "str", "the dtype"),
    _f("threads", "int", "torch threads"),
    _f("gflops", "float", "the higher of the two measurements"),
    _f("n", "int", "the size of the n x n x n product that gave it"),
    # Files written before the peak was measured twice lack the two below.
    _f("gflops_start", "float", "measured at the run's first benchmark of the device and dtype", always=False),
    _f("gflops_end", "float", "measured again at the end of the run", always=False),
)

# rnnsuite: the suite's own top-level section.
RUN: tuple[Field, ...] = (
    _f("schema", "int", "the run-file schema (SCHEMA)", required=True),
    _f("metric", "str", "time or instructions: the run's --metric", since=2),
    _f("label", "str", "the run's name in reports (default: torch version)"),
    _f("allocator", "str", "the process's malloc: glibc, jemalloc or tcmalloc", since=2),
    _f("shard", "str", "I/N under --shard I/N; null for the whole selection", nullable=True, since=3),
    _f("merged_from", "list", "reports merge only: the file names of the shards merged", always=False, since=3),
    _f("peaks", "list", "rnnsuite.peaks records"),
    _f("correctness", "list", "rnnsuite.correctness records"),
    _f("errors", "list", "assembled from a journal: the tests that crashed or timed out", always=False, since=4),
    _f("unfinished", "list", "assembled from a journal: the node ids that did not finish", always=False, since=4),
)

# rnnsuite.errors[i]: a test whose process crashed (a signal) or that ran past the time limit.
ERROR: tuple[Field, ...] = (
    _f("nodeid", "str", "pytest's node id of the test", since=4),
    _f("test", "str", "check, benchmark or other", since=4),
    _f("key", "str", "the check's or benchmark's key", nullable=True, since=4),
    _f("case", "str", "the case", nullable=True, since=4),
    _f("device", "str", "cpu or cuda", nullable=True, since=4),
    _f("dtype", "str", "the dtype", nullable=True, since=4),
    _f("pass", "str", "a benchmark's pass: fwd or fwd_bwd", nullable=True, since=4),
    _f("check", "str", "a check's name", nullable=True, since=4),
    _f("error", "str", "crashed (SIGSEGV), crashed (exit 1) or timed out after N s", since=4),
    _f("output", "list", "the last lines its process wrote (fault handler's traceback)", since=4),
)

# The file --checks-json writes: the correctness records alone.
CHECKS_FILE: tuple[Field, ...] = (
    _f("schema", "int", "the run-file schema (SCHEMA)", required=True),
    _f("label", "str", "the run label"),
    _f("machine", "dict", "as machine_info.rnnsuite"),
    _f("correctness", "list", "rnnsuite.correctness records", required=True),
    _f("errors", "list", "written from a journal: the checks that crashed or timed out", always=False, since=4),
)

RECORDS: Mapping[str, tuple[Field, ...]] = {
    "extra_info": BENCH,
    "correctness": CHECK,
    "machine": MACHINE,
    "peaks": PEAK,
    "rnnsuite": RUN,
    "checks_file": CHECKS_FILE,
    "errors": ERROR,
}


def names(
    fields: Iterable[Field], *, always: bool = False, required: bool = False, schema: int = SCHEMA
) -> tuple[str, ...]:
    """The field names of a schema version, optionally only those every record has or that readers require."""
    return tuple(
        f.name for f in fields if (f.always or not always) and (f.required or not required) and f.since <= schema
    )


def kinds(fields: Iterable[Field], kind: str) -> tuple[str, ...]:
    """The names of the fields of one ``kind`` (e.g. the int columns of a table)."""
    return tuple(f.name for f in fields if f.kind == kind)


def checked(fields: tuple[Field, ...], record: Mapping[str, Any], what: str, schema: int = SCHEMA) -> dict[str, Any]:
    """The record, after checking that it has every ``always`` field and no undeclared one.

    Args:
        fields: the record's declaration (e.g. ``BENCH``).
        record: what a writer built.
        what: the record's name in the error (e.g. ``"extra_info"``).
        schema: the version the record is of (an older one lacks the fields added since).

    Returns:
        The record as a new dict.

    Raises:
        ValueError: a field is missing or undeclared (a writer and this module disagree).
    """
    declared = set(names(fields))
    missing = [n for n in names(fields, always=True, schema=schema) if n not in record]
    unknown = [n for n in record if n not in declared]
    if missing or unknown:
        raise ValueError(
            f"{what}: fields out of step with reports/runfile/schema.py (missing {missing or 'none'}, undeclared {unknown or 'none'})"
        )
    return dict(record)
