"""``case(..., modes=)`` and ``case(..., known_defects=)`` (cases/api.py, suite/harness/defects.py), fed defects.

A mode that lags one step must fail while its sibling passes, each with its error at positions 1, 10 and
100 in its record; a declared defect that shows is a known defect, one that no longer shows a failure. The
same for a check at the edges: a tanh written through ``exp(2a)`` turns NaN in float16 once its
pre-activations pass 5.5, which the saturated check's inputs (times 16) reach, and not before 44 in float32;
declared for float16, it is a known defect there, and the same declaration on ``torch.tanh`` is gone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from rnnsuite.cases import CASES
from rnnsuite.cases.api import CaseError, Instance, Size, case, known_defect
from rnnsuite.cases.registry import DEFECT_CHECKS
from rnnsuite.reports.runfile.declared_checks import CHECK_NAMES
from rnnsuite.suite.harness.builds import build
from tests.harness.scratch import scratch  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]

# An RNN cell stepped in a loop (same as nn.RNNCell), with a mode that lags one step, a forward that is 1%
# off in float32 only, and the same forwards with defects declared.
CELL = """
import torch
from torch import nn

from rnnsuite.cases.api import Instance, case, known_defect, same_as


def build(size, gen, dtype):
    model = nn.RNNCell(size.input_size, size.hidden_size, dtype=torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.3, 0.3, generator=gen)
    draw = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)
    x, h0 = draw(size.seq_len, size.batch, size.input_size), draw(size.batch, size.hidden_size)
    return Instance(model.to(dtype), {"x": x, "h0": h0})


def loop(model, inputs):
    h, outs = inputs["h0"], []
    for x_t in inputs["x"]:
        h = model(x_t, h)
        outs.append(h)
    return {"output": torch.stack(outs), "h_n": h}


def lagged(model, inputs):  # step t shows step t - 1 (step 0 twice): right at position 1 only
    out = loop(model, inputs)
    return out | {"output": torch.cat([out["output"][:1], out["output"][:-1]])}


def off_in_float32(model, inputs):
    out = loop(model, inputs)
    return out if out["output"].dtype != torch.float32 else {k: 1.01 * v for k, v in out.items()}


def build_small(size, gen, dtype):  # weights of +-1/sqrt(H) and a small state: x 16 stays below 44
    inst = build(size, gen, torch.float64)
    with torch.no_grad():
        for p in inst.model.parameters():
            p.mul_(size.hidden_size**-0.5 / 0.3)
    return Instance(inst.model.to(dtype), {"x": inst.inputs["x"].to(dtype), "h0": (0.1 * inst.inputs["h0"]).to(dtype)})


def exp_tanh_loop(model, inputs):  # tanh(a) as (e - 1) / (e + 1), e = exp(2a): inf / inf = NaN beyond a = 5.5 in float16
    h, outs = inputs["h0"], []
    for x_t in inputs["x"]:
        e = torch.exp(2 * (x_t @ model.weight_ih.T + model.bias_ih + h @ model.weight_hh.T + model.bias_hh))
        h = (e - 1) / (e + 1)
        outs.append(h)
    return {"output": torch.stack(outs), "h_n": h}


cell = same_as(nn.RNNCell, lambda p: dict(p))
case("modal", build, modes={"loop": loop, "lagged": lagged}, same_as=cell)
float32_off = known_defect("forward", reason="1% off in float32", reproducer="repro/off.py", dtypes=("float32",))
case("defect_shows", build, off_in_float32, same_as=cell, known_defects=[float32_off])
case("defect_gone", build, loop, same_as=cell, known_defects=[float32_off])
case("modal_defect", build, modes={"loop": loop, "lagged": lagged}, same_as=cell, known_defects=[
    known_defect("forward", reason="lags one step", reproducer="repro/lag.py", modes=("lagged",))])
overflow = known_defect("edge_saturated", reason="tanh through exp(2a) overflows in float16",
                        reproducer="repro/exp_tanh.py", dtypes=("float16",))
