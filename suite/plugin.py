"""The suite's pytest plugin: validates options, builds the matrix, records errors into the run file."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch

from cases import CASES, DTYPES
from reports.atomic import write_atomic
from reports.runfile import RunFileError, load_checks
from reports.schema import MACHINE, PEAK, checked
from suite.allocators import check_available, run_each
from suite.cold import PROCESSES as COLD_PROCESSES
from suite.harness import Point, dtype_of
from suite.kernels import DEFAULT_KERNEL, KERNELS, KernelPoint, kernel_flags, kernel_of
from suite.memory import ALLOCATORS, allocator
from suite.progress import Progress
from suite.runrecord import check_record, checks_file, run_section

SIZES = ("seed", "deepbench", "sweep")
BACKENDS = ("eager", "compile")
PASSES = ("fwd", "fwd_bwd")
DEVICES = ("cpu", "cuda")
METRICS = ("time", "instructions")


@dataclass
class Options:
    """The validated command-line options."""

    devices: tuple[str, ...]
    dtypes: tuple[torch.dtype, ...]
    sizes: tuple[str, ...]
    backends: tuple[str, ...]
    passes: tuple[str, ...]
    threads: int
    seed: int
    min_time: float
    label: str
    slowdown: dict[str, float] = field(default_factory=dict)
    peak: bool = True
    checks_json: str | None = None
    allocator: str = "glibc"
    cold: bool = True
    cold_process: str = "fork"  # or "fresh" (suite/cold.py)
    cold_every: bool = False  # time every cold variant, not only those that fault on every call
    min_rounds: int = 10
    kernels: tuple[str, ...] = (DEFAULT_KERNEL,)
    metric: str = "time"  # or "instructions" (suite/counting.py)
    extra_work: dict[str, float] = field(default_factory=dict)  # case -> extra fraction of its sequence


@dataclass
class Records:
    """What the run file gets besides the timings."""

    correctness: list[dict[str, Any]] = field(default_factory=list)
    peaks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def _choices(config: pytest.Config, opt: str, flag: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = tuple(v.strip() for v in str(config.getoption(opt)).split(",") if v.strip())
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        raise pytest.UsageError(
            f"{flag}: unknown value {', '.join(unknown) or '(empty)'!r}; choose from {', '.join(allowed)}"
        )
    return values


def _case_number(spec: str) -> tuple[str, float]:
    """``CASE=NUMBER`` split; the number is NaN when it is not one, the case "" when unknown."""
    case, _, number = spec.partition("=")
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    return (case if case in CASES else ""), value


def _slowdown(spec: str | None) -> dict[str, float]:
    if not spec:
        return {}
    case, value = _case_number(spec)
    if not case or not math.isfinite(value) or value < 1.0:
        raise pytest.UsageError(
            f"--inject-slowdown: expected CASE=FACTOR with a known case and FACTOR >= 1, got {spec!r}"
        )
    return {case: value}


def _extra_work(spec: str | None) -> dict[str, float]:
    if not spec:
        return {}
    case, value = _case_number(spec)
    if not case or not math.isfinite(value) or not 0 < value <= 100:
        raise pytest.UsageError(f"--inject-work: expected CASE=PCT with a known case and 0 < PCT <= 100, got {spec!r}")
    return {case: value / 100}


def _one(config: pytest.Config, opt: str, flag: str, allowed: tuple[str, ...]) -> str:
    """An option that takes exactly one of ``allowed``."""
    values = _choices(config, opt, flag, allowed)
    if len(values) != 1:
        raise pytest.UsageError(f"{flag}: one of {', '.join(allowed)}, got {','.join(values)!r}")
    return values[0]


def _metric(config: pytest.Config) -> str:
    metric = _one(config, "metric", "--metric", METRICS)
    if metric == "instructions" and getattr(config.option, "numprocesses", None):
        raise pytest.UsageError("--metric instructions: run without -n (one process under valgrind counts all)")
    if metric == "instructions" and (config.getoption("threads") or 1) != 1:
        raise pytest.UsageError("--metric instructions: counts need --threads 1 (idle OpenMP threads spin)")
    if metric == "instructions" and config.getoption("inject_slowdown"):
        raise pytest.UsageError(
            "--inject-slowdown times whole extra calls; with --metric instructions use --inject-work"
        )
    return metric


def parse_options(config: pytest.Config) -> Options:
    """Validate the options; a bad value stops pytest with a one-line usage error."""
    metric = _metric(config)
    threads = 1 if metric == "instructions" else config.getoption("threads")
    if threads is None:  # all CPUs, shared among xdist workers (oversubscribed OpenMP threads crawl)
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        threads = max(1, (os.cpu_count() or 1) // workers)
    if threads < 1:
        raise pytest.UsageError(f"--threads: must be at least 1, got {threads}")
    if config.getoption("min_time") <= 0:
        raise pytest.UsageError("--min-time: must be positive")
    if config.getoption("min_rounds") < 1:
        raise pytest.UsageError(f"--min-rounds: must be at least 1, got {config.getoption('min_rounds')}")
    shard_of(config.getoption("shard"))  # a bad --shard stops here, before collection
    checks_json = config.getoption("checks_json")
    if checks_json and not os.path.isdir(os.path.dirname(os.path.abspath(checks_json))):
        raise pytest.UsageError(f"--checks-json: no folder for {checks_json!r}")
    return Options(
        devices=_choices(config, "device", "--device", DEVICES),
        dtypes=tuple(dtype_of(d) for d in _choices(config, "dtype", "--dtype", tuple(DTYPES))),
        sizes=_choices(config, "size", "--size", SIZES),
        backends=_choices(config, "backend", "--backend", BACKENDS),
        passes=_choices(config, "passes", "--pass", PASSES),
        threads=threads,
        seed=config.getoption("seed"),
        min_time=config.getoption("min_time"),
        label=config.getoption("run_label") or f"torch{torch.__version__}",
        slowdown=_slowdown(config.getoption("inject_slowdown")),
        peak=not config.getoption("no_peak"),
        checks_json=checks_json,
        allocator=allocator(),
        cold=not config.getoption("no_cold"),
        cold_process=_one(config, "cold_process", "--cold-process", COLD_PROCESSES),
        cold_every=config.getoption("cold_every"),
        min_rounds=config.getoption("min_rounds"),
        kernels=_choices(config, "kernel", "--kernel", KERNELS),
        metric=metric,
        extra_work=_extra_work(config.getoption("inject_work")),
    )


def _allocators(config: pytest.Config) -> tuple[str, ...]:
    """The ``--allocator`` list, each library checked (absent: a one-line usage error, exit 4)."""
    spec = config.getoption("allocator")
    if spec is None:
        return (allocator(),)
    names = _choices(config, "allocator", "--allocator", ALLOCATORS)
    try:
        check_available(names)
    except (FileNotFoundError, ValueError) as exc:
        raise pytest.UsageError(str(exc)) from None
    return names


def _run_allocators(config: pytest.Config, names: tuple[str, ...]) -> None:
    """Other allocators than this process's: run pytest once per allocator, then stop with the worst status."""
    if hasattr(config, "workerinput"):
        raise pytest.UsageError(f"--allocator {','.join(names)}: a worker runs with {allocator()}")
    label = config.getoption("run_label") or f"torch{torch.__version__}"
    status = run_each(config.invocation_params.args, names, label, str(config.invocation_params.dir))
    pytest.exit(f"--allocator {','.join(names)}: one run per allocator done", returncode=status)


