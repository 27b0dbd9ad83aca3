"""The zoo's NumPy references against values worked out by hand from their papers' equations (no torch, no package)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "zoo"))
from rnnsuite_zoo import reference


def sig(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a))


@pytest.mark.parametrize(("a", "g"), [(2.0, 2.5), (0.0, 0.5), (-1.0, sig(-1.0))])
def test_min_g_is_the_papers_piecewise_activation(a: float, g: float) -> None:
    assert reference.min_g(np.array([a]))[0] == pytest.approx(g, rel=1e-15)


def test_min_gru_two_steps_by_hand() -> None:
    w = np.array([[2.0], [0.3]])  # W_h, W_z (one unit, one input)
    x = np.array([[[1.0], [-1.0]]])  # (B=1, T=2, I=1)
    z1, z2 = sig(0.3), sig(-0.3)
    h1 = (1 - z1) * 0.5 + z1 * 2.5  # g(2) = 2.5
    h2 = (1 - z2) * h1 + z2 * sig(-2.0)  # g(-2) = sigmoid(-2)
    out = reference.min_gru({"to_hidden_and_gate.weight": w}, {"x": x, "h0": np.array([[[0.5]]])})["output"]
    assert out[0, :, 0] == pytest.approx([h1, h2], rel=1e-14)


def test_min_lstm_with_equal_gates_averages_state_and_candidate() -> None:
    w = np.array([[1.0], [0.7], [0.7]])  # W_h, W_f, W_i: f' = i' = 1/2
    out = reference.min_lstm(
        {"to_hidden_and_f_i_gate.weight": w}, {"x": np.ones((1, 1, 1)), "h0": np.full((1, 1, 1), 0.3)}
    )
    assert out["output"][0, 0, 0] == pytest.approx(0.5 * 0.3 + 0.5 * 1.5, rel=1e-15)


def test_sru_saturated_gates_keep_the_state_or_take_the_input() -> None:
    weight = np.array([[2.0, 0.0, 0.0, 3.0]])  # one input, one unit: [W, W_f, W_r, W_s]
    inputs = {"x": np.ones((1, 1, 1)), "c0": np.array([[0.25]])}
    keep = reference.sru({"weight": weight, "weight_c": np.zeros(2), "bias": np.array([50.0, 50.0])}, inputs)
    assert (keep["c_n"][0, 0], keep["output"][0, 0, 0]) == pytest.approx((0.25, 0.25), rel=1e-12)  # f = r = 1
    take = reference.sru({"weight": weight, "weight_c": np.zeros(2), "bias": np.array([-50.0, -50.0])}, inputs)
    assert (take["c_n"][0, 0], take["output"][0, 0, 0]) == pytest.approx((2.0, 3.0), rel=1e-12)  # f = r = 0


def test_mlstm_one_step_is_the_papers_normalised_readout() -> None:
    q, k, v = np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.array([3.0, 4.0])
    i_pre, f_pre = 0.4, 1.0
    shape = (1, 1, 1, 2)
    inputs = {"q": q.reshape(shape), "k": k.reshape(shape), "v": v.reshape(shape)}
    inputs |= {"igate": np.full((1, 1, 1, 1), i_pre), "fgate": np.full((1, 1, 1, 1), f_pre)}
    ks = k / math.sqrt(2)
    expected = math.exp(i_pre) * v * (ks @ q) / max(abs(math.exp(i_pre) * (ks @ q)), 1.0)
    assert reference.mlstm({}, inputs)["output"][0, 0, 0] == pytest.approx(expected, rel=1e-14)


def test_a_wrong_reference_would_be_caught() -> None:
    """The hand values have teeth: minGRU's reference with the gate's roles swapped misses them."""
    w = np.array([[0.3], [2.0]])  # W_h and W_z swapped
    out = reference.min_gru({"to_hidden_and_gate.weight": w}, {"x": np.ones((1, 1, 1)), "h0": np.full((1, 1, 1), 0.5)})
    z1 = sig(0.3)
    assert out[("output")][0, 0, 0] != pytest.approx((1 - z1) * 0.5 + z1 * 2.5, rel=1e-6)
