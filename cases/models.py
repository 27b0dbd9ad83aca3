"""The chapter's torch modules, as printed (defects included), and corrected gated cells."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LSTM_GATES = ("i", "f", "g", "o")  # PyTorch's row order in weight_ih / weight_hh
GRU_GATES = ("r", "z", "n")


class CharRNN(nn.Module):
    """The chapter's ``RNN`` module (the char-RNN name classifier), unchanged.

    ``combined = [x, h]``; ``h' = i2h(combined)`` (no nonlinearity, as printed);
    ``output = log_softmax(i2o(combined))``.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input: Tensor, hidden: Tensor) -> tuple[Tensor, Tensor]:
        combined = torch.cat((input, hidden), 1)  # (B, I + H)
        return self.softmax(self.i2o(combined)), self.i2h(combined)


class SeedLSTMCell(nn.Module):
    """The chapter's ``LSTMCell`` exactly as printed, with its defect.

    One ``gate`` Linear serves every gate, so ``f = i = o = sigmoid(a)`` and ``z = tanh(a)``
    with ``a = gate([x, h])``; ``c' = c * f + z * i``; ``h' = tanh(c') * o``;
    ``output = log_softmax(output(h'))``. ``h'`` has ``cell_size`` features, so the cell only
    runs with ``hidden_size == cell_size``.
    """

    def __init__(self, input_size: int, hidden_size: int, cell_size: int, output_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.cell_size = cell_size
        self.gate = nn.Linear(input_size + hidden_size, cell_size)
        self.output = nn.Linear(hidden_size, output_size)
        self.sigmoid = nn.Sigmoid()
        self.tanh = nn.Tanh()
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input: Tensor, hidden: Tensor, cell: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        combined = torch.cat((input, hidden), 1)
        f_gate = self.sigmoid(self.gate(combined))
        i_gate = self.sigmoid(self.gate(combined))
        o_gate = self.sigmoid(self.gate(combined))
        z_state = self.tanh(self.gate(combined))
        cell = torch.add(torch.mul(cell, f_gate), torch.mul(z_state, i_gate))
        hidden = torch.mul(self.tanh(cell), o_gate)
        output = self.softmax(self.output(hidden))
        return output, hidden, cell


class SeedGRUCell(nn.Module):
    """The chapter's ``GRUCell`` exactly as printed, with its defect.

    One ``gate`` Linear serves every gate: ``z = r = sigmoid(gate([x, h]))``,
    ``h~ = tanh(gate([x, r * h]))`` (the candidate reuses the same weights), and
    ``h' = (1 - z) * h + z * h~``; ``output = log_softmax(output(h'))``.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.gate = nn.Linear(input_size + hidden_size, hidden_size)
        self.output = nn.Linear(hidden_size, output_size)
        self.sigmoid = nn.Sigmoid()
        self.tanh = nn.Tanh()
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input: Tensor, hidden: Tensor) -> tuple[Tensor, Tensor]:
        combined = torch.cat((input, hidden), 1)
        z_gate = self.sigmoid(self.gate(combined))
        r_gate = self.sigmoid(self.gate(combined))
        combined01 = torch.cat((input, torch.mul(hidden, r_gate)), 1)
        h1_state = self.tanh(self.gate(combined01))
        h_state = torch.add(torch.mul((1 - z_gate), hidden), torch.mul(h1_state, z_gate))
        output = self.softmax(self.output(h_state))
        return output, h_state


class GatedCell(nn.Module):
    """A cell with one input Linear (``x_<gate>``) and one hidden Linear (``h_<gate>``) per gate."""

    gates: tuple[str, ...] = ()

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        for g in self.gates:
            self.add_module(f"x_{g}", nn.Linear(input_size, hidden_size))
            self.add_module(f"h_{g}", nn.Linear(hidden_size, hidden_size))

    def project(self, side: str, gate: str, v: Tensor) -> Tensor:
        """``W_{side gate} v + b_{side gate}``, side "x" (input) or "h" (hidden)."""
        layer = self.get_submodule(f"{side}_{gate}")
        assert isinstance(layer, nn.Linear)
        return layer(v)

    def fused_state(self) -> dict[str, Tensor]:
        """The weights in the layout of ``nn.LSTMCell`` / ``nn.GRUCell`` (rows stacked by gate)."""
        out = {}
        for side, name in (("x", "ih"), ("h", "hh")):
            layers = [self.get_submodule(f"{side}_{g}") for g in self.gates]
            out[f"weight_{name}"] = torch.cat([m.weight for m in layers])  # type: ignore[misc]
            out[f"bias_{name}"] = torch.cat([m.bias for m in layers])  # type: ignore[misc]
        return out

    @torch.no_grad()
    def load_fused(self, fused: nn.Module) -> None:
        """Copy weights from an ``nn.LSTMCell`` / ``nn.GRUCell`` (or layer 0 of a fused layer)."""
        sfx = "" if hasattr(fused, "weight_ih") else "_l0"
        for side, name in (("x", "ih"), ("h", "hh")):
            w = getattr(fused, f"weight_{name}{sfx}").chunk(len(self.gates))
            b = getattr(fused, f"bias_{name}{sfx}").chunk(len(self.gates))
            for g, wg, bg in zip(self.gates, w, b, strict=True):
                layer = self.get_submodule(f"{side}_{g}")
                layer.weight.copy_(wg)  # type: ignore[operator]
                layer.bias.copy_(bg)  # type: ignore[operator]


class LSTMCell(GatedCell):
    """Corrected LSTM cell: a weight per gate, equal to ``nn.LSTMCell`` with copied weights.

    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)
    f = sigmoid(W_if x + b_if + W_hf h + b_hf)
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)
    o = sigmoid(W_io x + b_io + W_ho h + b_ho)
    c' = f * c + i * g
    h' = o * tanh(c')
    """

    gates = LSTM_GATES

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h, c = state
        a = {g: self.project("x", g, x) + self.project("h", g, h) for g in self.gates}
        i, f, o = torch.sigmoid(a["i"]), torch.sigmoid(a["f"]), torch.sigmoid(a["o"])
        c_new = f * c + i * torch.tanh(a["g"])
        return o * torch.tanh(c_new), c_new


class GRUCell(GatedCell):
    """Corrected GRU cell: a weight per gate, equal to ``nn.GRUCell`` with copied weights.

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h
    """

    gates = GRU_GATES

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        r = torch.sigmoid(self.project("x", "r", x) + self.project("h", "r", h))
        z = torch.sigmoid(self.project("x", "z", x) + self.project("h", "z", h))
        n = torch.tanh(self.project("x", "n", x) + r * self.project("h", "n", h))
        return (1 - z) * n + z * h


class LSTMTagger(nn.Module):
    """The chapter's part-of-speech tagger: embedding -> LSTM -> linear -> log_softmax.

    As printed, the chapter stores the LSTM state on ``self.hidden`` and feeds it into the next
    call, so one sentence's state leaks into the next (and into the next backward pass). Here
    every call starts from zeros on the input's device and dtype unless a state is given.
    """

    def __init__(self, embedding_dim: int, hidden_dim: int, vocab_size: int, tagset_size: int) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim)
        self.hidden2tag = nn.Linear(hidden_dim, tagset_size)

    def init_hidden(self, like: Tensor) -> tuple[Tensor, Tensor]:
        """Zero ``(h, c)``, each ``(num_layers, minibatch, hidden_dim)``, like ``like``."""
        zeros = like.new_zeros(1, 1, self.hidden_dim)
        return zeros, zeros.clone()

    def forward(self, sentence: Tensor, hidden: tuple[Tensor, Tensor] | None = None) -> Tensor:
        embeds = self.word_embeddings(sentence)  # (T, E)
        state = self.init_hidden(embeds) if hidden is None else hidden
        lstm_out, _ = self.lstm(embeds.view(len(sentence), 1, -1), state)  # (T, 1, H)
        tag_space = self.hidden2tag(lstm_out.view(len(sentence), -1))  # (T, tags)
        return F.log_softmax(tag_space, dim=1)
