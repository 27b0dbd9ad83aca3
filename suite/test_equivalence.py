"""Hand-written cells against the fused layers with copied weights, step by step; the chapter's shapes.

The chapter's defective LSTMCell / GRUCell are shown *not* to be LSTM / GRU cells.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from rnnsuite.cases import CASES, DEFAULT_TOL
from rnnsuite.cases.layers import PLAIN, run_cell
from rnnsuite.cases.models import GRUCell, LSTMCell, SeedGRUCell, SeedLSTMCell
from rnnsuite.cases.registry import uniform_
from rnnsuite.suite.harness.builds import build
from rnnsuite.suite.harness.points import Point

pytestmark = pytest.mark.correctness

T, B, I, H = 100, 32, 10, 20  # the chapter's sizes  # noqa: E741


def _close(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype, steps: int = 1) -> None:
    tol = DEFAULT_TOL[dtype].for_length(steps)
    torch.testing.assert_close(a, b, rtol=tol.rtol, atol=tol.atol)


def _seq(dtype: torch.dtype, device: str, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = torch.randn(T, B, I, generator=gen, dtype=torch.float64).to(device, dtype)
    h0 = torch.randn(B, H, generator=gen, dtype=torch.float64).to(device, dtype)
    c0 = torch.randn(B, H, generator=gen, dtype=torch.float64).to(device, dtype)
    return x, h0, c0


@pytest.mark.check("equivalence")
@pytest.mark.cases("rnn_cell_loop")
def test_rnn_cell_loop_equals_nn_rnn_at_every_step(point: Point) -> None:
    """nn.RNNCell stepped over (100, 32, 10) from (32, 20) equals a one-layer nn.RNN with copied weights."""
    gen = torch.Generator().manual_seed(0)
    cell = uniform_(nn.RNNCell(I, H).double(), gen).to(point.device, point.dtype)
    layer = nn.RNN(I, H, 1).to(point.device, point.dtype)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(layer, f"{name}_l0").copy_(getattr(cell, name))
    x, h0, _ = _seq(point.dtype, point.device, gen)
    with torch.no_grad():
        looped = run_cell(PLAIN, "rnn", cell, {"x": x, "h0": h0})
        fused, h_n = layer(x, h0[None])
    for t in range(T):  # step by step: the first divergent step is the one reported
        _close(looped["output"][t], fused[t], point.dtype, t + 1)
    _close(looped["h_n"], h_n[0], point.dtype, T)


BUILTINS = {"lstm_cell": (LSTMCell, nn.LSTMCell, nn.LSTM, "lstm"), "gru_cell": (GRUCell, nn.GRUCell, nn.GRU, "gru")}


@pytest.mark.check("equivalence")
@pytest.mark.cases(*BUILTINS)
def test_corrected_cell_equals_builtin(point: Point) -> None:
    """The corrected cell equals nn.LSTMCell / nn.GRUCell (one step) and nn.LSTM / nn.GRU (a sequence,
    every step), forward and gradients, with copied weights."""
    cls, fused_cell, fused_layer, mode = BUILTINS[point.case.name]
    gen = torch.Generator().manual_seed(1)
    ref_cell = uniform_(fused_cell(I, H).double(), gen).to(point.device, point.dtype)
    layer = fused_layer(I, H, 1).to(point.device, point.dtype)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(layer, f"{name}_l0").copy_(getattr(ref_cell, name))
    mine = cls(I, H).to(point.device, point.dtype)
    mine.load_fused(ref_cell)
    for name, value in mine.fused_state().items():  # the weight mapping round-trips exactly
        assert torch.equal(value, getattr(ref_cell, name)), name
    x, h0, c0 = _seq(point.dtype, point.device, gen)
    state = (h0, c0) if mode == "lstm" else h0
    one_mine, one_ref = mine(x[0], state), ref_cell(x[0], state)
    for a, b in zip(
        one_mine if mode == "lstm" else (one_mine,), one_ref if mode == "lstm" else (one_ref,), strict=True
    ):
        _close(a, b, point.dtype)
    inputs = {"x": x, "h0": h0} | ({"c0": c0} if mode == "lstm" else {})
    looped = run_cell(PLAIN, mode, mine, inputs)
    fused = layer(x, (h0[None], c0[None]) if mode == "lstm" else h0[None])[0]
    for t in range(T):
        _close(looped["output"][t], fused[t], point.dtype, t + 1)
    looped["output"].sum().backward()
    fused.sum().backward()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        parts = [
            mine.get_submodule(f"{'x' if name.endswith('ih') else 'h'}_{g}").get_parameter(name.split("_")[0]).grad
            for g in cls.gates
        ]
        assert all(p is not None for p in parts), f"{name}: a gate's parameter got no gradient"
        mine_grad = torch.cat([p for p in parts if p is not None])
        ref_grad = getattr(layer, f"{name}_l0").grad
        scale = max(1.0, float(ref_grad.abs().max()))
        tol = DEFAULT_TOL[point.dtype].for_length(T)
        torch.testing.assert_close(mine_grad, ref_grad, rtol=2 * tol.rtol, atol=2 * tol.atol * scale)


def _seed_and_builtin(family: str, gen: torch.Generator) -> tuple[Any, Any]:  # modules, read by attribute
    if family == "lstm":
        return uniform_(SeedLSTMCell(I, H, H, 10).double(), gen), uniform_(nn.LSTMCell(I, H).double(), gen)
    return uniform_(SeedGRUCell(I, H, 10).double(), gen), uniform_(nn.GRUCell(I, H).double(), gen)


def _step_both(family: str, seed: nn.Module, ref: nn.Module, gen: torch.Generator) -> float:
    """Largest difference of the new state(s) of the two cells from one random (x, h, c)."""
    x = torch.randn(B, I, generator=gen, dtype=torch.float64)
    h = torch.randn(B, H, generator=gen, dtype=torch.float64)
    c = torch.randn(B, H, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        if family == "lstm":
            _, h_seed, c_seed = seed(x, h, c)
            h_ref, c_ref = ref(x, (h, c))
            return float(max((h_seed - h_ref).abs().max(), (c_seed - c_ref).abs().max()))
        _, h_seed = seed(x, h)
        return float((h_seed - ref(x, h)).abs().max())


@pytest.mark.check("seed_cells_are_not_lstm_or_gru")
@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_seed_cells_are_not_lstm_or_gru(family: str) -> None:
    """The chapter's cells are not nn.LSTMCell / nn.GRUCell. Closest weight mapping: the one shared
    gate Linear gets the mean of the built-in cell's gate blocks ([W_ih | W_hh] rows, b_ih + b_hh);
    the two cells then still disagree by far more than rounding."""
    gen = torch.Generator().manual_seed(2)
    seed, ref = _seed_and_builtin(family, gen)
    blocks = 4 if family == "lstm" else 3
    with torch.no_grad():
        w = torch.cat([ref.weight_ih, ref.weight_hh], dim=1)  # (blocks * H, I + H)
        seed.gate.weight.copy_(w.view(blocks, H, I + H).mean(0))
        seed.gate.bias.copy_((ref.bias_ih + ref.bias_hh).view(blocks, H).mean(0))
    diff = _step_both(family, seed, ref, gen)
    assert diff > 0.05, f"the chapter's {family} cell matched the built-in cell (max diff {diff:.3g})"


@torch.no_grad()
def _tie_gates(seed: Any, ref: Any, blocks: int) -> None:
    """Copy the seed cell's one gate Linear into every gate block of the built-in cell."""
    w, b = seed.gate.weight, seed.gate.bias
    ref.weight_ih.copy_(w[:, :I].repeat(blocks, 1))
    ref.weight_hh.copy_(w[:, I:].repeat(blocks, 1))
    ref.bias_ih.copy_(b.repeat(blocks))
    ref.bias_hh.zero_()


