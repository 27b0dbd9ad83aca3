"""The run file's one definition: every record the suite writes and the reports read, as dataclasses.

A run file is pytest-benchmark's JSON with the suite's fields added (docs/run-file.md, which a
test checks against this module). Each record below is its own schema (``reports/runfile/record.py``):
a field's annotation is its type and nullability, its ``meta`` the doc line, the schema version
that added it and whether readers require it, and the record's dict is generated from it
(``to_dict``), the way pytest-benchmark's ``Stats.fields`` declares its own JSON:

- the writers (``suite/plugin/runrecord.py``, ``reports/runfile/writer.py``) build records and
  ``to_dict`` them; a value of the wrong type or a missing field fails there;
- the reader (``reports/runfile/reader.py``) maps the names of older schemas to today's in one place
  (``reports/runfile/legacy.py``), then refuses a record that lacks a ``required`` field or holds a
  value of the wrong type, and a newer ``SCHEMA``; ``reports/output/table.py`` takes its column types from here;
- the test fakes (``tests/synthetic_runs.py``) are checked against the same records.

This module imports only the standard library: the suite (torch) and the reports (no torch)
both import it, and it is the one place where a field is added. It lives in ``reports/``
because the reports own the format's reading.

History of ``SCHEMA`` (a field's ``since`` says where it came in; a file of an older schema
lacks the fields added after it, and readers treat them as missing):

- 1: the first format.
- 2: memory behaviour and process state of every benchmark (page faults per call, resident-set
  peak, the allocator, how the model was built, the cold-process timing); the allocator of the
  run and of the machine; the kernel that ran and, for a variant, its plain layer; the metric
  (``time`` or ``instructions``), instruction counts under callgrind and valgrind's version, and
  the injected extra work of a gate study. Schema 1 files read as metric ``time``.
- 3: the machine's identity, enough to tell machines apart in a results store (reports/runs/store.py):
  CPU flags, memory, GPU driver, torch's git version and build configuration, Python; the shard
  of a run split with ``--shard I/N``; how callgrind instrumented a counted run's process
  (``instrumentation``: switched on after the imports, or from the start where
  ``callgrind_control`` is missing); and the cold record's ``process``, ``server_threads``,
  ``timed`` and ``note``. Files of schema 1 and 2 lack them: the store takes what it can from
  pytest-benchmark's own ``machine_info`` (CPU flags and count).
- 4: one word per idea. A benchmark's ``builtin`` (a hand-written case: the built-in it is measured
  against) and ``base`` (a variant: the plain layer it is timed against) are one field,
  ``baseline``; a check's ``honest_u`` is ``emulated_u``; the A/B runner's processes are records
  (``processes``: each process's median and sample count) instead of ``process_medians`` (schema
  1: ``round_medians``). Older files are read with the new names (``reports/runfile/legacy.py``).
  Also in 4: the tests that crashed or timed out (``rnnsuite.errors``, one ``Error`` record each)
  and those that did not finish (``rnnsuite.unfinished``), both only in a run file assembled from
  a journal (reports/runfile/journal/, docs/crashes.md); a check that crashed or timed out has
  the outcome ``crashed`` or ``timed out``. Files of schema 1 to 3 have neither: no test of theirs
  crashed on record.
- 5: the cold record's ``screen_faults_per_call``: a row that a fork of the cold server screened and
  a fresh interpreter then timed (``--cold-process fork-then-fresh``, the default) keeps the
  fork's faults a call. Older files lack it: their cold figures are the fork's or a fresh process's
  alone (``process``).
- 6: the machine's ``rnnsuite``: the version of rnnsuite that wrote the run (``rnnsuite --version``,
  one source: ``rnnsuite.__version__``). Older files lack it.
"""

from __future__ import annotations

from rnnsuite.reports.runfile.record import ABSENT, Absent, Field, declared, meta, record

SCHEMA = 6

# The nested records' types: aten op -> calls (the kernel record), tensor name -> sampled values.
KernelOps = dict[str, int]
Sample = dict[str, list[float]]


