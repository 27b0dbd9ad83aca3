"""fastrnns' LSTM variants as rnnsuite cases: each checked in every dtype and timed beside nn.LSTM.

Loaded through the entry-point group ``rnnsuite.cases`` (pyproject.toml): installing this package
is all it takes. Every name starts with ``example_``, so that ``-k`` can select or leave them out
together (``make report`` times them in float32 only). Every case but the layer-norm one takes its expected values from nn.LSTM (or
nn.LSTMCell / nn.GRUCell) through a map of its parameters; the layer-norm one has its own NumPy
reference (reference.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import torch
import torch._functorch.config
from torch import Tensor, nn

from rnnsuite.cases.api import Instance, Size, case, same_as
from rnnsuite.cases.models import GRUCell, LSTMCell
from rnnsuite.cases.sizes import DEEPBENCH, SEED, SEED_CELL, TIER, TINY, TINY_CELL
from rnnsuite_examples import models
from rnnsuite_examples.reference import layernorm_lstm

ONE_LAYER = {"tiny": (TINY_CELL,), "seed": (SEED_CELL,), "deepbench": DEEPBENCH["lstm"]}
# Two layers: checked at the layer variants' small size (the emulated references of a T=100
# bidirectional stack cost the tier seconds per dtype), timed at the chapter's seed size and at
# DeepBench's one-layer LSTM shapes, beside nn.LSTM's own.
TWO_LAYERS = {"tiny": (TINY,), "seed": (TIER, SEED), "deepbench": DEEPBENCH["lstm"]}


def _draw(gen: torch.Generator, dtype: torch.dtype, *shape: int) -> Tensor:
    """A standard normal tensor drawn in float64 and rounded to ``dtype`` (the same values in every dtype)."""
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)


def _inputs(size: Size, gen: torch.Generator, dtype: torch.dtype, states: int | None) -> dict[str, Tensor]:
    """``x`` (T, B, I) and the states: ``(states, B, H)`` each, or ``(B, H)`` when ``states`` is None."""
    lead = (size.batch,) if states is None else (states, size.batch)
    return {
        "x": _draw(gen, dtype, size.seq_len, size.batch, size.input_size),
        "h0": _draw(gen, dtype, *lead, size.hidden_size),
        "c0": _draw(gen, dtype, *lead, size.hidden_size),
    }


def _as_layer(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    out, h_n, c_n = model(inputs["x"], inputs["h0"], inputs["c0"])
    return {"output": out, "h_n": h_n, "c_n": c_n}


# ----------------------------------------------------------------------------- premul


def _build_premul(size: Size, gen: torch.Generator, dtype: torch.dtype, device: str = "cpu") -> Instance:
    """Constructed on the device it is timed on (a builder that takes ``device``); drawn on the CPU and copied."""
    premul = models.PremulLSTM(size.input_size, size.hidden_size, dtype, device)
    model = models.uniform_(premul, gen, size.hidden_size)
    return Instance(model, {k: v.to(device) for k, v in _inputs(size, gen, dtype, 1).items()})


def _suffix_l0(p: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """nn.LSTM's own four parameters under its layer-0 names."""
    return {f"{k}_l0": v for k, v in p.items()}


case(
    "example_premul_lstm",
    _build_premul,
    _as_layer,
    same_as=same_as(nn.LSTM, _suffix_l0),
    summary="fastrnns' premul LSTM: every step's input projection in one matmul",
    sizes=ONE_LAYER,
)

# ------------------------------------------------------------------------ fused gates


