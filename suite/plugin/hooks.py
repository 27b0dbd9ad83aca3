"""The suite's pytest hooks: the matrix of points, the allocator and callgrind re-runs, the records' way into the run file."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
import torch

from rnnsuite.plugin import suite_dir
from rnnsuite.reports.runfile.atomic import write_atomic
from rnnsuite.reports.runfile.reader import load_checks
from rnnsuite.reports.runfile.record import checked
from rnnsuite.reports.runfile.run import RunFileError
from rnnsuite.reports.runfile.schema import Peak
from rnnsuite.reports.runfile.writer import checks_file, run_section
from rnnsuite.suite.harness.records import Records
from rnnsuite.suite.measure.allocators import check_available, run_each
from rnnsuite.suite.measure.memory import allocator
from rnnsuite.suite.plugin import journal
from rnnsuite.suite.plugin.check_names import RECORDS_KEY, WORKER_RECORDS, check_name, point_identity, point_of
from rnnsuite.suite.plugin.machine import describe_machine
from rnnsuite.suite.plugin.options import OPTIONS_KEY, parse_options
from rnnsuite.suite.plugin.parsers import option, shard_text
from rnnsuite.suite.plugin.progress import Progress
from rnnsuite.suite.plugin.user_cases import load_user_cases
from rnnsuite.vocabulary import torch_dtype


def _allocators(config: pytest.Config) -> tuple[str, ...]:
    """The ``--allocator`` list, each library checked (absent: a one-line usage error, exit 4)."""
    spec = option(config, "allocator")
    if spec is None:
        return (allocator(),)
    names: tuple[str, ...] = spec  # typed at its declaration (rnnsuite.vocabulary.ALLOCATORS)
    try:
        check_available(names)
    except (FileNotFoundError, ValueError) as exc:
        raise pytest.UsageError(str(exc)) from None
    return names


def _run_allocators(config: pytest.Config, names: tuple[str, ...]) -> None:
    """Other allocators than this process's: run pytest once per allocator, then stop with the worst status."""
    if hasattr(config, "workerinput"):
        raise pytest.UsageError(f"--allocator {','.join(names)}: a worker runs with {allocator()}")
    label = option(config, "run_label") or f"torch{torch.__version__}"
    status = run_each(config.invocation_params.args, names, label, str(config.invocation_params.dir))
    pytest.exit(f"--allocator {','.join(names)}: one run per allocator done", returncode=status)


def pytest_configure(config: pytest.Config) -> None:
    selected = load_user_cases(config)  # before anything reads the cases (--inject-slowdown, the matrix)
    names = _allocators(config)
    if names != (allocator(),):
        _run_allocators(config, names)
    opts = parse_options(config)
    opts.only_cases = selected
    if opts.metric == "instructions":
        _callgrind(config)
    config.stash[OPTIONS_KEY] = opts
    config.pluginmanager.register(_Collected(), "rnnsuite-collected")
    config.stash[RECORDS_KEY] = Records(correctness=_checks_from(config))
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(Progress(config), "rnnsuite-progress")
    torch.set_num_threads(opts.threads)
    # float32 means IEEE float32 here: TF32 would be another precision (PyTorch's RNN tests
    # run both ways; the suite pins it off so that float32 tolerances mean what they say).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    journal.setup(config)  # --journal / --resume (suite/plugin/journal.py)


