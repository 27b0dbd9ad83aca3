"""The variants' modules, written from fastrnns' ideas (none of its code): each runs a whole sequence.

Inputs are time-major: ``x`` (T, B, I); states ``h0`` / ``c0`` are ``(layers * directions, B, H)``
as nn.LSTM's. Each ``forward`` returns ``(output, h_n, c_n)`` like ``nn.LSTM`` does.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def _param(*shape: int, dtype: torch.dtype, device: str | torch.device = "cpu") -> nn.Parameter:
    return nn.Parameter(torch.empty(*shape, dtype=dtype, device=device))


def lstm_update(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM state update from the pre-activations of the gates (i, f, g, o stacked on the last axis)."""
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _lstm_params(
    module: nn.Module, input_size: int, hidden_size: int, dtype: torch.dtype, device: str | torch.device = "cpu"
) -> None:
    """nn.LSTMCell's four parameters, under its names, on ``module``."""
    module.weight_ih = _param(4 * hidden_size, input_size, dtype=dtype, device=device)
    module.weight_hh = _param(4 * hidden_size, hidden_size, dtype=dtype, device=device)
    module.bias_ih = _param(4 * hidden_size, dtype=dtype, device=device)
    module.bias_hh = _param(4 * hidden_size, dtype=dtype, device=device)


class PremulLSTM(nn.Module):
    """fastrnns' "premul": the input projection of every step in one matmul, then the recurrence."""

    def __init__(
        self, input_size: int, hidden_size: int, dtype: torch.dtype, device: str | torch.device = "cpu"
    ) -> None:
        super().__init__()
        _lstm_params(self, input_size, hidden_size, dtype, device)

    def forward(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        xw = torch.addmm(self.bias_ih, x.flatten(0, 1), self.weight_ih.t()).view(*x.shape[:2], -1)
        h, c = h[0], c[0]
        outs = []
        for t in range(x.shape[0]):
            h, c = lstm_update(xw[t] + torch.addmm(self.bias_hh, h, self.weight_hh.t()), c)
            outs.append(h)
        return torch.stack(outs), h[None], c[None]


class FusedGatesLSTMCell(nn.Module):
    """An LSTM cell whose four gates are one matmul of ``[x, h]`` with one weight ``(4H, I + H)``."""

    def __init__(self, input_size: int, hidden_size: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.weight = _param(4 * hidden_size, input_size + hidden_size, dtype=dtype)
        self.bias = _param(4 * hidden_size, dtype=dtype)

    def forward(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        return lstm_update(torch.addmm(self.bias, torch.cat([x, h], dim=1), self.weight.t()), c)


def step(cell: nn.Module, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """A cell stepped over ``x`` (T, B, I) from ``h``, ``c`` (B, H)."""
    outs = []
    for x_t in x:
        h, c = cell(x_t, h, c)
        outs.append(h)
    return torch.stack(outs), h, c


class LayerNormLSTMCell(nn.Module):
    """fastrnns' "layernorm" LSTM: layer norm of the input and hidden projections and of the cell.

    ``gates = LN_i(x W_ih^T) + LN_h(h W_hh^T) + b``; ``c' = f c + i g``; ``h' = o tanh(LN_c(c'))``,
    each layer norm over the features with its own gain and shift (eps 1e-5).
    """

    def __init__(self, input_size: int, hidden_size: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.weight_ih = _param(4 * hidden_size, input_size, dtype=dtype)
        self.weight_hh = _param(4 * hidden_size, hidden_size, dtype=dtype)
        self.bias = _param(4 * hidden_size, dtype=dtype)
        self.ln_i = nn.LayerNorm(4 * hidden_size, dtype=dtype)
        self.ln_h = nn.LayerNorm(4 * hidden_size, dtype=dtype)
        self.ln_c = nn.LayerNorm(hidden_size, dtype=dtype)

    def forward(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        gates = self.ln_i(x @ self.weight_ih.t()) + self.ln_h(h @ self.weight_hh.t()) + self.bias
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(self.ln_c(c)), c


class Cell(nn.Module):
    """custom_lstms' LSTM cell: nn.LSTMCell's four parameters, one matmul each for input and state."""

    def __init__(self, input_size: int, hidden_size: int, dtype: torch.dtype) -> None:
        super().__init__()
        _lstm_params(self, input_size, hidden_size, dtype)

    def forward(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        gates = torch.addmm(self.bias_ih, x, self.weight_ih.t()) + torch.addmm(self.bias_hh, h, self.weight_hh.t())
        return lstm_update(gates, c)


class StackedLSTM(nn.Module):
    """custom_lstms' stacked LSTM: layers of :class:`Cell`, each layer's output the next one's input."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dtype: torch.dtype) -> None:
        super().__init__()
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.layers = nn.ModuleList(Cell(i, hidden_size, dtype) for i in sizes)

    def forward(self, x: Tensor, h0: Tensor, c0: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        hs, cs = [], []
        for k, cell in enumerate(self.layers):
            x, h, c = step(cell, x, h0[k], c0[k])
            hs.append(h)
            cs.append(c)
        return x, torch.stack(hs), torch.stack(cs)


class BidirLSTM(nn.Module):
    """custom_lstms' stacked bidirectional LSTM: per layer a forward and a reverse :class:`Cell`.

    The reverse cell runs over the time-reversed sequence and its outputs are reversed back; a
    layer's output is the two side by side (forward first), the next layer's input.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dtype: torch.dtype) -> None:
        super().__init__()
        sizes = [input_size] + [2 * hidden_size] * (num_layers - 1)
        self.fw = nn.ModuleList(Cell(i, hidden_size, dtype) for i in sizes)
        self.bw = nn.ModuleList(Cell(i, hidden_size, dtype) for i in sizes)

    def forward(self, x: Tensor, h0: Tensor, c0: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        hs, cs = [], []
        for k, (fw, bw) in enumerate(zip(self.fw, self.bw, strict=True)):
            out_f, h_f, c_f = step(fw, x, h0[2 * k], c0[2 * k])
            out_b, h_b, c_b = step(bw, x.flip(0), h0[2 * k + 1], c0[2 * k + 1])
            x = torch.cat([out_f, out_b.flip(0)], dim=2)
            hs += [h_f, h_b]
            cs += [c_f, c_b]
        return x, torch.stack(hs), torch.stack(cs)


def uniform_(model: nn.Module, gen: torch.Generator, hidden_size: int) -> nn.Module:
    """Every parameter from U(-1/sqrt(H), 1/sqrt(H)), drawn in float64 (the same values in every dtype)."""
    k = 1 / math.sqrt(hidden_size)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.empty(p.shape, dtype=torch.float64).uniform_(-k, k, generator=gen))
    return model
