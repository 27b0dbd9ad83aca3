"""NumPy float64 references of the building blocks (forward and backward); never calls torch.

The linear, log-softmax and embedding maps, and one step of each recurrent cell: Elman (tanh and
ReLU), LSTM (with and without a projection) and GRU. :mod:`cases.reference_layers` runs the steps
over sequences, layers and directions: it is the one reference of a recurrent layer.

Parameter names follow PyTorch's ``named_parameters`` so that gradients can be compared by
name. Shapes: a step's input is ``(B, features)`` and its states ``(B, H)``.
Gate order follows PyTorch's documentation: LSTM rows (i, f, g, o), GRU rows (r, z, n).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

Array = np.ndarray
Params = Mapping[str, Array]
# A cell step: (layer params, x_t, state) -> (new state, cache for the backward step).
StepFwd = Callable[[Params, Array, tuple[Array, ...]], tuple[tuple[Array, ...], Any]]
# Its backward: (layer params, cache, d new state) -> (dx_t, d old state, d layer params).
StepBwd = Callable[[Params, Any, tuple[Array, ...]], tuple[Array, tuple[Array, ...], dict[str, Array]]]


def sigmoid(a: Array) -> Array:
    """Logistic function, computed without overflow for large negative inputs."""
    return np.exp(-np.logaddexp(0.0, -a))


def linear(x: Array, weight: Array, bias: Array | None) -> Array:
    """``x @ weight.T + bias`` over the last axis of ``x``."""
    y = x @ weight.T
    return y if bias is None else y + bias


def linear_backward(x: Array, weight: Array, dy: Array) -> tuple[Array, Array, Array]:
    """Gradients of :func:`linear`.

    Returns:
        ``(dx, dweight, dbias)``.
    """
    x2 = x.reshape(-1, x.shape[-1])  # (N, in)
    dy2 = dy.reshape(-1, dy.shape[-1])  # (N, out)
    return dy @ weight, dy2.T @ x2, dy2.sum(axis=0)


def log_softmax(z: Array) -> Array:
    """Log-softmax over the last axis."""
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def log_softmax_backward(y: Array, dy: Array) -> Array:
    """Gradient of :func:`log_softmax` given its output ``y``."""
    return dy - np.exp(y) * dy.sum(axis=-1, keepdims=True)


def embedding(indices: Array, weight: Array) -> Array:
    """Row lookup ``weight[indices]``."""
    return weight[indices]


def embedding_backward(indices: Array, weight_shape: tuple[int, ...], dy: Array) -> Array:
    """Gradient of :func:`embedding` with respect to its weight (repeated rows add up)."""
    dw = np.zeros(weight_shape)
    np.add.at(dw, indices, dy)
    return dw


# ---------------------------------------------------------------------------- cell steps


def _gates(p: Params, x: Array, h: Array) -> tuple[Array, Array]:
    """Input and hidden projections ``(x W_ih^T + b_ih, h W_hh^T + b_hh)``."""
    return linear(x, p["weight_ih"], p.get("bias_ih")), linear(h, p["weight_hh"], p.get("bias_hh"))


def _gate_grads(p: Params, x: Array, h: Array, dgi: Array, dgh: Array) -> tuple[Array, Array, dict[str, Array]]:
    """Back through :func:`_gates`: ``(dx, dh, d params)``."""
    dx, dw_ih, db_ih = linear_backward(x, p["weight_ih"], dgi)
    dh, dw_hh, db_hh = linear_backward(h, p["weight_hh"], dgh)
    grads = {"weight_ih": dw_ih, "weight_hh": dw_hh}
    if "bias_ih" in p:
        grads |= {"bias_ih": db_ih, "bias_hh": db_hh}
    return dx, dh, grads


def rnn_step(p: Params, x: Array, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], Any]:
    """Elman cell: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""
    (h,) = state
    gi, gh = _gates(p, x, h)
    h_new = np.tanh(gi + gh)
    return (h_new,), (x, h, h_new)


def rnn_step_backward(
    p: Params, cache: Any, d_state: tuple[Array, ...]
) -> tuple[Array, tuple[Array, ...], dict[str, Array]]:
    """Backward of :func:`rnn_step`."""
    x, h, h_new = cache
    da = d_state[0] * (1.0 - h_new**2)
    dx, dh, grads = _gate_grads(p, x, h, da, da)
    return dx, (dh,), grads


def lstm_step(p: Params, x: Array, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], Any]:
    """LSTM cell with PyTorch's gate order (i, f, g, o).

    i, f, o = sigmoid(.), g = tanh(.) of ``x W_ih^T + b_ih + h W_hh^T + b_hh``;
    ``c' = f * c + i * g``; ``h' = o * tanh(c')``.
    """
    h, c = state
    gi, gh = _gates(p, x, h)
    a_i, a_f, a_g, a_o = np.split(gi + gh, 4, axis=-1)  # each (B, H)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    c_new = f * c + i * g
    tc = np.tanh(c_new)
    return (o * tc, c_new), (x, h, c, i, f, g, o, tc)


