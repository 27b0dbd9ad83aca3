"""make report's phases: the checks on every core into a checks file, the benchmarks in one process with those
records merged into the run file, and a progress line for long runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rnnsuite.suite.ab.runner import Side, pytest_command
from rnnsuite.suite.plugin.progress import Progress

ROOT = Path(__file__).resolve().parents[2]
SELECT = ["--device", "cpu", "--dtype", "float32", "-k", "nn_rnn-cpu-float32 and not native"]


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}  # else benchmarks are off
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env=env)


def _checks(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["correctness"])


def test_checks_on_every_core_are_the_serial_checks(tmp_path: Path) -> None:
    """With -n 2 each worker keeps its own records; the controller must gather them all into --checks-json."""
    select = ["--device", "cpu", "--dtype", "float64,float32", "-k", "nn_rnn-cpu-float and not native"]
    args = ["suite/test_correctness.py", "suite/test_gradcheck.py", "--benchmark-disable", *select]
    serial = _pytest(*args, f"--checks-json={tmp_path / 'serial.json'}")
    parallel = _pytest(*args, "-n", "2", f"--checks-json={tmp_path / 'parallel.json'}")
    assert serial.returncode == 0, serial.stdout[-2000:]
    assert parallel.returncode == 0, parallel.stdout[-2000:]

    def ids(path: Path) -> list[tuple[str, str, str]]:
        return sorted((r["key"], r["check"], r["outcome"]) for r in _checks(path))

    assert len(ids(tmp_path / "serial.json")) >= 7  # forward, backward, determinism in two dtypes; gradcheck
    assert ids(tmp_path / "parallel.json") == ids(tmp_path / "serial.json")


def test_the_run_file_gets_the_checks_files_records(tmp_path: Path) -> None:
    checks = tmp_path / "checks.json"
    done = _pytest("suite/test_correctness.py", "--benchmark-disable", *SELECT, f"--checks-json={checks}")
    assert done.returncode == 0, done.stdout[-2000:]
    run = tmp_path / "run.json"
    bench = _pytest(
        "suite/test_speed.py", "--benchmark-only", "--no-cold", "--no-peak", "--min-time", "0.01",
        "--device", "cpu", "--dtype", "float32", "--pass", "fwd", "-k", "char_rnn",
        f"--checks-from={checks}", f"--benchmark-json={run}",
    )  # fmt: skip
    assert bench.returncode == 0, bench.stdout[-2000:]
    data = json.loads(run.read_text())
    assert [b["extra_info"]["case"] for b in data["benchmarks"]] == ["char_rnn"]
    assert data["rnnsuite"]["correctness"] == _checks(checks)


def test_progress_says_done_of_all_and_the_time_left() -> None:
    progress = Progress.__new__(Progress)
    progress.total, progress.done, progress.start, progress.last = 10, 0, 0.0, 0.0
    lines = [progress.tick(t) for t in (10.0, 20.0, 45.0, 50.0, 60.0, 80.0)]
    assert lines[:2] == [None, None]  # under Progress.EVERY_S since the start
    assert lines[2] == "progress: 3/10 tests done, 45s so far, about 1m45s left"
    assert lines[3:5] == [None, None]  # under EVERY_S since the last line
    assert lines[5] == "progress: 6/10 tests done, 1m20s so far, about 53s left"


def test_the_ab_runner_never_runs_cold_children() -> None:
    """The gate reads the warm timings only; no caller has to say --no-cold."""
    cmd = pytest_command(Side("a", sys.executable, ROOT), Path("a.json"), ["-k", "nn_lstm"])
    assert "--no-cold" in cmd