def pytest_configure(config: pytest.Config) -> None:
    names = _allocators(config)
    if names != (allocator(),):
        _run_allocators(config, names)
    opts = parse_options(config)
    if opts.metric == "instructions":
        _callgrind(config)
    config.stash[OPTIONS] = opts
    config.stash[RECORDS] = Records(correctness=_checks_from(config))
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(Progress(config), "rnnsuite-progress")
    torch.set_num_threads(opts.threads)
    # float32 means IEEE float32 here: TF32 would be another precision (PyTorch's RNN tests
    # run both ways; the suite pins it off so that float32 tolerances mean what they say).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def _checks_from(config: pytest.Config) -> list[dict[str, Any]]:
    """``--checks-from PATH``: the records of an earlier checks file (a bad file: one-line usage error, exit 4)."""
    path = config.getoption("checks_from")
    if not path or hasattr(config, "workerinput"):
        return []
    try:
        return load_checks(path)
    except RunFileError as exc:
        raise pytest.UsageError(f"--checks-from: {exc}") from None


def _callgrind(config: pytest.Config) -> None:
    """``--metric instructions``: rerun this very command under callgrind, once, unless it already is.

    Where valgrind is absent, a one-line usage error (exit 4). The rerun replaces this process,
    so its exit status is the command's; pytest's output capture is stopped first.
    """
    from suite import counting

    if counting.under_callgrind() or hasattr(config, "workerinput"):
        return
    if counting.valgrind_path() is None:
        raise pytest.UsageError(f"--metric instructions needs valgrind, which is not on PATH: {counting.INSTALL_HINT}")
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.stop_global_capturing()
    counting.reexec_under_callgrind(sys.orig_argv)


