"""Users' cases (cases/api.py, cases/load.py): a module outside the repository checked like a shipped case.

The modules are written to a temporary folder, never to the repository, and loaded with ``--cases``
or an entry point, as a user would; each bad case must fail naming the case and what is wrong.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from rnnsuite.cases.api import CaseError, same_as, same_as_reference, same_as_reference_grad

ROOT = Path(__file__).resolve().parents[2]

# An LSTM with a weight matrix and a bias per gate, mapped to nn.LSTM (gate order i, f, g, o).
GATE_LSTM = '''
import torch
from torch import nn

from rnnsuite.cases.api import Instance, case, same_as

GATES = ("i", "f", "g", "o")


class GateLSTM(nn.Module):
    def __init__(self, n_in, n_hidden, dtype, forget_bias=True):
        super().__init__()
        self.forget_bias = forget_bias
        for g in GATES:
            setattr(self, f"w_x{g}", nn.Parameter(torch.empty(n_hidden, n_in, dtype=dtype)))
            setattr(self, f"w_h{g}", nn.Parameter(torch.empty(n_hidden, n_hidden, dtype=dtype)))
            setattr(self, f"b_{g}", nn.Parameter(torch.empty(n_hidden, dtype=dtype)))

    def forward(self, x, h, c):
        outs = []
        for x_t in x:
            pre = {g: x_t @ getattr(self, f"w_x{g}").T + h @ getattr(self, f"w_h{g}").T for g in GATES}
            for g in GATES:
                if g != "f" or self.forget_bias:
                    pre[g] = pre[g] + getattr(self, f"b_{g}")
            i, f, o = (torch.sigmoid(pre[g]) for g in "ifo")
            c = f * c + i * torch.tanh(pre["g"])
            h = o * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs), h, c


def build(size, gen, dtype, forget_bias=True):
    model = GateLSTM(size.input_size, size.hidden_size, dtype, forget_bias)
    k = size.hidden_size ** -0.5
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.empty(p.shape, dtype=torch.float64).uniform_(-k, k, generator=gen))
    t, b = size.seq_len, size.batch
    draw = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)
    inputs = {"x": draw(t, b, size.input_size), "h0": draw(b, size.hidden_size), "c0": draw(b, size.hidden_size)}
    return Instance(model, inputs)


def forward(model, inputs):
    out, h, c = model(inputs["x"], inputs["h0"], inputs["c0"])
    return {"output": out, "h_n": h, "c_n": c}


def to_lstm_cell(p):
    """Per-gate matrices -> nn.LSTMCell's stacked rows; the bias given once (bias_hh zero)."""
    return {
        "weight_ih": torch.cat([p[f"w_x{g}"] for g in GATES]),
        "weight_hh": torch.cat([p[f"w_h{g}"] for g in GATES]),
        "bias_ih": torch.cat([p[f"b_{g}"] for g in GATES]),
        "bias_hh": torch.zeros(4 * p["b_i"].shape[0], dtype=p["b_i"].dtype),
    }
