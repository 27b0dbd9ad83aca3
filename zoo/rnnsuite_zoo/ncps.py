"""ncps 1.0.1's CfC and LTC (``ncps.torch``), time-major, each given its state and left to make its own.

Both layers take ``hx=None`` to mean a zero state: the mode ``no_state`` runs that way, the mode
``state`` passes the zero state ``h0`` (an input of the case, so that the reference and both modes
start from the same state). CfC is built with a small backbone (16 units, one layer); LTC with its
default fully connected wiring and 6 solver steps. The parameters are drawn again from the case's
generator (the package draws from torch's global one), LTC's within the package's own init ranges.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from ncps.torch import LTC, CfC
from torch import Tensor, nn

from rnnsuite import Instance, Size
from rnnsuite_zoo import reference
from rnnsuite_zoo.common import EDGES, SIZES, Defect, declare, draw, redraw_, uniform

VERSION = "1.0.1"
BACKBONE = 16
# LTCCell's init ranges (ncps/torch/ltc_cell.py, _init_ranges); erev is +-1 as its wiring draws it.
LTC_RANGES = {
    "gleak": (0.001, 1.0),
    "vleak": (-0.2, 0.2),
    "cm": (0.4, 0.6),
    "w": (0.001, 1.0),
    "sigma": (3.0, 8.0),
    "mu": (0.3, 0.8),
    "sensory_w": (0.001, 1.0),
    "sensory_sigma": (3.0, 8.0),
    "sensory_mu": (0.3, 0.8),
    "input_w": (0.5, 1.5),
    "input_b": (-0.5, 0.5),
    "output_w": (0.5, 1.5),
    "output_b": (-0.5, 0.5),
}


def _inputs(size: Size, gen: torch.Generator) -> dict[str, Tensor]:
    return {
        "x": draw(gen, torch.float64, size.seq_len, size.batch, size.input_size),
        "h0": torch.zeros(size.batch, size.hidden_size, dtype=torch.float64),
    }


def build_cfc(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    model = CfC(size.input_size, size.hidden_size, backbone_units=BACKBONE, backbone_layers=1, batch_first=False)
    redraw_(model, gen, lambda _, p: p.shape[-1] ** -0.5 if p.dim() == 2 else 0.1)
    return Instance(model, _inputs(size, gen)).to("cpu", dtype)


def build_ltc(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    model = LTC(size.input_size, size.hidden_size, batch_first=False)
    with torch.no_grad():
        for name, p in model.named_parameters():
            key = name.removeprefix("rnn_cell.")
            if key in LTC_RANGES:
                low, high = LTC_RANGES[key]
                p.copy_(uniform(gen, torch.float64, *p.shape, low=low, high=high))
            elif key.endswith("erev"):
                p.copy_(torch.where(draw(gen, torch.float64, *p.shape) > 0, 1.0, -1.0))
    return Instance(model, _inputs(size, gen)).to("cpu", dtype)


def state(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Given the zero state."""
    out, h_n = model(inputs["x"], inputs["h0"])
    return {"output": out, "h_n": h_n}


def no_state(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Without a state: the layer makes its own zero state."""
    out, h_n = model(inputs["x"])
    return {"output": out, "h_n": h_n}


def out_shapes(size: Size) -> dict[str, tuple[int, ...]]:
    return {"output": (size.seq_len, size.batch, size.hidden_size), "h_n": (size.batch, size.hidden_size)}


MODES = {"state": state, "no_state": no_state}
ZERO_STATE = Defect(
    ("forward", "determinism", "backward", *EDGES),
    ("no_state",),
    ("bfloat16", "float16"),
    "the default zero state is made without a dtype (float32): 'mat1 and mat2 must have the same dtype'",
    "ncps_zero_state_dtype.py",
)
ZERO_STATE_LTC = Defect(
    ("forward",),
    ("no_state",),
    ("bfloat16", "float16"),
    "the default zero state is made without a dtype (float32): the outputs come back in float32",
    "ncps_zero_state_dtype.py",
)
# h0 is the zero state the package would make, given to the "state" mode only: the "no_state" mode never reads
# it, and options such as no_grad_inputs are per case, not per mode, so its gradient is checked in neither.
COMMON = {
    "family": "other",
    "sizes": SIZES,
    "time_axis": {"output": 0},
    "out_shapes": out_shapes,
    "no_grad_inputs": ("h0",),
}

declare(
    "zoo_cfc",
    build_cfc,
    MODES,
    defects=(ZERO_STATE,),
    reference=reference.cfc,
    baseline="nn_gru",
    summary=f"CfC (ncps {VERSION}), backbone {BACKBONE}, given a state or making its own",
    **COMMON,
)
declare(
    "zoo_ltc",
    build_ltc,
    MODES,
    defects=(ZERO_STATE_LTC,),
    reference=reference.ltc,
    baseline="nn_rnn",
    summary=f"LTC (ncps {VERSION}), fully connected wiring, 6 solver steps, given a state or making its own",
    **COMMON,
)