def _build_fused(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    cell = models.FusedGatesLSTMCell(size.input_size, size.hidden_size, dtype)
    return Instance(models.uniform_(cell, gen, size.hidden_size), _inputs(size, gen, dtype, None))


def _run_cell(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    out, h, c = models.step(model, inputs["x"], inputs["h0"], inputs["c0"])
    return {"output": out, "h_n": h, "c_n": c}


def _split_fused(p: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """One ``(4H, I + H)`` weight -> nn.LSTMCell's ``weight_ih`` and ``weight_hh`` (a slice each); one bias."""
    hidden = p["weight"].shape[0] // 4
    n_in = p["weight"].shape[1] - hidden
    return {
        "weight_ih": p["weight"][:, :n_in],
        "weight_hh": p["weight"][:, n_in:],
        "bias_ih": p["bias"],
        "bias_hh": torch.zeros_like(p["bias"]),
    }


case(
    "example_fused_gates_lstm",
    _build_fused,
    _run_cell,
    same_as=same_as(nn.LSTMCell, _split_fused),
    summary="an LSTM cell loop with one matmul of [x, h] for the four gates",
    sizes=ONE_LAYER,
)

# -------------------------------------------------------------------------- layernorm


def _build_layernorm(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    cell = models.LayerNormLSTMCell(size.input_size, size.hidden_size, dtype)
    models.uniform_(cell, gen, size.hidden_size)
    with torch.no_grad():  # gains near 0.5: near 1 the normalised recurrence amplifies rounding (float64 over budget)
        for ln in (cell.ln_i, cell.ln_h, cell.ln_c):
            ln.weight.add_(0.5)
    return Instance(cell, _inputs(size, gen, dtype, None))


def _lstm_cell_flops(size: Size) -> int:
    return 2 * size.batch * size.seq_len * 4 * size.hidden_size * (size.input_size + size.hidden_size)


case(
    "example_layernorm_lstm",
    _build_layernorm,
    _run_cell,
    reference=layernorm_lstm,
    family="lstm",
    summary="fastrnns' layernorm LSTM: layer norm of both projections and of the cell (own NumPy reference)",
    sizes=ONE_LAYER,
    flops=_lstm_cell_flops,
    baseline="nn_lstm",
    time_axis={"output": 0},
)

# ---------------------------------------------------------- stacked and bidirectional


def _build_stacked(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    model = models.StackedLSTM(size.input_size, size.hidden_size, size.num_layers, dtype)
    return Instance(models.uniform_(model, gen, size.hidden_size), _inputs(size, gen, dtype, size.num_layers))


def _stacked_to_lstm(p: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``layers.<k>.<name>`` -> ``<name>_l<k>``."""
    out = {}
    for k, v in p.items():
        _, layer, name = k.split(".")
        out[f"{name}_l{layer}"] = v
    return out


case(
    "example_stacked_lstm",
    _build_stacked,
    _as_layer,
    same_as=same_as(nn.LSTM, _stacked_to_lstm),
    summary="custom_lstms' stacked LSTM (2 layers of a custom cell)",
    sizes=TWO_LAYERS,
    untimed=(TIER,),
)


def _build_bidir(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    model = models.BidirLSTM(size.input_size, size.hidden_size, size.num_layers, dtype)
    return Instance(models.uniform_(model, gen, size.hidden_size), _inputs(size, gen, dtype, 2 * size.num_layers))


def _bidir_to_lstm(p: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``fw.<k>.<name>`` -> ``<name>_l<k>``; ``bw.<k>.<name>`` -> ``<name>_l<k>_reverse``."""
    out = {}
    for k, v in p.items():
        direction, layer, name = k.split(".")
        out[f"{name}_l{layer}" + ("_reverse" if direction == "bw" else "")] = v
    return out


case(
    "example_bidir_lstm",
    _build_bidir,
    _as_layer,
    same_as=same_as(nn.LSTM, _bidir_to_lstm, bidirectional=True),
    summary="custom_lstms' stacked bidirectional LSTM (2 layers)",
    sizes=TWO_LAYERS,
    untimed=(TIER,),
)

# ------------------------------------------------- the chapter's corrected cells, compiled


def _build_chapter(cls: type[nn.Module], size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    cell = models.uniform_(cls(size.input_size, size.hidden_size).to(dtype), gen, size.hidden_size)
    inputs = _inputs(size, gen, dtype, None)
    if cls is GRUCell:
        del inputs["c0"]
    return Instance(cell, inputs)


def _compiled_step(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The cell's step compiled with torch.compile (inductor), stepped over the sequence in Python.

    Dynamo reads ``.grad`` of the state a step returns (not a leaf) while it traces the next step, and
    torch warns of it; the suite turns warnings into errors, so this one is silenced here. Donated
    buffers are off: the float64 gradcheck runs the backward more than once.
    """
    with warnings.catch_warnings(), torch._functorch.config.patch(donated_buffer=False):
        warnings.filterwarnings("ignore", message="The .grad attribute of a Tensor that is not a leaf")
        return _stepped(torch.compile(model), inputs)


def _stepped(step: Callable[..., Any], inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    outs = []
    if "c0" in inputs:
        h, c = inputs["h0"], inputs["c0"]
        for x_t in inputs["x"]:
            h, c = step(x_t, (h, c))
            outs.append(h)
        return {"output": torch.stack(outs), "h_n": h, "c_n": c}
    h = inputs["h0"]
    for x_t in inputs["x"]:
        h = step(x_t, h)
        outs.append(h)
    return {"output": torch.stack(outs), "h_n": h}


def _gated_to_cell(gates: tuple[str, ...], p: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Per-gate Linears ``x_<g>`` / ``h_<g>`` -> the built-in cell's stacked rows, in its gate order."""
    return {
        f"{kind}_{name}": torch.cat([p[f"{side}_{g}.{kind}"] for g in gates])
        for side, name in (("x", "ih"), ("h", "hh"))
        for kind in ("weight", "bias")
    }


# float32 only. inductor's C++ code for bfloat16 and float16 failed to compile on the CPU here
# (CppCompileError, torch 2.13, Debian 12's g++); the float64 gradcheck runs the backward more than
# once, which the compiled backward refuses even with donated buffers off at compile time; and each
# dtype compiles again (the first compile of a process took 17 to 25 s here, on the tier's clock).
COMPILED_DTYPES = (torch.float32,)
for _cls, _builtin in ((LSTMCell, nn.LSTMCell), (GRUCell, nn.GRUCell)):
    case(
        f"example_compiled_{_builtin.__name__.removesuffix('Cell').lower()}_cell",
        partial(_build_chapter, _cls),
        _compiled_step,
        same_as=same_as(_builtin, partial(_gated_to_cell, _cls.gates)),
        summary=f"the chapter's corrected {_cls.__name__}, its step under torch.compile",
        sizes={"tiny": (TINY_CELL,), "seed": (SEED_CELL,)},
        dtypes=COMPILED_DTYPES,
    )
