"""The layer-norm LSTM's own NumPy float64 reference (forward), written from its definition in models.py."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

EPS = 1e-5  # nn.LayerNorm's default


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def _layer_norm(a: np.ndarray, gain: np.ndarray, shift: np.ndarray) -> np.ndarray:
    mean = a.mean(axis=-1, keepdims=True)
    var = ((a - mean) ** 2).mean(axis=-1, keepdims=True)
    return (a - mean) / np.sqrt(var + EPS) * gain + shift


def layernorm_lstm(params: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``output`` (T, B, H), ``h_n`` and ``c_n`` (B, H) of the layer-norm LSTM cell stepped over ``x``."""
    p = params
    h, c = inputs["h0"], inputs["c0"]
    outs = []
    for x_t in inputs["x"]:
        gates = (
            _layer_norm(x_t @ p["weight_ih"].T, p["ln_i.weight"], p["ln_i.bias"])
            + _layer_norm(h @ p["weight_hh"].T, p["ln_h.weight"], p["ln_h.bias"])
            + p["bias"]
        )
        i, f, g, o = np.split(gates, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(_layer_norm(c, p["ln_c.weight"], p["ln_c.bias"]))
        outs.append(h)
    return {"output": np.stack(outs), "h_n": h, "c_n": c}