def lstm_step_backward(
    p: Params, cache: Any, d_state: tuple[Array, ...]
) -> tuple[Array, tuple[Array, ...], dict[str, Array]]:
    """Backward of :func:`lstm_step`."""
    x, h, c, i, f, g, o, tc = cache
    dh_new, dc_new = d_state
    dc = dc_new + dh_new * o * (1.0 - tc**2)
    da = np.concatenate(
        [dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g**2), dh_new * tc * o * (1 - o)],
        axis=-1,
    )  # (B, 4H)
    dx, dh, grads = _gate_grads(p, x, h, da, da)
    return dx, (dh, dc * f), grads


def gru_step(p: Params, x: Array, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], Any]:
    """GRU cell with PyTorch's gate order (r, z, n).

    r, z = sigmoid(W_i. x + b_i. + W_h. h + b_h.); ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``;
    ``h' = (1 - z) * n + z * h``.
    """
    (h,) = state
    gi, gh = _gates(p, x, h)
    gi_r, gi_z, gi_n = np.split(gi, 3, axis=-1)  # each (B, H)
    gh_r, gh_z, gh_n = np.split(gh, 3, axis=-1)
    r, z = sigmoid(gi_r + gh_r), sigmoid(gi_z + gh_z)
    n = np.tanh(gi_n + r * gh_n)
    return ((1.0 - z) * n + z * h,), (x, h, r, z, n, gh_n)


def gru_step_backward(
    p: Params, cache: Any, d_state: tuple[Array, ...]
) -> tuple[Array, tuple[Array, ...], dict[str, Array]]:
    """Backward of :func:`gru_step`."""
    x, h, r, z, n, gh_n = cache
    dh_new = d_state[0]
    dan = dh_new * (1.0 - z) * (1.0 - n**2)
    dar = dan * gh_n * r * (1.0 - r)
    daz = dh_new * (h - n) * z * (1.0 - z)
    dgi = np.concatenate([dar, daz, dan], axis=-1)  # (B, 3H)
    dgh = np.concatenate([dar, daz, dan * r], axis=-1)
    dx, dh, grads = _gate_grads(p, x, h, dgi, dgh)
    return dx, (dh + dh_new * z,), grads


def rnn_relu_step(p: Params, x: Array, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], Any]:
    """Elman cell with ReLU: ``h' = max(0, x W_ih^T + b_ih + h W_hh^T + b_hh)``."""
    (h,) = state
    gi, gh = _gates(p, x, h)
    h_new = np.maximum(gi + gh, 0.0)
    return (h_new,), (x, h, h_new)


def rnn_relu_step_backward(
    p: Params, cache: Any, d_state: tuple[Array, ...]
) -> tuple[Array, tuple[Array, ...], dict[str, Array]]:
    """Backward of :func:`rnn_relu_step` (the derivative at 0 is taken as 0, as torch does)."""
    x, h, h_new = cache
    da = d_state[0] * (h_new > 0.0)
    dx, dh, grads = _gate_grads(p, x, h, da, da)
    return dx, (dh,), grads


def lstm_proj_step(p: Params, x: Array, state: tuple[Array, ...]) -> tuple[tuple[Array, ...], Any]:
    """LSTM cell with a projection: :func:`lstm_step`, then ``h' = h_full W_hr^T``.

    ``state`` is ``(h (B, P), c (B, H))``; ``weight_hh`` is ``(4H, P)``, ``weight_hr`` ``(P, H)``.
    """
    (h_full, c_new), cache = lstm_step(p, x, state)  # h_full (B, H)
    return (h_full @ p["weight_hr"].T, c_new), (cache, h_full)


def lstm_proj_step_backward(
    p: Params, cache: Any, d_state: tuple[Array, ...]
) -> tuple[Array, tuple[Array, ...], dict[str, Array]]:
    """Backward of :func:`lstm_proj_step`."""
    lstm_cache, h_full = cache
    dh_proj, dc_new = d_state
    dx, d_old, grads = lstm_step_backward(p, lstm_cache, (dh_proj @ p["weight_hr"], dc_new))
    return dx, d_old, grads | {"weight_hr": dh_proj.T @ h_full}


STEPS: dict[str, tuple[StepFwd, StepBwd]] = {
    "rnn_tanh": (rnn_step, rnn_step_backward),
    "rnn_relu": (rnn_relu_step, rnn_relu_step_backward),
    "lstm": (lstm_step, lstm_step_backward),
    "lstm_proj": (lstm_proj_step, lstm_proj_step_backward),
    "gru": (gru_step, gru_step_backward),
}
