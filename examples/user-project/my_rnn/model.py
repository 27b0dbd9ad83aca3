"""``GateGRU``: a one-layer GRU with a weight matrix per gate, stepped in Python.

r_t = sigmoid(x_t W_xr + h_{t-1} W_hr + b_r)
z_t = sigmoid(x_t W_xz + h_{t-1} W_hz + b_z)
n_t = tanh(x_t W_xn + b_xn + r_t * (h_{t-1} W_hn + b_hn))
h_t = (1 - z_t) * n_t + z_t * h_{t-1}
"""

from __future__ import annotations

import os

import torch
from torch import nn

GATES = ("r", "z", "n")


class GateGRU(nn.Module):
    """x (T, B, I), h0 (B, H) -> outputs (T, B, H), h_T (B, H)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        dtype: torch.dtype = torch.float32,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        scale = hidden_size**-0.5  # nn.GRU's init range, drawn from a normal here

        def draw(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.randn(shape, generator=generator, dtype=dtype) * scale)

        for g in GATES:
            setattr(self, f"w_x{g}", draw(input_size, hidden_size))
            setattr(self, f"w_h{g}", draw(hidden_size, hidden_size))
            setattr(self, f"b_x{g}", draw(hidden_size))
            setattr(self, f"b_h{g}", draw(hidden_size))
        # A planted defect for the project's CI (MY_RNN_DEFECT=1): the update gate's bias is dropped.
        self.defect = os.environ.get("MY_RNN_DEFECT") == "1"

    def gate(self, g: str, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        bias_x = getattr(self, f"b_x{g}") * (0.0 if self.defect and g == "z" else 1.0)
        return x @ getattr(self, f"w_x{g}") + bias_x, h @ getattr(self, f"w_h{g}") + getattr(self, f"b_h{g}")

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = []
        for x_t in x:  # (B, I)
            (xr, hr), (xz, hz), (xn, hn) = (self.gate(g, x_t, h) for g in GATES)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * hn)
            h = (1 - z) * n + z * h
            outputs.append(h)
        return torch.stack(outputs), h  # (T, B, H), (B, H)
