"""Conformance on bad input: torch must raise its documented error type; a missing error is a failure.

Each bad input goes through the whole path a user takes (``pack_padded_sequence`` and the layer's
forward): torch 2.13 checks lengths longer than T only in the layer (``pack_padded_sequence``
with ``enforce_sorted=True`` accepts them), so the check is on the path, not on one function.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

pytestmark = pytest.mark.correctness

T, B, IN, H = 5, 3, 4, 6
LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def expect_error(fn: Callable[[], object], error: type[BaseException]) -> str | None:
    """Run ``fn``: None where it raises ``error``, else one line saying what happened instead.

    An exception of another type is reported, not re-raised: the suite never crashes on torch's behalf.
    """
    try:
        fn()
    except error:
        return None
    except Exception as exc:
        return f"raised {type(exc).__name__} instead of {error.__name__}: {str(exc).splitlines()[0][:200]}"
    return f"no error (expected {error.__name__})"


def _state(mode: str, shape: tuple[int, ...]) -> object:
    return (torch.zeros(shape), torch.zeros(shape)) if mode == "lstm" else torch.zeros(shape)


def _packed_run(mode: str, lengths: list[int], enforce_sorted: bool) -> Callable[[], object]:
    def run() -> object:
        x = torch.randn(T, B, IN)
        packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=enforce_sorted)
        return LAYERS[mode](IN, H)(packed)

    return run


BAD_INPUTS: dict[str, Callable[[str], Callable[[], object]]] = {
    # torch's RNN documentation and its checks: RuntimeError for each of these.
    "h0 wrong batch": lambda mode: lambda: LAYERS[mode](IN, H)(torch.randn(T, B, IN), _state(mode, (1, B + 1, H))),
    "h0 wrong layers": lambda mode: lambda: LAYERS[mode](IN, H)(torch.randn(T, B, IN), _state(mode, (2, B, H))),
    "lengths > T (sorted)": lambda mode: _packed_run(mode, [T + 1, 2, 1], True),
    "lengths > T (unsorted)": lambda mode: _packed_run(mode, [2, T + 1, 1], False),
    "unsorted lengths, enforce_sorted=True": lambda mode: _packed_run(mode, [2, T, 1], True),
    "zero-length sequence": lambda mode: _packed_run(mode, [T, 2, 0], True),
    "zero-length sequence (unsorted)": lambda mode: _packed_run(mode, [2, 0, T], False),
}


@pytest.mark.check("bad_input_raises_the_documented_error")
@pytest.mark.parametrize("mode", list(LAYERS))
@pytest.mark.parametrize("bad", list(BAD_INPUTS))
def test_bad_input_raises_the_documented_error(bad: str, mode: str) -> None:
    problem = expect_error(BAD_INPUTS[bad](mode), RuntimeError)
    assert problem is None, f"nn.{mode.upper()}, {bad}: {problem}"


@pytest.mark.check("a_missing_error_is_a_failure")
def test_a_missing_error_is_a_failure() -> None:
    """The check reports a call that accepts bad input, and one that raises the wrong type."""
    assert expect_error(lambda: None, RuntimeError) == "no error (expected RuntimeError)"
    problem = expect_error(lambda: [][1], RuntimeError)
    assert problem is not None
    assert problem.startswith("raised IndexError")
    assert expect_error(lambda: torch.zeros(2) @ torch.zeros(3), RuntimeError) is None
