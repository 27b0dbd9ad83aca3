"""Cases of the chapter's own models: the NumPy two-step RNN, the char-RNN and the defective
LSTMCell / GRUCell as printed (the LSTM part-of-speech tagger is in ``cases/tagger.py``).

Declared with the public API (``cases/api.py``), each with its own NumPy reference
(``cases/reference_chapter.py``): none of them is the same as a built-in.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import numpy as np
import torch
from torch import Tensor, nn

from rnnsuite.cases import reference_chapter as ref
from rnnsuite.cases.api import case
from rnnsuite.cases.models import CharRNN, SeedGRUCell, SeedLSTMCell
from rnnsuite.cases.reference import linear_backward
from rnnsuite.cases.reference_layers import LayerSpec, layers_backward, layers_forward
from rnnsuite.cases.registry import Arrays, Instance, NormFloor, Size, Tol, randn, uniform_
from rnnsuite.cases.sizes import DEEPBENCH, GATE_BLOCKS, TINY_CELL

# ----------------------------------------------------------------- the two-step NumPy RNN

W_CELL_STATE = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])  # rows: state0, state1, x
B_CELL = np.array([0.1, -0.1])
W_OUTPUT = np.array([[1.0], [2.0]])
B_OUTPUT = 0.1
X = [1.0, 2.0]
# What the chapter prints (8 decimals): states, then outputs, after each of the two steps.
CHAPTER_STATES = np.array([[0.53704957, 0.46211716], [0.85973818, 0.88366641]])
CHAPTER_OUTPUTS = np.array([[1.56128388], [2.72707101]])


class ChapterRNN(nn.Module):
    """The chapter's two-step RNN as ``nn.RNNCell(1, 2)`` plus ``nn.Linear(2, 1)``."""

    def __init__(self) -> None:
        super().__init__()
        self.cell = nn.RNNCell(1, 2)
        self.out = nn.Linear(2, 1)

    @torch.no_grad()
    def load_chapter(self) -> ChapterRNN:
        """Load the chapter's ``w_cell_state``, ``b_cell``, ``w_output``, ``b_output``."""
        self.cell.weight_hh.copy_(torch.from_numpy(W_CELL_STATE[:2].T))  # (H, H)
        self.cell.weight_ih.copy_(torch.from_numpy(W_CELL_STATE[2:].T))  # (H, 1)
        self.cell.bias_ih.copy_(torch.from_numpy(B_CELL))
        self.cell.bias_hh.zero_()
        self.out.weight.copy_(torch.from_numpy(W_OUTPUT.T))
        self.out.bias.fill_(B_OUTPUT)
        return self


