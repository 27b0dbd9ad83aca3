"""The public case API: how a user's own RNN becomes a case of the suite, with no edit to ``cases/``.

A user module calls :func:`case` once per model (importing the module registers them), and is
loaded with ``pytest suite --cases MODULE`` or through the entry-point group ``rnnsuite.cases``
(``cases/load.py``). The README's "Checking your own RNN" shows it whole. In short::

    from rnnsuite.cases.api import Instance, case, same_as

    def build(size, gen, dtype):       # one builder: the model and its inputs in ``dtype``
        ...                            # (add ``device="cpu"`` to build on the device yourself)
        return Instance(model, {"x": x, "h0": h0, "c0": c0})

    def forward(model, inputs):        # named outputs
        ...
        return {"output": out, "h_n": h, "c_n": c}

    def to_lstm(p):                    # the user's parameters -> nn.LSTM's, written in torch
        return {"weight_ih_l0": torch.cat([p["w_ii"], p["w_if"], p["w_ig"], p["w_io"]]), ...}

    case("my_lstm", build, forward, same_as=same_as(nn.LSTM, to_lstm))

Expected values come from one of three places:

- ``same_as``: a built-in (``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``, a layer, or the cell classes,
  with options). The suite's NumPy reference runs on the mapped parameters; the expected
  gradients of the user's parameters are the reference's gradients pulled back through the map as
  a vector-Jacobian product in float64, so any differentiable map works (per-gate matrices,
  concatenations, transposes, scalings, tied weights).
- ``reference`` (and ``reference_grad``): the user's own NumPy float64 forward (and backward),
  checked against finite differences like the shipped references.
- neither: no reference. Each dtype is then judged against the model's own float64 run, with
  the budgets' floors (there is no emulated reference to widen them); gradients by the float64
  gradcheck only; the summary says "no reference".

Everything a user gives is checked when it runs: an exception from their builder, forward or map
becomes a failed check that names the case and what is wrong (:class:`CaseError`), never a
traceback from inside the harness.

The shipped cases are declared with this API too (``cases/sequence.py``, ``cases/variants.py``,
``cases/chapter.py``, ``cases/tagger.py``): what a user writes is what the suite itself is written in.
The map and the expected values are in ``cases/mapping.py``, the checks of the user's code in
``cases/user_code.py``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

import numpy as np
import torch

from rnnsuite.cases import layers
from rnnsuite.cases.mapping import SameAs, same_as, same_as_reference, same_as_reference_grad
from rnnsuite.cases.registry import (
    CASES,
    DEVICES,
    DTYPES,
    Case,
    Instance,
    NormFloor,
    Reference,
    ReferenceGrad,
    Size,
    Tol,
    register,
)
from rnnsuite.cases.sizes import cell_presets
from rnnsuite.cases.user_code import (
    CaseError,
    UserBuild,
    UserForward,
    checked_build,
    checked_forward,
    own_float64_run,
    shapes_from_run,
    takes_device,
)

__all__ = [
    "CaseError",
    "Instance",
    "SameAs",
    "Size",
    "Tol",
    "case",
    "same_as",
    "same_as_reference",
    "same_as_reference_grad",
]

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\[\].]*")


def case(
    name: str,
    build: UserBuild,
    forward: UserForward,
    *,
    same_as: SameAs | None = None,
    reference: Reference | None = None,
    reference_grad: ReferenceGrad | None = None,
    family: str | None = None,
    summary: str = "",
    sizes: Mapping[str, tuple[Size, ...]] | None = None,
    out_shapes: Callable[[Size], dict[str, tuple[int, ...]]] | None = None,
    flops: Callable[[Size], int] | None = None,
    baseline: str | None = None,
    time_axis: Mapping[str, int] | None = None,
    golden: Mapping[str, np.ndarray] | None = None,
    fused: bool = False,
    tol: Mapping[torch.dtype, Tol] | None = None,
    norm_floor: Mapping[torch.dtype, NormFloor] | None = None,
    grad_unchecked: Mapping[torch.dtype, str] | None = None,
    dtypes: tuple[torch.dtype, ...] = tuple(DTYPES.values()),
    devices: tuple[str, ...] = DEVICES,
    timed: bool = True,
    untimed: tuple[Size, ...] = (),
) -> Case:
    """Declare and register one case of a model (a user's, or a shipped one); returns it.

    Args:
        name: the case's id: letters, digits, ``_``, ``.`` and brackets (no ``-``: it separates
            the parts of a benchmark key); must not clash with a shipped case.
        build: ``(size, generator, dtype) -> Instance(model, inputs)``, the model and floating inputs
            in ``dtype``; all randomness from the generator (a CPU generator: draw on the CPU, then
            move). Without a ``device`` parameter it builds on the CPU and the suite moves the
            instance to the device; with one (``build(size, gen, dtype, device="cpu")``) it builds
            there, and the benchmarks time the model as constructed on its device (the run file's
            ``built`` says which). The same builder makes the float64 instance the references read
            (on the CPU) and the instance the benchmarks time.
        forward: ``(model, inputs) -> {output name: tensor}``.
        same_as: expected values from a built-in (:func:`same_as`); inputs are then named as the
            built-in's (``x``; ``h0`` and, for an LSTM, ``c0``; layer states ``(L*D, B, H)``, cell
            states ``(B, H)``) and so are the outputs (``output``, ``h_n``, ``c_n``).
        reference: the user's NumPy float64 forward, ``(params, inputs) -> outputs`` (instead of
            ``same_as``).
        reference_grad: its backward, ``(params, inputs, output cotangents) -> gradients`` by
            parameter and input name; None leaves the gradients to the float64 gradcheck.
        family: "rnn", "lstm", "gru" or "other"; default: the ``same_as`` built-in's.
        sizes: size presets ("tiny" for gradcheck, "seed", "deepbench", "sweep"); default: the
            one-layer presets of the family (``cases/sizes.py``).
        out_shapes: output shapes for a size; default: the built-in's, or one float64 run's.
        flops: forward matrix FLOPs for a size; default: the built-in's (else not reported).
        baseline: the shipped case the benchmarks set this one beside; default: the ``same_as``
            built-in's layer case (``nn_lstm``, ``nn_lstm[bidir]``), none where that is the case
            itself. Checked when the module that declares the case is loaded (``cases/load.py``).
        golden: values printed somewhere (a book, a paper), by output name, checked beside the
            reference.
        fused: the model runs torch's fused recurrent op (nn.RNN / nn.LSTM / nn.GRU), so the
            ``--kernel`` option selects its kernel and the autocast checks run it.
        time_axis, tol, norm_floor, grad_unchecked, dtypes, devices, timed, untimed: as on
            :class:`Case` (``untimed``: sizes checked but never timed, e.g. a small first "seed" size
            for the checks before the seed size the benchmarks set beside the built-in).

    Raises:
        CaseError: one line naming the case and what is wrong (a bad name, a clash with a shipped
            case, a missing size preset).
    """
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise CaseError(f"case {name!r}: a name is letters, digits, '_', '.' and brackets (no '-')")
    if name in CASES:
        raise CaseError(f"case {name!r}: the name clashes with a case already registered (shipped or loaded)")
    if same_as is not None and reference is not None:
        raise CaseError(f"case {name!r}: give same_as or reference, not both")
    no_reference = same_as is None and reference is None
    if no_reference and reference_grad is not None:
        raise CaseError(f"case {name!r}: reference_grad without a reference")
    fam = family or (same_as.family if same_as is not None else "other")
    if sizes is None:
        if fam not in ("rnn", "lstm", "gru"):
            raise CaseError(
                f"case {name!r}: family {fam!r} has no default sizes; give sizes={{'tiny': ..., 'seed': ...}}"
            )
        sizes = cell_presets(fam)
    missing = [p for p in ("tiny", "seed") if p not in sizes]
    if missing:
        raise CaseError(f"case {name!r}: sizes has no {' or '.join(missing)} preset")
    if same_as is not None:
        v = same_as.variant
        reference = functools.partial(same_as_reference, name, same_as)
        reference_grad = functools.partial(same_as_reference_grad, name, same_as)
        if out_shapes is None:
            out_shapes = (
                functools.partial(layers.cell_shapes, fam)
                if same_as.cell
                else functools.partial(layers.layer_shapes, v, fam)
            )
        if flops is None:
            flops = (
                functools.partial(layers.cell_flops, fam)
                if same_as.cell
                else functools.partial(layers.layer_flops, v, fam)
            )
        if baseline is None and same_as.baseline() != name:  # a built-in is not timed against itself
            baseline = same_as.baseline()
        if time_axis is None:
            time_axis = {"output": 1 if same_as.options.get("batch_first") else 0}
    on_device = takes_device(build)
    if reference is None:  # no reference: judged against its own float64 run; gradients by gradcheck only
        reference = functools.partial(own_float64_run, name)
        summary = (summary or name) + " (no reference: judged against its own float64 run)"
    return register(
        Case(
            name=name,
            summary=summary or (f"{name}, same as {same_as.title}" if same_as else name),
            family=fam,
            build=functools.partial(checked_build, name, build, on_device),
            device_builder=on_device,
            forward=functools.partial(checked_forward, name, forward),
            reference=reference,
            reference_grad=reference_grad,
            out_shapes=out_shapes or functools.partial(shapes_from_run, name),
            sizes=sizes,
            flops=flops or (lambda size: 0),
            time_axis=time_axis or {},
            golden=golden,
            baseline=baseline,
            tol=tol or {},
            norm_floor=norm_floor or {},
            grad_unchecked=grad_unchecked or {},
            dtypes=dtypes,
            devices=devices,
            timed=timed,
            untimed=untimed,
            fused=fused,
        )
    )
