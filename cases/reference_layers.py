"""The NumPy float64 reference of a recurrent layer, forward and BPTT; never calls torch.

The one reference of ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` and their cells (a cell is a one-layer,
one-direction layer): the cell steps of :mod:`cases.reference` run over the sequence, the layers
and the directions. The plain stacked layer is the case with no options; the options change it so:

- ``nonlinearity="relu"``: ``h' = max(0, x W_ih^T + b_ih + h W_hh^T + b_hh)``;
- ``bias=False``: the steps already skip absent ``bias_*`` parameters;
- ``proj_size = P`` (LSTM): ``h' = (o * tanh(c')) W_hr^T``, so ``h`` has P features, ``c`` keeps
  H, and ``weight_hh`` is ``(4H, P)``;
- ``bidirectional=True``: each layer runs a forward direction (parameters ``*_l{k}``) and a
  reverse one (``*_l{k}_reverse``) over the time-reversed sequence; the layer's output is the
  two outputs side by side (forward first) and the final states are indexed
  ``layer * 2 + direction``;
- per-sequence lengths (a packed batch): sequence ``b`` runs steps ``0 .. len_b - 1`` only.
  A step ``t >= len_b`` leaves that sequence's state unchanged and outputs zeros, so the
  forward direction's final state is the one at its own last step, and the reverse direction
  starts from ``h_0`` at step ``len_b - 1``, as ``pack_padded_sequence`` does.

Shapes are time-major: inputs ``(T, B, I)``, states ``(L * D, B, H)`` with D = 2 directions
when bidirectional.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnsuite.cases.reference import STEPS, Array, Params, StepBwd, StepFwd


@dataclass(frozen=True, kw_only=True)
class LayerSpec:
    """The options of a stacked built-in layer that change what it computes.

    Args:
        family: "rnn", "lstm" or "gru".
        num_layers: L.
        bidirectional: two directions per layer.
        nonlinearity: "tanh" or "relu" (nn.RNN only).
        proj_size: P > 0 projects the LSTM's h (nn.LSTM only); 0 for none.
    """

    family: str
    num_layers: int
    bidirectional: bool = False
    nonlinearity: str = "tanh"
    proj_size: int = 0

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def step(self) -> str:
        """The key of :data:`STEPS`."""
        if self.family == "rnn":
            return f"rnn_{self.nonlinearity}"
        return "lstm_proj" if self.proj_size else self.family

    def suffix(self, layer: int, direction: int) -> str:
        """``_l{layer}`` or ``_l{layer}_reverse``, as in ``named_parameters``."""
        return f"_l{layer}" + ("_reverse" if direction else "")


def direction_params(params: Params, suffix: str) -> dict[str, Array]:
    """The parameters of one layer and direction, without the suffix."""
    return {k.removesuffix(suffix): v for k, v in params.items() if k.endswith(suffix)}


def _valid(lengths: Array, t: int) -> Array:
    """``(B, 1)`` booleans: the sequences that are still running at step ``t``."""
    return (t < lengths)[:, None]


def direction_forward(
    step: StepFwd, p: Params, x: Array, state: tuple[Array, ...], lengths: Array, reverse: bool
) -> tuple[Array, tuple[Array, ...], list[Any]]:
    """One direction of one layer over ``x`` (T, B, in), honouring each sequence's length.

    Returns:
        ``(output (T, B, H_out) with zeros past each length, final states, caches by step)``.
    """
    steps = range(len(x) - 1, -1, -1) if reverse else range(len(x))
    outs: list[Array] = [np.empty(0)] * len(x)
    caches: list[Any] = [None] * len(x)
    for t in steps:
        new, caches[t] = step(p, x[t], state)
        m = _valid(lengths, t)
        state = tuple(np.where(m, n, s) for n, s in zip(new, state, strict=True))
        outs[t] = np.where(m, new[0], 0.0)
    return np.stack(outs), state, caches


def direction_backward(
    step_bwd: StepBwd,
    p: Params,
    caches: list[Any],
    lengths: Array,
    reverse: bool,
    d_out: Array,
    d_final: tuple[Array, ...],
) -> tuple[Array, tuple[Array, ...], dict[str, Array]]:
    """Backward of :func:`direction_forward`: ``(d input (T, B, in), d initial states, d params)``.

    A finished sequence's state passes through a step unchanged, so its gradient does too; the
    step itself gets a zero gradient there, which makes its input gradient exactly zero.
    """
    steps = range(len(caches)) if reverse else range(len(caches) - 1, -1, -1)
    d_state: tuple[Array, ...] = d_final
    grads: dict[str, Any] = {}
    dxs: list[Array] = [np.empty(0)] * len(caches)
    for t in steps:
        m = _valid(lengths, t)
        d_new = tuple(np.where(m, d + (d_out[t] if k == 0 else 0.0), 0.0) for k, d in enumerate(d_state))
        dxs[t], d_old, g = step_bwd(p, caches[t], d_new)
        d_state = tuple(o + np.where(m, 0.0, d) for o, d in zip(d_old, d_state, strict=True))
        for k, v in g.items():
            grads[k] = grads.get(k, 0.0) + v
    return np.stack(dxs), d_state, grads


def layers_forward(
    spec: LayerSpec, params: Params, x: Array, state0: tuple[Array, ...], lengths: Array | None = None
) -> tuple[Array, tuple[Array, ...], list[list[Any]]]:
    """Run a stacked layer with the options of ``spec``.

    Args:
        spec: the layer's options.
        params: by ``named_parameters`` name (``weight_ih_l0``, ``weight_hr_l0_reverse``, ...).
        x: input, ``(T, B, I)``.
        state0: initial states, ``(h0,)`` or ``(h0, c0)``, each ``(L * D, B, H or P)``.
        lengths: ``(B,)`` steps of each sequence; None for all T.

    Returns:
        ``(output (T, B, D * H_out), final states like state0, caches by layer and direction)``.
    """
    lengths = np.full(x.shape[1], len(x)) if lengths is None else np.asarray(lengths)
    step = STEPS[spec.step][0]
    layer_in, caches = x, []
    finals: list[tuple[Array, ...]] = []
    for layer in range(spec.num_layers):
        outs, layer_caches = [], []
        for d in range(spec.directions):
            p = direction_params(params, spec.suffix(layer, d))
            s0 = tuple(s[layer * spec.directions + d] for s in state0)
            out, final, cache = direction_forward(step, p, layer_in, s0, lengths, reverse=d == 1)
            outs.append(out)
            finals.append(final)
            layer_caches.append(cache)
        caches.append(layer_caches)
        layer_in = np.concatenate(outs, axis=-1)  # (T, B, D * H_out)
    return layer_in, tuple(np.stack([f[k] for f in finals]) for k in range(len(state0))), caches


def layers_backward(
    spec: LayerSpec,
    params: Params,
    caches: list[list[Any]],
    lengths: Array | None,
    d_out: Array,
    d_final: tuple[Array, ...],
) -> dict[str, Any]:
    """Backpropagation through time for :func:`layers_forward`.

    Returns:
        Gradients by parameter name, plus ``"input"`` (T, B, I) and ``"state0"`` (a tuple like
        ``d_final``).
    """
    lengths = np.full(d_out.shape[1], len(d_out)) if lengths is None else np.asarray(lengths)
    step_bwd = STEPS[spec.step][1]
    grads: dict[str, Any] = {}
    d_state0: dict[int, tuple[Array, ...]] = {}
    d_layer_out = d_out
    for layer in reversed(range(spec.num_layers)):
        parts = np.split(d_layer_out, spec.directions, axis=-1)  # each (T, B, H_out)
        d_in: Array | float = 0.0
        for d in range(spec.directions):
            idx = layer * spec.directions + d
            sfx = spec.suffix(layer, d)
            p = direction_params(params, sfx)
            d_fin = tuple(s[idx] for s in d_final)
            dx, d_state0[idx], g = direction_backward(step_bwd, p, caches[layer][d], lengths, d == 1, parts[d], d_fin)
            d_in = d_in + dx
            grads |= {f"{k}{sfx}": v for k, v in g.items()}
        d_layer_out = np.asarray(d_in)
    grads["input"] = d_layer_out
    grads["state0"] = tuple(np.stack([d_state0[i][k] for i in sorted(d_state0)]) for k in range(len(d_final)))
    return grads
