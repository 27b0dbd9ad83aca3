"""Cases of the sequence models: nn.RNN / nn.LSTM / nn.GRU and cells stepped over a sequence."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import numpy as np
import torch
from torch import Tensor, nn

from cases.models import GatedCell, GRUCell, LSTMCell
from cases.reference_layers import LayerSpec, layers_backward, layers_forward
from cases.registry import Arrays, Case, Instance, Size, randn, register, uniform_
from cases.sizes import cell_presets, layer_presets, sequence_flops

N_STATES = {"rnn": 1, "lstm": 2, "gru": 1}
BUILTIN_LAYER = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
STATE_NAMES = ("h", "c")


def _spec(family: str, params: Arrays) -> LayerSpec:
    return LayerSpec(family=family, num_layers=sum(1 for k in params if k.startswith("weight_ih_l")))


def _layer_reference(family: str, params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """Outputs of a stacked layer: ``output`` (T, B, H), ``h_n`` (and ``c_n``), each (L, B, H)."""
    states = tuple(inputs[f"{s}0"] for s in STATE_NAMES[: N_STATES[family]])
    out, final, _ = layers_forward(_spec(family, params), params, inputs["x"], states)
    return {"output": out} | {f"{s}_n": f for s, f in zip(STATE_NAMES, final, strict=False)}


def _layer_reference_grad(family: str, params: Arrays, inputs: Arrays, cot: Arrays) -> dict[str, np.ndarray]:
    """Gradients of ``sum(output * cot)`` of a stacked layer, by parameter and input name."""
    names = STATE_NAMES[: N_STATES[family]]
    states = tuple(inputs[f"{s}0"] for s in names)
    spec = _spec(family, params)
    _, _, caches = layers_forward(spec, params, inputs["x"], states)
    g = layers_backward(spec, params, caches, None, cot["output"], tuple(cot[f"{s}_n"] for s in names))
    d_states = g.pop("state0")
    return g | {"x": g.pop("input")} | {f"{s}0": d for s, d in zip(names, d_states, strict=True)}


def _build_layer(family: str, size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    h, b = size.hidden_size, size.batch
    model = uniform_(BUILTIN_LAYER[family](size.input_size, h, size.num_layers, dtype=dtype), gen)
    inputs = {"x": randn(gen, size.seq_len, b, size.input_size, dtype=dtype)}
    for s in STATE_NAMES[: N_STATES[family]]:
        inputs[f"{s}0"] = randn(gen, size.num_layers, b, h, dtype=dtype)
    return Instance(model, inputs)


def _run_layer(family: str, model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    if family == "lstm":
        out, (h_n, c_n) = model(inputs["x"], (inputs["h0"], inputs["c0"]))
        return {"output": out, "h_n": h_n, "c_n": c_n}
    out, h_n = model(inputs["x"], inputs["h0"])
    return {"output": out, "h_n": h_n}


def _layer_shapes(family: str, size: Size) -> dict[str, tuple[int, ...]]:
    state: tuple[int, ...] = (size.num_layers, size.batch, size.hidden_size)
    shapes: dict[str, tuple[int, ...]] = {"output": (size.seq_len, size.batch, size.hidden_size), "h_n": state}
    return shapes | ({"c_n": state} if family == "lstm" else {})


for _mode, _title in (("rnn", "nn.RNN (tanh)"), ("lstm", "nn.LSTM"), ("gru", "nn.GRU")):
    register(
        Case(
            name=f"nn_{_mode}",
            summary=f"built-in {_title}, stacked, against the NumPy reference",
            family=_mode,
            build=partial(_build_layer, _mode),
            forward=partial(_run_layer, _mode),
            reference=partial(_layer_reference, _mode),
            reference_grad=partial(_layer_reference_grad, _mode),
            out_shapes=partial(_layer_shapes, _mode),
            sizes=layer_presets(_mode),
            flops=partial(sequence_flops, _mode),
            time_axis={"output": 0},
            fused=True,
        )
    )


# ------------------------------------------------------------- cells stepped over a sequence

# Weight mapping between a cell's own parameters and the fused layer-0 names of the reference.
ToFused = Callable[[Arrays], dict[str, np.ndarray]]
FromFused = Callable[[Arrays, Arrays], dict[str, np.ndarray]]


def _suffix_to_fused(params: Arrays) -> dict[str, np.ndarray]:
    """``nn.RNNCell`` names -> layer-0 names."""
    return {f"{k}_l0": v for k, v in params.items()}


def _suffix_from_fused(params: Arrays, grads: Arrays) -> dict[str, np.ndarray]:
    return {k: grads[f"{k}_l0"] for k in params}


def _gated_to_fused(gates: tuple[str, ...], params: Arrays) -> dict[str, np.ndarray]:
    """Per-gate ``x_<g>`` / ``h_<g>`` Linears -> stacked rows in PyTorch's gate order."""
    out = {}
    for side, name in (("x", "ih"), ("h", "hh")):
        for kind in ("weight", "bias"):
            out[f"{kind}_{name}_l0"] = np.concatenate([params[f"{side}_{g}.{kind}"] for g in gates])
    return out


