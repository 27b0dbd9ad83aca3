"""The norm-wise check, the emulated rounding, the compiled checks' failure modes and the records of every check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnsuite.cases import CASES
from rnnsuite.cases.rounding import round_to, rounded, run_rounded
from rnnsuite.reports.gate import compare_command
from rnnsuite.suite.harness import checks
from rnnsuite.suite.harness.budget import FLOOR_U, UNIT_ROUNDOFF, budget_for, check_normwise, relative_errors
from rnnsuite.suite.harness.points import Point
from tests import synthetic_runs as syn

ROOT = Path(__file__).resolve().parents[2]


def test_bfloat16_rounding_is_to_nearest_even() -> None:
    """bfloat16 keeps 8 significant bits: 1 + 2^-8 is a tie (to 1, even), 1 + 3 * 2^-8 rounds up to 1 + 2^-6."""
    got = round_to(np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-7]), "bfloat16")
    np.testing.assert_array_equal(got, [1.0, 1 + 2**-6, 1 + 2**-7])


def test_rounded_arrays_round_every_operation() -> None:
    """Arithmetic on an emulated float16 array rounds its result; float64 would keep the small term."""
    a = rounded(np.array([1.0, 2.0]), "float16")
    assert np.array_equal(np.asarray(a + 2**-12), [1.0, 2.0])  # float16: 11 significant bits
    assert np.array_equal(np.asarray(np.exp(a)), round_to(np.exp([1.0, 2.0]), "float16"))
    assert np.asarray(a).dtype == np.float64


def test_rounded_matmul_accumulates_in_float32() -> None:
    """A sum of 2^12 ones and one 2^-12: float32 accumulation keeps the sum exact where float16 would stall
    at 2048 (its spacing there is 2)."""
    n = 4096
    x = rounded(np.ones((1, n)), "float16")
    got = float(np.asarray(x @ np.ones((n, 1)))[0, 0])
    assert got == 4096.0


def test_emulated_reference_differs_from_float64_by_rounding() -> None:
    """The nn_lstm reference in bfloat16 rounding is off the float64 reference by a few u (not 0, not 100)."""
    case = CASES["nn_lstm"]
    inst = case.build(case.size("tiny"), torch.Generator().manual_seed(0), torch.float64).to("cpu", torch.bfloat16)
    args = (inst.numpy_params(), inst.numpy_inputs())
    exact, emulated = case.reference(*args), run_rounded(case.reference, "bfloat16", *args)
    err = relative_errors(emulated["output"], exact["output"], 0)[0] / 2**-8
    assert 0.1 < err < 20, err


def test_relative_errors_whole_and_per_step() -> None:
    """||a - e|| / ||e|| by hand: whole tensor and each step."""
    e = np.array([[3.0, 4.0], [6.0, 8.0]])  # step norms 5, 10
    a = e + np.array([[0.0, 0.5], [0.0, 0.0]])
    whole, steps = relative_errors(a, e, 0)
    assert whole == pytest.approx(0.5 / np.sqrt(125))
    np.testing.assert_allclose(steps, [0.1, 0.0])


def _budget(dtype: torch.dtype, exp: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
    return budget_for(exp, exp, dtype, {"y": 0})  # emulated = exact: the floor decides


@pytest.mark.parametrize("dtype", list(UNIT_ROUNDOFF))
def test_norm_check_passes_rounding_and_fails_five_percent(dtype: torch.dtype) -> None:
    """Per dtype: an error of one u per element passes; the tensor x0.95 fails, naming the tensor and the budget."""
    rng = np.random.default_rng(0)
    exp = {"y": rng.standard_normal((20, 8))}
    budget = _budget(dtype, exp)
    assert budget.whole_u("y") == FLOOR_U["forward"][dtype]
    u = UNIT_ROUNDOFF[dtype]
    noisy = {"y": exp["y"] * (1 + u * rng.choice([-1.0, 1.0], size=(20, 8)))}
    assert 0.5 < check_normwise(noisy, exp, budget, where="t", time_axis={"y": 0}).err_u < 2.0
    with pytest.raises(AssertionError, match="over budget"):
        check_normwise({"y": exp["y"] * 0.95}, exp, budget, where="t", time_axis={"y": 0})


def test_norm_check_names_the_first_bad_step() -> None:
    """A dead region (steps 12.. zeroed) shows per step, at step 12, even where the whole tensor would hide it."""
    rng = np.random.default_rng(1)
    exp = {"y": rng.standard_normal((100, 4)) * np.r_[np.full(12, 1000.0), np.ones(88)][:, None]}
    dead = {"y": np.where(np.arange(100)[:, None] >= 12, 0.0, exp["y"])}
    budget = budget_for(exp, exp, torch.bfloat16, {"y": 0})
    assert relative_errors(dead["y"], exp["y"], 0)[0] / 2**-8 < budget.whole_u("y")  # the whole tensor hides it
    with pytest.raises(AssertionError, match=r"'y\[step 12\]'.*first step over budget"):
        check_normwise(dead, exp, budget, where="t", time_axis={"y": 0})


def test_a_case_may_raise_its_floor() -> None:
    """``floor_u`` replaces the default floor; the multiple of the emulated error still applies above it."""
    exp = {"g": np.ones(4)}
    emulated = {"g": np.ones(4) * (1 + 50 * 2**-8)}
    assert budget_for(exp, exp, torch.bfloat16, {}, "backward", floor_u=64.0).whole_u("g") == 64.0
    assert budget_for(exp, emulated, torch.bfloat16, {}, "backward").whole_u("g") == pytest.approx(100.0)


def test_compile_error_is_a_failure_with_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception while compiling fails the check (not a skip) and says what torch.compile raised."""

    def broken(fn):  # type: ignore[no-untyped-def]
        def run(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise RuntimeError("C++ compile error: boom")

        return run

    monkeypatch.setattr(checks, "compiler_missing", lambda device: None)
    monkeypatch.setattr(torch, "compile", broken)
    point = Point(CASES["numpy_rnn"], "cpu", torch.float32)
    with pytest.raises(pytest.fail.Exception, match=r"torch.compile failed: RuntimeError: C\+\+ compile error: boom"):
        checks.forward_outputs(point, 0, backend="compile")


def test_missing_compiler_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    """No C++ compiler on PATH: a reason naming what was looked for; with one, none."""
    from torch._inductor import config

    monkeypatch.setenv("CXX", "no-such-cxx-rnnsuite")
    monkeypatch.setattr(config.cpp, "cxx", (None, "no-such-gxx-rnnsuite"))
    reason = checks.compiler_missing("cpu")
    assert reason is not None
    assert "no-such-cxx-rnnsuite" in reason
    monkeypatch.setattr(config.cpp, "cxx", (None, sys.executable))  # any executable stands for a compiler
    assert checks.compiler_missing("cpu") is None


FAKE_TEST = """
import os, pytest
pytestmark = pytest.mark.correctness

@pytest.mark.check("gradcheck")
@pytest.mark.cases("numpy_rnn")
def test_gradcheck(point64):
    assert os.environ.get("RNNSUITE_FAKE_DEFECT") != "1", "gradcheck failed"
"""


def test_a_check_that_passes_under_a_and_fails_under_b_fails_the_gate(tmp_path: Path) -> None:
    """End to end: the plugin records a gradcheck-style test (no record of its own) in --checks-json; a
    pass under A and a failure under B make the gate exit 1."""
    (tmp_path / "test_fake.py").write_text(FAKE_TEST, encoding="utf-8")
    runs = []
    for side, defect in (("a", "0"), ("b", "1")):
        out = tmp_path / f"{side}.json"
        cmd = [sys.executable, "-m", "pytest", str(tmp_path / "test_fake.py"), "-q", "-p", "no:cacheprovider",
               "-p", "rnnsuite.suite.plugin.hooks", "-p", "rnnsuite.suite.plugin.items", "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"),
               "--dtype", "float64", "--device", "cpu", f"--checks-json={out}"]  # fmt: skip
        env = os.environ | {"RNNSUITE_FAKE_DEFECT": defect, "PYTHONPATH": str(ROOT)}
        subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        recs = json.loads(out.read_text(encoding="utf-8"))["correctness"]
        runs.append(syn.write(tmp_path / f"{side}-run.json", syn.run([], recs, label=side)))
    assert [r["outcome"] for r in json.loads(runs[1].read_text())["rnnsuite"]["correctness"]] == ["failed"]
    assert compare_command.main([str(runs[0]), str(runs[1])]) == 1
