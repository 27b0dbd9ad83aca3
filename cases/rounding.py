"""Run the NumPy references in an emulated low precision: the emulated error of a dtype.

The references in ``cases/reference*.py`` are written once, in float64, with NumPy ufuncs and
``@``. :func:`run_rounded` runs any of them unchanged with every floating array replaced by a
:class:`Rounded` array: a float64 array whose ufunc results are rounded to the storage dtype
(``ml_dtypes`` gives NumPy bfloat16; float16 and float32 are NumPy's own). The rounding is thus
pluggable: it travels with the arrays, so a reference added later (a new case module) gets it
with no change, as long as it computes with ufuncs and ``@``.

The model of where torch rounds (docs/notes/tolerances.md has what was measured against it):

- every elementwise op computes in float64 and rounds its result to the storage dtype (torch's
  CPU kernels compute a half-precision op in float32 and round the result: the same within
  one float32 rounding);
- matrix products and reductions (``@``, ``sum``) accumulate in float32 for float32, bfloat16
  and float16 storage, then round the result (oneDNN, MKL and cuBLAS accumulate half-precision
  products in float32); float64 is not emulated (its error is measured, not modelled);
- composite functions round after each ufunc (``sigmoid = exp(-logaddexp(0, -a))`` rounds
  twice where torch rounds once), so the emulation errs, if anything, on the large side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

# The storage formats' names; float64 has no emulation (the reference itself is float64).
STORAGE = ("float32", "bfloat16", "float16")
# Ufuncs that accumulate many products or terms: computed in float32, as torch's kernels do.
_ACCUMULATING = (np.matmul,)


def storage_type(dtype_name: str) -> Any:
    """The NumPy type of a storage format (``KeyError`` for one that is not emulated).

    ``ml_dtypes`` is imported here, on first use, not with this module: importing it leaves the
    heap in a layout where a freshly built ``nn.LSTM(512, 512)``'s no-grad forward at T25 B16
    faulted 1,100-1,600 times a call instead of 2,270, and a cold process (suite/measure/cold.py)
    imports the cases to build one, so it would not be the fresh process a user times.
    """
    if dtype_name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    return {"float32": np.float32, "float16": np.float16}[dtype_name]


def round_to(x: Any, dtype_name: str) -> np.ndarray:
    """``x`` rounded to ``dtype_name`` (round to nearest even), returned as float64."""
    return np.asarray(x, dtype=np.float64).astype(storage_type(dtype_name)).astype(np.float64)


class Rounded(np.ndarray):
    """A float64 array whose every ufunc result is rounded to ``storage`` (set on subclasses)."""

    storage: str = ""

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        cls = type(self)
        accumulate = ufunc in _ACCUMULATING or method in ("reduce", "accumulate", "reduceat")
        plain = [_plain(x, np.float32 if accumulate else None) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(o) for o in kwargs["out"])
        result = getattr(ufunc, method)(*plain, **kwargs)
        if method == "at":  # in place on the first operand: round it where it stands
            target = plain[0]
            target[...] = round_to(target, cls.storage)
            return None
        if isinstance(result, tuple):
            return tuple(cls._wrap(r) for r in result)
        return cls._wrap(result)

    @classmethod
    def _wrap(cls, result: Any) -> Any:
        arr = np.asarray(result)
        if not np.issubdtype(arr.dtype, np.floating):
            return result
        return round_to(arr, cls.storage).view(cls)


def _plain(x: Any, compute: Any = None) -> Any:
    """The ndarray under a :class:`Rounded` (in ``compute`` dtype if given); anything else as is."""
    if isinstance(x, np.ndarray):
        base = x.view(np.ndarray) if isinstance(x, Rounded) else x
        return base.astype(compute) if compute is not None and np.issubdtype(base.dtype, np.floating) else base
    return x


_CLASSES = {name: type(f"Rounded_{name}", (Rounded,), {"storage": name}) for name in STORAGE}


def rounded(x: np.ndarray, dtype_name: str) -> np.ndarray:
    """``x`` rounded to the dtype, as an array whose arithmetic keeps rounding to it."""
    return round_to(x, dtype_name).view(_CLASSES[dtype_name])


def _wrap_tree(x: Any, dtype_name: str) -> Any:
    if isinstance(x, Mapping):
        return {k: _wrap_tree(v, dtype_name) for k, v in x.items()}
    if isinstance(x, tuple | list):
        return type(x)(_wrap_tree(v, dtype_name) for v in x)
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
        return rounded(x, dtype_name)
    return x


def _unwrap_tree(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {k: _unwrap_tree(v) for k, v in x.items()}
    if isinstance(x, tuple | list):
        return type(x)(_unwrap_tree(v) for v in x)
    if isinstance(x, np.ndarray):
        return np.array(x.view(np.ndarray), dtype=np.float64 if np.issubdtype(x.dtype, np.floating) else x.dtype)
    return x


def run_rounded(fn: Callable[..., Any], dtype_name: str, *args: Any) -> Any:
    """Call a NumPy reference with its floating arrays (in mappings, tuples, lists) rounded to a dtype.

    Args:
        fn: a reference, e.g. ``case.reference`` or ``case.reference_grad``.
        dtype_name: "float32", "bfloat16" or "float16"; "float64" calls ``fn`` as it is.
        args: its arguments.

    Returns:
        What ``fn`` returns, its arrays as plain float64 ndarrays.
    """
    if dtype_name == "float64":
        return fn(*args)
    return _unwrap_tree(fn(*(_wrap_tree(a, dtype_name) for a in args)))