@record
class Cold:
    """``extra_info.cold``: the benchmark timed right after the build in a process with no history."""

    median_s: float | None = meta(
        "median of blocks of block calls, s per call (null: not timed)", since=2, required=True
    )
    first_block_s: float = meta("the first block's time per call", since=2, required=True)
    block: int = meta("calls per block", since=2)
    blocks: int = meta("blocks timed", since=2)
    threads: int = meta("torch threads in that process", since=2)
    minor_faults_per_call: float = meta("minor page faults per call", since=2)
    major_faults_per_call: float = meta("major page faults per call", since=2)
    rss_before_bytes: int | None = meta("the resident set when the blocks began", since=2)
    peak_rss_bytes: int | None = meta("the resident high-water mark during them", since=2)
    peak_rss_note: str = meta("how peak_rss_bytes was measured, or why it was not", since=2)
    process: str = meta(
        "fork (a child of the cold server) or fresh (a new interpreter): the one that gave the figures", since=3
    )
    server_threads: int | None = meta("the server's thread count when it forked (null: fresh)", since=3)
    timed: bool = meta("false: stopped after the first block, its faults did not matter", since=3)
    note: str | None = meta("why it was not timed, else null", since=3)
    screen_faults_per_call: float | Absent = meta(
        "fork-then-fresh only: the faults a call of the fork's first block that sent the row to a fresh interpreter",
        since=5,
        default=ABSENT,
    )


@record
class ColdFailure:
    """``extra_info.cold`` when the cold process failed."""

    error: str = meta("one line: its exception, the signal it died of, or its time limit", since=2, required=True)


@record
class Process:
    """``extra_info.processes[i]``: one process of a side that ``suite.ab`` merged (as pyperf's ``Run``)."""

    median_s: float = meta("the median of the process's samples", required=True, since=4)
    samples: int | None = meta("its samples, in order, in stats.data (null: a file before schema 4)", since=4)


@record
class Bench:
    """``benchmarks[i].extra_info``: one per timed benchmark."""

    schema: int = meta("the run-file schema (SCHEMA)")
    key: str = meta("case-device-dtype-pass-backend-size-shape, stable across runs", required=True)
    case: str = meta("the case", required=True)
    family: str = meta("rnn, lstm, gru or other")
    baseline: str | None = meta("the case this one is timed against (builtin / base before schema 4)")
    device: str = meta("cpu or cuda", required=True)
    dtype: str = meta("float64, float32, bfloat16 or float16", required=True)
    pass_: str = meta("fwd or fwd_bwd", required=True, key="pass")
    backend: str = meta("eager, eager_native or compile", required=True)
    size: str = meta("the size preset: seed, deepbench or sweep", required=True)
    shape: str = meta("the shape label, e.g. T25_B16_I512_H512_L1")
    seq_len: int = meta("T")
    batch: int = meta("B")
    input_size: int = meta("I")
    hidden_size: int = meta("H")
    num_layers: int = meta("L")
    output_size: int = meta("the output layer's size (0: none)")
    flops: int = meta("analytic matrix FLOPs of one call of this pass (fwd_bwd: 3x fwd)", required=True)
    tokens: int = meta("seq_len * batch")
    torch: str = meta("torch version")
    threads: int = meta("torch threads")
    peak_gflops: float | None = meta("the run's matmul peak for the device and dtype (final figure)")
    peak_mem_bytes: int | None = meta("CUDA max allocated during timing, less what was held")
    peak_mem_note: str = meta("how peak memory was measured, or why it was not")
    compile_s: float | None = meta("first-call time of the compiled model")
    label: str = meta("the run label (as rnnsuite.label)")
    block: int = meta("calls per timed block")
    rounds: int = meta("timed blocks (pytest-benchmark rounds) chosen by the calibration")
    injected_slowdown: float = meta("1.0, or the work per call under --inject-slowdown")
    # Memory behaviour and process state (reports/output/sections/memory_section.py; null: not measured, e.g. benchmarks disabled).
    minor_faults_per_call: float | None = meta("minor page faults per call over the timed rounds", since=2)
    major_faults_per_call: float | None = meta("major page faults per call over the timed rounds", since=2)
    rss_before_bytes: int | None = meta("the resident set when the timed rounds began", since=2)
    peak_rss_bytes: int | None = meta("the resident high-water mark during the timed rounds", since=2)
    peak_rss_note: str = meta("how peak_rss_bytes was measured, or why it was not", since=2)
    allocator: str = meta("the process's malloc: glibc, jemalloc or tcmalloc", since=2)
    built: str = meta("how the timed model was built", since=2)
    state: str = meta("warm: timed in the suite's process after a large buffer was freed", since=2)
    cold: ColdFailure | Cold | None = meta("the same benchmark timed in a fresh process right after the build", since=2)
    # The kernel record (suite/harness/kernels.py).
    kernel: str = meta("vendor (oneDNN / cuDNN) or native (--kernel)", since=2)
    kernel_ops: KernelOps = meta("aten op -> calls in one profiled call", since=2)
    kernel_label: str = meta("the op that names the path, e.g. mkldnn_rnn_layer x2", since=2)
    # --metric instructions (suite/measure/counting.py): callgrind's counts; the gate compares these, not stats.
    metric: str = meta("time or instructions", since=2)
    instructions: float | None = meta("instructions per call, median over the counted repeats", since=2)
    instructions_repeats: list[float] | Absent = meta("instructions only: each repeat's per call", default=ABSENT)
    count_calls: int | Absent = meta("instructions only: calls per counted repeat", default=ABSENT)
    count_repeats: int | Absent = meta("instructions only: counted repeats", default=ABSENT)
    count_warmup: int | Absent = meta("instructions only: calls run before them, not counted", default=ABSENT)
    instructions_spread: float | Absent = meta("instructions only: (max - min) / median of the repeats", default=ABSENT)
    injected_work: float = meta("0.0, or the extra fraction of the sequence each call runs", since=2)
    processes: list[Process] | Absent = meta("each A/B process, in the order they ran", since=4, default=ABSENT)


