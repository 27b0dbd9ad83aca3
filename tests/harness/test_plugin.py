"""The pytest plugin in a project of its own: inert without ``--rnnsuite``, the suite's checks with it, the
project's own options, fixtures, warnings and exit codes left alone; and ``rnnsuite report`` from any folder.

Each test writes a small project into a temporary folder (outside the checkout) and runs pytest there in a
process of its own, with this venv's plugin (an editable install: the entry point is the wheel's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnnsuite.suite.commands.main_job import unfinished

ROOT = Path(__file__).resolve().parents[2]
CASE = (ROOT / "examples" / "user-project" / "my_rnn").resolve()

OWN_CONFTEST = """
import pytest

def pytest_addoption(parser):
    parser.addoption("--device", default="tpu", help="the project's own --device")

@pytest.fixture
def options():
    return "the project's own options fixture"
"""

OWN_TESTS = """
import sys
import warnings

def test_own_option_and_fixture(request, options):
    assert request.config.getoption("device") == "tpu"
    assert options == "the project's own options fixture"

def test_a_warning_stays_a_warning():
    warnings.warn("old", DeprecationWarning)

def test_no_torch_without_rnnsuite(request):
    asked = request.config.getoption("rnnsuite", None)
    assert asked or "torch" not in sys.modules, "the plugin imported torch in a run that did not ask for the suite"
"""


def _project(tmp_path: Path, conftest: str = OWN_CONFTEST, tests: str = OWN_TESTS) -> Path:
    (tmp_path / "conftest.py").write_text(conftest, encoding="utf-8")
    (tmp_path / "test_own.py").write_text(tests, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # the project's rootdir, not the checkout's
    return tmp_path


def _pytest(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "RNNSUITE_"))}
    env["PYTHONPATH"] = str(CASE.parent)  # the example's my_rnn package, as an installed project would have it
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args]
    return subprocess.run(cmd, cwd=where, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_without_rnnsuite_the_project_runs_as_if_the_plugin_were_absent(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with_plugin = _pytest(project, "-q")
    without = _pytest(project, "-q", "-p", "no:rnnsuite")
    assert with_plugin.returncode == without.returncode == 0, with_plugin.stdout[-3000:]
    for run in (with_plugin, without):
        assert "3 passed, 1 warning" in run.stdout
    assert "test_forward" not in with_plugin.stdout


def test_the_plugin_changes_no_exit_code(tmp_path: Path) -> None:
    project = _project(tmp_path, tests="def test_fails():\n    assert 1 == 2\n")
    assert _pytest(project, "-q").returncode == 1
    assert _pytest(project, "-q", "-k", "nothing_matches").returncode == 5


def test_with_rnnsuite_the_suite_joins_and_the_projects_names_stay_its_own(tmp_path: Path) -> None:
    project = _project(tmp_path)
    done = _pytest(project, "-q", "--rnnsuite", "my_rnn.rnn_cases", "--rnnsuite-dtype", "float32,float16",
                   "--benchmark-disable", "-m", "correctness or not speed")  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert "PASSED test_own.py::test_own_option_and_fixture" in done.stdout  # its --device and fixture intact
    assert "test_forward[gate_gru-cpu-float32]" in done.stdout
    assert "test_forward[gate_gru-cpu-float16]" in done.stdout
    assert "gate_gru-cpu-bfloat16" not in done.stdout  # --rnnsuite-dtype is the suite's --dtype here
    assert "nn_lstm" not in done.stdout  # the shipped cases only when asked for


def test_a_bad_case_module_is_one_usage_line(tmp_path: Path) -> None:
    project = _project(tmp_path)
    done = _pytest(project, "-q", "--rnnsuite", "no_such_module_of_cases")
    assert done.returncode == 4
    assert "no_such_module_of_cases: the module does not import" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_rnnsuite_report_from_any_folder(tmp_path: Path) -> None:
    """The main job from a folder outside the checkout, narrowed to one case: checks, benchmarks, store, report."""
    out = tmp_path / "rnnsuite-out"
    select = ["--device", "cpu", "--dtype", "float32", "-k", "nn_rnn-cpu-float32 and not native and not H20_L1"]
    fast = ["--no-cold", "--no-peak", "--min-time", "0.01", "--min-rounds", "2", "--pass", "fwd"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "RNNSUITE_"))}
    cmd = [sys.executable, "-m", "rnnsuite", "report", "--", *select, *fast, "-n", "0"]  # one case: no workers
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert (out / "report" / "report.html").is_file()
    (run,) = (out / "runs").glob("run-*.json")
    data = json.loads(run.read_text(encoding="utf-8"))
    assert {b["extra_info"]["case"] for b in data["benchmarks"]} == {"nn_rnn"}
    assert data["rnnsuite"]["correctness"], "the checks file's records reach the run file"
    assert list((out / "store").rglob("*.json")), "the run is added to the store"
    assert unfinished(out / "runs") is None
    again = subprocess.run([sys.executable, "-m", "rnnsuite", "resume", "--out", str(out)], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert again.returncode == 2
    assert again.stderr.strip() == f"error: rnnsuite resume: no unfinished run in {out / 'runs'}"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ([], None),
        (["checks-20260101-000000.journal.jsonl", "run-20260101-000000.json"], None),
        (["checks-20260101-000000.journal.jsonl", "run-20260101-000000.json", "checks-20260102-000000.journal.jsonl"],
         "20260102-000000"),
    ],
    ids=["none", "finished", "newest-unfinished"],
)  # fmt: skip
def test_the_unfinished_run_is_the_newest_journal_without_a_run_file(
    tmp_path: Path, files: list[str], expected: str | None
) -> None:
    for name in files:
        (tmp_path / name).write_text("", encoding="utf-8")
    assert unfinished(tmp_path) == expected


def test_a_selected_hand_written_benchmark_brings_its_baseline_at_the_same_shape(tmp_path: Path) -> None:
    """Section (b) pairs a user's model with its baseline: neither -k nor --rnnsuite may leave the baseline out."""
    project = _project(tmp_path, tests="def test_own():\n    pass\n")
    done = _pytest(project, "--collect-only", "-q", "--rnnsuite", "my_rnn.rnn_cases", "-m", "speed",
                   "-k", "gate_gru and cpu and fwd-eager", "--rnnsuite-dtype", "float32")  # fmt: skip
    ids = sorted(line.split("[", 1)[1].rstrip("]") for line in done.stdout.splitlines() if "test_speed[" in line)
    assert ids == [
        "gate_gru-cpu-float32-fwd-eager-seed-T100_B32_I10_H20_L1",
        "nn_gru-cpu-float32-fwd-eager-seed-T100_B32_I10_H20_L1",  # the baseline, at the same shape only
    ], done.stdout[-2000:]


def test_the_slow_tier_runs_only_when_asked() -> None:
    """pytest suite leaves the checks at the edges out; --slow-tier or a -m naming slow_tier brings them in."""
    base = [sys.executable, "-m", "pytest", "suite/test_edges.py", "suite/test_correctness.py", "--collect-only", "-q",
            "-p", "no:cacheprovider", "--device", "cpu", "--dtype", "float32", "-k", "nn_rnn-"]  # fmt: skip

    def collected(*extra: str) -> set[str]:
        done = subprocess.run([*base, *extra], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        return {line.split("::")[1].split("[")[0] for line in done.stdout.splitlines() if "::" in line}

    plain = {"test_forward", "test_backward", "test_deterministic"}
    assert collected() == plain
    assert collected("--slow-tier") == plain | {"test_saturated", "test_long_sequence"}
    assert collected("-m", "slow_tier") == {"test_saturated", "test_long_sequence"}
