"""GateGRU as an rnnsuite case: checked against nn.GRU's NumPy reference, by value, in every dtype."""

import torch
from torch import nn

from my_rnn.model import GATES, GateGRU
from rnnsuite import Instance, case, same_as


def build(size, gen, dtype):
    """The model and its inputs in ``dtype``; every random number from ``gen``."""
    model = GateGRU(size.input_size, size.hidden_size, dtype=dtype, generator=gen)
    x = torch.randn(size.seq_len, size.batch, size.input_size, generator=gen, dtype=dtype)
    h0 = torch.randn(1, size.batch, size.hidden_size, generator=gen, dtype=dtype)  # nn.GRU's (layers, B, H)
    return Instance(model, {"x": x, "h0": h0})


def forward(model, inputs):
    out, h = model(inputs["x"], inputs["h0"][0])
    return {"output": out, "h_n": h.unsqueeze(0)}


def to_gru(p):
    """GateGRU's parameters -> nn.GRU's (rows r, z, n; nn.GRU multiplies by the transpose)."""
    return {
        "weight_ih_l0": torch.cat([p[f"w_x{g}"].T for g in GATES]),
        "weight_hh_l0": torch.cat([p[f"w_h{g}"].T for g in GATES]),
        "bias_ih_l0": torch.cat([p[f"b_x{g}"] for g in GATES]),
        "bias_hh_l0": torch.cat([p[f"b_h{g}"] for g in GATES]),
    }


case("gate_gru", build, forward, same_as=same_as(nn.GRU, to_gru))
