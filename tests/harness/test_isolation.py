"""Crashes, hangs and kills are recorded against their test and the run goes on (python -m suite.isolate, the journal).

The broken kernel is tests/fixtures/crash_torch/sitecustomize.py: with ``RNNSUITE_CRASH_TORCH`` set, nn.GRU's forward
misbehaves when it runs with gradients on a batch of 32, which of nn_gru's checks only the backward check does.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.reports.runfile import journal as jr

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ["suite/test_correctness.py", "-k", "nn_gru-cpu-float32 and not native", "--benchmark-disable"]
BACKWARD = "suite/test_correctness.py::test_backward[nn_gru-cpu-float32]"
FORWARD = "suite/test_correctness.py::test_forward[nn_gru-cpu-float32]"
DETERMINISTIC = "suite/test_correctness.py::test_deterministic[nn_gru-cpu-float32]"
OTHERS = {FORWARD, DETERMINISTIC}
BENCHES = [
    "suite/test_speed.py",
    "-k",
    "char_rnn-cpu-float32 or nn_rnn-cpu-float32-fwd-eager",
    "--no-cold",
    "--no-peak",
]
BENCHES += ["--min-time", "0.01", "--min-rounds", "2", "--kernel", "vendor"]


def _env(mode: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}  # else benchmarks are off
    env.pop("RNNSUITE_CRASH_TORCH", None)
    if mode:
        env |= {
            "RNNSUITE_CRASH_TORCH": mode,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "fixtures" / "crash_torch"), str(ROOT)]),
        }
    return env | extra


def _isolate(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "rnnsuite.suite.isolate", "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _outcomes(journal: jr.Journal) -> dict[str, str]:
    return {r["nodeid"]: r["outcome"] for r in journal.of("done")}


@pytest.mark.parametrize(("mode", "error"), [("segv", "crashed (SIGSEGV)"), ("kill", "crashed (SIGKILL)")])
def test_a_crash_is_recorded_against_its_test_and_the_run_goes_on(tmp_path: Path, mode: str, error: str) -> None:
    checks = tmp_path / "checks.json"
    done = _isolate(*CHECKS, f"--checks-json={checks}", env=_env(mode))
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    journal = jr.read(jr.journal_for(checks))
    assert journal.errors[BACKWARD]["error"] == error
    assert {n for n, o in _outcomes(journal).items() if o == "passed"} == OTHERS  # the tests after it ran too
    if mode == "segv":  # the fault handler's traceback, innermost frame first: the broken forward
        assert "_misbehave" in "\n".join(journal.errors[BACKWARD]["output"][:4])
    records = {(r["check"], r["outcome"]) for r in json.loads(checks.read_text())["correctness"]}
    assert ("backward", "crashed") in records
    assert ("forward", "passed") in records
    assert f"{error}: {BACKWARD}" in done.stdout


def test_a_crashed_xdist_worker_is_replaced_and_its_test_named_with_the_signal(tmp_path: Path) -> None:
    checks = tmp_path / "checks.json"
    args = [*CHECKS, "-n", "2", "--max-worker-restart=4", f"--checks-json={checks}"]
    done = _isolate(*args, env=_env("segv"))
    assert done.returncode == 1, done.stdout[-3000:]
    journal = jr.read(jr.journal_for(checks))
    assert journal.errors[BACKWARD]["error"] == "crashed (SIGSEGV)"
    assert journal.errors[BACKWARD]["by"] == "xdist"
    assert set(_outcomes(journal)) == OTHERS
    assert not journal.unfinished
    assert len(journal.headers) == 1  # xdist replaced the worker: one pytest session


def test_a_hang_is_stopped_at_the_time_limit_and_recorded_as_timed_out(tmp_path: Path) -> None:
    checks = tmp_path / "checks.json"
    start = time.monotonic()
    # 8 s: each of the other two checks takes under a second here, and the hung one waits the whole limit.
    done = _isolate(*CHECKS, "--time-limit", "8", f"--checks-json={checks}", env=_env("hang"))
    assert done.returncode == 1, done.stdout[-3000:]
    assert time.monotonic() - start < 280  # bounded: without the limit the test would never end
    journal = jr.read(jr.journal_for(checks))
    assert journal.errors[BACKWARD]["error"] == "timed out after 8 s"
    assert "_misbehave" in "\n".join(journal.errors[BACKWARD]["output"])  # where it hung
    # The check before it passed; the one after it, of the same case, device and dtype, is not run
    # (suite/plugin/hangs.py): one hang costs one time limit, not one per test.
    outcomes = _outcomes(journal)
    assert (outcomes[FORWARD], outcomes[DETERMINISTIC], outcomes.get(BACKWARD)) == ("passed", "skipped", None)
    assert f"1 test(s) on cpu in float32 skipped: nn_gru hung in {BACKWARD} (timed out after 8 s)" in done.stdout


def test_an_allocation_past_the_memory_limit_fails_its_test_only(tmp_path: Path) -> None:
    checks = tmp_path / "checks.json"
    done = _isolate(*CHECKS, f"--checks-json={checks}", env=_env("oom", RNNSUITE_CRASH_MEMORY_MB="64"))
    assert done.returncode == 1, done.stdout[-3000:]
    journal = jr.read(jr.journal_for(checks))
    assert _outcomes(journal)[BACKWARD] == "failed"
    assert not journal.errors
    failed = [r["record"] for r in journal.of("check") if r["record"]["outcome"] == "failed"]
    assert [r["check"] for r in failed] == ["backward"]
    assert "MemoryError" in failed[0]["message"]
    assert {n for n, o in _outcomes(journal).items() if o == "passed"} == OTHERS


MEMORY_CGROUPS = Path("/sys/fs/cgroup/memory")  # cgroup v1's memory hierarchy (this machine's kind)


@pytest.fixture
def memory_cgroup() -> Iterator[Path]:
    """A memory cgroup limited to 64 MB, removed afterwards; skips where none can be made (not root, no cgroup v1)."""
    group = MEMORY_CGROUPS / f"rnnsuite-test-{os.getpid()}-{random.randrange(10**9)}"
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(64 * 2**20))
    except OSError as exc:
        pytest.skip(
            f"no memory cgroup to limit the test in ({MEMORY_CGROUPS}: {exc.strerror}); needs root and cgroup v1"
        )
    try:
        yield group
    finally:
        for _ in range(50):  # the killed process leaves the cgroup as the kernel reaps it
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def test_a_kill_by_the_out_of_memory_killer_is_recorded_and_the_run_goes_on(
    tmp_path: Path, memory_cgroup: Path
) -> None:
    """A real out-of-memory kill: the backward check fills memory in a cgroup of 64 MB until the kernel kills it."""
    checks = tmp_path / "checks.json"
    done = _isolate(*CHECKS, f"--checks-json={checks}", env=_env("oom-kill", RNNSUITE_CRASH_CGROUP=str(memory_cgroup)))
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    oom = dict(line.split() for line in (memory_cgroup / "memory.oom_control").read_text().splitlines())
    assert int(oom.get("oom_kill", "1")) >= 1  # the kernel's killer did it (kernels before 4.13 do not count)
    journal = jr.read(jr.journal_for(checks))
    assert journal.errors[BACKWARD]["error"] == "crashed (SIGKILL)"
    assert {n for n, o in _outcomes(journal).items() if o == "passed"} == OTHERS


def _keys(data: dict[str, Any]) -> dict[str, Any]:
    benches = sorted(data["benchmarks"], key=lambda b: b["name"])
    return {
        "top": sorted(data),
        "rnnsuite": sorted(data["rnnsuite"]),
        "names": [b["name"] for b in benches],
        "bench": [sorted(b) for b in benches],
        "extra_info": [sorted(b["extra_info"]) for b in benches],
        "stats": [sorted(b["stats"]) for b in benches],
        "machine_info": sorted(data["machine_info"]),
    }


def test_a_run_killed_at_a_random_point_and_resumed_has_the_keys_of_an_uninterrupted_run(tmp_path: Path) -> None:
    whole = tmp_path / "whole.json"
    done = _isolate(*BENCHES, f"--benchmark-json={whole}", env=_env())
    assert done.returncode == 0, done.stdout[-3000:]
    cut = tmp_path / "cut.json"
    journal = jr.journal_for(cut)
    cmd = [
        sys.executable,
        "-m",
        "rnnsuite.suite.isolate",
        "-q",
        "-p",
        "no:cacheprovider",
        *BENCHES,
        f"--benchmark-json={cut}",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), start_new_session=True, stdout=subprocess.DEVNULL)
    done = json.loads(whole.read_text())["benchmarks"]
    after = random.randrange(len(done))  # a random point before the end: after 0 to n-1 finished benchmarks
    print(f"SIGKILL after {after} finished benchmark(s)")  # shown when the test fails
    while proc.poll() is None and (not journal.exists() or len(jr.read(journal).of("done")) < after):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed = _isolate(*BENCHES, f"--benchmark-json={cut}", "--resume", str(journal), env=_env())
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert _keys(json.loads(cut.read_text())) == _keys(json.loads(whole.read_text()))
    assert not jr.read(journal).unfinished


def test_resume_is_refused_in_one_line_when_the_options_differ(tmp_path: Path) -> None:
    journal = tmp_path / "j.jsonl"
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "suite/test_registry.py", "-x"]
    first = subprocess.run(
        [*args, "--journal", str(journal)], cwd=ROOT, env=_env(), capture_output=True, text=True, check=False
    )
    assert first.returncode == 0, first.stdout[-2000:]
    again = subprocess.run(
        [*args, "--resume", str(journal), "--seed", "1"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 4
    assert again.stderr.strip().count("\n") == 0
    assert "the options differ (--seed: 0 then, 1 now)" in again.stderr
    same = subprocess.run(
        [*args, "--resume", str(journal)], cwd=ROOT, env=_env(), capture_output=True, text=True, check=False
    )
    assert same.returncode == 5, same.stdout[-2000:]  # everything finished: nothing selected
