"""xLSTM's sLSTM and mLSTM (PyPI xlstm 2.0.6) in their pure-PyTorch forms, not the CUDA/Triton kernels.

sLSTM: ``sLSTMCell`` with the ``vanilla`` backend, time-major, behind an input projection to its four
gates' pre-activations (the cell takes ``W x`` already made), over the whole sequence (mode ``sequence``)
or one ``step()`` at a time (mode ``step``). mLSTM: the backend functions of
``xlstm.blocks.mlstm.backends`` on query, key, value and the two gates' pre-activations given as the
inputs (B, NH, T, DH): ``parallel_stabilized_simple``, ``recurrent_step_stabilized_simple`` stepped over
the sequence, and ``chunkwise_simple``. Their ``eps`` is set to 0: the package adds it to the normaliser
in the stabilised frame, whose stabiliser differs between the forms, so with the default 1e-6 the forms
differ from each other (and from the paper) by about 1e-6 relative, far over float64's budget.
Installed with ``--no-deps``: its mlstm_kernels dependency is for the kernels, not these forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import torch
from torch import Tensor, nn
from xlstm.blocks.mlstm.backends import chunkwise_simple, parallel_stabilized_simple, recurrent_step_stabilized_simple
from xlstm.blocks.slstm.cell import sLSTMCell, sLSTMCellConfig

from rnnsuite import Instance, Size
from rnnsuite_zoo import reference
from rnnsuite_zoo.common import EDGES, SIZES, Defect, declare, draw, redraw_

VERSION = "2.0.6"
HEADS = 2


class SLSTM(nn.Module):
    """An input projection to the four gates (gate-major rows: i, f, z, o), then the vanilla sLSTM cell."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.proj = nn.Linear(input_size, 4 * hidden_size)
        config = sLSTMCellConfig(
            hidden_size=hidden_size, num_heads=HEADS, backend="vanilla", input_shape="SBGNH", output_shape="SBH"
        )
        self.cell = sLSTMCell(config)


def build_slstm(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    model = redraw_(SLSTM(size.input_size, size.hidden_size), gen, lambda _, p: p.shape[-1] ** -0.5)
    x = draw(gen, torch.float64, size.seq_len, size.batch, size.input_size)
    return Instance(model, {"x": x}).to("cpu", dtype)


def sequence(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``forward`` over the whole sequence (the vanilla backend's loop)."""
    out, _ = model.cell(model.proj(inputs["x"]))
    return {"output": out}


def step(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``step`` once per time step, each given the state the previous step returned."""
    state, outs = None, []
    for x_t in inputs["x"].split(1):
        out, state = model.cell.step(model.proj(x_t), state)
        outs.append(out)
    return {"output": torch.cat(outs)}


# -------------------------------------------------------------------------------------------- mLSTM


class MLSTM(nn.Module):
    """The mLSTM backend functions as a module (they have no parameters: the case's inputs are their inputs)."""


def build_mlstm(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    if size.hidden_size % HEADS:
        raise ValueError(f"mLSTM: hidden size {size.hidden_size} is not a multiple of {HEADS} heads")
    shape = (size.batch, HEADS, size.seq_len, size.hidden_size // HEADS)
    gates = (size.batch, HEADS, size.seq_len, 1)
    inputs = {
        "q": draw(gen, torch.float64, *shape),
        "k": draw(gen, torch.float64, *shape),
        "v": draw(gen, torch.float64, *shape),
        "igate": draw(gen, torch.float64, *gates),
        "fgate": draw(gen, torch.float64, *gates) + 2.0,  # forget gates near 0.9, as the package initialises them
    }
    return Instance(MLSTM(), inputs).to("cpu", dtype)


def parallel(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The parallel form: the (T, T) decay matrix, stabilised row by row."""
    i = inputs
    return {"output": parallel_stabilized_simple(i["q"], i["k"], i["v"], i["igate"], i["fgate"], eps=0.0)}


def recurrent(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The recurrent form, one step per time step from zero states, on slices of the sequence."""
    q = inputs["q"]
    batch, heads, steps, dh = q.shape
    c = q.new_zeros(batch, heads, dh, dh)
    n, m = q.new_zeros(batch, heads, dh, 1), q.new_zeros(batch, heads, 1, 1)
    outs = []
    for t in range(steps):
        at = {k: v[:, :, t : t + 1] for k, v in inputs.items()}  # (B, NH, 1, DH)
        h, (c, n, m) = recurrent_step_stabilized_simple(
            c, n, m, at["q"], at["k"], at["v"], at["igate"], at["fgate"], eps=0.0
        )
        outs.append(h)
    return {"output": torch.cat(outs, dim=2)}


def chunkwise(model: nn.Module, inputs: Mapping[str, Tensor], chunks: int = 4) -> dict[str, Tensor]:
    """The chunkwise form: ``chunks`` chunks, parallel within, recurrent between."""
    i = inputs
    size = i["q"].shape[2] // chunks
    out = chunkwise_simple(i["q"], i["k"], i["v"], i["igate"][..., 0], i["fgate"][..., 0], chunk_size=size, eps=0.0)
    return {"output": out}


IN_PLACE = Defect(
    ("backward", "gradcheck"),
    ("recurrent",),
    (),
    "q.squeeze_(2) on a view of its inputs: 'a view of a leaf Variable that requires grad is being used in an in-place operation'",
    "xlstm_mlstm_squeeze_inplace.py",
)
STEP_STATE = Defect(
    ("forward", "backward", *EDGES),
    ("step",),
    (),
    "sLSTMCell.step returns the state it was given, not the new one: every step starts from the first state",
    "xlstm_slstm_step_state.py",
)

declare(
    "zoo_slstm",
    build_slstm,
    {"sequence": sequence, "step": step},
    defects=(STEP_STATE,),
    reference=partial(reference.slstm, heads=HEADS),
    family="other",
    sizes=SIZES,
    time_axis={"output": 0},
    out_shapes=lambda s: {"output": (s.seq_len, s.batch, s.hidden_size)},
    baseline="nn_lstm",
    summary=f"sLSTM (xlstm {VERSION}), vanilla backend, {HEADS} heads: forward over the sequence and step by step",
)
declare(
    "zoo_mlstm",
    build_mlstm,
    {"parallel": parallel, "recurrent": recurrent, "chunkwise": chunkwise},
    defects=(IN_PLACE,),
    reference=reference.mlstm,
    family="other",
    sizes=SIZES,
    time_axis={"output": 2},
    out_shapes=lambda s: {"output": (s.batch, HEADS, s.seq_len, s.hidden_size // HEADS)},
    baseline="nn_lstm",
    summary=f"mLSTM (xlstm {VERSION}), pure-PyTorch backends, {HEADS} heads: parallel, recurrent and chunkwise",
)
