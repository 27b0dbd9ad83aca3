"""Each reproducer under zoo/repro/ still shows its defect: run as a user would, it exits 0 and says what it found.

A script exits 1 once its defect is gone (a fixed release): then this fails, and the case's
``known_defects`` declaration and docs/zoo.md are due for an update. A script whose package is not
installed here skips with the reason (make test installs the pure-Python packages only; make zoo all).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPRO = Path(__file__).resolve().parents[2] / "zoo" / "repro"
NEEDS = {  # script -> the module it imports
    "minlstm_parallel_h0.py": "minGRU_pytorch",
    "minlstm_sequential_gate_underflow.py": "minGRU_pytorch",
    "mingru_scan_error_grows.py": "minGRU_pytorch",
    "ncps_zero_state_dtype.py": "ncps",
    "mambapy_float32_upcast.py": "mambapy",
    "sru_cpu_kernel_float32_only.py": "sru",
    "xlstm_mlstm_squeeze_inplace.py": "xlstm",
    "xlstm_slstm_step_state.py": "xlstm",
}


def test_every_reproducer_is_listed_and_short() -> None:
    scripts = {p.name: p for p in REPRO.glob("*.py")}
    assert set(scripts) == set(NEEDS)
    long = {n: len(p.read_text().splitlines()) for n, p in scripts.items() if len(p.read_text().splitlines()) > 30}
    assert not long, f"over 30 lines: {long}"


@pytest.mark.parametrize("script", sorted(NEEDS))
def test_reproducer_shows_its_defect(script: str) -> None:
    if importlib.util.find_spec(NEEDS[script]) is None:
        pytest.skip(f"{NEEDS[script]} is not installed here (make zoo installs every zoo package)")
    run = subprocess.run([sys.executable, str(REPRO / script)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (
        f"{script} no longer shows its defect (exit {run.returncode}):\n{run.stdout}{run.stderr}"
    )
    assert run.stdout.strip(), f"{script} printed nothing"
