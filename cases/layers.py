"""The built-in layers and cells, built and run: ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``, their cells
stepped over a sequence, and the options beyond the plain use (a :class:`Variant` each).

The plain layer is the variant with no options (:data:`PLAIN`): one builder, one runner, one shape
and one FLOP count serve the plain layers, their variants, the built-in cells and the hand-written
cells alike (``cases/sequence.py`` and ``cases/variants.py`` declare the cases).

Inputs are drawn time-major ``(T, B, I)``; a ``batch_first`` variant stores and returns
``(B, T, ...)``. A packed variant has an integer input ``lengths`` (B,) that includes 1 and T,
and random values in the padding (which must not reach any output or gradient).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnsuite.cases.reference_layers import LayerSpec
from rnnsuite.cases.registry import Instance, Size, Tol, randn, uniform_
from rnnsuite.cases.sizes import GATE_BLOCKS

LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
STATES = {"rnn": ("h0",), "lstm": ("h0", "c0"), "gru": ("h0",)}


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One option set of a layer or cell.

    Args:
        tag: the part of the case name in brackets ("" for the plain layer).
        summary: one line for reports.
        modes: the families it applies to.
        options: keyword arguments of the module (``batch_first``, ``bidirectional``, ...).
        packed: None, or ``"sorted"`` / ``"unsorted"``: a packed batch with ``enforce_sorted``
            True / False.
        h0: whether the initial state is passed.
        noncontiguous: pass a transposed (non-contiguous) view of the input and states.
        train: a layer left in ``train()`` mode, as a user times it (the plain layer); the other
            variants are put in ``eval()``, where dropout is off and the reference is the layer
            without it.
        timed: benchmarked (and given DeepBench sizes); the others are correctness only.
        tol: per-dtype overrides of the elementwise tolerance, each with a reason.
        grad_unchecked: dtypes whose gradients no reference can judge, with the reason.
    """

    tag: str
    summary: str
    modes: tuple[str, ...] = ("rnn", "lstm", "gru")
    options: Mapping[str, Any] = field(default_factory=dict)
    packed: str | None = None
    h0: bool = True
    noncontiguous: bool = False
    train: bool = False
    timed: bool = False
    tol: Mapping[torch.dtype, Tol] = field(default_factory=dict)
    grad_unchecked: Mapping[torch.dtype, str] = field(default_factory=dict)

    @property
    def batch_first(self) -> bool:
        return bool(self.options.get("batch_first", False))

    def spec(self, family: str, size: Size) -> LayerSpec:
        """The reference's view of this variant at a size."""
        return LayerSpec(
            family=family,
            num_layers=size.num_layers,
            bidirectional=bool(self.options.get("bidirectional", False)),
            nonlinearity=str(self.options.get("nonlinearity", "tanh")),
            proj_size=proj_size(size) if self.options.get("proj_size") else 0,
        )


PLAIN = Variant(tag="", summary="", train=True)