def _gated_from_fused(gates: tuple[str, ...], params: Arrays, grads: Arrays) -> dict[str, np.ndarray]:
    out = {}
    for side, name in (("x", "ih"), ("h", "hh")):
        for kind in ("weight", "bias"):
            for g, part in zip(gates, np.split(grads[f"{kind}_{name}_l0"], len(gates)), strict=True):
                out[f"{side}_{g}.{kind}"] = part
    return out


def _cell_inputs(inputs: Arrays) -> dict[str, np.ndarray]:
    """Cell inputs (states (B, H)) -> layer inputs (states (1, B, H))."""
    return {k: (v if k == "x" else v[None]) for k, v in inputs.items()}


def _cell_reference(family: str, to_fused: ToFused, params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    out = _layer_reference(family, to_fused(params), _cell_inputs(inputs))
    return {k: (v if k == "output" else v[0]) for k, v in out.items()}


def _cell_reference_grad(
    family: str, to_fused: ToFused, from_fused: FromFused, params: Arrays, inputs: Arrays, cot: Arrays
) -> dict[str, np.ndarray]:
    cot_l = {k: (v if k == "output" else v[None]) for k, v in cot.items()}
    g = _layer_reference_grad(family, to_fused(params), _cell_inputs(inputs), cot_l)
    return from_fused(params, g) | {k: g[k] if k == "x" else g[k][0] for k in inputs}


def _build_cell(
    family: str, make: Callable[..., nn.Module], size: Size, gen: torch.Generator, dtype: torch.dtype
) -> Instance:
    model = uniform_(make(size.input_size, size.hidden_size).to(dtype), gen, 1 / size.hidden_size**0.5)
    inputs = {"x": randn(gen, size.seq_len, size.batch, size.input_size, dtype=dtype)}
    for s in STATE_NAMES[: N_STATES[family]]:
        inputs[f"{s}0"] = randn(gen, size.batch, size.hidden_size, dtype=dtype)
    return Instance(model, inputs)


def step_cell(family: str, model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Step a cell over ``x`` (T, B, I); outputs ``output`` (T, B, H), ``h_n`` (and ``c_n``) (B, H)."""
    if family == "lstm":
        h, c = inputs["h0"], inputs["c0"]
        outs = []
        for x_t in inputs["x"]:
            h, c = model(x_t, (h, c))
            outs.append(h)
        return {"output": torch.stack(outs), "h_n": h, "c_n": c}
    h = inputs["h0"]
    outs = []
    for x_t in inputs["x"]:
        h = model(x_t, h)
        outs.append(h)
    return {"output": torch.stack(outs), "h_n": h}


def _cell_shapes(family: str, size: Size) -> dict[str, tuple[int, ...]]:
    return {k: (v if k == "output" else v[1:]) for k, v in _layer_shapes(family, size).items()}


def _cell_case(
    name: str,
    summary: str,
    family: str,
    make: Callable[[int, int], nn.Module],
    to_fused: ToFused,
    from_fused: FromFused,
) -> Case:
    return register(
        Case(
            name=name,
            summary=summary,
            family=family,
            build=partial(_build_cell, family, make),
            forward=partial(step_cell, family),
            reference=partial(_cell_reference, family, to_fused),
            reference_grad=partial(_cell_reference_grad, family, to_fused, from_fused),
            out_shapes=partial(_cell_shapes, family),
            sizes=cell_presets(family),
            flops=partial(sequence_flops, family),
            time_axis={"output": 0},
            baseline=f"nn_{family}",
        )
    )


def _gated(cls: type[GatedCell]) -> tuple[ToFused, FromFused]:
    return partial(_gated_to_fused, cls.gates), partial(_gated_from_fused, cls.gates)


_cell_case(
    "rnn_cell_loop",
    "nn.RNNCell stepped over the sequence (the chapter's unfinished loop)",
    "rnn",
    nn.RNNCell,
    _suffix_to_fused,
    _suffix_from_fused,
)
_cell_case(
    "lstm_cell", "corrected hand-written LSTM cell, a weight per gate, stepped", "lstm", LSTMCell, *_gated(LSTMCell)
)
_cell_case("gru_cell", "corrected hand-written GRU cell, a weight per gate, stepped", "gru", GRUCell, *_gated(GRUCell))