@record
class Check:
    """``rnnsuite.correctness[i]``: one per check that ran."""

    key: str = meta("case-device-dtype (a test not about one case: its test id)", required=True)
    case: str | None = meta("the case")
    device: str | None = meta("cpu or cuda")
    dtype: str | None = meta("the dtype")
    check: str = meta("the check: forward, backward, golden, gradcheck, equivalence, ...", required=True)
    outcome: str = meta("passed, failed, known defect, crashed or timed out")
    max_abs: float | None = meta("largest absolute error against the reference")
    max_rel: float | None = meta("largest relative error against the reference")
    rtol: float | None = meta("rtol applied to the tensor with the largest error")
    atol: float | None = meta("atol applied to that tensor (gradients: scaled by its largest value)")
    tensor: str | None = meta("the tensor with the largest error")
    sample: Sample = meta("forward only: up to 64 evenly spaced values per output tensor")
    message: str | Absent = meta("failed only: the first line of the failure", default=ABSENT)
    kernel: str | Absent = meta("checks of a matrix point: vendor or native", default=ABSENT)
    mode: str | Absent = meta("autocast checks only: autocast", default=ABSENT)
    out_dtype: str | Absent = meta("autocast checks only: the dtype the output came back in", default=ABSENT)
    # The norm-wise check of the forward and backward checks (docs/tolerances.md).
    u: float | Absent = meta("the dtype's unit roundoff", default=ABSENT)
    err_u: float | Absent = meta("norm-wise relative error, in units of u", default=ABSENT)
    budget_u: float | Absent = meta("the budget, in u: max(2 x emulated_u, floor)", default=ABSENT)
    emulated_u: float | Absent = meta("the reference run in the dtype's rounding: its error, in u", default=ABSENT)
    margin: float | Absent | None = meta("budget_u / err_u (> 1 passes)", default=ABSENT)
    norm_at: str | Absent = meta("the tensor (and time step) closest to its budget", default=ABSENT)
    err_at: dict[str, float | None] | Absent = meta(
        "forward checks: the output's norm-wise error in u at positions 1, 10, 100, 1000 (null: not finite)",
        default=ABSENT,
    )
    edge_scale: float | Absent = meta("edge checks: the factor the inputs and states were scaled by", default=ABSENT)
    warnings: list[str] | Absent = meta("the warnings the case's own code raised (its import too)", default=ABSENT)
    case_mode: str | Absent = meta("a case of modes=: the mode (its forward) checked", default=ABSENT)
    defect: str | Absent = meta("known defect only: the declared reason", default=ABSENT)
    reproducer: str | Absent = meta("known defect only: the declared reproducer's path", default=ABSENT)


@record
class Machine:
    """``machine_info.rnnsuite``."""

    cpu_model: str = meta("the CPU's model name")
    cores: int = meta("logical CPUs")
    threads: int = meta("torch threads used")
    torch: str = meta("torch version")
    cuda: str | None = meta("CUDA version")
    cudnn: int | None = meta("cuDNN version")
    gpu: str | None = meta("GPU name")
    blas: str | None = meta("BLAS torch was built with, e.g. mkl")
    onednn: str | None = meta("oneDNN version")
    numpy: str = meta("NumPy version")
    tf32: bool = meta("false: the suite switches TF32 off")
    allocator: str = meta("the malloc the process runs with", since=2)
    valgrind: str | None = meta("valgrind's version under --metric instructions", since=2)
    # The machine's identity (reports/runs/store.py derives the store's machine id from the hardware ones).
    cpu_flags: list[str] = meta("the CPU's feature flags (/proc/cpuinfo), sorted", since=3)
    memory_bytes: int | None = meta("total memory (MemTotal)", since=3)
    gpu_driver: str | None = meta("the NVIDIA driver's version", since=3)
    torch_git: str | None = meta("the git revision torch was built from", since=3)
    torch_config: str = meta("torch.__config__.show(): how torch was built", since=3)
    python: str = meta("Python version", since=3)
    instrumentation: str | None = meta("under --metric instructions: switched or full", since=3)
    rnnsuite: str = meta("rnnsuite's version (rnnsuite --version)", since=6)


