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
  checked against finite differences like the shipped references. Without ``reference_grad`` the
  gradients are judged against the model's own float64 autograd (itself compared with finite
  differences of ``reference``).
- neither: no reference. Each dtype is then judged against the model's own float64 run, with
  the budgets' floors (there is no emulated reference to widen them); gradients by the float64
  gradcheck only; the summary says "no reference".

A model with several forwards (a parallel scan and a recurrent step, chunked and sequential) is one
case with ``modes``; a defect already known is declared with ``known_defects``::

    case("min_gru", build, modes={"parallel": parallel, "sequential": sequential}, reference=numpy_min_gru,
         known_defects=[known_defect("forward", dtypes=("bfloat16", "float16"), modes=("parallel",),
                                     reason="the log-space scan's error grows with the position",
                                     reproducer="docs/zoo/min_gru_scan.py")])

- ``modes={name: forward}`` (instead of the forward): one builder, one reference, one case per mode named
  ``NAME.MODE`` (``min_gru.parallel``; ``Case.group`` and ``Case.mode`` say which), each checked against
  the one reference and timed beside the others. The modes share each build; a case without a reference
  is judged against its first mode's float64 run. Each forward check records the output's norm-wise
  error in u at positions 1, 10, 100 and 1000 where the sequence is that long (the run file's
  ``err_at``, and ``case_mode``), so a report can set the modes side by side with their time.
- ``known_defects=[known_defect(check, reason=, reproducer=, dtypes=, modes=, devices=)]``: strict. The
  check still runs; while it fails, its record's outcome is ``known defect`` (with the reason and the
  reproducer; pytest shows an xfail); once it passes, it fails saying the defect no longer shows, until
  the declaration is removed. ``check`` is one of ``DEFECT_CHECKS`` (``forward``, ``backward``, ...);
  empty ``dtypes`` / ``modes`` / ``devices`` mean all.

Also: ``no_grad_inputs=`` (inputs not differentiable), ``sizes=one_width_sizes(heads=)`` (a model of one
width, or of q/k/v heads), ``flops=`` optional (not reported without it). Every case also gets the
checks at the edges (saturated gates, a sequence of 1,000 steps; ``suite/harness/edges.py``) and runs
with uninitialised memory poisoned with NaN; its warnings are recorded on its checks, not fatal.
docs/cases.md is the reference of every keyword.

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
    DEFECT_CHECKS,
    DEVICES,
    DTYPES,
    Case,
    Instance,
    KnownDefect,
    NormFloor,
    Reference,
    ReferenceGrad,
    Size,
    Tol,
    flops_not_reported,
    register,
)
from rnnsuite.cases.sizes import cell_presets, one_width_presets
from rnnsuite.cases.user_code import (
    CaseError,
    UserBuild,
    UserForward,
    checked_build,
    checked_forward,
    own_float64_grads,
    own_float64_run,
    shapes_from_run,
    takes_device,
)

__all__ = [
    "CaseError",
    "Instance",
    "KnownDefect",
    "SameAs",
    "Size",
    "Tol",
    "case",
    "known_defect",
    "one_width_sizes",
    "same_as",
    "same_as_reference",
    "same_as_reference_grad",
]

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\[\].]*")


MODE = re.compile(r"[A-Za-z0-9_]+")


def one_width_sizes(heads: int = 1) -> dict[str, tuple[Size, ...]]:
    """Size presets for ``sizes=`` of a one-width model (minGRU: ``input_size == hidden_size``), with ``heads``
    heads of ``hidden_size / heads`` for a q/k/v model (mLSTM; ``size.heads``): tiny 8 wide, seed 32, the
    DeepBench LSTM shapes and the sweep's square ones. No family is needed.

    Raises:
        CaseError: ``heads`` is not 1, 2, 4 or 8.
    """
    try:
        return one_width_presets(heads)
    except ValueError as exc:
        raise CaseError(f"one_width_sizes: {exc}") from None