def _checks_from(config: pytest.Config) -> list[dict[str, Any]]:
    """``--checks-from PATH``: the records of an earlier checks file (a bad file: one-line usage error, exit 4)."""
    path = option(config, "checks_from")
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
    from rnnsuite.suite.measure import callgrind

    if callgrind.under_callgrind() or hasattr(config, "workerinput"):
        return
    if callgrind.valgrind_path() is None:
        raise pytest.UsageError(f"--metric instructions needs valgrind, which is not on PATH: {callgrind.INSTALL_HINT}")
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.stop_global_capturing()
    callgrind.reexec_under_callgrind(sys.orig_argv)


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected: the shards split the selection itself
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--shard I/N``: keep every N-th selected test, starting at the I-th, in collection order.

    Collection order is the same in every process of one checkout (ids never depend on the
    machine: an absent device is skipped, not left out), so N jobs with shards 1..N run each test
    of the selection exactly once, and each shard gets a like mix of cases, dtypes and passes.
    """
    for item in items:  # every correctness test names its check (a missing or undeclared name: exit 4)
        if item.get_closest_marker("correctness") is not None:
            check_name(item)
    _without_the_slow_tier(config, items)
    _only_asked_cases(config, items)
    _with_baselines(config, items)
    shard = option(config, "shard")
    if shard is None:
        return
    i, n = shard
    _deselect(config, items, [item for k, item in enumerate(items) if k % n != i - 1])


def _deselect(config: pytest.Config, items: list[pytest.Item], dropped: list[pytest.Item]) -> None:
    """Take ``dropped`` out of the session's ``items`` and say so (pytest counts them as deselected)."""
    if dropped:
        gone = set(map(id, dropped))
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if id(i) not in gone]


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    """``--metric instructions``: once every benchmark is counted, the rest runs uninstrumented."""
    try:
        return (yield)
    finally:
        from rnnsuite.suite.measure import callgrind

        callgrind.uninstrument()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """``--checks-json PATH``: write the correctness records on their own (no benchmarks needed).

    An xdist worker hands its records to the controller (``workeroutput``), which writes them all.
    """
    opts = session.config.stash.get(OPTIONS_KEY, None)
    if opts is not None and hasattr(session.config, "workeroutput"):
        session.config.workeroutput[WORKER_RECORDS] = json.dumps(session.config.stash[RECORDS_KEY].correctness)
    if opts is not None and opts.checks_json and not hasattr(session.config, "workerinput"):
        path = opts.checks_json
        data = checks_file(opts.label, describe_machine(), session.config.stash[RECORDS_KEY].correctness)
        write_atomic(path, json.dumps(data))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist's controller: gather a finished worker's correctness records (none from a crashed one)."""
    records = node.config.stash.get(RECORDS_KEY, None)
    found = getattr(node, "workeroutput", {}).get(WORKER_RECORDS)
    if records is not None and found:
        records.correctness.extend(json.loads(found))


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    machine_info["rnnsuite"] = describe_machine(**_counting_machine(config))


def _counting_machine(config: pytest.Config) -> dict[str, str | None]:
    """valgrind's version and the process's instrumentation in a run under ``--metric instructions``, else None."""
    from rnnsuite.suite.measure import callgrind

    if config.stash[OPTIONS_KEY].metric != "instructions":
        return {}
    return {"valgrind": callgrind.valgrind_version(), "instrumentation": callgrind.instrumentation()}


def _final_peaks(recs: Records, output_json: dict[str, Any]) -> None:
    """Measure each peak again at the end of the run and keep the higher of the two.

    A shared machine's speed drifts: one early measurement can sit below what the benchmarks
    later reached. Every benchmark's ``peak_gflops`` is set to the final figure.
    """
    from rnnsuite.suite.measure.timing import matmul_peak

    for (device, dtype), first in list(recs.peaks.items()):
        if "gflops_end" in first:  # pytest-benchmark writes the JSON once per output (--benchmark-json, -save)
            continue
        again = matmul_peak(device, torch_dtype(dtype), first["threads"])
        best = first if first["gflops"] >= again["gflops"] else again
        recs.peaks[(device, dtype)] = checked(
            Peak, best | {"gflops_start": first["gflops"], "gflops_end": again["gflops"]}, "peaks"
        )
    final = {key: p["gflops"] for key, p in recs.peaks.items()}
    for bench in output_json.get("benchmarks", []):
        extra = bench.get("extra_info", {})
        if (extra.get("device"), extra.get("dtype")) in final:
            extra["peak_gflops"] = final[(extra["device"], extra["dtype"])]


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any, output_json: dict[str, Any]) -> None:
    recs = config.stash[RECORDS_KEY]
    _final_peaks(recs, output_json)
    opts = config.stash[OPTIONS_KEY]
    sections = list(recs.peaks.values()), recs.correctness
    output_json["rnnsuite"] = run_section(opts.label, opts.allocator, opts.metric, *sections, shard=shard_text(config))


def _only_asked_cases(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--rnnsuite``: of the suite's tests, only those of the asked cases stay (a project's own tests all stay)."""
    only = config.stash[OPTIONS_KEY].only_cases
    if only is None:
        return
    folder = suite_dir()
    _deselect(
        config,
        items,
        [i for i in items if folder in i.path.resolve().parents and point_identity(i)["case"] not in only],
    )


COLLECTED = pytest.StashKey[list[pytest.Item]]()


class _Collected:
    """Keeps every collected test before ``-k``, ``-m`` and the other hooks deselect (for ``_with_baselines``)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        config.stash[COLLECTED] = list(items)


def _with_baselines(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A selected hand-written model's benchmark brings its baseline's benchmark of the same shape, device, dtype,
    pass and backend (the report's section (b) pairs them), whatever ``-k`` or ``--rnnsuite`` left out."""
    wanted = {
        (p.case.baseline, p.device, p.dtype, p.pass_, p.backend, p.size.label)
        for p in map(point_of, items)
        if p is not None and p.case.baseline is not None and p.size is not None
    }
    if not wanted:
        return
    kept = set(map(id, items))

    def pairs(item: pytest.Item) -> bool:
        p = point_of(item)
        return (
            p is not None
            and p.size is not None
            and ((p.case.name, p.device, p.dtype, p.pass_, p.backend, p.size.label) in wanted)
        )

    every = config.stash.get(COLLECTED, [])
    items[:] = [i for i in every if id(i) in kept or pairs(i)]


def _without_the_slow_tier(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slower tier (marker ``slow_tier``) runs only with ``--slow-tier`` or a ``-m`` that names it."""
    if option(config, "slow_tier") or "slow_tier" in (config.getoption("markexpr", "") or ""):
        return
    _deselect(config, items, [i for i in items if i.get_closest_marker("slow_tier") is not None])