case("edge_defect_shows", build_small, exp_tanh_loop, same_as=cell, known_defects=[overflow])
case("edge_defect_gone", build_small, loop, same_as=cell, known_defects=[overflow])
"""
Run = tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]]]


def _checks(factory: pytest.TempPathFactory, tests: str, select: str, dtypes: str, check: str, *more: str) -> Run:
    """CELL's cases through the suite's ``tests`` (``-k select``) on the CPU, with the records of ``check``."""
    folder = factory.mktemp("cases")
    (folder / "modal_cases.py").write_text(CELL, encoding="utf-8")
    out = folder / "checks.json"
    cmd = [sys.executable, "-m", "pytest", tests, "-q", "-p", "no:cacheprovider", "--benchmark-skip",
           "--cases", str(folder / "modal_cases.py"), "-k", select, "--device", "cpu", "--dtype", dtypes,
           "-rA", "--checks-json", str(out), *more]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "RNNSUITE_CASES"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, {r["key"]: r for r in json.loads(out.read_text())["correctness"] if r["check"] == check}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The forward checks of CELL's cases in float64 and float32, with their records."""
    select = "test_forward and (modal or defect_) and not edge_"
    return _checks(tmp_path_factory, "suite/test_correctness.py", select, "float64,float32", "forward")


@pytest.fixture(scope="module")
def edge_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The saturated checks of CELL's edge cases in float32 and float16, with their records."""
    select = "test_saturated and edge_defect_"
    return _checks(tmp_path_factory, "suite/test_edges.py", select, "float32,float16", "edge_saturated", "--slow-tier")


def test_each_mode_is_its_own_check_against_the_one_reference(run: tuple[Any, dict[str, dict[str, Any]]]) -> None:
    proc, records = run
    for dtype in ("float64", "float32"):
        assert records[f"modal.loop-cpu-{dtype}"]["outcome"] == "passed", records[f"modal.loop-cpu-{dtype}"]
        lagged = records[f"modal.lagged-cpu-{dtype}"]
        assert lagged["outcome"] == "failed"
        assert "'output' out of tolerance at step 1 (first bad step)" in lagged["message"]
        assert lagged["case_mode"] == "lagged"
    assert proc.returncode == 1


def test_each_modes_error_at_positions_is_recorded(run: tuple[Any, dict[str, dict[str, Any]]]) -> None:
    """A one-step lag is exact at position 1 and off by O(1) from position 2: its error in u must say so."""
    _, records = run
    good, lagged = records["modal.loop-cpu-float32"]["err_at"], records["modal.lagged-cpu-float32"]["err_at"]
    assert set(good) == set(lagged) == {"1", "10", "100"}  # the seed size's T is 100: no position 1000
    assert max(good.values()) < 32  # the float32 floor, in u
    assert lagged["1"] == pytest.approx(good["1"])  # step 0 is the same in both modes
    assert lagged["10"] > 1e5  # an O(1) relative error is 2^24 u in float32
    assert lagged["100"] > 1e5


def test_a_declared_defect_that_shows_is_a_known_defect(run: tuple[Any, dict[str, dict[str, Any]]]) -> None:
    proc, records = run
    shown = records["defect_shows-cpu-float32"]
    assert shown["outcome"] == "known defect", shown
    assert (shown["defect"], shown["reproducer"]) == ("1% off in float32", "repro/off.py")
    assert "out of tolerance" in shown["message"]
    assert "XFAIL suite/test_correctness.py::test_forward[defect_shows-cpu-float32]" in proc.stdout
    assert records["defect_shows-cpu-float64"]["outcome"] == "passed"  # declared for float32 only
    # declared for one mode: the other mode's check is untouched
    assert records["modal_defect.lagged-cpu-float32"]["outcome"] == "known defect"
    assert records["modal_defect.loop-cpu-float32"]["outcome"] == "passed"


def test_a_declared_defect_that_no_longer_shows_fails(run: tuple[Any, dict[str, dict[str, Any]]]) -> None:
    proc, records = run
    gone = records["defect_gone-cpu-float32"]
    assert gone["outcome"] == "failed"
    assert "the known defect no longer shows (1% off in float32; reproducer repro/off.py)" in gone["message"]
    assert "remove its known_defect declaration from case 'defect_gone'" in proc.stdout


def test_a_declared_edge_defect_that_shows_is_a_known_defect(edge_run: Run) -> None:
    proc, records = edge_run
    shown = records["edge_defect_shows-cpu-float16"]
    assert shown["outcome"] == "known defect", shown
    assert (shown["defect"], shown["reproducer"]) == ("tanh through exp(2a) overflows in float16", "repro/exp_tanh.py")
    assert "holds NaN/Inf where the reference is finite" in shown["message"]
    assert "at step" in shown["message"]  # the first bad step named
    assert "XFAIL suite/test_edges.py::test_saturated[edge_defect_shows-cpu-float16]" in proc.stdout
    assert records["edge_defect_shows-cpu-float32"]["outcome"] == "passed"  # declared for float16 only


