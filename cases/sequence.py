"""Cases of the sequence models: nn.RNN / nn.LSTM / nn.GRU and cells stepped over a sequence.

Declared with the public API (``cases/api.py``), each ``same_as`` its built-in: the plain layers and
``nn.RNNCell`` with their own parameter names, the corrected cells through the map of their
per-gate Linears to the built-in cell's stacked rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import torch
from torch import Tensor, nn

from rnnsuite.cases.api import case, same_as
from rnnsuite.cases.layers import CELLS, LAYERS, PLAIN, build_cell, build_layer, run_cell, run_layer
from rnnsuite.cases.models import GatedCell, GRUCell, LSTMCell
from rnnsuite.cases.sizes import layer_presets


def same_names(params: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The parameter map of a built-in module to itself."""
    return dict(params)


for _family, _title in (("rnn", "nn.RNN (tanh)"), ("lstm", "nn.LSTM"), ("gru", "nn.GRU")):
    case(
        f"nn_{_family}",
        partial(build_layer, PLAIN, _family),
        partial(run_layer, PLAIN, _family),
        same_as=same_as(LAYERS[_family], same_names),
        summary=f"built-in {_title}, stacked, against the NumPy reference",
        sizes=layer_presets(_family),
        fused=True,
    )


# ------------------------------------------------------------- cells stepped over a sequence


def gated_to_cell(gates: tuple[str, ...], params: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Per-gate Linears ``x_<g>`` / ``h_<g>`` -> the built-in cell's stacked rows, in its gate order."""
    return {
        f"{kind}_{name}": torch.cat([params[f"{side}_{g}.{kind}"] for g in gates])
        for side, name in (("x", "ih"), ("h", "hh"))
        for kind in ("weight", "bias")
    }


def _cell_case(name: str, summary: str, family: str, make: type[nn.Module]) -> None:
    to_cell = partial(gated_to_cell, make.gates) if issubclass(make, GatedCell) else same_names
    case(
        name,
        partial(build_cell, PLAIN, family, make=make),
        partial(run_cell, PLAIN, family),
        same_as=same_as(CELLS[family], to_cell),
        summary=summary,
    )


_cell_case("rnn_cell_loop", "nn.RNNCell stepped over the sequence (the chapter's unfinished loop)", "rnn", nn.RNNCell)
_cell_case("lstm_cell", "corrected hand-written LSTM cell, a weight per gate, stepped", "lstm", LSTMCell)
_cell_case("gru_cell", "corrected hand-written GRU cell, a weight per gate, stepped", "gru", GRUCell)
