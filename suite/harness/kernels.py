"""The kernel axis: run the fused layers through the vendor kernel or torch's native one, and record which ran.

``vendor`` is torch's default choice: oneDNN on the CPU (``aten::mkldnn_rnn_layer``, where torch
takes it: which layers it takes depends on the build, docs/notes/cpu-speed.md) and cuDNN on CUDA (``aten::_cudnn_rnn``). ``native`` switches both
libraries off (``torch.backends.mkldnn.enabled`` / ``torch.backends.cudnn.enabled``), so that
the layer runs torch's own loop of per-step products and pointwise cell ops. Which one actually
ran is not assumed: :func:`kernel_ops` runs one call under ``torch.profiler`` and returns the
aten ops of the recurrence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from rnnsuite.vocabulary import DEFAULT_KERNEL, KERNELS

__all__ = ["DEFAULT_KERNEL", "KERNELS", "kernel_flags", "kernel_label", "kernel_ops", "op_names"]

# The aten ops that say which path ran: the fused entry points, the vendor kernels, the native
# cell ops and the products of the native loop. Views, copies and allocations are left out.
KERNEL_OPS = (
    "rnn_tanh", "rnn_relu", "lstm", "gru",
    "mkldnn_rnn_layer", "mkldnn_rnn_layer_backward", "_cudnn_rnn", "_cudnn_rnn_backward",
    "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell",
    "addmm", "mm", "matmul", "linear", "sigmoid", "sigmoid_", "tanh", "tanh_", "relu", "relu_",
)  # fmt: skip
# The ops that name the kernel in a report cell, most telling first.
HEADLINE_OPS = (
    "_cudnn_rnn", "mkldnn_rnn_layer", "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell",
    "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell", "addmm",
)  # fmt: skip


@contextmanager
def kernel_flags(kernel: str) -> Iterator[None]:
    """Run the block with the vendor kernels on (``vendor``) or off (``native``), then restore them.

    The module flags are set directly: ``torch.backends.mkldnn.flags()`` also sets oneDNN's TF32
    flag, which warns on builds without Intel GPU support.
    """
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; choose from {', '.join(KERNELS)}")
    saved = torch.backends.mkldnn.enabled, torch.backends.cudnn.enabled
    on = kernel == "vendor"
    setattr(torch.backends.mkldnn, "enabled", on and bool(saved[0]))  # noqa: B010 (typed as a ContextProp)
    setattr(torch.backends.cudnn, "enabled", on and bool(saved[1]))  # noqa: B010
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled, torch.backends.cudnn.enabled = saved


def kernel_ops(call: Callable[[], object]) -> dict[str, int]:
    """Run ``call`` once under the profiler: ``{aten op: calls}`` for the ops of :data:`KERNEL_OPS`."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        call()
    counts = Counter(name.removeprefix("aten::") for name in op_names(prof) if name.startswith("aten::"))
    return {op: counts[op] for op in KERNEL_OPS if counts[op]}


def op_names(prof: Any) -> list[str]:
    """The names of every op a finished profile recorded.

    Read from the profiler's raw kineto events where they are exposed: ``prof.events()`` builds
    the Python tree of every event first, which costs far more than the list of names (for a call
    of tens of thousands of ops, most of a benchmark's time; the figures: docs/notes/make-costs.md).
    Elsewhere, ``prof.events()``.
    """
    raw = getattr(getattr(prof, "profiler", None), "kineto_results", None)
    if raw is not None and hasattr(raw, "events"):
        return [e.name() for e in raw.events()]
    return [e.name for e in prof.events()]


def kernel_label(ops: dict[str, int]) -> str:
    """A short name of the path that ran, e.g. ``mkldnn_rnn_layer x2`` or ``native: addmm x202``.

    ``not profiled`` without ops (``--metric instructions`` and ``--benchmark-disable`` runs skip the
    profiled call); ``other`` when none of the headline ops ran.
    """
    if not ops:
        return "not profiled"
    for op in HEADLINE_OPS:
        if ops.get(op):
            native = op not in ("_cudnn_rnn", "mkldnn_rnn_layer")
            return f"{'native: ' if native else ''}{op} x{ops[op]}"
    return "other"
