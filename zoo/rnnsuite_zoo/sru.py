"""SRU (PyPI sru 2.6.0): one ``SRUCell`` layer, time-major, through both of its CPU paths.

On the CPU an SRU layer runs a Python loop while gradients are on (mode ``autograd``) and its compiled
kernel (``torch.ops.sru_cpu``, built with ninja at the package's first import: about 50 s) under
``torch.no_grad()`` (mode ``no_grad``, as for inference). Input size != hidden size, so the skip term is
projected (``num_matrices`` 4, no ``scale_x``). The package warns at import without CUDA and on every
CPU forward with gradients on; both warnings are silenced here around the package's own calls.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from rnnsuite import Instance, Size
from rnnsuite_zoo import reference
from rnnsuite_zoo.common import EDGES, SIZES, Defect, declare, draw, redraw_

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Just-in-time loading and compiling the CUDA kernels of SRU was unsuccessful"
    from sru import SRUCell

VERSION = "2.6.0"


def build(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    if size.input_size == size.hidden_size:
        raise ValueError("the zoo's SRU case needs input size != hidden size (a projected skip term)")
    model = SRUCell(size.input_size, size.hidden_size)
    redraw_(model, gen, lambda name, p: size.input_size**-0.5 if name == "weight" else 0.5)
    inputs = {
        "x": draw(gen, torch.float64, size.seq_len, size.batch, size.input_size),
        "c0": draw(gen, torch.float64, size.batch, size.hidden_size, scale=0.5),
    }
    return Instance(model, inputs).to("cpu", dtype)


def autograd(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Gradients on (even where the caller has them off): the package's Python loop (elementwise_recurrence_naive)."""
    with warnings.catch_warnings(), torch.enable_grad():
        warnings.filterwarnings("ignore", "Running SRU on CPU with grad_enabled=True")
        out, c_n = model(inputs["x"], inputs["c0"])
    return {"output": out, "c_n": c_n}


def no_grad(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Under torch.no_grad(): the compiled CPU kernel (torch.ops.sru_cpu.cpu_forward), for inference."""
    with torch.no_grad():
        out, c_n = model(inputs["x"], inputs["c0"])
    return {"output": out, "c_n": c_n}


FLOAT32_ONLY = Defect(
    ("forward", "determinism", "gradcheck", "backward", *EDGES),
    ("no_grad",),
    ("float64", "bfloat16", "float16"),
    "the CPU kernel takes float32 only: 'expected scalar type Float but found Double' (raised inside TorchScript)",
    "sru_cpu_kernel_float32_only.py",
)

declare(
    "zoo_sru",
    build,
    {"autograd": autograd, "no_grad": no_grad},
    defects=(FLOAT32_ONLY,),
    reference=reference.sru,
    family="other",
    sizes=SIZES,
    time_axis={"output": 0},
    out_shapes=lambda s: {"output": (s.seq_len, s.batch, s.hidden_size), "c_n": (s.batch, s.hidden_size)},
    baseline="nn_lstm",
    summary=f"SRU (sru {VERSION}), one SRUCell: the autograd path (a Python loop) and the no-grad CPU kernel",
)
