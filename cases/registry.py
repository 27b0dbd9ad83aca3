"""The case record, problem sizes, tolerances and the registry that holds every case."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor, nn

from rnnsuite.vocabulary import DEVICES, torch_dtype
from rnnsuite.vocabulary import DTYPES as DTYPE_NAMES

DTYPES: dict[str, torch.dtype] = {name: torch_dtype(name) for name in DTYPE_NAMES}  # in their order
# The long sequence of the checks at the edges (suite/harness/edges.py): steps, and sequences. A step's error
# is a norm over B x H values: at the tiny size's 3 rows the largest of 1,000 steps' errors is noise; 4 rows
# hold every shipped case within budget, and each row more costs the emulated half-precision references.
LONG_T, LONG_B = 1000, 4


@dataclass(frozen=True, kw_only=True)
class Size:
    """One problem shape: sequence length, batch and feature sizes."""

    seq_len: int
    batch: int
    input_size: int
    hidden_size: int
    num_layers: int = 1
    output_size: int = 0  # classes of a model with an output layer
    vocab_size: int = 0  # rows of an embedding
    heads: int = 1  # heads of a q/k/v model (mLSTM): each of hidden_size / heads

    @property
    def label(self) -> str:
        """A stable, file-name-safe label, e.g. ``T25_B16_I512_H512_L1`` (``_N4`` after it for 4 heads)."""
        heads = f"_N{self.heads}" if self.heads != 1 else ""
        return f"T{self.seq_len}_B{self.batch}_I{self.input_size}_H{self.hidden_size}_L{self.num_layers}{heads}"


@dataclass(frozen=True)
class Tol:
    """Pass where ``|actual - expected| <= atol + rtol * |expected|``."""

    rtol: float
    atol: float
    reason: str = ""

    def for_length(self, steps: int) -> Tol:
        """Widen for ``steps`` chained recurrent steps: rounding accumulates like a random walk.

        The growth is ``sqrt(steps)``, capped at 10 (100 steps): a contractive recurrence
        forgets old rounding, so the error stops growing (the rule: docs/tolerances.md; the errors
        measured against the cap: docs/notes/tolerances.md).
        """
        g = min(math.sqrt(max(steps, 1)), 10.0)
        return replace(self, rtol=self.rtol * g, atol=self.atol * g)


# torch.testing.assert_close's defaults for rtol. The atol of the half types is raised to their
# rtol: an RNN value near zero is a sum of O(1) terms, so its error scales with the terms,
# not with the value (assert_close's 1e-5 is meant for one elementwise op).
DEFAULT_TOL: dict[torch.dtype, Tol] = {
    torch.float64: Tol(1e-7, 1e-7, "torch.testing.assert_close default"),
    torch.float32: Tol(1.3e-6, 1e-5, "torch.testing.assert_close default"),
    torch.bfloat16: Tol(1.6e-2, 1.6e-2, "assert_close rtol; atol raised to rtol"),
    torch.float16: Tol(1e-3, 1e-3, "assert_close rtol; atol raised to rtol"),
}


@dataclass(frozen=True)
class NormFloor:
    """A case's own least norm-wise budget for the gradients of a dtype, in units of u, with its reason."""

    backward_u: float
    reason: str


@dataclass
class Instance:
    """A built model with named inputs, on one device and dtype."""

    model: nn.Module
    inputs: dict[str, Tensor]

    def to(self, device: str, dtype: torch.dtype) -> Instance:
        """A copy on ``device`` (model and inputs, even where nothing changes); floating parameters and
        inputs cast to ``dtype``, inputs detached leaves."""
        model = _copy_module(self.model).to(device=device, dtype=dtype)
        inputs = {
            k: v.detach().to(device=device, dtype=dtype if v.is_floating_point() else v.dtype, copy=True)
            for k, v in self.inputs.items()
        }
        return Instance(model, inputs)

    def numpy_params(self) -> dict[str, np.ndarray]:
        """Parameters as float64 NumPy arrays, by ``named_parameters`` name."""
        return {k: p.detach().cpu().double().numpy() for k, p in self.model.named_parameters()}

    def numpy_inputs(self) -> dict[str, np.ndarray]:
        """Inputs as NumPy arrays (floating ones in float64)."""
        return {
            k: (v.detach().cpu().double() if v.is_floating_point() else v.cpu()).numpy() for k, v in self.inputs.items()
        }


def _copy_module(model: nn.Module) -> nn.Module:
    """A deep copy of a module (parameters included)."""
    import copy

    return copy.deepcopy(model)


