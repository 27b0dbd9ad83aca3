"""Command-line options and markers of the suite (its hooks live in suite/plugin.py, loaded by suite/conftest.py)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rnnsuite", "RNN suite")
    group.addoption("--device", default="cpu,cuda", help="comma list of devices: cpu, cuda (default: both)")
    group.addoption(
        "--dtype", default="float64,float32,bfloat16,float16", help="comma list of dtypes (default: all four)"
    )
    group.addoption("--size", default="seed", help="comma list of size presets: seed, deepbench, sweep")
    group.addoption(
        "--kernel",
        default="vendor",
        help="comma list of kernels of the fused layers: vendor (oneDNN / cuDNN, the default), native (both off)",
    )
    group.addoption("--backend", default="eager", help="comma list of backends: eager, compile")
    group.addoption("--pass", dest="passes", default="fwd,fwd_bwd", help="comma list of timed passes: fwd, fwd_bwd")
    group.addoption("--threads", type=int, default=None, help="torch threads (default: all CPUs)")
    group.addoption("--seed", type=int, default=0, help="seed of the input and weight generator")
    group.addoption("--min-time", type=float, default=0.5, help="seconds of timed rounds per benchmark")
    group.addoption(
        "--min-rounds",
        type=int,
        default=10,
        help="timed rounds per benchmark at least (default 10; make report: 5, pytest-benchmark's own default)",
    )
    group.addoption("--no-peak", action="store_true", help="skip the matmul peak (no peak_fraction; faster A/B rounds)")
    group.addoption(
        "--allocator",
        default=None,
        help="comma list of malloc implementations: glibc, jemalloc, tcmalloc (a process each, LD_PRELOAD; "
        "default: the one this process runs with)",
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
        default="fork",
        help="how the cold variant gets a process with no history: fork (a child of a server that imported "
        "torch and built nothing, the default) or fresh (a new interpreter per benchmark; slow)",
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
        default=None,
        metavar="I/N",
        help="run only the I-th of N deterministic parts of the selection (1 <= I <= N), e.g. one CI job of N",
    )
    group.addoption(
        "--metric",
        default="time",
        help="benchmark metric: time (default) or instructions (counted under valgrind's callgrind)",
    )
