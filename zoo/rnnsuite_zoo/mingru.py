"""minGRU and minLSTM (PyPI mingru-pytorch 0.2.1): each in its parallel (log-space scan) and sequential mode.

The package's models are batch-first, ``(B, T, I) -> (B, T, H)``, one-width unless ``expansion_factor``
widens them: an expansion of ``H / I`` without the output projection gives the suite's ``I -> H`` sizes.
The sequential mode calls the model one step at a time with the previous output as ``prev_hidden``,
as the package's README shows for inference. The log-space scan takes ``log(h0)``, so ``h0`` is drawn
positive (in [0.1, 1.1)).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from minGRU_pytorch.minGRU import minGRU
from minGRU_pytorch.minLSTM import minLSTM
from torch import Tensor, nn

from rnnsuite import CaseError, Instance, Size
from rnnsuite_zoo import reference
from rnnsuite_zoo.common import EDGES, SIZES, Defect, declare, draw, redraw_, uniform

VERSION = "0.2.1"


def _build(kind: type[nn.Module], size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    factor = size.hidden_size / size.input_size
    model = kind(size.input_size, expansion_factor=factor, proj_out=False)
    if sum(p.shape[0] for p in model.parameters()) % size.hidden_size:
        raise CaseError(f"{kind.__name__}: expansion {factor} does not give width {size.hidden_size}")
    redraw_(model, gen, lambda _, p: p.shape[1] ** -0.5)
    inputs = {
        "x": draw(gen, torch.float64, size.batch, size.seq_len, size.input_size),
        "h0": uniform(gen, torch.float64, size.batch, 1, size.hidden_size, low=0.1, high=1.1),
    }
    return Instance(model, inputs).to("cpu", dtype)


def build_gru(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    return _build(minGRU, size, gen, dtype)


def build_lstm(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    return _build(minLSTM, size, gen, dtype)


def parallel(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The whole sequence in one call: the log-space (Heinsen) scan."""
    return {"output": model(inputs["x"], inputs["h0"])}


def sequential(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """One call per step, each given the previous step's output."""
    h, steps = inputs["h0"], []
    for t in range(inputs["x"].shape[1]):
        h = model(inputs["x"][:, t : t + 1], h)
        steps.append(h)
    return {"output": torch.cat(steps, dim=1)}


def out_shapes(size: Size) -> dict[str, tuple[int, ...]]:
    return {"output": (size.batch, size.seq_len, size.hidden_size)}


# The sequential mode first: without a NumPy backward, every mode's gradients are judged against the first
# mode's float64 autograd (rnnsuite.case), and the parallel mode is the one with the defects.
MODES = {"sequential": sequential, "parallel": parallel}
SCAN = Defect(
    ("forward", "backward", *EDGES),
    ("parallel",),
    (),  # every dtype at T=100 (float32: 32.3u over its 32u budget at step 70; float64 33u)
    "the log-space scan's error grows with the position (exp of differences of growing cumulative sums)",
    "mingru_scan_error_grows.py",
)
H0 = Defect(
    ("forward", "backward", *EDGES),
    ("parallel",),
    (),
    "the parallel path takes log_g(h0), treating the initial state as a pre-activation",
    "minlstm_parallel_h0.py",
)
GATE_UNDERFLOW = Defect(
    ("edge_saturated",),
    ("sequential",),
    ("float16",),
    "the step's f / (f + i) of two sigmoids is 0 / 0 = NaN in float16 once both gates' pre-activations are below -17",
    "minlstm_sequential_gate_underflow.py",
)
COMMON = {"family": "other", "sizes": SIZES, "time_axis": {"output": 1}, "out_shapes": out_shapes}

declare(
    "zoo_mingru",
    build_gru,
    MODES,
    defects=(SCAN,),
    reference=reference.min_gru,
    baseline="nn_gru",
    summary=f"minGRU (mingru-pytorch {VERSION}), parallel log-space scan and sequential steps",
    **COMMON,
)
declare(
    "zoo_minlstm",
    build_lstm,
    MODES,
    defects=(H0, GATE_UNDERFLOW),
    reference=reference.min_lstm,
    baseline="nn_lstm",
    summary=f"minLSTM (mingru-pytorch {VERSION}), parallel log-space scan and sequential steps",
    **COMMON,
)