def known_defect(
    check: str,
    *,
    reason: str,
    reproducer: str,
    dtypes: tuple[torch.dtype | str, ...] = (),
    modes: tuple[str, ...] = (),
    devices: tuple[str, ...] = (),
) -> KnownDefect:
    """A known defect of a case, for ``case(..., known_defects=[...])`` (:class:`KnownDefect`).

    Args:
        check: the check that shows it: ``forward``, ``backward``, ``determinism``, ``gradcheck``,
            ``forward_compile``, ``backward_compile``, ``edge_saturated`` or ``edge_long``.
        reason: one line: what is wrong, and the cause where known.
        reproducer: the path of a standalone script that shows it.
        dtypes: where it shows (``torch.float16`` or ``"float16"``); empty: every dtype.
        modes: the modes of a ``modes=`` case it shows in; empty: every mode.
        devices: ``"cpu"``, ``"cuda"``; empty: both.

    Raises:
        CaseError: one line: an unknown check, dtype or device, or an empty reason or reproducer.
    """
    if check not in DEFECT_CHECKS:
        raise CaseError(f"known_defect: check {check!r} is not one of {', '.join(DEFECT_CHECKS)}")
    for what, text in (("reason", reason), ("reproducer", reproducer)):
        if not isinstance(text, str) or not text.strip() or "\n" in text:
            raise CaseError(f"known_defect({check!r}): the {what} must be one non-empty line")
    bad = [str(d) for d in dtypes if (DTYPES.get(d) if isinstance(d, str) else d) not in DTYPES.values()]
    bad += [repr(d) for d in devices if d not in DEVICES]
    if bad:
        raise CaseError(f"known_defect({check!r}): unknown {', '.join(bad)}")
    return KnownDefect(
        check=check,
        reason=reason.strip(),
        reproducer=reproducer.strip(),
        dtypes=tuple(DTYPES[d] if isinstance(d, str) else d for d in dtypes),
        modes=tuple(modes),
        devices=tuple(devices),
    )


def _modes(
    name: str, forward: UserForward | None, modes: Mapping[str, UserForward] | None
) -> dict[str | None, UserForward]:
    """The forwards of a case by mode (None: a case of one forward), checked."""
    if (forward is None) == (modes is None):
        raise CaseError(f"case {name!r}: give a forward or modes={{name: forward, ...}}, one of them")
    if modes is None:
        return {None: forward}  # type: ignore[dict-item]
    if not isinstance(modes, Mapping) or not modes:
        raise CaseError(f"case {name!r}: modes must be a non-empty dict of name -> forward")
    for mode, fn in modes.items():
        if not isinstance(mode, str) or not MODE.fullmatch(mode):
            raise CaseError(f"case {name!r}: mode {mode!r}: a mode is letters, digits and '_'")
        if not callable(fn):
            raise CaseError(f"case {name!r}: mode {mode!r}: the forward is not callable")
    out: dict[str | None, UserForward] = {}
    out.update(modes)
    return out


def _check_defects(name: str, defects: tuple[KnownDefect, ...], modes: Mapping[str | None, UserForward]) -> None:
    for d in defects:
        if not isinstance(d, KnownDefect):
            raise CaseError(f"case {name!r}: known_defects holds {type(d).__name__}, not known_defect(...)")
        unknown = [m for m in d.modes if m not in modes]
        if unknown:
            raise CaseError(f"case {name!r}: known defect of {d.check!r} names mode {unknown[0]!r}, not a mode of it")


