"""The zoo's NumPy float64 references, each written from its paper's equations or its package's documented recurrence.

None of them calls torch or the package under test: parameters arrive by ``named_parameters()`` name
as float64 arrays (the suite's convention, ``rnnsuite.cases.api``), and each function steps the
recurrence as the paper writes it, one time step at a time, whatever parallel form the package also
offers. Shapes are noted as ``(T, B, H)`` (time-major) or ``(B, T, H)`` (batch-first), as the package
takes its inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

Arrays = Mapping[str, np.ndarray]


def sigmoid(a: np.ndarray) -> np.ndarray:
    """The logistic function, stable for large ``|a|``."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_sigmoid(a: np.ndarray) -> np.ndarray:
    """``log(sigmoid(a))``, stable for large ``|a|``."""
    return np.minimum(a, 0.0) - np.log1p(np.exp(-np.abs(a)))


def min_g(a: np.ndarray) -> np.ndarray:
    """minGRU's positive activation ``g`` (Feng et al. 2024, appendix B.3): ``a + 0.5`` for ``a >= 0``, else sigmoid."""
    return np.where(a >= 0, a + 0.5, sigmoid(a))


# ------------------------------------------------------------------------------------ minGRU / minLSTM


def min_gru(params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """minGRU (Feng et al. 2024, "Were RNNs all we needed?", eq. for minGRU with the log-space ``g``).

    ``z_t = sigmoid(W_z x_t)``, ``htilde_t = g(W_h x_t)``, ``h_t = (1 - z_t) h_{t-1} + z_t htilde_t``.
    Weight ``to_hidden_and_gate.weight`` is ``[W_h; W_z]`` (2H, I); ``x`` (B, T, I), ``h0`` (B, 1, H).
    """
    w_h, w_z = np.split(params["to_hidden_and_gate.weight"], 2, axis=0)
    x, h = inputs["x"], inputs["h0"][:, 0]
    outs = []
    for t in range(x.shape[1]):
        z = sigmoid(x[:, t] @ w_z.T)
        h = (1.0 - z) * h + z * min_g(x[:, t] @ w_h.T)
        outs.append(h)
    return {"output": np.stack(outs, axis=1)}  # (B, T, H)


def min_lstm(params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """minLSTM (Feng et al. 2024), with the normalised gates of its length-independent form.

    ``f_t = sigmoid(W_f x_t)``, ``i_t = sigmoid(W_i x_t)``, ``f'_t = f_t / (f_t + i_t)``,
    ``i'_t = i_t / (f_t + i_t)``, ``h_t = f'_t h_{t-1} + i'_t g(W_h x_t)``.
    Weight ``to_hidden_and_f_i_gate.weight`` is ``[W_h; W_f; W_i]`` (3H, I); ``x`` (B, T, I), ``h0`` (B, 1, H).
    """
    w_h, w_f, w_i = np.split(params["to_hidden_and_f_i_gate.weight"], 3, axis=0)
    x, h = inputs["x"], inputs["h0"][:, 0]
    outs = []
    for t in range(x.shape[1]):
        f, i = sigmoid(x[:, t] @ w_f.T), sigmoid(x[:, t] @ w_i.T)
        h = f / (f + i) * h + i / (f + i) * min_g(x[:, t] @ w_h.T)
        outs.append(h)
    return {"output": np.stack(outs, axis=1)}  # (B, T, H)


# ------------------------------------------------------------------------------------------------- SRU


def sru(params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """SRU (Lei et al. 2018, "Simple Recurrent Units for Highly Parallelizable Recurrence", eqs. 3-7).

    ``f_t = sigmoid(W_f x_t + v_f * c_{t-1} + b_f)``, ``c_t = f_t c_{t-1} + (1 - f_t) W x_t``,
    ``r_t = sigmoid(W_r x_t + v_r * c_{t-1} + b_r)``, ``h_t = r_t c_t + (1 - r_t) W_s x_t`` (the skip term
    projected, as the package documents for input size != hidden size). ``weight`` (I, H * 4) holds
    ``[W, W_f, W_r, W_s]`` interleaved per unit; ``weight_c`` is ``[v_f, v_r]``, ``bias`` ``[b_f, b_r]``.
    ``x`` (T, B, I), ``c0`` (B, H).
    """
    x, c = inputs["x"], inputs["c0"]
    hidden = c.shape[1]
    u = (x @ params["weight"]).reshape(x.shape[0], x.shape[1], hidden, -1)  # (T, B, H, k)
    if u.shape[-1] != 4:
        raise ValueError("the reference covers SRU with input size != hidden size (a projected skip term)")
    v_f, v_r = np.split(params["weight_c"], 2)
    b_f, b_r = np.split(params["bias"], 2)
    outs = []
    for t in range(x.shape[0]):
        w_x, pre_f, pre_r, skip = np.moveaxis(u[t], -1, 0)
        f, r = sigmoid(pre_f + v_f * c + b_f), sigmoid(pre_r + v_r * c + b_r)
        c = f * c + (1.0 - f) * w_x
        outs.append(r * c + (1.0 - r) * skip)
    return {"output": np.stack(outs), "c_n": c}  # (T, B, H), (B, H)


# ----------------------------------------------------------------------------------------- CfC / LTC


def cfc(params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """CfC, the gated closed-form cell (Hasani et al. 2022, "Closed-form continuous-time neural networks", eq. 10).

    A backbone ``b = 1.7159 tanh(0.666 (W_b [x_t, h] + c_b))`` (LeCun's tanh), then
    ``h_t = tanh(f_1(b)) (1 - s) + s tanh(f_2(b))`` with the time gate ``s = sigmoid(t_a(b) dt + t_b(b))``
    and ``dt = 1`` (no time spans given). ``x`` (T, B, I), ``h0`` (B, H).
    """
    p = {k.removeprefix("rnn_cell."): v for k, v in params.items()}

    def lin(name: str, a: np.ndarray) -> np.ndarray:
        return a @ p[f"{name}.weight"].T + p[f"{name}.bias"]

    x, h = inputs["x"], inputs["h0"]
    outs = []
    for t in range(x.shape[0]):
        b = 1.7159 * np.tanh(0.666 * lin("backbone.0", np.concatenate([x[t], h], axis=1)))
        s = sigmoid(lin("time_a", b) * 1.0 + lin("time_b", b))
        h = np.tanh(lin("ff1", b)) * (1.0 - s) + s * np.tanh(lin("ff2", b))
        outs.append(h)
    return {"output": np.stack(outs), "h_n": h}


def ltc(params: Arrays, inputs: Arrays, unfolds: int = 6, epsilon: float = 1e-8) -> dict[str, np.ndarray]:
    """LTC (Hasani et al. 2021, "Liquid time-constant networks", eq. 3), the fused semi-implicit Euler solver.

    Each step maps the input affinely (``x w_in + b_in``), then takes ``unfolds`` solver steps of
    ``v <- (c_m/dt v + g_l E_l + sum_j w_j sigma_j(v) E_j) / (c_m/dt + g_l + sum_j w_j sigma_j(v))``
    with ``sigma_j(v) = sigmoid(s_j (v_pre - mu_j))`` over the recurrent and the sensory synapses (the
    sensory ones fixed per step), ``dt = 1 / unfolds``; the output is the state mapped affinely. The
    synapse masks (the wiring) multiply ``w``. The layer's default ``implicit_param_constraints=True``
    keeps ``w``, ``sensory_w``, ``c_m`` and ``g_l`` positive through a softplus of the parameter.
    ``x`` (T, B, I), ``h0`` (B, H).
    """
    p = {k.removeprefix("rnn_cell."): v for k, v in params.items()}
    p |= {k: np.logaddexp(0.0, p[k]) for k in ("w", "sensory_w", "cm", "gleak")}  # softplus
    x, v = inputs["x"], inputs["h0"]

    def synapses(pre: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
        act = p[f"{kind}w"] * sigmoid(p[f"{kind}sigma"] * (pre[:, :, None] - p[f"{kind}mu"]))  # (B, from, to)
        act = act * p[f"{kind}sparsity_mask"]
        return (act * p[f"{kind}erev"]).sum(axis=1), act.sum(axis=1)

    cm_t = p["cm"] * unfolds  # cm / (elapsed 1.0 / unfolds)
    outs = []
    for t in range(x.shape[0]):
        num_s, den_s = synapses(x[t] * p["input_w"] + p["input_b"], "sensory_")
        for _ in range(unfolds):
            num, den = synapses(v, "")
            v = (cm_t * v + p["gleak"] * p["vleak"] + num + num_s) / (cm_t + p["gleak"] + den + den_s + epsilon)
        outs.append(v * p["output_w"] + p["output_b"])
    return {"output": np.stack(outs), "h_n": v}


# ----------------------------------------------------------------------------------------------- xLSTM


def slstm(params: Arrays, inputs: Arrays, heads: int) -> dict[str, np.ndarray]:
    """sLSTM (Beck et al. 2024, "xLSTM", eqs. 8-17), with the exponential input gate and its stabiliser.

    Pre-activations ``W x_t + R_h y_{t-1} + b`` per gate (``i, f, z, o``), ``R`` block-diagonal over heads;
    ``m_t = max(log sigmoid(f~_t) + m_{t-1}, i~_t)``, ``i_t = exp(i~_t - m_t)``,
    ``f_t = exp(log sigmoid(f~_t) + m_{t-1} - m_t)``, ``c_t = f_t c_{t-1} + i_t tanh(z~_t)``,
    ``n_t = f_t n_{t-1} + i_t``, ``y_t = sigmoid(o~_t) c_t / n_t``, from zero states.
    ``proj.weight`` / ``proj.bias`` give ``W x + b_proj`` (4H rows, gate-major); ``cell._bias_`` is (4H,)
    gate-major; ``cell._recurrent_kernel_`` is (NH, 4 DH, DH): row ``g DH + d`` of head ``h`` takes ``y`` of
    that head. ``x`` (T, B, I).
    """
    x = inputs["x"]
    r = params["cell._recurrent_kernel_"]
    hidden = r.shape[0] * r.shape[2]
    batch = x.shape[1]
    y, c, n, m = (np.zeros((batch, hidden)) for _ in range(4))
    outs = []
    for t in range(x.shape[0]):
        heads_y = y.reshape(batch, heads, r.shape[2])  # (B, NH, DH)
        ry = np.einsum("bhe,hre->bhr", heads_y, r).reshape(batch, heads, 4, -1).transpose(0, 2, 1, 3)
        raw = x[t] @ params["proj.weight"].T + params["proj.bias"] + ry.reshape(batch, -1) + params["cell._bias_"]
        i_raw, f_raw, z_raw, o_raw = np.split(raw, 4, axis=1)
        log_f = log_sigmoid(f_raw)
        m_new = i_raw if t == 0 else np.maximum(log_f + m, i_raw)  # the first step: c = n = 0, any m serves
        i_g, f_g = np.exp(i_raw - m_new), np.exp(log_f + m - m_new)
        c, n, m = f_g * c + i_g * np.tanh(z_raw), f_g * n + i_g, m_new
        y = sigmoid(o_raw) * c / n
        outs.append(y)
    return {"output": np.stack(outs)}  # (T, B, H)


def mlstm(params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """mLSTM (Beck et al. 2024, "xLSTM", eqs. 19-27), its matrix memory stepped in time, unstabilised.

    Per head, from the query, key and value ``q_t, k_t / sqrt(DH), v_t`` and the gates' pre-activations:
    ``i_t = exp(i~_t)``, ``f_t = sigmoid(f~_t)``; ``C_t = f_t C_{t-1} + i_t v_t k_t^T``,
    ``n_t = f_t n_{t-1} + i_t k_t``, ``h_t = C_t q_t / max(|n_t^T q_t|, 1)``, from zero states. float64
    holds ``exp`` of these pre-activations without the stabiliser (it cancels in the ratio; the package's
    ``eps`` is 0 in the cases, docs/zoo.md says why). ``q, k, v`` (B, NH, T, DH); ``igate, fgate``
    (B, NH, T, 1).
    """
    q, v, i_pre, f_pre = inputs["q"], inputs["v"], inputs["igate"][..., 0], inputs["fgate"][..., 0]
    batch, heads, steps, dh = q.shape
    k = inputs["k"] / math.sqrt(dh)
    mem, norm = np.zeros((batch, heads, dh, dh)), np.zeros((batch, heads, dh))
    outs = []
    for t in range(steps):
        i_g, f_g = np.exp(i_pre[:, :, t])[..., None], sigmoid(f_pre[:, :, t])[..., None]  # (B, NH, 1)
        mem = f_g[..., None] * mem + i_g[..., None] * np.einsum("bhd,bhe->bhde", v[:, :, t], k[:, :, t])
        norm = f_g * norm + i_g * k[:, :, t]
        num = np.einsum("bhde,bhe->bhd", mem, q[:, :, t])
        den = np.maximum(np.abs((norm * q[:, :, t]).sum(-1, keepdims=True)), 1.0)
        outs.append(num / den)
    return {"output": np.stack(outs, axis=2)}  # (B, NH, T, DH)


# ------------------------------------------------------------------------------------------------ Mamba


def mamba_block(params: Arrays, inputs: Arrays, d_state: int, dt_rank: int) -> dict[str, np.ndarray]:
    """One Mamba block (Gu and Dao 2023, "Mamba", algorithm 2: the selective SSM), stepped in time.

    ``[u, z] = W_in x``; ``u`` through a causal depthwise convolution (width K, left zero padding) and SiLU;
    ``[d, B, C] = W_x u``; ``delta = softplus(W_dt d + b_dt)``; per channel and state,
    ``h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t`` with ``A = -exp(A_log)``; ``y_t = C_t h_t + D u_t``;
    the output ``W_out (y * silu(z))``. ``x`` (B, T, D).
    """
    x = inputs["x"]
    batch, steps, _ = x.shape
    u, z = np.split(x @ params["in_proj.weight"].T, 2, axis=-1)  # (B, T, ED) each
    kernel = params["conv1d.weight"][:, 0]  # (ED, K)
    width = kernel.shape[1]
    padded = np.concatenate([np.zeros((batch, width - 1, u.shape[2])), u], axis=1)
    conv = sum(padded[:, j : j + steps] * kernel[:, j] for j in range(width)) + params["conv1d.bias"]
    u = conv * sigmoid(conv)  # SiLU
    d, b_in, c_out = np.split(u @ params["x_proj.weight"].T, [dt_rank, dt_rank + d_state], axis=-1)
    pre = d @ params["dt_proj.weight"].T + params["dt_proj.bias"]
    delta = np.logaddexp(0.0, pre)  # softplus, (B, T, ED)
    a = -np.exp(params["A_log"])  # (ED, N)
    h = np.zeros((batch, u.shape[2], d_state))
    ys = []
    for t in range(steps):
        h = np.exp(delta[:, t, :, None] * a) * h + delta[:, t, :, None] * b_in[:, t, None, :] * u[:, t, :, None]
        ys.append((h * c_out[:, t, None, :]).sum(-1) + params["D"] * u[:, t])
    y = np.stack(ys, axis=1) * (z * sigmoid(z))
    return {"output": y @ params["out_proj.weight"].T}  # (B, T, D)