@record
class Peak:
    """``rnnsuite.peaks[i]``: the dense matmul peak of each device and dtype benchmarked."""

    device: str = meta("cpu or cuda")
    dtype: str = meta("the dtype")
    threads: int = meta("torch threads")
    gflops: float = meta("the higher of the two measurements")
    n: int = meta("the size of the n x n x n product that gave it")
    # Files written before the peak was measured twice lack the two below.
    gflops_start: float | Absent = meta("measured at the run's first benchmark of the device and dtype", default=ABSENT)
    gflops_end: float | Absent = meta("measured again at the end of the run", default=ABSENT)


# Error repeats Check's key, case, device and dtype, with no base record shared with it: a check always has a
# key (required) where the error of a test outside the matrix has none (null), the error's fields came in
# schema 4, and a base record's fields would come first in the dict, moving nodeid and test from the head of
# every error entry written so far.
@record
class Error:
    """``rnnsuite.errors[i]``: a test whose process crashed (a signal) or that ran past the time limit."""

    nodeid: str = meta("pytest's node id of the test", since=4)
    test: str = meta("check, benchmark or other", since=4)
    key: str | None = meta("the check's or benchmark's key", since=4)
    case: str | None = meta("the case", since=4)
    device: str | None = meta("cpu or cuda", since=4)
    dtype: str | None = meta("the dtype", since=4)
    pass_: str | None = meta("a benchmark's pass: fwd or fwd_bwd", since=4, key="pass")
    check: str | None = meta("a check's name", since=4)
    error: str = meta("crashed (SIGSEGV), crashed (exit 1) or timed out after N s", since=4)
    output: list[str] = meta("the last lines its process wrote (fault handler's traceback)", since=4)


@record
class Run:
    """``rnnsuite``: the suite's own top-level section."""

    schema: int = meta("the run-file schema (SCHEMA)", required=True)
    metric: str = meta("time or instructions: the run's --metric", since=2)
    label: str = meta("the run's name in reports (default: torch version)")
    allocator: str = meta("the process's malloc: glibc, jemalloc or tcmalloc", since=2)
    shard: str | None = meta("I/N under --shard I/N; null for the whole selection", since=3)
    merged_from: list[str] | Absent = meta("reports merge only: the shards' file names", since=3, default=ABSENT)
    peaks: list[Peak] = meta("rnnsuite.peaks records")
    correctness: list[Check] = meta("rnnsuite.correctness records")
    errors: list[Error] | Absent = meta(
        "assembled from a journal: the tests that crashed or timed out", since=4, default=ABSENT
    )
    unfinished: list[str] | Absent = meta(
        "assembled from a journal: the node ids that did not finish", since=4, default=ABSENT
    )


@record
class ChecksFile:
    """The file ``--checks-json`` writes: the correctness records alone."""

    schema: int = meta("the run-file schema (SCHEMA)", required=True)
    label: str = meta("the run label")
    machine: Machine = meta("as machine_info.rnnsuite")
    correctness: list[Check] = meta("rnnsuite.correctness records", required=True)
    errors: list[Error] | Absent = meta(
        "written from a journal: the checks that crashed or timed out", since=4, default=ABSENT
    )


# The same declarations as rows (the tidy table's column types, the doc test, the fakes).
BENCH: tuple[Field, ...] = declared(Bench)
COLD: tuple[Field, ...] = declared(Cold)
PROCESS: tuple[Field, ...] = declared(Process)
CHECK: tuple[Field, ...] = declared(Check)
MACHINE: tuple[Field, ...] = declared(Machine)
PEAK: tuple[Field, ...] = declared(Peak)
RUN: tuple[Field, ...] = declared(Run)
CHECKS_FILE: tuple[Field, ...] = declared(ChecksFile)
ERROR: tuple[Field, ...] = declared(Error)