# The checks of a matrix point that a case may declare a known defect of (``KnownDefect.check``); each is a
# name of reports/runfile/declared_checks.py (tests/harness/test_case_api.py checks it; cases never import reports).
DEFECT_CHECKS = (
    "forward",
    "backward",
    "determinism",
    "gradcheck",
    "forward_compile",
    "backward_compile",
    "edge_saturated",
    "edge_long",
)


@dataclass(frozen=True, kw_only=True)
class KnownDefect:
    """A defect of a case that is known, declared so that its check is recorded as a known defect, not a failure.

    Strict: the check still runs. While it fails, the result is recorded as a known defect (outcome
    ``known defect``, with the reason and the reproducer); once it passes, the check fails saying
    that the defect no longer shows, until the declaration is removed.

    Args:
        check: the check that shows it, one of :data:`DEFECT_CHECKS`.
        reason: one line: what is wrong and why (the cause, where known).
        reproducer: the path of a standalone script that shows the defect (for an upstream report).
        dtypes: the dtypes it shows in; empty: every dtype of the case.
        modes: the modes (``case(..., modes=)``) it shows in; empty: every mode.
        devices: the devices it shows on; empty: every device.
    """

    check: str
    reason: str
    reproducer: str
    dtypes: tuple[torch.dtype, ...] = ()
    modes: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()

    def applies(self, check: str, device: str, dtype: torch.dtype, mode: str | None) -> bool:
        """Whether this defect is declared for ``check`` of a point (its device, dtype and the case's mode)."""
        return (
            check == self.check
            and (not self.dtypes or dtype in self.dtypes)
            and (not self.devices or device in self.devices)
            and (not self.modes or mode in self.modes)
        )


Arrays = Mapping[str, np.ndarray]
Builder = Callable[..., Instance]  # (size, generator, dtype), and the device where Case.device_builder
Forward = Callable[[nn.Module, Mapping[str, Tensor]], dict[str, Tensor]]
Reference = Callable[[Arrays, Arrays], dict[str, np.ndarray]]
ReferenceGrad = Callable[[Arrays, Arrays, Arrays], dict[str, np.ndarray]]


