"""The frictions of issue 28 met writing cases for installed packages, each fed to the suite as a user module.

One module of small minGRU-like cases (a one-width model, judged against a NumPy reference), each with the
friction it stands for; one pytest run of the checks over them, whose outcomes and records are read here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.cases.api import CaseError, one_width_sizes

ROOT = Path(__file__).resolve().parents[2]

MODULE = '''
import warnings

import numpy as np
import torch
from torch import nn

from rnnsuite.cases.api import Instance, case, one_width_sizes

warnings.warn("this package's old API is deprecated", DeprecationWarning)  # at import: recorded, not fatal


class MinGRU(nn.Module):
    """h_t = (1 - z) h_{t-1} + z (W_h x_t), z = sigmoid(W_z x_t): one width, x and h alike."""

    def __init__(self, width, heads, dtype):
        super().__init__()
        self.heads = heads
        self.w_z = nn.Parameter(torch.empty(width, width, dtype=dtype))
        self.w_h = nn.Parameter(torch.empty(width, width, dtype=dtype))

    def forward(self, x, h, mask=None):
        outs = []
        for t, x_t in enumerate(x):
            z = torch.sigmoid(x_t @ self.w_z.T)
            z = z.unflatten(-1, (self.heads, -1)).flatten(-2)  # by heads of width / heads, and back
            if mask is not None:  # a mask that only gates (not differentiable: compared, not multiplied)
                z = torch.where(mask[t] > 0, z, torch.zeros_like(z))
            h = (1 - z) * h + z * (x_t @ self.w_h.T)
            outs.append(h)
        return torch.stack(outs)


class Frozen(MinGRU):
    """MinGRU times a fixed mask held as a parameter that asks for no gradient (as ncps's LTC holds its masks)."""

    def __init__(self, width, heads, dtype):
        super().__init__(width, heads, dtype)
        self.keep = nn.Parameter(torch.ones(width, dtype=dtype), requires_grad=False)

    def forward(self, x, h, mask=None):
        return super().forward(x, h, mask) * self.keep


def build(size, gen, dtype, mask=False, cls=MinGRU):
    assert size.input_size == size.hidden_size and size.heads == 2
    model = cls(size.hidden_size, size.heads, torch.float64)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.uniform_(-size.hidden_size ** -0.5, size.hidden_size ** -0.5, generator=gen)
    draw = lambda *s: torch.randn(*s, generator=gen, dtype=torch.float64).to(dtype)
    inputs = {"x": draw(size.seq_len, size.batch, size.hidden_size), "h0": draw(size.batch, size.hidden_size)}
    if mask:
        inputs["mask"] = (torch.rand(size.seq_len, size.batch, 1, generator=gen, dtype=torch.float64) > 0.2).to(dtype)
    return Instance(model.to(dtype), inputs)


def forward(model, inputs):
    return {"output": model(inputs["x"], inputs["h0"], inputs.get("mask"))}


def reference(p, i):
    h, outs = i["h0"], []
    for t, x_t in enumerate(i["x"]):
        z = 1 / (1 + np.exp(-(x_t @ p["w_z"].T)))
        if "mask" in i:
            z = np.where(i["mask"][t] > 0, z, 0.0)
        h = (1 - z) * h + z * (x_t @ p["w_h"].T)
        outs.append(h)
    return {"output": np.stack(outs)}


def warning_forward(model, inputs):
    warnings.warn("this forward is slow on the CPU", UserWarning)
    return forward(model, inputs)


def no_float64(model, inputs):  # as SRU's CPU kernel: float32 only
    if inputs["x"].dtype == torch.float64:
        raise RuntimeError("The following operation failed in the TorchScript interpreter.\\n"
                           "RuntimeError: expected scalar type Float but found Double")
    return forward(model, inputs)


class Scaled(torch.autograd.Function):  # the identity, with a gradient 5% off in float32 only
    @staticmethod
    def forward(ctx, x):
        ctx.f32 = x.dtype == torch.float32
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g * 1.05 if ctx.f32 else g


def bad_grad_forward(model, inputs):
    return {"output": Scaled.apply(forward(model, inputs)["output"])}


kw = dict(sizes=one_width_sizes(heads=2), time_axis={"output": 0})
case("fr_warns", build, warning_forward, reference=reference, **kw)             # 1, 2 (no flops=), 5, 7
case("fr_no_float64", build, no_float64, reference=reference, **kw)            # 3, 4
case("fr_no_float64_own", build, no_float64, family="gru", **kw)              # 3: no reference, no float64 run
case("fr_bad_grad", build, bad_grad_forward, reference=reference, **kw)        # 5: caught by float64 autograd
mask = lambda s, g, d: build(s, g, d, mask=True)
case("fr_mask", mask, forward, reference=reference, no_grad_inputs=("mask",), **kw)   # 8
case("fr_mask_undeclared", mask, forward, reference=reference, **kw)                  # 8: the control
frozen = lambda s, g, d: build(s, g, d, cls=Frozen)
case("fr_frozen", frozen, forward, reference=reference, **kw)  # a frozen parameter: no gradient asked of it
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[tuple[str, str], dict[str, Any]]]:
    """The correctness, registry and reference tests of MODULE's cases in float64 and float32."""
    folder = tmp_path_factory.mktemp("frictions")
    (folder / "fr_cases.py").write_text(MODULE, encoding="utf-8")
    out = folder / "checks.json"
    tests = [
        "suite/test_correctness.py",
        "suite/test_registry.py",
        "suite/test_references.py",
        "suite/test_gradcheck.py",
    ]
    cmd = [sys.executable, "-m", "pytest", *tests, "-p", "no:cacheprovider", "--benchmark-skip", "-rA",
           "--cases", str(folder / "fr_cases.py"), "-k", "fr_ and not deterministic", "--device", "cpu",
           "--dtype", "float64,float32", "--checks-json", str(out)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "RNNSUITE_CASES"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    records = {(r["key"], r["check"]): r for r in json.loads(out.read_text())["correctness"]}
    return proc.stdout, records


def test_warnings_of_the_users_code_are_recorded_not_fatal(run: tuple[str, dict[Any, Any]]) -> None:
    _, records = run
    rec = records[("fr_warns-cpu-float32", "forward")]
    assert rec["outcome"] == "passed", rec
    assert "DeprecationWarning: this package's old API is deprecated" in rec["warnings"]
    assert "UserWarning: this forward is slow on the CPU" in rec["warnings"]


def test_a_case_without_flops_is_complete(run: tuple[str, dict[Any, Any]]) -> None:
    out, _ = run
    assert "PASSED suite/test_registry.py::test_case_is_complete[fr_warns]" in out


def test_a_model_that_cannot_run_in_float64_is_checked_in_float32(run: tuple[str, dict[Any, Any]]) -> None:
    _, records = run
    assert records[("fr_no_float64-cpu-float32", "forward")]["outcome"] == "passed"  # shapes from the reference
    assert records[("fr_no_float64-cpu-float64", "forward")]["outcome"] == "failed"
    # Without a reference, the float32 check says its shapes need a float64 run, and that it failed.
    message = records[("fr_no_float64_own-cpu-float32", "forward")]["message"]
    assert "its output shapes come from its float64 run (it has no reference to take them from)" in message


def test_the_whole_exception_is_shown(run: tuple[str, dict[Any, Any]]) -> None:
    out, _ = run
    assert "the forward raised RuntimeError: The following operation failed in the TorchScript interpreter." in out
    assert "RuntimeError: expected scalar type Float but found Double" in out  # the cause, on a later line


def test_a_reference_without_a_backward_gets_float64_autograd(run: tuple[str, dict[Any, Any]]) -> None:
    _, records = run
    assert records[("fr_warns-cpu-float32", "backward")]["outcome"] == "passed"
    assert records[("fr_warns-cpu-float64", "reference_fd")]["outcome"] == "passed"  # autograd vs NumPy's FD
    bad = records[("fr_bad_grad-cpu-float32", "backward")]
    assert bad["outcome"] == "failed"
    assert "out of tolerance" in bad["message"] or "norm-wise error" in bad["message"]


def test_one_width_and_heads_sizes_need_no_family(run: tuple[str, dict[Any, Any]]) -> None:
    _, records = run
    assert records[("fr_warns-cpu-float64", "forward")]["outcome"] == "passed"  # the builder asserts I == H, 2 heads
    with pytest.raises(CaseError, match="heads=3"):
        one_width_sizes(heads=3)
    assert {s.heads for sizes in one_width_sizes(4).values() for s in sizes} == {4}


def test_an_input_declared_non_differentiable_gets_no_gradient_check(run: tuple[str, dict[Any, Any]]) -> None:
    _, records = run
    for dtype in ("float64", "float32"):
        assert records[(f"fr_mask-cpu-{dtype}", "backward")]["outcome"] == "passed"
    assert records[("fr_mask-cpu-float64", "gradcheck")]["outcome"] == "passed"
    undeclared = records[("fr_mask_undeclared-cpu-float64", "backward")]
    assert undeclared["outcome"] == "failed"
    assert "no gradient reaches mask" in undeclared["message"]


def test_a_parameter_that_asks_for_no_gradient_is_not_checked_for_one(run: tuple[str, dict[Any, Any]]) -> None:
    """A model's frozen parameter (requires_grad=False, a fixed mask) gets no gradient check; the others do."""
    _, records = run
    for dtype in ("float64", "float32"):
        assert records[(f"fr_frozen-cpu-{dtype}", "backward")]["outcome"] == "passed"
    assert records[("fr_frozen-cpu-float64", "reference_fd")]["outcome"] == "passed"
