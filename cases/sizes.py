"""Size presets: the chapter's sizes, DeepBench training shapes and a scaling sweep.

DeepBench shapes come from ``code/kernels/rnn_problems.h`` (see docs/benchmarks.md); only those that
run in seconds on two CPU cores are kept, and long GRU sequences are cut to T = 25.
"""

from __future__ import annotations

from cases.registry import Size

GATE_BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3}

TINY = Size(seq_len=4, batch=3, input_size=5, hidden_size=6, num_layers=2)
TINY_CELL = Size(seq_len=4, batch=3, input_size=5, hidden_size=6)
SEED = Size(seq_len=100, batch=32, input_size=10, hidden_size=20, num_layers=2)  # nn.RNN in the chapter
SEED_CELL = Size(seq_len=100, batch=32, input_size=10, hidden_size=20)  # nn.RNNCell in the chapter

DEEPBENCH = {
    # vanilla: hidden 1760 x batch 16, T = 50
    "rnn": (Size(seq_len=50, batch=16, input_size=1760, hidden_size=1760),),
    # LSTM: hidden 512 x batch 16 and 64, T = 25
    "lstm": (
        Size(seq_len=25, batch=16, input_size=512, hidden_size=512),
        Size(seq_len=25, batch=64, input_size=512, hidden_size=512),
    ),
    # GRU: hidden 512 x batch 32 at T = 1 as listed; hidden 1024 x batch 32 cut from T = 1500 to 25
    "gru": (
        Size(seq_len=1, batch=32, input_size=512, hidden_size=512),
        Size(seq_len=25, batch=32, input_size=1024, hidden_size=1024),
    ),
}

SWEEP = tuple(Size(seq_len=t, batch=32, input_size=256, hidden_size=256) for t in (25, 50, 100, 200)) + tuple(
    Size(seq_len=50, batch=32, input_size=h, hidden_size=h) for h in (128, 512, 1024)
)


def sequence_flops(family: str, size: Size) -> int:
    """Forward matrix FLOPs of a stacked RNN/LSTM/GRU: ``2 B T G H (I_l + H)`` per layer."""
    g, h = GATE_BLOCKS[family], size.hidden_size
    total = 0
    for layer in range(size.num_layers):
        i = size.input_size if layer == 0 else h
        total += 2 * size.batch * size.seq_len * g * h * (i + h)
    return total


def cell_presets(family: str) -> dict[str, tuple[Size, ...]]:
    """Size presets of a one-layer model of a family."""
    return {"tiny": (TINY_CELL,), "seed": (SEED_CELL,), "deepbench": DEEPBENCH[family], "sweep": SWEEP}


def layer_presets(family: str) -> dict[str, tuple[Size, ...]]:
    """Size presets of a built-in stacked layer: two layers at the chapter's sizes (the checks' size),
    and one layer, timed beside the one-layer cells of the family (the report's section (b))."""
    return cell_presets(family) | {"tiny": (TINY,), "seed": (SEED, SEED_CELL)}
