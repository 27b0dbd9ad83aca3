"""The chapter's LSTMTagger: training on the two-sentence corpus, and no state leaking between sentences."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnsuite.cases.tagger import TAG_TO_IX, TRAINING_DATA, WORD_TO_IX, new_tagger, prepare_sequence
from rnnsuite.suite.harness.points import Point

pytestmark = pytest.mark.correctness


def _corpus(device: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [
        (prepare_sequence(s, WORD_TO_IX).to(device), prepare_sequence(t, TAG_TO_IX).to(device))
        for s, t in TRAINING_DATA
    ]


def _loss(model: nn.Module, corpus: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    with torch.no_grad():
        return sum(float(nn.functional.nll_loss(model(s), t)) for s, t in corpus)


@pytest.mark.check("tagger_training")
@pytest.mark.cases("lstm_tagger")
def test_training_tags_both_sentences(point: Point) -> None:
    """SGD(lr=0.1) with NLLLoss for 300 epochs from a fixed seed tags both sentences correctly and
    at least halves the loss (the chapter's tutorial loop)."""
    if point.dtype != torch.float32:
        pytest.skip("the tutorial trains in float32 (half precision SGD at lr 0.1 is not the chapter's setup)")
    model = new_tagger(torch.Generator().manual_seed(1)).to(point.device, point.dtype)
    corpus = _corpus(point.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = _loss(model, corpus)
    for _ in range(300):
        for sentence, tags in corpus:
            model.zero_grad()
            nn.functional.nll_loss(model(sentence), tags).backward()
            optimizer.step()
    after = _loss(model, corpus)
    assert after <= before / 2, f"loss {before:.3f} -> {after:.3f}"
    with torch.no_grad():
        for sentence, tags in corpus:
            assert torch.equal(model(sentence).argmax(dim=1), tags)


@pytest.mark.check("state_isolation")
@pytest.mark.cases("lstm_tagger")
def test_state_does_not_leak_between_sentences(point: Point) -> None:
    """Tagging sentence B after sentence A gives what tagging B alone gives."""
    model = new_tagger(torch.Generator().manual_seed(2)).to(point.device, point.dtype)
    (a, _), (b, _) = _corpus(point.device)
    with torch.no_grad():
        alone = model(b)
        model(a)
        after_a = model(b)
    assert torch.equal(alone, after_a)
    assert alone.shape == (len(b), len(TAG_TO_IX))


@pytest.mark.check("chapter_style_state_would_leak")
def test_chapter_style_state_would_leak() -> None:
    """Control: feeding A's final state into B (what keeping ``self.hidden`` does) changes B's
    scores, so the test above can fail."""
    model = new_tagger(torch.Generator().manual_seed(2))
    (a, _), (b, _) = _corpus("cpu")
    with torch.no_grad():
        embeds = model.word_embeddings(a).view(len(a), 1, -1)
        _, state = model.lstm(embeds, model.init_hidden(embeds))
        assert not torch.allclose(model(b), model(b, state))
