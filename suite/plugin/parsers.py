"""The option parsers (``type=`` of ``pytest_addoption``): an option's text to its typed value.

A bad value raises ``pytest.UsageError``, which argparse lets through (it turns only ``ArgumentTypeError``,
``TypeError`` and ``ValueError`` into its own error, the usage block): pytest prints the one line and exits 4.
Torch-free: argparse runs a parser on a string default at every parse, ``pytest tests`` included.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

from rnnsuite.vocabulary import SIZE_ALIASES, SIZE_PRESETS, SIZES


def comma_list(flag: str, allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    """The parser of an option that takes a comma list of ``allowed`` values."""

    def parse(text: str) -> tuple[str, ...]:
        values = tuple(v.strip() for v in text.split(",") if v.strip())
        unknown = [v for v in values if v not in allowed]
        if unknown or not values:
            raise pytest.UsageError(
                f"{flag}: unknown value {', '.join(unknown) or '(empty)'!r}; choose from {', '.join(allowed)}"
            )
        return values

    return parse


def size_list(text: str) -> tuple[str, ...]:
    """The parser of ``--size``: its words (``chapter``, ``deepbench``, ``sweep``) to the cases' preset keys.

    The old word ``seed`` is read as ``chapter`` with one note on stderr (not a warning: a warnings filter
    that makes warnings errors would stop the run), printed by the process that parses the command line
    first, not again by the processes it starts.
    """
    words = tuple(v.strip() for v in text.split(",") if v.strip())
    old = [w for w in words if w in SIZE_ALIASES]
    if old and not os.environ.get("PYTEST_XDIST_WORKER") and not os.environ.get(_NOTED):
        print(
            f"note: --size {old[0]} is deprecated: it is --size {SIZE_ALIASES[old[0]]} (one release)", file=sys.stderr
        )
        os.environ[_NOTED] = "1"
    named = comma_list("--size", SIZES)(",".join(SIZE_ALIASES.get(w, w) for w in words))
    return tuple(SIZE_PRESETS[w] for w in named)


_NOTED = "RNNSUITE_SIZE_NOTE_GIVEN"


def one_of(flag: str, allowed: tuple[str, ...]) -> Callable[[str], str]:
    """The parser of an option that takes exactly one of ``allowed``."""

    def parse(text: str) -> str:
        values = comma_list(flag, allowed)(text)
        if len(values) != 1:
            raise pytest.UsageError(f"{flag}: one of {', '.join(allowed)}, got {','.join(values)!r}")
        return values[0]

    return parse


def whole(flag: str, least: int | None = None) -> Callable[[str], int]:
    """The parser of a whole-number option, at least ``least`` where given."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise pytest.UsageError(f"{flag}: expected a whole number, got {text!r}") from None
        if least is not None and value < least:
            raise pytest.UsageError(f"{flag}: must be at least {least}, got {value}")
        return value

    return parse


def positive(flag: str) -> Callable[[str], float]:
    """The parser of a positive (finite) number."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise pytest.UsageError(f"{flag}: must be a positive number, got {text!r}")
        return value

    return parse


PREFIX = "rnnsuite_"  # of every suite option's dest: a project's own ``--device`` keeps its own dest


def option(config: pytest.Config, name: str, default: object = None) -> Any:
    """The value of the suite's option ``name`` (its dest less the prefix: ``device``, ``passes``)."""
    return config.getoption(PREFIX + name, default)


def shard_of(spec: str) -> tuple[int, int]:
    """The parser of ``--shard I/N``: ``(I, N)``.

    Raises:
        pytest.UsageError: not two whole numbers with 1 <= I <= N.
    """
    try:
        i, n = (int(part) for part in spec.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--shard {spec!r}: expected I/N, e.g. 2/4") from None
    if not 1 <= i <= n:
        raise pytest.UsageError(f"--shard {spec}: I must be between 1 and N")
    return i, n


def shard_text(config: pytest.Config) -> str | None:
    """``--shard`` as the run file records it (``I/N``); None without the option."""
    shard = option(config, "shard")
    return None if shard is None else f"{shard[0]}/{shard[1]}"
