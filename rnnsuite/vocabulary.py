"""The suite's vocabulary, declared once: the names of the matrix's axes and of the run's settings.

Every list of devices, dtypes (in their order), kernels, passes, backends, size presets, metrics, cold
processes and allocators is taken from here: the options' parsers (``type=`` at their declaration), the
matrix, the cases' defaults, the run file's readers and the report's orders. This module imports nothing
(no torch: the reports and ``pytest tests`` read it too); a name becomes a ``torch.dtype`` only where torch
is used, through ``torch_dtype``, and a ``torch.dtype`` becomes its name through ``dtype_name``. A record's
identity (``key, case, device, dtype``) is made by one function, ``identity``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

DEVICES = ("cpu", "cuda")
# Widest first: the order of every table, option default and report row.
DTYPES = ("float64", "float32", "bfloat16", "float16")
KERNELS = ("vendor", "native")  # vendor: oneDNN / cuDNN on (torch's default); native: both off
DEFAULT_KERNEL = "vendor"
PASSES = ("fwd", "fwd_bwd")
BACKENDS = ("eager", "compile")
# The size presets as options name them (--size), and the preset each names in the cases and in every
# test id and run-file key. "chapter" is the chapter's own sizes, whose preset (and so whose ids) keep the
# key "seed" from before 0.2; "seed", the option's old word, shared it with --seed, the random seed: it is
# read as "chapter" for one release, with a one-line note.
SIZES = ("chapter", "deepbench", "sweep")
SIZE_PRESETS = {"chapter": "seed", "deepbench": "deepbench", "sweep": "sweep"}
SIZE_ALIASES = {"seed": "chapter"}  # deprecated words of --size -> the word
METRICS = ("time", "instructions")
COLD_PROCESSES = ("fork-then-fresh", "fork", "fresh")  # --cold-process; the first is the default
ALLOCATORS = ("glibc", "jemalloc", "tcmalloc")


def torch_dtype(name: str) -> torch.dtype:
    """The ``torch.dtype`` of a dtype name of ``DTYPES`` (``KeyError`` for another name)."""
    import torch

    if name not in DTYPES:
        raise KeyError(f"unknown dtype {name!r}; choose from {', '.join(DTYPES)}")
    dtype: torch.dtype = getattr(torch, name)
    return dtype


def dtype_name(dtype: Any) -> str:
    """A ``torch.dtype``'s name (``torch.bfloat16`` -> ``bfloat16``); a name is returned as it is."""
    return str(dtype).removeprefix("torch.")


def identity(key: str, case: str | None, device: str | None, dtype: str | None) -> dict[str, str | None]:
    """A record's identity in the run file: its point's key, case, device and dtype name (None: not a point's)."""
    return {"key": key, "case": case, "device": device, "dtype": dtype}