def _chapter_build(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    x = torch.tensor(X, dtype=dtype).view(2, 1, 1)  # (T, B, I)
    return Instance(ChapterRNN().to(dtype).load_chapter(), {"x": x, "h0": torch.zeros(1, 2, dtype=dtype)})


def _chapter_forward(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    assert isinstance(model, ChapterRNN)
    h, states, outs = inputs["h0"], [], []
    for x_t in inputs["x"]:
        h = model.cell(x_t, h)
        states.append(h)
        outs.append(model.out(h))
    return {"state": torch.stack(states), "output": torch.stack(outs)}  # (T, 1, 2), (T, 1, 1)


def _chapter_params(params: Arrays) -> dict[str, np.ndarray]:
    """torch names -> the chapter's ``w_cell_state`` layout (rows: state, then x)."""
    return {
        "weight_ih_l0": params["cell.weight_ih"],
        "weight_hh_l0": params["cell.weight_hh"],
        "bias_ih_l0": params["cell.bias_ih"],
        "bias_hh_l0": params["cell.bias_hh"],
    }


def _chapter_reference(params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """Run the chapter's own NumPy loop on the model's weights."""
    w = np.vstack([params["cell.weight_hh"].T, params["cell.weight_ih"].T])
    b = params["cell.bias_ih"] + params["cell.bias_hh"]
    states, outs = ref.chapter_rnn(
        w, b, params["out.weight"].T, params["out.bias"][0], list(inputs["x"][:, 0, 0]), inputs["h0"][0]
    )
    return {"state": np.stack(states)[:, None, :], "output": np.stack(outs)[:, None, :]}


def _chapter_reference_grad(params: Arrays, inputs: Arrays, cot: Arrays) -> dict[str, np.ndarray]:
    """BPTT through the two steps and the output layer."""
    p, spec = _chapter_params(params), LayerSpec(family="rnn", num_layers=1)
    state, _, caches = layers_forward(spec, p, inputs["x"], (inputs["h0"][None],))
    d_state, dw, db = linear_backward(state, params["out.weight"], cot["output"])
    g = layers_backward(spec, p, caches, None, d_state + cot["state"], (np.zeros((1, 1, 2)),))
    grads = {k: g[f"{k.removeprefix('cell.')}_l0"] for k in params if k.startswith("cell.")}
    return grads | {"out.weight": dw, "out.bias": db, "x": g["input"], "h0": g["state0"][0][0]}


case(
    "numpy_rnn",
    _chapter_build,
    _chapter_forward,
    summary="the chapter's two-step NumPy RNN through nn.RNNCell, against its printed values",
    family="rnn",
    reference=_chapter_reference,
    reference_grad=_chapter_reference_grad,
    golden={"state": CHAPTER_STATES[:, None, :], "output": CHAPTER_OUTPUTS[:, None, :]},
    out_shapes=lambda s: {"state": (2, 1, 2), "output": (2, 1, 1)},
    sizes={p: (Size(seq_len=2, batch=1, input_size=1, hidden_size=2, output_size=1),) for p in ("tiny", "seed")},
    flops=lambda s: 2 * 2 * (2 * 3 + 2),
    time_axis={"state": 0, "output": 0},
    tol={torch.float64: Tol(0.0, 1e-8, "the chapter prints 8 decimals")},
    norm_floor={
        torch.bfloat16: NormFloor(
            96.0,
            "two steps of two units: a gradient element is a difference of two or three products, and at some "
            "seeds it cancels (45u in bfloat16 at seed 17, where the emulation drew 7u); 96u still fails a halving",
        )
    },
)

# ------------------------------------------------------------------------------ char-RNN

# The tutorial the chapter's char-RNN comes from: 57 letters (ascii_letters + " .,;'"),
# 18 language categories, n_hidden = 128, one name (about 10 letters) at a time.
N_LETTERS, N_CATEGORIES, N_HIDDEN = 57, 18, 128
CHAR_SEED = Size(seq_len=10, batch=1, input_size=N_LETTERS, hidden_size=N_HIDDEN, output_size=N_CATEGORIES)


def _one_hot(gen: torch.Generator, size: Size, dtype: torch.dtype) -> Tensor:
    idx = torch.randint(size.input_size, (size.seq_len, size.batch), generator=gen)
    return nn.functional.one_hot(idx, size.input_size).to(dtype)  # (T, B, I)


def _char_build(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    model = uniform_(CharRNN(size.input_size, size.hidden_size, size.output_size).to(dtype), gen)
    return Instance(
        model, {"x": _one_hot(gen, size, dtype), "h0": torch.zeros(size.batch, size.hidden_size, dtype=dtype)}
    )


def _char_forward(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    h, outs, hs = inputs["h0"], [], []
    for x_t in inputs["x"]:
        y, h = model(x_t, h)
        outs.append(y)
        hs.append(h)
    return {"output": torch.stack(outs), "hidden": torch.stack(hs)}


def _char_grad(params: Arrays, inputs: Arrays, cot: Arrays) -> dict[str, np.ndarray]:
    _, cache = ref.char_rnn_forward(params, inputs["x"], inputs["h0"])
    return ref.char_rnn_backward(params, inputs["x"], cache, dict(cot))


def _char_flops(s: Size) -> int:
    return 2 * s.seq_len * s.batch * (s.input_size + s.hidden_size) * (s.hidden_size + s.output_size)


case(
    "char_rnn",
    _char_build,
    _char_forward,
    summary="the chapter's char-RNN module (i2h, i2o, LogSoftmax) stepped over a name",
    family="rnn",
    reference=lambda p, i: ref.char_rnn_forward(p, i["x"], i["h0"])[0],
    reference_grad=_char_grad,
    out_shapes=lambda s: {
        "output": (s.seq_len, s.batch, s.output_size),
        "hidden": (s.seq_len, s.batch, s.hidden_size),
    },
    sizes={
        "tiny": (Size(seq_len=4, batch=2, input_size=5, hidden_size=6, output_size=3),),
        "seed": (CHAR_SEED,),
        "deepbench": tuple(Size(**{**s.__dict__, "output_size": N_CATEGORIES}) for s in DEEPBENCH["rnn"]),
    },
    flops=_char_flops,
    time_axis={"output": 0, "hidden": 0},
)

# ------------------------------------------------------------ the chapter's defective cells


def _seed_cell_build(family: str, size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    i, h, o = size.input_size, size.hidden_size, size.output_size
    model = SeedLSTMCell(i, h, h, o) if family == "lstm" else SeedGRUCell(i, h, o)
    inputs = {"x": randn(gen, size.seq_len, size.batch, i, dtype=dtype), "h0": randn(gen, size.batch, h, dtype=dtype)}
    if family == "lstm":
        inputs["c0"] = randn(gen, size.batch, h, dtype=dtype)
    return Instance(uniform_(model.to(dtype), gen), inputs)


def _seed_cell_forward(family: str, model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    h, outs = inputs["h0"], []
    c = inputs.get("c0")
    for x_t in inputs["x"]:
        if family == "lstm":
            y, h, c = model(x_t, h, c)
        else:
            y, h = model(x_t, h)
        outs.append(y)
    return {"output": torch.stack(outs), "h_n": h} | ({"c_n": c} if c is not None else {})


def _seed_reference(family: str, params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    if family == "lstm":
        return ref.seed_lstm_forward(params, inputs["x"], inputs["h0"], inputs["c0"])[0]
    return ref.seed_gru_forward(params, inputs["x"], inputs["h0"])[0]


def _seed_grad(family: str, params: Arrays, inputs: Arrays, cot: Arrays) -> dict[str, np.ndarray]:
    if family == "lstm":
        _, cache = ref.seed_lstm_forward(params, inputs["x"], inputs["h0"], inputs["c0"])
        return ref.seed_lstm_backward(params, inputs["x"], cache, dict(cot))
    _, cache = ref.seed_gru_forward(params, inputs["x"], inputs["h0"])
    return ref.seed_gru_backward(params, inputs["x"], cache, dict(cot))


def _seed_shapes(family: str, s: Size) -> dict[str, tuple[int, ...]]:
    state = (s.batch, s.hidden_size)
    return {"output": (s.seq_len, s.batch, s.output_size), "h_n": state} | ({"c_n": state} if family == "lstm" else {})


def _seed_flops(family: str, s: Size) -> int:
    # The printed cells evaluate the shared gate Linear 4 times (LSTM) or 3 times (GRU) a step.
    gate = 2 * s.batch * (s.input_size + s.hidden_size) * s.hidden_size
    return s.seq_len * (GATE_BLOCKS[family] * gate + 2 * s.batch * s.hidden_size * s.output_size)


# GRUCell(input_size=10, hidden_size=20, output_size=10) as the chapter builds it.
SEED_CELL_SIZE = Size(seq_len=100, batch=32, input_size=10, hidden_size=20, output_size=10)
for _family, _cls in (("lstm", "LSTMCell"), ("gru", "GRUCell")):
    case(
        f"{_family}_cell_seed",
        partial(_seed_cell_build, _family),
        partial(_seed_cell_forward, _family),
        summary=f"the chapter's {_cls} as printed: one shared gate Linear (defect kept)",
        family=_family,
        reference=partial(_seed_reference, _family),
        reference_grad=partial(_seed_grad, _family),
        out_shapes=partial(_seed_shapes, _family),
        sizes={
            "tiny": (Size(**{**TINY_CELL.__dict__, "output_size": 3}),),
            "seed": (SEED_CELL_SIZE,),
            "deepbench": tuple(Size(**{**s.__dict__, "output_size": 10}) for s in DEEPBENCH[_family]),
        },
        flops=partial(_seed_flops, _family),
        time_axis={"output": 0},
        baseline=f"nn_{_family}",  # declared after this module (cases/sequence.py); checked at load
    )
