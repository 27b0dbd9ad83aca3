"""Fault injection for the gate studies: real extra work in a timed call, of a known size.

``--inject-slowdown CASE=FACTOR`` scales the work of each call (``scaled``, with blocks of
``block_for`` calls so that every sample runs the same extra work); ``--inject-work CASE=PCT``
adds the pass on the first PCT% of the sequence (``prefix_inputs``, ``then``), as a change of
the code would add work. docs/notes/gate.md uses both to size the gate's power.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import torch


def scaled(fn: Callable[[], object], factor: float) -> Callable[[], object]:
    """``fn`` with its work scaled by ``factor`` >= 1: the gate studies' injected slowdown.

    Each call runs ``fn`` once, plus one more time whenever the accumulated fraction
    ``factor - 1`` reaches a whole call (error diffusion), so that over ``N`` calls ``fn`` runs
    ``round(N * factor)`` times, up to one. The slowdown is real work on the device and in the
    interpreter, and follows the machine's speed as the real work does; a busy wait sized once
    would not (it was sized once, when calls were still slow, and overshot: docs/notes/gate.md).
    """
    if factor == 1.0:
        return fn
    owed = 0.0  # starts at zero: a block of ``block_for(n, factor)`` calls gets exactly n * (factor - 1) extra

    def call() -> object:
        nonlocal owed
        out = fn()
        owed += factor - 1.0
        while owed >= 1.0 - 1e-9:
            owed -= 1.0
            out = fn()
        return out

    return call


def block_for(n: int, factor: float) -> int:
    """Calls per block under a scaled work: ``n`` raised to a multiple that makes ``n * (factor - 1)`` whole.

    A sample is one block, and the gate reads block medians: with a fraction of an extra call per
    block the blocks would alternate between two levels (x1.25 with n = 2: 1.0x and 1.5x), and
    their median would not be ``factor``. ``factor - 1`` is taken as a fraction with a
    denominator up to 100 (1.05 -> 1/20: blocks of a multiple of 20 calls).
    """
    if factor == 1.0:
        return n
    step = Fraction(factor - 1.0).limit_denominator(100).denominator
    return -(-n // step) * step


def prefix_inputs(inputs: dict[str, torch.Tensor], fraction: float) -> dict[str, torch.Tensor]:
    """The inputs with the sequence (the first input, time on its first axis) cut to its first ``fraction``.

    At least one step is kept: ``max(1, round(fraction * T))`` of ``T``.
    """
    name, seq = next(iter(inputs.items()))
    steps = max(1, round(fraction * seq.shape[0]))
    return {**inputs, name: seq[:steps].detach()}  # (steps, ...): its own leaf for the backward pass


def then(first: Callable[[], object], second: Callable[[], object]) -> Callable[[], object]:
    def both() -> object:
        out = first()
        second()
        return out

    return both