@pytest.mark.check("seed_lstm_is_an_lstm_with_tied_gates")
def test_seed_lstm_is_an_lstm_with_tied_gates() -> None:
    """What the defect means: the chapter's LSTMCell is exactly an nn.LSTMCell whose four gate blocks
    are tied to one (i = f = o, and g uses the same pre-activation)."""
    gen = torch.Generator().manual_seed(3)
    seed, ref = _seed_and_builtin("lstm", gen)
    _tie_gates(seed, ref, 4)
    assert _step_both("lstm", seed, ref, gen) < 1e-12


@pytest.mark.check("seed_gru_is_not_even_a_tied_gru")
def test_seed_gru_is_not_even_a_tied_gru() -> None:
    """The chapter's GRUCell is not a tied nn.GRUCell either: it applies r to h before the weights
    (Cho et al.'s form, not PyTorch's r * (W_hn h + b_hn)) and swaps the roles of z and 1 - z."""
    gen = torch.Generator().manual_seed(3)
    seed, ref = _seed_and_builtin("gru", gen)
    _tie_gates(seed, ref, 3)
    assert _step_both("gru", seed, ref, gen) > 0.05


@pytest.mark.check("chapter_printed_shapes")
def test_chapter_printed_shapes() -> None:
    """The shapes the chapter prints, from the chapter's own calls."""
    rnn: Any = nn.RNN(input_size=10, hidden_size=20, num_layers=2)  # its weights are read by attribute
    assert (tuple(rnn.weight_ih_l0.shape), tuple(rnn.weight_hh_l0.shape), tuple(rnn.bias_hh_l0.shape)) == (
        (20, 10),
        (20, 20),
        (20,),
    )
    output, h_n = rnn(torch.randn(100, 32, 10), torch.randn(2, 32, 20))
    assert (tuple(output.shape), tuple(h_n.shape)) == ((100, 32, 20), (2, 32, 20))
    grucell = SeedGRUCell(input_size=10, hidden_size=20, output_size=10)
    output, hn = grucell(torch.randn(32, 10), torch.randn(32, 20))
    assert (tuple(output.shape), tuple(hn.shape)) == ((32, 10), (32, 20))


@pytest.mark.check("char_rnn_outputs_are_log_probabilities")
@pytest.mark.cases("char_rnn")
def test_char_rnn_outputs_are_log_probabilities(point: Point) -> None:
    """Rows of exp(output) of the char-RNN sum to 1."""
    case = CASES["char_rnn"]
    inst = build(case, case.size("seed"), 0, point.device, point.dtype)
    with torch.no_grad():
        out = case.forward(inst.model, inst.inputs)["output"]
    sums = out.double().exp().sum(dim=-1)
    tol = DEFAULT_TOL[point.dtype]
    torch.testing.assert_close(sums, torch.ones_like(sums), rtol=0, atol=max(10 * tol.rtol, 1e-12))