def case(
    name: str,
    build: UserBuild,
    forward: UserForward | None = None,
    *,
    modes: Mapping[str, UserForward] | None = None,
    known_defects: tuple[KnownDefect, ...] | list[KnownDefect] = (),
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
    no_grad_inputs: tuple[str, ...] = (),
) -> Case:
    """Declare and register one case of a model (a user's, or a shipped one); returns it (with ``modes``, the
    first mode's case: every mode is registered).

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
        forward: ``(model, inputs) -> {output name: tensor}``; or give ``modes``.
        modes: several forwards of the one model, ``{mode: forward}`` (a mode is letters, digits and
            ``_``): a case ``NAME.MODE`` per mode, sharing the builder, its builds and the reference.
        known_defects: :func:`known_defect` declarations (strict: see the module's docstring).
        same_as: expected values from a built-in (:func:`same_as`); inputs are then named as the
            built-in's (``x``; ``h0`` and, for an LSTM, ``c0``; layer states ``(L*D, B, H)``, cell
            states ``(B, H)``) and so are the outputs (``output``, ``h_n``, ``c_n``).
        reference: the user's NumPy float64 forward, ``(params, inputs) -> outputs`` (instead of
            ``same_as``).
        reference_grad: its backward, ``(params, inputs, output cotangents) -> gradients`` by
            parameter and input name; None (with ``reference``): the gradients are judged against the
            model's own float64 autograd (checked in turn against finite differences of ``reference``).
        family: "rnn", "lstm", "gru" or "other"; default: the ``same_as`` built-in's.
        sizes: size presets ("tiny" for gradcheck, "seed", "deepbench", "sweep"; "long" for the long
            sequence of the checks at the edges, default the tiny widths at T 1000, B 16); default: the
            one-layer presets of the family (``cases/sizes.py``); :func:`one_width_sizes` for a model of
            one width or of q/k/v heads.
        out_shapes: output shapes for a size; default: the built-in's, or one float64 run's.
        flops: forward matrix FLOPs for a size; default: the built-in's (else not reported).
        baseline: the shipped case the benchmarks set this one beside; default: the ``same_as``
            built-in's layer case (``nn_lstm``, ``nn_lstm[bidir]``), none where that is the case
            itself. Checked when the module that declares the case is loaded (``cases/load.py``).
        golden: values printed somewhere (a book, a paper), by output name, checked beside the
            reference.
        fused: the model runs torch's fused recurrent op (nn.RNN / nn.LSTM / nn.GRU), so the
            ``--kernel`` option selects its kernel and the autocast checks run it.
        no_grad_inputs: names of floating inputs that are not differentiable (a mask, a time step): no
            gradient is asked of them by the backward check or gradcheck.
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
    forwards = _modes(name, forward, modes)
    defects = tuple(known_defects)
    _check_defects(name, defects, forwards)
    names = {m: name if m is None else f"{name}.{m}" for m in forwards}
    clash = [n for n in names.values() if n in CASES]
    if clash:
        raise CaseError(f"case {clash[0]!r}: the name clashes with a case already registered (shipped or loaded)")
    on_device = takes_device(build)
    first = next(iter(names.values()))
    if reference is not None and reference_grad is None and same_as is None:
        reference_grad = functools.partial(own_float64_grads, first)  # its own float64 autograd (friction: no backward)
        summary = (summary or name) + " (gradients against its own float64 autograd)"
    if reference is None:  # no reference: judged against its own (first mode's) float64 run; gradients by gradcheck
        reference = functools.partial(own_float64_run, first)
        whose = "its" if modes is None else f"mode {next(iter(forwards))}'s"
        summary = (summary or name) + f" (no reference: judged against {whose} own float64 run)"
    shared = functools.partial(checked_build, name, build, on_device)  # one builder: the modes share its builds
    registered = [
        register(
            Case(
                name=names[m],
                summary=(summary or (f"{name}, same as {same_as.title}" if same_as else name))
                + ("" if m is None else f"; mode {m}"),
                family=fam,
                build=shared,
                device_builder=on_device,
                forward=functools.partial(checked_forward, names[m], fn),
                reference=reference,
                reference_grad=reference_grad,
                out_shapes=out_shapes or functools.partial(shapes_from_run, names[m]),
                sizes=sizes,
                flops=flops or flops_not_reported,
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
                no_grad_inputs=tuple(no_grad_inputs),
                group=name,
                mode=m,
                known_defects=tuple(d for d in defects if not d.modes or m in d.modes),
            )
        )
        for m, fn in forwards.items()
    ]
    return registered[0]
