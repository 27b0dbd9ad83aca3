"""NumPy float64 references for the chapter's own models (never calls torch).

Each ``*_forward`` returns the outputs and a cache; each ``*_backward`` takes the cache and the
output cotangents and returns gradients by parameter name (the torch module's
``named_parameters`` names) and by input name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnsuite.cases.reference import (
    Array,
    Params,
    embedding,
    embedding_backward,
    linear,
    linear_backward,
    log_softmax,
    log_softmax_backward,
    sigmoid,
)
from rnnsuite.cases.reference_layers import LayerSpec, layers_backward, layers_forward

LSTM = LayerSpec(family="lstm", num_layers=1)


def chapter_rnn(
    w_cell_state: Array, b_cell: Array, w_output: Array, b_output: float, xs: list[float], state0: Array | None = None
) -> tuple[list[Array], list[Array]]:
    """The chapter's two-step NumPy loop, verbatim in its arithmetic (from ``state0``, zeros as printed).

    Returns:
        ``(states, outputs)``: one ``(2,)`` state and one ``(1,)`` output per input.
    """
    state = np.array([0.0, 0.0]) if state0 is None else state0
    states, outputs = [], []
    for x in xs:
        state = np.append(state, x)
        state = np.tanh(np.dot(state, w_cell_state) + b_cell)
        states.append(state)
        outputs.append(np.dot(state, w_output) + b_output)
    return states, outputs


def char_rnn_forward(p: Params, x: Array, h0: Array) -> tuple[dict[str, Array], Any]:
    """The chapter's char-RNN stepped over ``x`` (T, B, I) from ``h0`` (B, H).

    ``combined = [x_t, h]``; ``h = i2h(combined)``; ``output_t = log_softmax(i2o(combined))``.
    """
    h, outs, hs, cache = h0, [], [], []
    for x_t in x:
        comb = np.concatenate([x_t, h], axis=-1)  # (B, I + H)
        y = log_softmax(linear(comb, p["i2o.weight"], p["i2o.bias"]))
        h = linear(comb, p["i2h.weight"], p["i2h.bias"])
        outs.append(y)
        hs.append(h)
        cache.append((comb, y))
    return {"output": np.stack(outs), "hidden": np.stack(hs)}, cache


def char_rnn_backward(p: Params, x: Array, cache: Any, d: dict[str, Array]) -> dict[str, Array]:
    """Backward of :func:`char_rnn_forward`."""
    n_in = x.shape[-1]
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dx = np.zeros_like(x)
    dh = np.zeros_like(d["hidden"][0])
    for t in reversed(range(len(cache))):
        comb, y = cache[t]
        dz = log_softmax_backward(y, d["output"][t])
        dc1, dw, db = linear_backward(comb, p["i2o.weight"], dz)
        g["i2o.weight"] += dw
        g["i2o.bias"] += db
        dc2, dw, db = linear_backward(comb, p["i2h.weight"], dh + d["hidden"][t])
        g["i2h.weight"] += dw
        g["i2h.bias"] += db
        dcomb = dc1 + dc2
        dx[t], dh = dcomb[:, :n_in], dcomb[:, n_in:]
    return g | {"x": dx, "h0": dh}


def seed_lstm_forward(p: Params, x: Array, h0: Array, c0: Array) -> tuple[dict[str, Array], Any]:
    """What the chapter's LSTMCell computes, stepped over ``x`` (T, B, I).

    ``s = sigmoid(a)``, ``z = tanh(a)`` with ``a = gate([x, h])``; ``c' = c * s + z * s``;
    ``h' = tanh(c') * s``; ``output = log_softmax(output(h'))``.
    """
    h, c, outs, hs, cs, cache = h0, c0, [], [], [], []
    for x_t in x:
        comb = np.concatenate([x_t, h], axis=-1)  # (B, I + H)
        a = linear(comb, p["gate.weight"], p["gate.bias"])
        s, z = sigmoid(a), np.tanh(a)
        c_new = c * s + z * s
        tc = np.tanh(c_new)
        h = tc * s
        y = log_softmax(linear(h, p["output.weight"], p["output.bias"]))
        cache.append((comb, c, s, z, tc, h, y))
        c = c_new
        outs.append(y)
        hs.append(h)
        cs.append(c)
    return {"output": np.stack(outs), "h_n": hs[-1], "c_n": cs[-1]}, cache


def seed_lstm_backward(p: Params, x: Array, cache: Any, d: dict[str, Array]) -> dict[str, Array]:
    """Backward of :func:`seed_lstm_forward`."""
    n_in = x.shape[-1]
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dx = np.zeros_like(x)
    dh, dc = d["h_n"], d["c_n"]
    for t in reversed(range(len(cache))):
        comb, c, s, z, tc, h, y = cache[t]
        dy = log_softmax_backward(y, d["output"][t])
        dh_out, dw, db = linear_backward(h, p["output.weight"], dy)
        g["output.weight"] += dw
        g["output.bias"] += db
        dh = dh + dh_out
        dc = dc + dh * s * (1 - tc**2)
        # The cell calls its gate Linear four times (f, i, o, then z): one backward per call, added
        # up one by one as autograd does (the same sum; in an emulated precision, the same roundings).
        ds_uses = (dc * c, dc * z, dh * tc)  # through f, i and o
        das = [ds * s * (1 - s) for ds in ds_uses] + [dc * s * (1 - z**2)]  # each (B, H)
        dcomb = np.zeros_like(comb)
        for da in das:
            dcomb_use, dw, db = linear_backward(comb, p["gate.weight"], da)
            dcomb = dcomb + dcomb_use
            g["gate.weight"] += dw
            g["gate.bias"] += db
        dx[t], dh, dc = dcomb[:, :n_in], dcomb[:, n_in:], dc * s
    return g | {"x": dx, "h0": dh, "c0": dc}


def seed_gru_forward(p: Params, x: Array, h0: Array) -> tuple[dict[str, Array], Any]:
    """What the chapter's GRUCell computes, stepped over ``x`` (T, B, I).

    ``s = sigmoid(gate([x, h]))`` (both z and r); ``h~ = tanh(gate([x, s * h]))``;
    ``h' = (1 - s) * h + s * h~``; ``output = log_softmax(output(h'))``.
    """
    w, b = p["gate.weight"], p["gate.bias"]
    h, outs, hs, cache = h0, [], [], []
    for x_t in x:
        comb = np.concatenate([x_t, h], axis=-1)  # (B, I + H)
        s = sigmoid(linear(comb, w, b))
        comb2 = np.concatenate([x_t, h * s], axis=-1)
        h1 = np.tanh(linear(comb2, w, b))
        h_new = (1 - s) * h + h1 * s
        y = log_softmax(linear(h_new, p["output.weight"], p["output.bias"]))
        cache.append((comb, comb2, h, s, h1, h_new, y))
        h = h_new
        outs.append(y)
        hs.append(h)
    return {"output": np.stack(outs), "h_n": hs[-1]}, cache


def seed_gru_backward(p: Params, x: Array, cache: Any, d: dict[str, Array]) -> dict[str, Array]:
    """Backward of :func:`seed_gru_forward`."""
    n_in = x.shape[-1]
    w = p["gate.weight"]
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dx = np.zeros_like(x)
    dh = d["h_n"]
    for t in reversed(range(len(cache))):
        comb, comb2, h, s, h1, h_new, y = cache[t]
        dy = log_softmax_backward(y, d["output"][t])
        dh_out, dw, db = linear_backward(h_new, p["output.weight"], dy)
        g["output.weight"] += dw
        g["output.bias"] += db
        dh_new = dh + dh_out
        da2 = dh_new * s * (1 - h1**2)
        dcomb2, dw2, db2 = linear_backward(comb2, w, da2)
        dhs = dcomb2[:, n_in:]
        # The gate Linear runs three times a step (z, r on [x, h]; the candidate on [x, r h]): one
        # backward per call, added up one by one as autograd does.
        dcomb = np.zeros_like(comb)
        for ds in (dh_new * (h1 - h), dhs * h):  # through z, then r
            dcomb_use, dw1, db1 = linear_backward(comb, w, ds * s * (1 - s))
            dcomb = dcomb + dcomb_use
            g["gate.weight"] += dw1
            g["gate.bias"] += db1
        g["gate.weight"] += dw2
        g["gate.bias"] += db2
        dx[t] = dcomb[:, :n_in] + dcomb2[:, :n_in]
        dh = dh_new * (1 - s) + dhs * s + dcomb[:, n_in:]
    return g | {"x": dx, "h0": dh}


def tagger_forward(p: Params, sentence: Array) -> tuple[dict[str, Array], Any]:
    """The chapter's LSTMTagger: embedding -> one-layer LSTM from zeros -> linear -> log_softmax."""
    emb = embedding(sentence, p["word_embeddings.weight"])[:, None, :]  # (T, 1, E)
    lstm_p = {k.removeprefix("lstm."): v for k, v in p.items() if k.startswith("lstm.")}
    zeros = np.zeros((1, 1, p["lstm.weight_hh_l0"].shape[1]))
    out, _, caches = layers_forward(LSTM, lstm_p, emb, (zeros, zeros))
    hid = out[:, 0, :]  # (T, H)
    y = log_softmax(linear(hid, p["hidden2tag.weight"], p["hidden2tag.bias"]))
    return {"tag_scores": y}, (lstm_p, caches, hid, y)


def tagger_backward(p: Params, sentence: Array, cache: Any, d: dict[str, Array]) -> dict[str, Array]:
    """Backward of :func:`tagger_forward` (the sentence, being indices, gets no gradient)."""
    lstm_p, caches, hid, y = cache
    dz = log_softmax_backward(y, d["tag_scores"])
    dhid, dw, db = linear_backward(hid, p["hidden2tag.weight"], dz)
    zeros = np.zeros((1, 1, hid.shape[1]))
    g = layers_backward(LSTM, lstm_p, caches, None, dhid[:, None, :], (zeros, zeros))
    demb = g.pop("input")[:, 0, :]  # (T, E)
    g.pop("state0")
    return {f"lstm.{k}": v for k, v in g.items()} | {
        "hidden2tag.weight": dw,
        "hidden2tag.bias": db,
        "word_embeddings.weight": embedding_backward(sentence, p["word_embeddings.weight"].shape, demb),
    }
