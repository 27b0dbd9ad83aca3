"""Uninitialised memory poisoned with NaN while a case's own code runs, so a read of it fails every time.

``torch.empty`` returns whatever the allocator held: often zeros or an old, plausible tensor, so code
that reads a buffer before writing it passes by chance. Inside :func:`nan_poison`, ``torch.empty``,
``torch.empty_like``, ``torch.empty_strided`` and ``Tensor.new_empty`` fill every floating (and
complex) tensor they make with NaN, as flash-linear-attention's tests do: a read of a never-written
element then turns the outputs NaN, which the checks name with the first bad step. Integer buffers
are left as they are (no NaN to give them). The checks poison the builder and the eager forward
(``suite/harness/builds.py``, ``checks.py``, ``edges.py``), never a timed call.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor

_lock = threading.RLock()
_depth = 0


def _filled(t: Any) -> Any:
    if isinstance(t, Tensor) and (t.is_floating_point() or t.is_complex()):
        with torch.no_grad():
            t.fill_(float("nan"))
    return t


def _poisoning(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def made(*args: Any, **kwargs: Any) -> Any:
        return _filled(fn(*args, **kwargs))

    return made


@contextmanager
def nan_poison() -> Iterator[None]:
    """Within: the ``empty`` constructors give NaN-filled floating tensors (re-entrant; restored on exit)."""
    global _depth
    with _lock:
        saved = (torch.empty, torch.empty_like, torch.empty_strided, Tensor.new_empty)
        if _depth == 0:
            torch.empty, torch.empty_like, torch.empty_strided = (_poisoning(f) for f in saved[:3])
            Tensor.new_empty = _poisoning(saved[3])  # type: ignore[method-assign]
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                torch.empty, torch.empty_like, torch.empty_strided, Tensor.new_empty = saved  # type: ignore[method-assign]
