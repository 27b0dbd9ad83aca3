"""The chapter's LSTM part-of-speech tagger on the classic two-sentence corpus, declared with the
public API (``cases/api.py``) and its own NumPy reference (``cases/reference_chapter.py``)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import Tensor, nn

from rnnsuite.cases import reference_chapter as ref
from rnnsuite.cases.api import case
from rnnsuite.cases.models import LSTMTagger
from rnnsuite.cases.registry import Arrays, Instance, Size, uniform_

EMBEDDING_DIM = 6
HIDDEN_DIM = 6
TRAINING_DATA: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("The", "dog", "ate", "the", "apple"), ("DET", "NN", "V", "DET", "NN")),
    (("Everybody", "read", "that", "book"), ("NN", "V", "DET", "NN")),
)
WORD_TO_IX: dict[str, int] = {}
for _sentence, _ in TRAINING_DATA:
    for _word in _sentence:
        WORD_TO_IX.setdefault(_word, len(WORD_TO_IX))
TAG_TO_IX = {"DET": 0, "NN": 1, "V": 2}


def prepare_sequence(seq: tuple[str, ...], to_ix: Mapping[str, int]) -> Tensor:
    """Words or tags -> a LongTensor of indices, as in the chapter's tutorial."""
    return torch.tensor([to_ix[w] for w in seq], dtype=torch.long)


def new_tagger(gen: torch.Generator, dtype: torch.dtype = torch.float64) -> LSTMTagger:
    """A tagger of the chapter's sizes with weights drawn from ``gen`` (on the CPU, in ``dtype``)."""
    model = LSTMTagger(EMBEDDING_DIM, HIDDEN_DIM, len(WORD_TO_IX), len(TAG_TO_IX)).to(dtype)
    uniform_(model, gen)
    with torch.no_grad():  # nn.Embedding's own init is N(0, 1)
        model.word_embeddings.weight.normal_(generator=gen)
    return model


def _build(size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    return Instance(new_tagger(gen, dtype), {"sentence": prepare_sequence(TRAINING_DATA[0][0], WORD_TO_IX)})


def _forward(model: nn.Module, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
    return {"tag_scores": model(inputs["sentence"])}


def _grad(params: Arrays, inputs: Arrays, cot: Arrays) -> dict[str, np.ndarray]:
    _, cache = ref.tagger_forward(params, inputs["sentence"])
    return ref.tagger_backward(params, inputs["sentence"], cache, dict(cot))


def _flops(s: Size) -> int:
    return 2 * s.seq_len * (4 * s.hidden_size * (s.input_size + s.hidden_size) + s.hidden_size * s.output_size)


TAGGER_SIZE = Size(
    seq_len=len(TRAINING_DATA[0][0]),
    batch=1,
    input_size=EMBEDDING_DIM,
    hidden_size=HIDDEN_DIM,
    output_size=len(TAG_TO_IX),
    vocab_size=len(WORD_TO_IX),
)

case(
    "lstm_tagger",
    _build,
    _forward,
    summary="the chapter's LSTMTagger (embedding, LSTM, linear, log_softmax) on 'The dog ate the apple'",
    family="lstm",
    reference=lambda p, i: ref.tagger_forward(p, i["sentence"])[0],
    reference_grad=_grad,
    out_shapes=lambda s: {"tag_scores": (s.seq_len, s.output_size)},
    sizes={"tiny": (TAGGER_SIZE,), "seed": (TAGGER_SIZE,)},
    flops=_flops,
    time_axis={"tag_scores": 0},
)
