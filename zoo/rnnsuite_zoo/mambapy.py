"""One Mamba block (PyPI mambapy 1.2.0, ``mambapy.mamba.MambaBlock``): its parallel scan and its sequential loop.

The block maps ``(B, T, D) -> (B, T, D)`` (one width: the sizes are ``ONE_WIDTH``), with the package's
defaults (expansion 2, 16 states, a convolution of width 4, ``dt_rank`` ceil(D / 16)). Its config's
``pscan`` picks the selective scan's form: the Blelloch parallel scan (mode ``pscan``) or a loop over
time (mode ``sequential``); each mode sets it on the model before the call. The parameters are drawn
again from the case's generator (``A_log`` as the package's S4D init, log 1..N, plus a small draw).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import torch
from mambapy.mamba import MambaBlock, MambaConfig
from torch import Tensor, nn

from rnnsuite import Instance, Size
from rnnsuite_zoo import reference
from rnnsuite_zoo.common import EDGES, ONE_WIDTH, Defect, declare, draw, redraw_

VERSION = "1.2.0"
D_STATE = 16


def _config(width: int) -> MambaConfig:
    return MambaConfig(d_model=width, n_layers=1, d_state=D_STATE)


def _scale(name: str, p: Tensor) -> float:
    if name == "A_log":
        return 0.1
    return p.shape[-1] ** -0.5 if p.dim() >= 2 else 0.1


def build(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    if size.input_size != size.hidden_size:
        raise ValueError("a Mamba block is one width: input size == hidden size")
    model = redraw_(MambaBlock(_config(size.input_size)), gen, _scale)
    with torch.no_grad():
        model.A_log.add_(torch.log(torch.arange(1, D_STATE + 1, dtype=torch.float32)))  # S4D-real, as the package
    x = draw(gen, torch.float64, size.batch, size.seq_len, size.input_size)
    return Instance(model, {"x": x}).to("cpu", dtype)


def _run(scan: bool, model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    model.config.pscan = scan
    return {"output": model(inputs["x"])}


def _reference(params: Mapping, inputs: Mapping) -> dict:
    width = inputs["x"].shape[-1]
    return reference.mamba_block(params, inputs, d_state=D_STATE, dt_rank=int(_config(width).dt_rank))


UPCAST = Defect(
    ("forward", "gradcheck", *EDGES),
    (),
    ("float64",),
    "ssm() takes A = -exp(A_log.float()) and D.float(): a float64 model's A and D are rounded to float32",
    "mambapy_float32_upcast.py",
)
UPCAST_HALF = Defect(
    ("forward", "determinism", "backward", *EDGES),
    (),
    ("bfloat16", "float16"),
    "ssm() takes A and D in float32 whatever the model's dtype: out_proj then raises 'expected m1 and m2 to have the same dtype'",
    "mambapy_float32_upcast.py",
)

declare(
    "zoo_mamba",
    build,
    {"pscan": partial(_run, True), "sequential": partial(_run, False)},
    defects=(UPCAST, UPCAST_HALF),
    reference=_reference,
    family="other",
    sizes=ONE_WIDTH,
    time_axis={"output": 1},
    out_shapes=lambda s: {"output": (s.batch, s.seq_len, s.hidden_size)},
    baseline="nn_lstm",
    summary=f"a Mamba block (mambapy {VERSION}): the parallel scan (pscan) and the sequential loop",
)