@dataclass(frozen=True, kw_only=True)
class Case:
    """One model under test: how to build and run it, and what it must compute.

    Args:
        name: stable id (test id, report row).
        summary: one line for the README and reports.
        family: "rnn", "lstm", "gru" or "other"; built-in cases of a family are the
            baseline for its hand-written cells.
        build: ``(size, generator, dtype) -> Instance`` on the CPU, the model constructed in
            ``dtype`` as a user builds it; all randomness comes from the generator. The checks
            build in float64 and round that to each dtype (so every dtype sees the same values);
            the benchmarks time the model built in its dtype (no float64 copy made and freed:
            freeing large buffers changes what glibc's allocator does next; see
            docs/notes/page-faults.md). The suite moves an instance to the device (inputs drawn on the
            CPU do not depend on it), unless ``device_builder``.
        forward: runs the model on its inputs, returns named outputs.
        reference: independent NumPy float64 forward, ``(params, inputs) -> outputs``.
        reference_grad: NumPy backward, ``(params, inputs, output cotangents) -> gradients``
            by parameter and input name; None where only gradcheck covers the case.
        golden: values printed in the chapter, by output name, where it printed some.
        out_shapes: expected output shapes for a size.
        sizes: size presets by name: "tiny" (gradcheck), "seed" (the chapter's), "deepbench",
            "sweep".
        flops: forward matrix FLOPs for a size (a multiply-add counts 2).
        time_axis: the time axis of each output that has one, for naming the bad step.
        baseline: the case this one is timed against at the same shape: a hand-written model's
            built-in (``lstm_cell`` -> ``nn_lstm``), a variant's plain layer (``nn_lstm[bidir]`` ->
            ``nn_lstm``); None for the others. The run file's ``baseline``.
        tol: per-dtype overrides of DEFAULT_TOL, each with a reason.
        norm_floor: per-dtype overrides of the norm-wise budget's floor for gradients
            (``suite/harness/budget.py``), each with a reason.
        grad_unchecked: dtypes whose gradients no reference can judge, each with the reason (the
            backward check skips with it; the forward check still runs).
        fused: runs torch's fused recurrent op (nn.RNN / nn.LSTM / nn.GRU), whose kernel the
            suite's ``--kernel`` option selects (oneDNN or cuDNN, or torch's native one).
        device_builder: ``build`` takes a fourth argument, the device, and builds there: the
            benchmarks time a model constructed on its device, as a user who passes ``device=``
            builds it. The checks still build in float64 on the CPU and move that.
        timed: benchmarked; False keeps a case to the correctness tier.
        untimed: sizes of ``sizes`` that are checked but never benchmarked (a variant's small
            correctness size: its base layer has no benchmark at that shape to be timed against).
        no_grad_inputs: floating inputs that are not differentiable (a mask, a time step, a constant): no
            gradient is asked of them (the backward check, gradcheck, the reference's gradients).
        group: the name the case was declared under: a case of ``modes=`` is ``GROUP.MODE``, one
            case per mode sharing one builder and reference; else the case's own name.
        mode: the mode (one forward of a model with several), or None.
        known_defects: the defects declared for this case's checks (:class:`KnownDefect`).
    """

    name: str
    summary: str
    family: str
    build: Builder
    forward: Forward
    reference: Reference
    reference_grad: ReferenceGrad | None
    out_shapes: Callable[[Size], dict[str, tuple[int, ...]]]
    sizes: Mapping[str, tuple[Size, ...]]
    flops: Callable[[Size], int]
    time_axis: Mapping[str, int] = field(default_factory=dict)
    golden: Mapping[str, np.ndarray] | None = None
    baseline: str | None = None
    devices: tuple[str, ...] = DEVICES
    dtypes: tuple[torch.dtype, ...] = tuple(DTYPES.values())
    tol: Mapping[torch.dtype, Tol] = field(default_factory=dict)
    norm_floor: Mapping[torch.dtype, NormFloor] = field(default_factory=dict)
    grad_unchecked: Mapping[torch.dtype, str] = field(default_factory=dict)
    fused: bool = False
    device_builder: bool = False
    timed: bool = True
    untimed: tuple[Size, ...] = ()
    no_grad_inputs: tuple[str, ...] = ()
    group: str = ""
    mode: str | None = None
    known_defects: tuple[KnownDefect, ...] = ()

    def tolerance(self, dtype: torch.dtype, size: Size) -> Tol:
        """The tolerance for ``dtype``: the case's override or the length-aware default."""
        if dtype in self.tol:
            return self.tol[dtype]
        return DEFAULT_TOL[dtype].for_length(size.seq_len * size.num_layers)

    def size(self, preset: str = "seed") -> Size:
        """The first size of a preset."""
        return self.sizes[preset][0]

    def known_defect(self, check: str, device: str, dtype: torch.dtype) -> KnownDefect | None:
        """The defect declared for ``check`` at this device and dtype (in this case's mode), or None."""
        return next((d for d in self.known_defects if d.applies(check, device, dtype, self.mode)), None)

    def long_size(self) -> Size:
        """The long sequence of the checks at the edges: the ``"long"`` preset, else the tiny size's widths at
        :data:`LONG_T` steps and :data:`LONG_B` sequences."""
        if "long" in self.sizes:
            return self.sizes["long"][0]
        return replace(self.size("tiny"), seq_len=LONG_T, batch=LONG_B)

    def timed_sizes(self, preset: str) -> tuple[Size, ...]:
        """The sizes of a preset that are benchmarked (none for a case that is not ``timed``)."""
        if not self.timed:
            return ()
        return tuple(s for s in self.sizes.get(preset, ()) if s not in self.untimed)


CASES: dict[str, Case] = {}


def flops_not_reported(size: Size) -> int:
    """A case declared without ``flops=``: 0, which the reports show as no GFLOP/s (not a completeness failure)."""
    return 0


def register(case: Case) -> Case:
    """Add a case to the registry (its ``group`` its own name unless set); a duplicate name is an error."""
    if not case.group:
        case = replace(case, group=case.name)
    if case.name in CASES:
        raise ValueError(f"duplicate case name {case.name!r}")
    for dtype, tol in case.tol.items():
        if not tol.reason:
            raise ValueError(f"case {case.name!r}: tolerance override for {dtype} has no reason")
    for dtype, floor in case.norm_floor.items():
        if not floor.reason:
            raise ValueError(f"case {case.name!r}: norm-wise floor for {dtype} has no reason")
    CASES[case.name] = case
    return case


def uniform_(model: nn.Module, gen: torch.Generator, bound: float | None = None) -> nn.Module:
    """Re-draw every parameter from U(-k, k) with ``gen`` (k = 1/sqrt(fan_in) by default)."""
    with torch.no_grad():
        for p in model.parameters():
            k = bound if bound is not None else 1.0 / math.sqrt(p.shape[-1])
            p.uniform_(-k, k, generator=gen)
    return model


def randn(gen: torch.Generator, *shape: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """Standard normal CPU tensor from ``gen`` (float64 unless ``dtype`` says otherwise)."""
    return torch.randn(*shape, generator=gen, dtype=dtype)
