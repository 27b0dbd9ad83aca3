"""A fresh run of the suite writes exactly the fields the fakes carry and reports/runfile/schema.py declares."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.record import names
from rnnsuite.reports.runfile.schema import BENCH, CHECK, MACHINE, PEAK, RUN
from tests import synthetic_runs as syn

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One benchmark and its forward/backward checks of the smallest case, written by the real suite."""
    path = tmp_path_factory.mktemp("fresh") / "run.json"
    cmd = [sys.executable, "-m", "pytest", "suite/test_speed.py", "suite/test_correctness.py", "-q"]
    cmd += ["-p", "no:cacheprovider", "-k", "numpy_rnn and float32 and (fwd-eager or not test_speed)"]
    cmd += ["--device", "cpu", "--dtype", "float32", "--pass", "fwd", "--min-time", "0.01"]
    cmd += [f"--benchmark-json={path}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}  # else benchmarks are off
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return dict(json.loads(path.read_text(encoding="utf-8")), path=str(path))


def test_fresh_benchmark_fields_equal_the_fakes(fresh: dict[str, Any]) -> None:
    fake = syn.run([syn.bench(samples=[1e-3] * 5)], [syn.correctness()])
    assert len(fresh["benchmarks"]) == 1
    assert set(fresh["benchmarks"][0]["extra_info"]) == set(fake["benchmarks"][0]["extra_info"])
    assert set(fresh["benchmarks"][0]["extra_info"]) == set(names(BENCH, always=True))
    assert set(fresh["benchmarks"][0]["stats"]) == set(fake["benchmarks"][0]["stats"])


def test_fresh_run_sections_equal_the_fakes(fresh: dict[str, Any]) -> None:
    fake = syn.run([syn.bench(samples=[1e-3] * 5)], [syn.correctness()])
    assert set(fresh["rnnsuite"]) == set(fake["rnnsuite"]) == set(names(RUN, always=True))
    assert set(fresh["machine_info"]["rnnsuite"]) == set(fake["machine_info"]["rnnsuite"]) == set(names(MACHINE))
    assert set(fresh["rnnsuite"]["peaks"][0]) == set(fake["rnnsuite"]["peaks"][0]) == set(names(PEAK))


def test_fresh_check_records_equal_the_fakes(fresh: dict[str, Any]) -> None:
    checks = fresh["rnnsuite"]["correctness"]
    assert {c["check"] for c in checks} >= {"forward", "backward"}
    for rec in checks:
        assert rec["outcome"] == "passed", rec
        assert set(rec) == set(syn.correctness(check=rec["check"])), rec["check"]
        assert set(rec) >= set(names(CHECK, always=True))


def test_fresh_run_loads(fresh: dict[str, Any]) -> None:
    run = load_run(fresh["path"])
    assert run.benchmarks[0]["extra_info"]["key"].startswith("numpy_rnn-cpu-float32-fwd-eager")


def test_fresh_machine_identity_is_filled_in(fresh: dict[str, Any]) -> None:
    """Schema 3's identity fields hold what this machine reports, not placeholders."""
    m = fresh["machine_info"]["rnnsuite"]
    assert "PyTorch built with" in m["torch_config"]
    assert m["python"] == ".".join(map(str, sys.version_info[:3]))
    if Path("/proc/meminfo").exists():
        assert m["memory_bytes"] > 2**28
        assert m["cpu_flags"] == sorted(set(m["cpu_flags"]))
        assert len(m["cpu_flags"]) > 5
    assert fresh["rnnsuite"]["shard"] is None