def test_a_declared_edge_defect_that_no_longer_shows_fails(edge_run: Run) -> None:
    proc, records = edge_run
    gone = records["edge_defect_gone-cpu-float16"]
    assert gone["outcome"] == "failed"
    assert (
        "edge_saturated: the known defect no longer shows (tanh through exp(2a) overflows in float16" in gone["message"]
    )
    assert "remove its known_defect declaration from case 'edge_defect_gone'" in proc.stdout
    assert records["edge_defect_gone-cpu-float32"]["outcome"] == "passed"
    assert proc.returncode == 1  # the gone defect is a plain failure of the run


# ------------------------------------------------------------------------------------ in this process


def _cell_build(calls: list[int]) -> Any:
    def build_cell(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
        calls.append(1)
        model = nn.RNNCell(size.input_size, size.hidden_size, dtype=dtype)
        x = torch.randn(size.seq_len, size.batch, size.input_size, generator=gen, dtype=dtype)
        return Instance(model, {"x": x})

    return build_cell


def _fwd(model: nn.Module, inputs: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
    return {"h_n": model(inputs["x"][0])}


@pytest.mark.usefixtures("scratch")
def test_the_modes_of_a_case_share_one_build() -> None:
    calls: list[int] = []
    case("shared_t", _cell_build(calls), modes={"a": _fwd, "b": _fwd}, family="rnn")
    a, b = CASES["shared_t.a"], CASES["shared_t.b"]
    assert (a.group, a.mode, b.group, b.mode) == ("shared_t", "a", "shared_t", "b")
    assert a.reference is b.reference
    build(a, a.size("tiny"), 5)
    build(b, b.size("tiny"), 5)
    assert len(calls) == 1


@pytest.mark.usefixtures("scratch")
@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"modes": {"a": _fwd}, "forward": _fwd}, "give a forward or modes"),
        ({}, "give a forward or modes"),
        ({"modes": {"a-b": _fwd}}, "mode 'a-b': a mode is letters"),
        ({"modes": {}}, "modes must be a non-empty dict"),
        (
            {
                "modes": {"a": _fwd},
                "known_defects": [known_defect("forward", reason="r", reproducer="p", modes=("z",))],
            },
            "names mode 'z', not a mode of it",
        ),
        ({"forward": _fwd, "known_defects": ["forward"]}, "known_defects holds str"),
    ],
)
def test_bad_modes_and_defects_are_one_line_errors(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(CaseError, match=needle) as info:
        case("bad_t", _cell_build([]), family="rnn", **kwargs)
    assert "\n" not in str(info.value)
    assert not [n for n in CASES if n.startswith("bad_t")]  # nothing registered


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"check": "forwards"}, "check 'forwards' is not one of"),
        ({"check": "forward", "reason": " "}, "the reason must be one non-empty line"),
        ({"check": "forward", "reproducer": "a\nb"}, "the reproducer must be one non-empty line"),
        ({"check": "forward", "dtypes": ("float8",)}, "unknown float8"),
        ({"check": "forward", "devices": ("tpu",)}, "unknown 'tpu'"),
    ],
)
def test_known_defect_refuses_what_it_cannot_match(args: dict[str, Any], needle: str) -> None:
    full = {"reason": "why", "reproducer": "repro.py"} | args
    with pytest.raises(CaseError, match=needle):
        known_defect(full.pop("check"), **full)


def test_every_check_a_defect_may_name_is_a_declared_check_name() -> None:
    assert set(DEFECT_CHECKS) <= set(CHECK_NAMES)


def test_a_defect_applies_to_its_dtypes_modes_and_devices_only() -> None:
    d = known_defect("backward", reason="r", reproducer="p", dtypes=(torch.float16,), modes=("m",), devices=("cpu",))
    assert d.applies("backward", "cpu", torch.float16, "m")
    assert not d.applies("forward", "cpu", torch.float16, "m")
    assert not d.applies("backward", "cuda", torch.float16, "m")
    assert not d.applies("backward", "cpu", torch.float32, "m")
    assert not d.applies("backward", "cpu", torch.float16, None)