def shard_of(spec: str | None) -> tuple[int, int] | None:
    """``--shard I/N`` as ``(I, N)``; None without the option.

    Raises:
        pytest.UsageError: not two whole numbers with 1 <= I <= N.
    """
    if spec is None:
        return None
    try:
        i, n = (int(part) for part in spec.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--shard {spec!r}: expected I/N, e.g. 2/4") from None
    if not 1 <= i <= n:
        raise pytest.UsageError(f"--shard {spec}: I must be between 1 and N")
    return i, n


def _shard_text(config: pytest.Config) -> str | None:
    shard = shard_of(config.getoption("shard"))
    return None if shard is None else f"{shard[0]}/{shard[1]}"


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected: the shards split the selection itself
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--shard I/N``: keep every N-th selected test, starting at the I-th, in collection order.

    Collection order is the same in every process of one checkout (ids never depend on the
    machine: an absent device is skipped, not left out), so N jobs with shards 1..N run each test
    of the selection exactly once, and each shard gets a like mix of cases, dtypes and passes.
    """
    shard = shard_of(config.getoption("shard"))
    if shard is None:
        return
    i, n = shard
    kept = [item for k, item in enumerate(items) if k % n == i - 1]
    dropped = [item for k, item in enumerate(items) if k % n != i - 1]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


OPTIONS = pytest.StashKey[Options]()
RECORDS = pytest.StashKey[Records]()


def _device_marks(device: str) -> list[pytest.MarkDecorator]:
    if device == "cuda" and not torch.cuda.is_available():
        return [pytest.mark.skip(reason="CUDA not available on this machine")]
    return []


def matrix(
    opts: Options, *, only_dtypes: tuple[torch.dtype, ...] | None = None, only_cases: tuple[str, ...] | None = None
) -> list[Any]:
    """``pytest.param(Point)`` for every case x device x dtype the options and the cases allow."""
    params = []
    for case in (c for c in CASES.values() if only_cases is None or c.name in only_cases):
        for device in (d for d in opts.devices if d in case.devices):
            for dtype in (t for t in opts.dtypes if t in case.dtypes and (only_dtypes is None or t in only_dtypes)):
                for point in _kernel_points(opts, case, device, dtype):
                    params.append(pytest.param(point, id=point.id, marks=_device_marks(device)))
    return params


def _kernel_points(opts: Options, case: Any, device: str, dtype: torch.dtype) -> list[Point]:
    """A fused layer's points, one per kernel asked for; any other case's one point."""
    if not case.fused:
        return [Point(case, device, dtype)]
    return [
        Point(case, device, dtype) if k == DEFAULT_KERNEL else KernelPoint(case, device, dtype, k) for k in opts.kernels
    ]


@pytest.fixture(autouse=True)
def _kernel_of_point(request: pytest.FixtureRequest) -> Any:
    """A matrix test runs under its point's kernel (``--kernel``); other tests under torch's default."""
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    point = params.get("point", params.get("point64"))
    with kernel_flags(kernel_of(point)):
        yield


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    opts = metafunc.config.stash[OPTIONS]
    marker = metafunc.definition.get_closest_marker("cases")  # @pytest.mark.cases("name", ...)
    only = tuple(marker.args) if marker else None
    if "point" in metafunc.fixturenames:
        metafunc.parametrize("point", matrix(opts, only_cases=only))
    if "point64" in metafunc.fixturenames:  # float64-only checks (gradcheck)
        metafunc.parametrize("point64", matrix(opts, only_dtypes=(torch.float64,), only_cases=only))
    if "compiled_point" in metafunc.fixturenames:  # the compiled checks (suite/test_compiled.py)
        skip = pytest.mark.skip(reason="the compiled-model checks run with --backend compile")
        compiled = [pytest.param(None, id="eager-only", marks=skip)]
        metafunc.parametrize(
            "compiled_point", matrix(opts, only_cases=only) if "compile" in opts.backends else compiled
        )
    if "bench_point" in metafunc.fixturenames:
        from suite.timing import bench_params

        metafunc.parametrize("bench_point", bench_params(opts, _device_marks))


@pytest.fixture
def options(request: pytest.FixtureRequest) -> Options:
    """The validated suite options."""
    return request.config.stash[OPTIONS]


@pytest.fixture
def records(request: pytest.FixtureRequest) -> Records:
    """The session's correctness records and matmul peaks."""
    return request.config.stash[RECORDS]


def record_check(records: Records, point: Point, check: str, outcome: str, **fields: Any) -> None:
    """Add one correctness record of a point of the matrix (see docs/run-file.md)."""
    ident = {"key": point.id, "case": point.case.name, "device": point.device, "dtype": point.dtype_name}
    add_record(records, ident, check, outcome, kernel=kernel_of(point), **fields)


def add_record(records: Records, ident: dict[str, Any], check: str, outcome: str, **fields: Any) -> None:
    """Add one correctness record: ``ident`` holds ``key, case, device, dtype``; missing errors are null."""
    records.correctness.append(check_record(ident, check, outcome, **fields))


# The check name of a test in the run file (others: the test's name without "test_").
CHECK_OF_TEST = {
    "test_forward": "forward",
    "test_backward": "backward",
    "test_forward_compiled": "forward_compile",
    "test_backward_compiled": "backward_compile",
    "test_deterministic": "determinism",
    "test_gradcheck": "gradcheck",
    "test_rnn_cell_loop_equals_nn_rnn_at_every_step": "equivalence",
    "test_corrected_cell_equals_builtin": "equivalence",
    "test_training_tags_both_sentences": "tagger_training",
    "test_state_does_not_leak_between_sentences": "state_isolation",
    "test_reference_backward_matches_finite_differences": "reference_fd",
    "test_reference_is_not_trivial": "reference_nontrivial",
}
POINT_PARAMS = ("point", "point64", "compiled_point")


def item_identity(item: pytest.Item) -> tuple[dict[str, Any], str]:
    """The record's ``key, case, device, dtype`` and check name of a correctness test.

    A test on a point of the matrix is that point; one on a case's NumPy reference is the case on
    ``cpu`` in ``float64``; any other is keyed by its test id, with no case.
    """
    name = getattr(item, "originalname", item.name)
    check = CHECK_OF_TEST.get(name, name.removeprefix("test_"))
    params = (getattr(item, "callspec", None) and item.callspec.params) or {}
    point = next((params[p] for p in POINT_PARAMS if isinstance(params.get(p), Point)), None)
    if point is not None:
        ident = {"key": point.id, "case": point.case.name, "device": point.device, "dtype": point.dtype_name}
        return ident | {"kernel": kernel_of(point)}, check
    if params.get("name") in CASES:
        case = params["name"]
        return {"key": f"{case}-cpu-float64", "case": case, "device": "cpu", "dtype": "float64"}, check
    return {"key": item.name, "case": None, "device": None, "dtype": None}, check


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    """``--metric instructions``: once every benchmark is counted, the rest runs uninstrumented."""
    try:
        return (yield)
    finally:
        from suite import counting

        counting.uninstrument()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Every correctness test reaches the run file: one that did not record itself gets a record of its
    outcome (passed, or failed with the first line of the failure; a skip is not a check)."""
    report = yield
    done = report.failed or (report.passed and report.when == "call")
    if done and item.get_closest_marker("correctness") is not None:
        ident, check = item_identity(item)
        recs = item.config.stash[RECORDS]
        if not any(r["key"] == ident["key"] and r["check"] == check for r in recs.correctness):
            fields: dict[str, Any] = {}
            if report.failed:
                crash = getattr(report.longrepr, "reprcrash", None)
                message = crash.message if crash is not None else str(report.longrepr)
                fields["message"] = message.splitlines()[0][:300] if message else ""
            add_record(recs, ident, check, "failed" if report.failed else "passed", **fields)
    return report


WORKER_RECORDS = "rnnsuite_correctness"  # the key of an xdist worker's records in its ``workeroutput``


def pytest_sessionfinish(session: pytest.Session) -> None:
    """``--checks-json PATH``: write the correctness records on their own (no benchmarks needed).

    An xdist worker hands its records to the controller (``workeroutput``), which writes them all.
    """
    opts = session.config.stash.get(OPTIONS, None)
    if opts is not None and hasattr(session.config, "workeroutput"):
        session.config.workeroutput[WORKER_RECORDS] = json.dumps(session.config.stash[RECORDS].correctness)
    if opts is not None and opts.checks_json and not hasattr(session.config, "workerinput"):
        path = opts.checks_json
        data = checks_file(opts.label, describe_machine(), session.config.stash[RECORDS].correctness)
        write_atomic(path, json.dumps(data))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist's controller: gather a finished worker's correctness records (none from a crashed one)."""
    records = node.config.stash.get(RECORDS, None)
    found = getattr(node, "workeroutput", {}).get(WORKER_RECORDS)
    if records is not None and found:
        records.correctness.extend(json.loads(found))


def describe_machine(valgrind: str | None = None, instrumentation: str | None = None) -> dict[str, Any]:
    """Versions and hardware facts for the run file (``machine_info.rnnsuite``).

    Args:
        valgrind: valgrind's version in a counted run (``--metric instructions``).
        instrumentation: how that run's process was instrumented (``suite.counting.instrumentation``).
    """
    cfg = torch.__config__.show()
    onednn = next((line.split("v", 1)[1].split()[0] for line in cfg.splitlines() if "MKL-DNN v" in line), None)
    blas = next((line.split("BLAS_INFO=")[1].split(",")[0] for line in cfg.splitlines() if "BLAS_INFO=" in line), None)
    cuda = torch.cuda.is_available()
    machine = {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "blas": blas,
        "onednn": onednn,
        "numpy": np.__version__,
        "tf32": False,
        "allocator": allocator(),
        "valgrind": valgrind,
        "cpu_flags": _cpu_flags(),
        "memory_bytes": _memory_bytes(),
        "gpu_driver": _gpu_driver() if cuda else None,
        "torch_git": getattr(torch.version, "git_version", None),
        "torch_config": cfg,
        "python": platform.python_version(),
        "instrumentation": instrumentation,
    }
    return checked(MACHINE, machine, "machine_info.rnnsuite")


def _cpuinfo_field(name: str) -> str | None:
    """The first value of ``name`` in /proc/cpuinfo (None where there is no such file or field)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.split(":", 1)[0].strip() == name:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    """The CPU's feature flags, sorted (x86 ``flags``, Arm ``Features``); empty where not readable."""
    return sorted(set((_cpuinfo_field("flags") or _cpuinfo_field("Features") or "").split()))


def _memory_bytes() -> int | None:
    """Total memory from /proc/meminfo (kB there), or None."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _gpu_driver() -> str | None:
    """The NVIDIA kernel module's version (/proc/driver/nvidia/version), else nvidia-smi's, else None."""
    try:
        with open("/proc/driver/nvidia/version", encoding="utf-8") as fh:
            head = fh.readline()
        if "Kernel Module" in head:
            return head.split("Kernel Module", 1)[1].split()[0]
    except (OSError, IndexError):
        pass
    import subprocess

    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.splitlines()[0].strip() if out.returncode == 0 and out.stdout.strip() else None


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    machine_info["rnnsuite"] = describe_machine(**_counting_machine(config))


def _counting_machine(config: pytest.Config) -> dict[str, str | None]:
    """valgrind's version and the process's instrumentation in a run under ``--metric instructions``, else None."""
    from suite import counting

    if config.stash[OPTIONS].metric != "instructions":
        return {}
    return {"valgrind": counting.valgrind_version(), "instrumentation": counting.instrumentation()}


def _final_peaks(recs: Records, output_json: dict[str, Any]) -> None:
    """Measure each peak again at the end of the run and keep the higher of the two.

    A shared machine's speed drifts: one early measurement can sit below what the benchmarks
    later reached. Every benchmark's ``peak_gflops`` is set to the final figure.
    """
    from suite.timing import matmul_peak

    for (device, dtype), first in list(recs.peaks.items()):
        if "gflops_end" in first:  # pytest-benchmark writes the JSON once per output (--benchmark-json, -save)
            continue
        again = matmul_peak(device, dtype_of(dtype), first["threads"])
        best = first if first["gflops"] >= again["gflops"] else again
        recs.peaks[(device, dtype)] = checked(
            PEAK, best | {"gflops_start": first["gflops"], "gflops_end": again["gflops"]}, "peaks"
        )
    final = {key: p["gflops"] for key, p in recs.peaks.items()}
    for bench in output_json.get("benchmarks", []):
        extra = bench.get("extra_info", {})
        if (extra.get("device"), extra.get("dtype")) in final:
            extra["peak_gflops"] = final[(extra["device"], extra["dtype"])]


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any, output_json: dict[str, Any]) -> None:
    recs = config.stash[RECORDS]
    _final_peaks(recs, output_json)
    opts = config.stash[OPTIONS]
    sections = list(recs.peaks.values()), recs.correctness
    output_json["rnnsuite"] = run_section(opts.label, opts.allocator, opts.metric, *sections, shard=_shard_text(config))
