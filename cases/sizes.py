"""Size presets: the chapter's sizes, DeepBench training shapes and a scaling sweep.

DeepBench shapes come from ``code/kernels/rnn_problems.h`` (see docs/benchmarks.md); only those that
run in seconds on two CPU cores are kept, and long GRU sequences are cut to T = 25.
"""

from __future__ import annotations

from dataclasses import replace

from rnnsuite.cases.registry import Size

GATE_BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3}

TINY = Size(seq_len=4, batch=3, input_size=5, hidden_size=6, num_layers=2)
TINY_CELL = Size(seq_len=4, batch=3, input_size=5, hidden_size=6)
SEED = Size(seq_len=100, batch=32, input_size=10, hidden_size=20, num_layers=2)  # nn.RNN in the chapter
SEED_CELL = Size(seq_len=100, batch=32, input_size=10, hidden_size=20)  # nn.RNNCell in the chapter
# The correctness tier's size of every variant of the built-in layers and cells (the first "seed"
# size): small enough for the tier's 60 s, long enough for the length-1 and length-T sequences of a
# packed batch to differ. The timed variants also carry the chapter's seed size, to be benchmarked
# next to the plain layer (only there: the plain layer has no benchmark at the tier's size, so a
# variant's is not timed).
TIER = Size(seq_len=12, batch=5, input_size=6, hidden_size=8, num_layers=2)
TIER_CELL = Size(seq_len=12, batch=5, input_size=6, hidden_size=8)

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


def cell_presets(family: str) -> dict[str, tuple[Size, ...]]:
    """Size presets of a one-layer model of a family."""
    return {"tiny": (TINY_CELL,), "seed": (SEED_CELL,), "deepbench": DEEPBENCH[family], "sweep": SWEEP}


def layer_presets(family: str) -> dict[str, tuple[Size, ...]]:
    """Size presets of a built-in stacked layer: two layers at the chapter's sizes (the checks' size),
    and one layer, timed beside the one-layer cells of the family (the report's section (b))."""
    return cell_presets(family) | {"tiny": (TINY,), "seed": (SEED, SEED_CELL)}


# One-width models (minGRU: input width == hidden width) and q/k/v models (mLSTM: heads of hidden / heads).
ONE_WIDTH_TINY = Size(seq_len=4, batch=3, input_size=8, hidden_size=8)
ONE_WIDTH_SEED = Size(seq_len=100, batch=32, input_size=32, hidden_size=32)


def one_width_presets(heads: int = 1) -> dict[str, tuple[Size, ...]]:
    """Size presets of a model whose input and hidden widths are one (``input_size == hidden_size``), with
    ``heads`` heads of ``hidden_size / heads`` each (a q/k/v model); no family needed.

    Raises:
        ValueError: ``heads`` does not divide the tiny size's width (8): 1, 2, 4 or 8.
    """
    if heads not in (1, 2, 4, 8):
        raise ValueError(f"heads={heads!r}: one of 1, 2, 4, 8 (they divide every preset's width)")

    def each(sizes: tuple[Size, ...]) -> tuple[Size, ...]:
        return tuple(replace(s, input_size=s.hidden_size, heads=heads) for s in sizes)

    return {
        "tiny": each((ONE_WIDTH_TINY,)),
        "seed": each((ONE_WIDTH_SEED,)),
        "deepbench": each(DEEPBENCH["lstm"]),
        "sweep": each(tuple(s for s in SWEEP if s.hidden_size % 8 == 0)),
    }
