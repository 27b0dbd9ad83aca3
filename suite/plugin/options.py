"""The suite's command-line options, declared and validated in one place (torch-free at import).

Every option is typed where it is declared (``type=``, which argparse also applies to a string default),
with the names of the vocabulary (rnnsuite/vocabulary.py): its parser raises ``pytest.UsageError``, which
argparse lets through, so a bad value is pytest's one-line usage error (exit 4) at parsing, where
argparse's own error would print the usage block. ``parse_options`` checks only what no single option's
parser can: the cases (``--cases`` loads them later), options that depend on each other, the machine's
thread count; and it makes one typed ``Options``. The rnnsuite plugin (rnnsuite/plugin.py) declares the
options through ``add_options`` for every pytest run, ``pytest tests`` included, without importing torch."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from rnnsuite.suite.plugin.parsers import PREFIX, comma_list, one_of, option, positive, shard_of, size_list, whole
from rnnsuite.vocabulary import (
    ALLOCATORS,
    BACKENDS,
    COLD_PROCESSES,
    DEFAULT_KERNEL,
    DEVICES,
    DTYPES,
    KERNELS,
    METRICS,
    PASSES,
    SIZES,
    torch_dtype,
)

if TYPE_CHECKING:
    import torch

# The per-test time limit of rnnsuite isolate (docs/crashes.md): far above what any one test takes,
# even the DeepBench and sweep benchmarks (their times: docs/notes/cpu-speed.md).
TIME_LIMIT = 600.0
RESUME_DESTS: list[str] = []  # filled by pytest_addoption


def add_options(parser: pytest.Parser) -> None:
    """Declare the suite's options: each as ``--rnnsuite-NAME``, and as ``--NAME`` where no other plugin or
    conftest took that name first (a project's own ``--device`` stays its own; ``--rnnsuite-device`` is
    then the suite's). Idempotent: a second call declares nothing (the root conftest.py and the plugin
    both call it). The values live under ``rnnsuite_``-prefixed dests, read with ``parsers.option``."""
    group = _Declare(parser.getgroup("rnnsuite", "RNN suite"), taken_names(parser))
    group.addoption(
        "--device",
        type=comma_list("--device", DEVICES),
        default="cpu,cuda",
        help="comma list of devices: cpu, cuda (default: both)",
    )
    group.addoption(
        "--dtype",
        type=comma_list("--dtype", DTYPES),
        default=",".join(DTYPES),
        help=f"comma list of dtypes: {', '.join(DTYPES)} (default: all four)",
    )
    group.addoption(
        "--size",
        type=size_list,
        default=SIZES[0],
        help=f"comma list of size presets: {', '.join(SIZES)} (chapter: the chapter's sizes; seed, its old name, "
        "is read as chapter for one release)",
    )
    group.addoption(
        "--kernel",
        type=comma_list("--kernel", KERNELS),
        default=DEFAULT_KERNEL,
        help="comma list of kernels of the fused layers: vendor (oneDNN / cuDNN, the default), native (both off)",
    )
    group.addoption(
        "--backend",
        type=comma_list("--backend", BACKENDS),
        default="eager",
        help="comma list of backends: eager, compile",
    )
    group.addoption(
        "--pass",
        dest="passes",
        type=comma_list("--pass", PASSES),
        default="fwd,fwd_bwd",
        help="comma list of timed passes: fwd, fwd_bwd",
    )
    group.addoption("--threads", type=whole("--threads", 1), default=None, help="torch threads (default: all CPUs)")
    group.addoption("--seed", type=whole("--seed"), default=0, help="seed of the input and weight generator")
    group.addoption(
        "--min-time", type=positive("--min-time"), default=0.5, help="seconds of timed rounds per benchmark"
    )
    group.addoption(
        "--min-rounds",
        type=whole("--min-rounds", 1),
        default=10,
        help="timed rounds per benchmark at least (default 10; make report: 5, pytest-benchmark's own default)",
    )
    group.addoption("--no-peak", action="store_true", help="skip the matmul peak (no peak_fraction; faster A/B rounds)")
    group.addoption(
        "--allocator",
        type=comma_list("--allocator", ALLOCATORS),
        default=None,
        help="comma list of malloc implementations: glibc, jemalloc, tcmalloc (a process each, LD_PRELOAD; "
        "default: the one this process runs with)",
    )
    group.addoption(
        "--slow-tier",
        action="store_true",
        help="also run the slower tier (the checks at the edges of each dtype: marker slow_tier; make test runs "
        "it); a -m naming slow_tier selects it too",
    )
    group.addoption(
        "--no-cold", action="store_true", help="skip the cold variant (a process with no history per benchmark)"
    )
    group.addoption(
        "--cold-every",
        action="store_true",
        help="time the cold variant of every benchmark (default: only where its process with no history takes "
        "page faults make 1% or more of a call, the state that moves a timing)",
    )
    group.addoption(
        "--cold-process",
        type=one_of("--cold-process", COLD_PROCESSES),
        default=COLD_PROCESSES[0],
        help="how the cold variant gets a process with no history: fork-then-fresh (the default: a child of a "
        "server that imported torch and built nothing times one block, and a row whose page faults matter is "
        "timed in a new interpreter), fork (timed in the child) or fresh (a new interpreter per benchmark; slow)",
    )
    group.addoption(
        "--cases",
        action="append",
        default=[],
        metavar="MODULE",
        help="a module of your own cases (dotted name, or a .py file), checked and timed like the shipped ones "
        "(cases/api.py; repeatable, or a comma list). The entry-point group rnnsuite.cases is loaded too",
    )
    group.addoption("--run-label", default=None, help="the run's name in reports (default: torch version)")
    group.addoption(
        "--checks-json",
        default=None,
        help="write the correctness records to this JSON file (with -n: the records of every worker)",
    )
    group.addoption(
        "--checks-from",
        default=None,
        help="a checks file (--checks-json) whose records this run's file also gets (make report: the checks "
        "run on every core, the benchmarks in one process)",
    )
    group.addoption(
        "--inject-slowdown",
        default=None,
        help="CASE=FACTOR: scale the work of CASE's timed calls by FACTOR (gate studies only)",
    )
    group.addoption(
        "--inject-work",
        default=None,
        help="CASE=PCT: each call of CASE also runs its forward on the first PCT%% of its sequence (gate studies)",
    )
    group.addoption(
        "--shard",
        type=shard_of,
        default=None,
        metavar="I/N",
        help="run only the I-th of N deterministic parts of the selection (1 <= I <= N), e.g. one CI job of N",
    )
    group.addoption(
        "--metric",
        type=one_of("--metric", METRICS),
        default="time",
        help="benchmark metric: time (default) or instructions (counted under valgrind's callgrind)",
    )
    group.addoption(
        "--journal",
        default=None,
        metavar="PATH",
        help="append each finished check, benchmark and error to this JSON-lines file as it happens "
        "(docs/crashes.md; rnnsuite isolate sets it beside the run file)",
    )
    group.addoption(
        "--resume",
        default=None,
        metavar="JOURNAL",
        help="run only the tests that did not finish in this journal, appending to it (refused, exit 4, "
        "where the torch build, the machine or the options differ)",
    )
    group.addoption(
        "--time-limit",
        type=positive("--time-limit"),
        default=TIME_LIMIT,
        metavar="SECONDS",
        help=f"per-test time limit that rnnsuite isolate enforces (default {TIME_LIMIT:g} s): a test "
        "past it is recorded as timed out and its process stopped",
    )
    # What --resume compares: every option of this group but these (they name this session's files or limit).
    if group.declared:
        names = [d.removeprefix(PREFIX) for d in group.declared]
        RESUME_DESTS[:] = [d for d in names if d not in ("journal", "resume", "time_limit")]


def taken_names(parser: pytest.Parser) -> set[str]:
    """Every option string declared so far (pytest's own, other plugins', conftests')."""
    groups = [getattr(parser, "_anonymous", None), *getattr(parser, "_groups", [])]
    return {name for g in groups if g is not None for o in g.options for name in o.names()}


class _Declare:
    """An option group that declares ``--rnnsuite-NAME`` and, where free, ``--NAME``, with a prefixed dest."""

    def __init__(self, group: pytest.OptionGroup, taken: set[str]) -> None:
        self.group, self.taken = group, taken
        self.declared: list[str] = []

    def addoption(self, flag: str, **attrs: Any) -> None:
        name = flag.removeprefix("--")
        long = f"--rnnsuite-{name}"
        if long in self.taken:  # declared already
            return
        dest = PREFIX + attrs.pop("dest", name.replace("-", "_"))
        flags = [f for f in (flag, long) if f not in self.taken]
        self.group.addoption(*flags, dest=dest, **attrs)
        self.declared.append(dest)


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
    cold_process: str = COLD_PROCESSES[0]  # the default: fork-then-fresh (suite/measure/cold.py)
    cold_every: bool = False  # time every cold variant, not only those that fault on every call
    min_rounds: int = 10
    kernels: tuple[str, ...] = (DEFAULT_KERNEL,)
    metric: str = "time"  # or "instructions" (suite/measure/counting.py)
    extra_work: dict[str, float] = field(default_factory=dict)  # case -> extra fraction of its sequence
    only_cases: tuple[str, ...] | None = None  # --rnnsuite: the cases of its modules only (None: every case)


OPTIONS_KEY = pytest.StashKey[Options]()


def _case_number(spec: str) -> tuple[str, float]:
    """``CASE=NUMBER`` split; the number is NaN when it is not one, the case "" when unknown."""
    from rnnsuite.cases import CASES

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


def _metric(config: pytest.Config) -> str:
    metric = option(config, "metric")
    if metric == "instructions" and getattr(config.option, "numprocesses", None):
        raise pytest.UsageError("--metric instructions: run without -n (one process under valgrind counts all)")
    if metric == "instructions" and (option(config, "threads") or 1) != 1:
        raise pytest.UsageError("--metric instructions: counts need --threads 1 (idle OpenMP threads spin)")
    if metric == "instructions" and option(config, "inject_slowdown"):
        raise pytest.UsageError(
            "--inject-slowdown times whole extra calls; with --metric instructions use --inject-work"
        )
    return metric


def parse_options(config: pytest.Config) -> Options:
    """Validate the options; a bad value stops pytest with a one-line usage error."""
    import torch

    from rnnsuite.suite.measure.memory import allocator

    metric = _metric(config)
    threads = 1 if metric == "instructions" else option(config, "threads")
    if threads is None:  # all CPUs, shared among xdist workers (oversubscribed OpenMP threads crawl)
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        threads = max(1, (os.cpu_count() or 1) // workers)
    checks_json = option(config, "checks_json")
    if checks_json and not os.path.isdir(os.path.dirname(os.path.abspath(checks_json))):
        raise pytest.UsageError(f"--checks-json: no folder for {checks_json!r}")
    return Options(
        devices=option(config, "device"),
        dtypes=tuple(torch_dtype(d) for d in option(config, "dtype")),
        sizes=option(config, "size"),
        backends=option(config, "backend"),
        passes=option(config, "passes"),
        threads=threads,
        seed=option(config, "seed"),
        min_time=option(config, "min_time"),
        label=option(config, "run_label") or f"torch{torch.__version__}",
        slowdown=_slowdown(option(config, "inject_slowdown")),
        peak=not option(config, "no_peak"),
        checks_json=checks_json,
        allocator=allocator(),
        cold=not option(config, "no_cold"),
        cold_process=option(config, "cold_process"),
        cold_every=option(config, "cold_every"),
        min_rounds=option(config, "min_rounds"),
        kernels=option(config, "kernel"),
        metric=metric,
        extra_work=_extra_work(option(config, "inject_work")),
    )