'''
GOOD = GATE_LSTM + 'case("gate_lstm", build, forward, same_as=same_as(nn.LSTMCell, to_lstm_cell))\n'
NO_FORGET_BIAS = (
    GATE_LSTM
    + 'case("gate_lstm_nofb", lambda s, g, d: build(s, g, d, False), forward, same_as=same_as(nn.LSTMCell, to_lstm_cell))\n'
)
# One defect per case, each of the size a check must catch.
BAD = GATE_LSTM + textwrap.dedent("""
    def unset(p):
        out = to_lstm_cell(p)
        del out["bias_hh"]
        return out

    def transposed(p):
        return to_lstm_cell(p) | {"weight_ih": to_lstm_cell(p)["weight_ih"].T}

    def raising(size, gen, dtype):
        raise RuntimeError("out of weights")

    def nan_forward(model, inputs):
        out = forward(model, inputs)
        return out | {"output": out["output"].clone().index_fill_(0, torch.tensor([3]), float("nan"))}

    def short_forward(model, inputs):
        out = forward(model, inputs)
        return out | {"output": out["output"][1:]}

    def noisy_forward(model, inputs):
        out = forward(model, inputs)
        return out | {"h_n": out["h_n"] + 1e-3 * torch.rand(out["h_n"].shape, dtype=out["h_n"].dtype)}

    lstm = same_as(nn.LSTMCell, to_lstm_cell)
    case("bad_unset", build, forward, same_as=same_as(nn.LSTMCell, unset))
    case("bad_shape", build, forward, same_as=same_as(nn.LSTMCell, transposed))
    case("bad_builder", raising, forward, same_as=lstm)
    case("bad_nan", build, nan_forward, same_as=lstm)
    case("bad_out_shape", build, short_forward, same_as=lstm)
    case("bad_nondeterministic", build, noisy_forward, same_as=lstm)
""")


def _pytest(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``pytest`` over ``args`` (name the files, else it collects suite/) with ``folder`` importable."""
    paths = [] if any(a.startswith("suite/") for a in args) else ["suite"]
    cmd = [sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider", "--benchmark-skip", *args]
    env = {**os.environ, "PYTHONPATH": str(folder), **(env or {})}
    env.pop("RNNSUITE_CASES", None)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_lstm_of_ones_own_is_checked_against_nn_lstm(tmp_path: Path) -> None:
    _write(tmp_path, "my_lstm_cases", GOOD)
    proc = _pytest(tmp_path, "--cases", "my_lstm_cases", "-k", "gate_lstm", "--device", "cpu", "--dtype",
                   "float64,bfloat16", "suite/test_correctness.py", "suite/test_references.py", "-vv")  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    for check in ("test_correctness.py::test_forward[gate_lstm-cpu-bfloat16]",
                  "test_correctness.py::test_backward[gate_lstm-cpu-bfloat16]",
                  "test_correctness.py::test_deterministic[gate_lstm-cpu-float64]",
                  "test_references.py::test_reference_backward_matches_finite_differences[gate_lstm]"):  # fmt: skip
        assert f"suite/{check} PASSED" in proc.stdout, (check, proc.stdout[-3000:])


def test_the_forget_gate_bias_left_out_fails_naming_the_case_and_check(tmp_path: Path) -> None:
    path = _write(tmp_path, "nofb_cases", NO_FORGET_BIAS)
    proc = _pytest(tmp_path, "--cases", str(path), "-k", "gate_lstm_nofb", "--device", "cpu", "--dtype", "float32",
                   "suite/test_correctness.py")  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "gate_lstm_nofb-cpu-float32 forward: 'output' out of tolerance" in proc.stdout
    assert "gate_lstm_nofb-cpu-float32: no gradient reaches b_f" in proc.stdout


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("import no_such_package_of_rnns\n", "--cases broken: the module does not import: ModuleNotFoundError"),
        ("raise SystemExit(3)\n", "--cases broken: the module does not import: SystemExit: 3"),
        (
            GATE_LSTM + 'case("nn_lstm", build, forward, same_as=same_as(nn.LSTMCell, to_lstm_cell))\n',
            "--cases broken: case 'nn_lstm': the name clashes",
        ),
        (GATE_LSTM + 'case("a-b", build, forward, same_as=same_as(nn.LSTMCell, to_lstm_cell))\n', "case 'a-b': a name"),
        (GATE_LSTM + 'case("grad", build, forward, reference_grad=print)\n', "case 'grad': reference_grad without"),
        (GATE_LSTM + 'case("fam", build, forward)\n', "case 'fam': family 'other' has no default sizes"),
        (
            GATE_LSTM + 'case("b", build, forward, same_as=same_as(nn.LSTMCell, to_lstm_cell), baseline="nn_lsmt")\n',
            "--cases broken: case 'b': baseline 'nn_lsmt' is not a registered case",
        ),
        (
            GATE_LSTM + 'case("opt", build, forward, same_as=same_as(nn.LSTMCell, to_lstm_cell, proj_size=3))\n',
            "option proj_size not covered",
        ),
    ],
)
def test_a_module_that_cannot_load_exits_4_with_one_line(tmp_path: Path, text: str, needle: str) -> None:
    _write(tmp_path, "broken", text)
    proc = _pytest(tmp_path, "--cases", "broken", "--collect-only")
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert len(lines) == 1, lines
    assert needle in lines[0], lines


def test_each_bad_case_fails_naming_the_case_and_what_is_wrong(tmp_path: Path) -> None:
    _write(tmp_path, "bad_cases", BAD)
    proc = _pytest(tmp_path, "--cases", "bad_cases", "-k", "bad_ and (forward or deterministic)", "--device", "cpu",
                   "--dtype", "float64", "suite/test_correctness.py")  # fmt: skip
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    for needle in (
        "case 'bad_unset': the parameter map to nn.LSTMCell leaves bias_hh unset",
        "case 'bad_shape': the parameter map gives weight_ih shape (10, 80), where nn.LSTMCell has (80, 10)",
        "case 'bad_builder': the builder raised RuntimeError: out of weights",
        "bad_nan-cpu-float64 forward: 'output' holds NaN/Inf at step 3",
        "bad_out_shape-cpu-float64: output shapes",
        "bad_nondeterministic-cpu-float64: 'h_n' differs between two runs",
    ):
        assert needle in out, (needle, out[-4000:])
    assert "bad_nan-cpu-float64: 'output' differs" not in out  # NaN in both runs is no nondeterminism
    # A CaseError is reported as its line alone: no traceback through the harness.
    section = _section(out, "test_forward[bad_builder-cpu-float64]")
    assert "out of weights" in section, section
    assert "harness" not in section, section
    assert "Traceback" not in section, section


NO_REFERENCE = GATE_LSTM + textwrap.dedent("""
    def low_precision_bug(model, inputs):  # 1% off in every dtype but float64
        out = forward(model, inputs)
        return out if out["output"].dtype == torch.float64 else out | {"output": out["output"] * 1.01}

    case("own_lstm", build, forward, family="lstm")
    case("own_lstm_bug", build, low_precision_bug, family="lstm")
""")


def test_a_case_with_no_reference_is_judged_against_its_own_float64_run(tmp_path: Path) -> None:
    _write(tmp_path, "own_cases", NO_REFERENCE)
    proc = _pytest(tmp_path, "--cases", "own_cases", "-k", "forward and own_lstm", "--device", "cpu", "--dtype",
                   "float32,float16", "suite/test_correctness.py", "-vv")  # fmt: skip
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    for dtype in ("float32", "float16"):
        assert f"test_forward[own_lstm-cpu-{dtype}] PASSED" in out, out[-3000:]
        assert f"test_forward[own_lstm_bug-cpu-{dtype}] FAILED" in out, out[-3000:]
    assert "own_lstm_bug-cpu-float16 forward: 'output' norm-wise error" in out


def _section(out: str, name: str) -> str:
    """The failure section of one test in pytest's report."""
    start = out.find(f"_ {name} _")
    end = out.find("\n_", start + 1)
    return out[start:end] if start >= 0 else ""


def test_entry_points_of_an_installed_package_are_loaded(tmp_path: Path) -> None:
    _write(tmp_path, "my_lstm_cases", GOOD)
    info = tmp_path / "my_rnns-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-rnns\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[rnnsuite.cases]\nmine = my_lstm_cases\n", encoding="utf-8")
    proc = _pytest(tmp_path, "--collect-only", "suite/test_correctness.py", "-k", "gate_lstm", "--device", "cpu")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "test_forward[gate_lstm-cpu-float16]" in proc.stdout


# ------------------------------------------------- the pull-back of gradients, in this process


def _finite_differences(fn, params, inputs, cot, h=1e-6):  # type: ignore[no-untyped-def]
    """d sum(fn(params) * cot) / d params, by central differences (no code of cases/api.py's backward)."""
    grads = {}
    for name, value in params.items():
        g = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus, minus = dict(params), dict(params)
            plus[name], minus[name] = value.copy(), value.copy()
            plus[name][idx] += h
            minus[name][idx] -= h
            up, down = fn(plus, inputs), fn(minus, inputs)
            g[idx] = sum(float(np.sum((up[k] - down[k]) * cot[k])) for k in cot) / (2 * h)
        grads[name] = g
    return grads


@pytest.mark.parametrize("shape", ["tied", "scaled_transposed"])
def test_gradients_are_pulled_back_through_the_map(shape: str) -> None:
    """A tied weight (one matrix for both weight_ih and weight_hh) and a scaled transpose."""
    rng = np.random.default_rng(0)
    h = 3
    if shape == "tied":
        params = {"w": rng.normal(size=(h, h)), "b": rng.normal(size=h)}

        def to_rnn(p):  # type: ignore[no-untyped-def]
            return {"weight_ih": p["w"], "weight_hh": p["w"], "bias_ih": p["b"], "bias_hh": 0 * p["b"]}
    else:
        params = {"u": rng.normal(size=(h, h)), "v": rng.normal(size=(h, h)), "b": rng.normal(size=h)}

        def to_rnn(p):  # type: ignore[no-untyped-def]
            return {"weight_ih": 2.0 * p["u"].T, "weight_hh": p["v"], "bias_ih": p["b"], "bias_hh": p["b"] ** 2}

    sa = same_as(nn.RNNCell, to_rnn)
    inputs = {"x": rng.normal(size=(4, 2, h)), "h0": rng.normal(size=(2, h))}
    cot = {"output": rng.normal(size=(4, 2, h)), "h_n": rng.normal(size=(2, h))}
    got = same_as_reference_grad("t", sa, params, inputs, cot)
    want = _finite_differences(lambda p, i: same_as_reference("t", sa, p, i), params, inputs, cot)
    for name in params:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-6, atol=1e-7)
    # A map that drops the factor 2 gives other gradients: the comparison can fail.
    wrong = same_as(nn.RNNCell, lambda p: to_rnn(p) | ({"weight_ih": p["u"].T} if "u" in p else {}))
    if shape != "tied":
        assert not np.allclose(same_as_reference_grad("t", wrong, params, inputs, cot)["u"], want["u"])


def test_same_as_refuses_what_it_has_no_reference_for() -> None:
    with pytest.raises(CaseError, match=r"not one of nn\.RNN"):
        same_as(nn.Transformer, lambda p: p)
    assert torch.float64  # torch imported for the map's tensors


def test_an_ab_run_hands_cases_to_the_checks_of_both_sides() -> None:
    from rnnsuite.suite.ab.runner import checks_selection

    assert checks_selection(["-k", "mine", "--cases", "my_rnns", "--cases=other"]) == [
        "--cases",
        "my_rnns",
        "--cases=other",
    ]


def test_a_cold_process_finds_a_user_case_by_its_key(tmp_path: Path) -> None:
    """The cold child loads what ``--cases`` named (RNNSUITE_CASES) before it reads the benchmark key."""
    path = _write(tmp_path, "my_lstm_cases", GOOD)
    key = "gate_lstm-cpu-float32-fwd-eager-tiny-T4_B3_I5_H6_L1"
    cmd = [sys.executable, "-m", "suite.measure.cold", key, "--min-time", "0.01", "--every"]
    env = {**os.environ, "RNNSUITE_CASES": str(path)}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"median_s"' in proc.stdout
    env.pop("RNNSUITE_CASES")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0  # without it the key names no case
    assert "is not a key of this suite's cases" in proc.stderr
    assert "Traceback" not in proc.stderr  # one line