def proj_size(size: Size) -> int:
    """The projection size of the ``proj`` variant: half the hidden size."""
    return max(1, size.hidden_size // 2)


def _module_options(v: Variant, size: Size) -> dict[str, Any]:
    opts = dict(v.options)
    if opts.get("proj_size"):
        opts["proj_size"] = proj_size(size)
    return opts


def state_shapes(v: Variant, family: str, size: Size) -> dict[str, tuple[int, ...]]:
    """Shapes of ``h0`` (and ``c0``) of a layer variant."""
    spec = v.spec(family, size)
    lead = (size.num_layers * spec.directions, size.batch)
    shapes: dict[str, tuple[int, ...]] = {"h0": (*lead, spec.proj_size or size.hidden_size)}
    return shapes | ({"c0": (*lead, size.hidden_size)} if family == "lstm" else {})


def draw_lengths(gen: torch.Generator, size: Size, order: str) -> Tensor:
    """``(B,)`` lengths in 1..T that include 1 and T: descending for "sorted", else not sorted."""
    t, b = size.seq_len, size.batch
    rest = torch.randint(1, t + 1, (max(b - 2, 0),), generator=gen)
    lengths = torch.cat([torch.tensor([1, t]), rest])[:b]
    return lengths.sort(descending=True).values if order == "sorted" else lengths


# ------------------------------------------------------------------------------------- layers


def build_layer(v: Variant, family: str, size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    """A layer variant constructed in ``dtype`` with inputs ``x``, states (unless omitted) and ``lengths``."""
    model = LAYERS[family](size.input_size, size.hidden_size, size.num_layers, **_module_options(v, size), dtype=dtype)
    model = uniform_(model, gen)
    model.train(v.train)
    x = randn(gen, size.seq_len, size.batch, size.input_size, dtype=dtype)
    inputs = {"x": x.transpose(0, 1).contiguous() if v.batch_first else x}
    if v.h0:
        inputs |= {k: randn(gen, *shape, dtype=dtype) for k, shape in state_shapes(v, family, size).items()}
    if v.packed:
        inputs["lengths"] = draw_lengths(gen, size, v.packed)
    return Instance(model, inputs)


def _noncontiguous(t: Tensor) -> Tensor:
    """The same values in a non-contiguous layout (a transposed copy, transposed back)."""
    view = t.transpose(0, 1).contiguous().transpose(0, 1)
    if view.is_contiguous():
        raise AssertionError("the non-contiguous variant needs batch > 1 and seq_len > 1")
    return view


def run_layer(v: Variant, family: str, model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Run a layer variant; outputs ``output`` (padding zero), ``h_n`` (and ``c_n``)."""
    x = inputs["x"]
    states = [inputs[k] for k in ("h0", "c0") if k in inputs]
    if v.noncontiguous:
        x, states = _noncontiguous(x), [_noncontiguous(s) for s in states]
    hx: Any = None if not states else (tuple(states) if family == "lstm" else states[0])
    seq: Any = x
    if v.packed:
        lengths = inputs["lengths"].cpu()
        seq = pack_padded_sequence(x, lengths, batch_first=v.batch_first, enforce_sorted=v.packed == "sorted")
    out, final = model(seq, hx)
    if v.packed:
        out, _ = pad_packed_sequence(out, batch_first=v.batch_first, total_length=x.shape[1 if v.batch_first else 0])
    if family == "lstm":
        return {"output": out, "h_n": final[0], "c_n": final[1]}
    return {"output": out, "h_n": final}


def layer_shapes(v: Variant, family: str, size: Size) -> dict[str, tuple[int, ...]]:
    """Output shapes of a layer variant."""
    spec = v.spec(family, size)
    h_out = spec.proj_size or size.hidden_size
    t_b = (size.batch, size.seq_len) if v.batch_first else (size.seq_len, size.batch)
    states = state_shapes(v, family, size)
    return {"output": (*t_b, spec.directions * h_out), "h_n": states["h0"]} | (
        {"c_n": states["c0"]} if family == "lstm" else {}
    )


def layer_flops(v: Variant, family: str, size: Size) -> int:
    """Forward matrix FLOPs over every padded step: ``2 B T (G H (I_l + H_out) + P H)`` per layer and direction."""
    spec = v.spec(family, size)
    g, h = GATE_BLOCKS[family], size.hidden_size
    h_out = spec.proj_size or h
    total = 0
    for layer in range(size.num_layers):
        i = size.input_size if layer == 0 else spec.directions * h_out
        per = g * h * (i + h_out) + spec.proj_size * h
        total += 2 * size.batch * size.seq_len * per * spec.directions
    return total


# -------------------------------------------------------------------------------------- cells


def build_cell(
    v: Variant,
    family: str,
    size: Size,
    gen: torch.Generator,
    dtype: torch.dtype,
    *,
    make: Callable[..., nn.Module] | None = None,
) -> Instance:
    """A cell in ``dtype``: ``x`` (T, B, I) and, unless omitted, ``h0`` (``c0``) (B, H).

    The cell is the built-in one of the family, or ``make(input_size, hidden_size)`` (a hand-written
    cell); every parameter drawn from U(-1/sqrt(H), 1/sqrt(H)), torch's own init of its cells.
    """
    cell = (make or CELLS[family])(size.input_size, size.hidden_size, **v.options).to(dtype)
    model = uniform_(cell, gen, 1 / size.hidden_size**0.5)
    inputs = {"x": randn(gen, size.seq_len, size.batch, size.input_size, dtype=dtype)}
    if v.h0:
        inputs |= {k: randn(gen, size.batch, size.hidden_size, dtype=dtype) for k in STATES[family]}
    return Instance(model, inputs)


def run_cell(v: Variant, family: str, model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Step a cell over ``x`` (T, B, I); outputs ``output`` (T, B, H), ``h_n`` (and ``c_n``) (B, H).

    Without ``h0`` the first step gets no state.
    """
    state: Any = None
    if v.h0:
        state = (inputs["h0"], inputs["c0"]) if family == "lstm" else inputs["h0"]
    outs = []
    for x_t in inputs["x"]:
        state = model(x_t, state)
        outs.append(state[0] if family == "lstm" else state)
    final = {"h_n": state[0], "c_n": state[1]} if family == "lstm" else {"h_n": state}
    return {"output": torch.stack(outs)} | final


def cell_shapes(family: str, size: Size) -> dict[str, tuple[int, ...]]:
    """Output shapes of a stepped cell."""
    state = (size.batch, size.hidden_size)
    out = {"output": (size.seq_len, size.batch, size.hidden_size), "h_n": state}
    return out | ({"c_n": state} if family == "lstm" else {})


def cell_flops(family: str, size: Size) -> int:
    """Forward matrix FLOPs of the stepped cell."""
    return 2 * size.batch * size.seq_len * GATE_BLOCKS[family] * size.hidden_size * (size.input_size + size.hidden_size)
