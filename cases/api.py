"""The public case API: how a user's own RNN becomes a case of the suite, with no edit to ``cases/``.

A user module calls :func:`case` once per model (importing the module registers them), and is
loaded with ``pytest suite --cases MODULE`` or through the entry-point group ``rnnsuite.cases``
(``cases/load.py``). The README's "Checking your own RNN" shows it whole. In short::

    from cases.api import Instance, case, same_as

    def build(size, gen, dtype):       # one builder: the model and its inputs in ``dtype``
        ...
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
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from cases import variants
from cases.registry import (
    CASES,
    DEVICES,
    DTYPES,
    Arrays,
    Case,
    Instance,
    NormFloor,
    Reference,
    ReferenceGrad,
    Size,
    Tol,
    register,
)
from cases.rounding import Rounded, rounded
from cases.sizes import cell_presets

__all__ = ["CaseError", "Instance", "SameAs", "Size", "Tol", "case", "same_as"]

UserBuild = Callable[[Size, torch.Generator, torch.dtype], Instance]
UserForward = Callable[[nn.Module, Mapping[str, Tensor]], Mapping[str, Tensor]]
ParamMap = Callable[[Mapping[str, Tensor]], Mapping[str, Tensor]]

BUILTINS: dict[type[nn.Module], tuple[str, bool]] = {
    nn.RNN: ("rnn", False),
    nn.LSTM: ("lstm", False),
    nn.GRU: ("gru", False),
    nn.RNNCell: ("rnn", True),
    nn.LSTMCell: ("lstm", True),
    nn.GRUCell: ("gru", True),
}
# Options of the built-ins the references cover (proj_size and dropout are not offered here).
OPTIONS = {"bias", "batch_first", "bidirectional", "nonlinearity"}
CELL_OPTIONS = {"bias", "nonlinearity"}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\[\].]*")


class CaseError(Exception):
    """A user case that is wrong: the message names the case and what is wrong, in one line."""


@dataclass(frozen=True)
class SameAs:
    """Expected values from a built-in module, through a map of parameters.

    Args:
        module: ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` or one of their cell classes.
        params: ``(the user's named parameters) -> (the built-in's named parameters)``, in torch and
            differentiable (it is run in float64 on the user's parameters).
        options: keyword arguments of the built-in (``bias``, ``batch_first``, ``bidirectional``,
            ``nonlinearity``).
    """

    module: type[nn.Module]
    params: ParamMap
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> str:
        return BUILTINS[self.module][0]

    @property
    def cell(self) -> bool:
        return BUILTINS[self.module][1]

    @property
    def title(self) -> str:
        return f"nn.{self.module.__name__}"

    @property
    def variant(self) -> variants.Variant:
        return variants.Variant(tag="same_as", summary=self.title, options=dict(self.options))

    def baseline(self) -> str:
        """The shipped case this one is timed against: the built-in layer of its family (its variant)."""
        name = f"nn_{self.family}"
        return f"{name}[bidir]" if self.options.get("bidirectional") else name


def same_as(module: type[nn.Module], params: ParamMap, **options: Any) -> SameAs:
    """Expected values from ``module`` (a built-in RNN, LSTM or GRU layer or cell) with ``options``.

    Raises:
        CaseError: not a built-in the suite has a reference for, or an option it does not cover.
    """
    if module not in BUILTINS:
        names = ", ".join(f"nn.{m.__name__}" for m in BUILTINS)
        raise CaseError(f"same_as: {module!r} is not one of {names}")
    allowed = CELL_OPTIONS if BUILTINS[module][1] else OPTIONS
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise CaseError(
            f"same_as(nn.{module.__name__}): option {', '.join(unknown)} not covered; use {sorted(allowed)}"
        )
    if not callable(params):
        raise CaseError(f"same_as(nn.{module.__name__}): params must be a function of the parameters")
    return SameAs(module, params, options)


# ----------------------------------------------------------------------------- the parameter map


def _storage(arrays: Arrays) -> str | None:
    """The emulated dtype of a reference run in rounded arithmetic (``cases/rounding.py``), else None."""
    for a in arrays.values():
        if isinstance(a, Rounded):
            return type(a).storage
    return None


def _plain(a: np.ndarray) -> np.ndarray:
    return np.array(a.view(np.ndarray) if isinstance(a, Rounded) else a, dtype=np.float64)


def _expected_params(sa: SameAs, inputs: Arrays, mapped: Mapping[str, Tensor]) -> dict[str, tuple[int, ...]]:
    """The built-in's parameter names and shapes for these inputs (built on the meta device)."""
    x = inputs["x"]
    features = x.shape[-1]
    opts = dict(sa.options)
    hh = next((t for k, t in mapped.items() if k.startswith("weight_hh")), None)
    if "h0" in inputs:
        hidden = inputs["h0"].shape[-1]
    elif hh is not None:
        hidden = hh.shape[-1]
    else:
        return {}
    if sa.cell:
        module = sa.module(features, hidden, device="meta", **opts)
    else:
        directions = 2 if opts.get("bidirectional") else 1
        if "h0" in inputs:
            layers = inputs["h0"].shape[0] // directions
        else:
            layers = max(1, sum(1 for k in mapped if k.startswith("weight_ih_l")) // directions)
        module = sa.module(features, hidden, layers, device="meta", **opts)
    return {k: tuple(p.shape) for k, p in module.named_parameters()}


def _map(name: str, sa: SameAs, params: Mapping[str, Tensor], inputs: Arrays) -> dict[str, Tensor]:
    """The user's map applied and checked: every built-in parameter set, each of its shape."""
    try:
        mapped = dict(sa.params(params))
    except Exception as exc:
        raise CaseError(f"case {name!r}: the parameter map to {sa.title} raised {_one_line(exc)}") from None
    want = _expected_params(sa, inputs, mapped)
    missing = [k for k in want if k not in mapped]
    if missing:
        raise CaseError(f"case {name!r}: the parameter map to {sa.title} leaves {', '.join(missing)} unset")
    extra = [k for k in mapped if k not in want]
    if extra:
        raise CaseError(f"case {name!r}: the parameter map gives {', '.join(extra)}, which {sa.title} does not have")
    for k, shape in want.items():
        got = tuple(mapped[k].shape) if isinstance(mapped[k], Tensor) else None
        if got != shape:
            raise CaseError(f"case {name!r}: the parameter map gives {k} shape {got}, where {sa.title} has {shape}")
    return mapped


def _torch_params(params: Arrays, grad: bool = False) -> dict[str, Tensor]:
    return {k: torch.from_numpy(_plain(v)).requires_grad_(grad) for k, v in params.items()}


def _numpy(mapped: Mapping[str, Tensor], storage: str | None) -> dict[str, np.ndarray]:
    out = {k: v.detach().numpy() for k, v in mapped.items()}
    return {k: rounded(v, storage) for k, v in out.items()} if storage else out


def _builtin_reference(sa: SameAs) -> tuple[Callable[..., dict[str, np.ndarray]], Callable[..., dict[str, np.ndarray]]]:
    """The shipped NumPy forward and backward of the built-in, taking the variant of each call's inputs."""
    if sa.cell:
        return variants.cell_reference, variants.cell_reference_grad
    return variants.layer_reference, variants.layer_reference_grad


def _variant(sa: SameAs, inputs: Arrays) -> variants.Variant:
    """The built-in's variant for these inputs (an omitted ``h0`` starts from zeros, as the built-in does)."""
    return variants.Variant(tag="same_as", summary=sa.title, options=dict(sa.options), h0="h0" in inputs)


def same_as_reference(name: str, sa: SameAs, params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """Expected outputs: the built-in's NumPy reference on the mapped parameters."""
    storage = _storage(params)
    mapped = _numpy(_map(name, sa, _torch_params(params), inputs), storage)
    fwd, _ = _builtin_reference(sa)
    return fwd(_variant(sa, inputs), sa.family, mapped, inputs)


def same_as_reference_grad(name: str, sa: SameAs, params: Arrays, inputs: Arrays, cot: Arrays) -> dict[str, np.ndarray]:
    """Expected gradients: the built-in's, pulled back through the map (a float64 vector-Jacobian product)."""
    storage = _storage(params)
    leaves = _torch_params(params, grad=True)
    with torch.enable_grad():
        mapped = _map(name, sa, leaves, inputs)
        _, bwd = _builtin_reference(sa)
        g = bwd(_variant(sa, inputs), sa.family, _numpy(mapped, storage), inputs, cot)
        names = [k for k in mapped if mapped[k].requires_grad]
        pulled = torch.autograd.grad(
            [mapped[k] for k in names],
            list(leaves.values()),
            [torch.from_numpy(_plain(g[k])) for k in names],
            allow_unused=True,
        )
    out = {k: (np.zeros(v.shape) if d is None else d.numpy()) for (k, v), d in zip(leaves.items(), pulled, strict=True)}
    return out | {k: g[k] for k in inputs if k in g}


# ------------------------------------------------------------------------------ no reference


@functools.lru_cache(maxsize=16)
def _float64_model(name: str, size: Size) -> nn.Module:
    return CASES[name].build(size, torch.Generator().manual_seed(0), torch.float64).model


def _size_of(name: str, inputs: Arrays) -> Size:
    """The size of the case whose float64 build has inputs of these shapes."""
    shapes = {k: tuple(np.shape(v)) for k, v in inputs.items()}
    for size in dict.fromkeys(s for sizes in CASES[name].sizes.values() for s in sizes):
        built = CASES[name].build(size, torch.Generator().manual_seed(0), torch.float64).inputs
        if {k: tuple(v.shape) for k, v in built.items()} == shapes:
            return size
    raise CaseError(f"case {name!r}: no size of the case has inputs of shapes {shapes}")


def own_float64_run(name: str, params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """A case with no reference: its own forward in float64 on these parameters and inputs.

    Run under the emulated precision too, it stays float64, so each dtype is judged against the
    float64 run with the budgets' floors (the emulated error is 0).
    """
    model = _float64_model(name, _size_of(name, inputs))
    with torch.no_grad():
        for k, p in model.named_parameters():
            p.copy_(torch.from_numpy(_plain(params[k])))
    tensors = {
        k: torch.from_numpy(_plain(v) if np.issubdtype(np.asarray(v).dtype, np.floating) else np.asarray(v))
        for k, v in inputs.items()
    }
    with torch.no_grad():
        out = CASES[name].forward(model, tensors)
    return {k: v.double().numpy() for k, v in out.items()}


# --------------------------------------------------------------------------------- the user's code


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return (text.splitlines() or [text])[0][:300]


def _checked_build(name: str, build: UserBuild, size: Size, gen: torch.Generator, dtype: torch.dtype) -> Instance:
    try:
        inst = build(size, gen, dtype)
    except Exception as exc:
        raise CaseError(f"case {name!r}: the builder raised {_one_line(exc)}") from None
    if not isinstance(inst, Instance):
        raise CaseError(f"case {name!r}: the builder returned {type(inst).__name__}, not an Instance(model, inputs)")
    return inst


def _checked_forward(
    name: str, forward: UserForward, model: nn.Module, inputs: Mapping[str, Tensor]
) -> dict[str, Tensor]:
    try:
        out = forward(model, inputs)
    except Exception as exc:
        raise CaseError(f"case {name!r}: the forward raised {_one_line(exc)}") from None
    if not isinstance(out, Mapping) or not all(isinstance(v, Tensor) for v in out.values()):
        raise CaseError(f"case {name!r}: the forward must return a dict of named tensors, got {type(out).__name__}")
    return dict(out)


@functools.lru_cache(maxsize=64)
def _run_shapes(name: str, size: Size) -> tuple[tuple[str, tuple[int, ...]], ...]:
    case_ = CASES[name]
    inst = case_.build(size, torch.Generator().manual_seed(0), torch.float64)
    with torch.no_grad():
        out = case_.forward(inst.model, inst.inputs)
    return tuple((k, tuple(v.shape)) for k, v in out.items())


def _shapes_from_run(name: str, size: Size) -> dict[str, tuple[int, ...]]:
    """Output shapes taken from one float64 run of the case at ``size``."""
    return dict(_run_shapes(name, size))


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
    tol: Mapping[torch.dtype, Tol] | None = None,
    norm_floor: Mapping[torch.dtype, NormFloor] | None = None,
    grad_unchecked: Mapping[torch.dtype, str] | None = None,
    dtypes: tuple[torch.dtype, ...] = tuple(DTYPES.values()),
    devices: tuple[str, ...] = DEVICES,
    timed: bool = True,
    untimed: tuple[Size, ...] = (),
) -> Case:
    """Declare and register one case of a user's model; returns it.

    Args:
        name: the case's id: letters, digits, ``_``, ``.`` and brackets (no ``-``: it separates
            the parts of a benchmark key); must not clash with a shipped case.
        build: ``(size, generator, dtype) -> Instance(model, inputs)`` on the CPU, the model and
            floating inputs in ``dtype``; all randomness from the generator. The suite moves it to
            the device. The same builder makes the float64 instance the references read and the
            instance the benchmarks time.
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
            built-in's layer case (``nn_lstm``, ``nn_lstm[bidir]``).
        time_axis, tol, norm_floor, grad_unchecked, dtypes, devices, timed, untimed: as on
            :class:`Case` (``untimed``: sizes checked but never timed, e.g. a small first "seed" size
            for the checks before the seed size the benchmarks set beside the built-in).

    Raises:
        CaseError: one line naming the case and what is wrong (a bad name, a clash with a shipped
            case, no expected values, a missing size preset).
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
                functools.partial(variants.cell_shapes, fam)
                if same_as.cell
                else functools.partial(variants.layer_shapes, v, fam)
            )
        if flops is None:
            flops = (
                functools.partial(variants.cell_flops, fam)
                if same_as.cell
                else functools.partial(variants.layer_flops, v, fam)
            )
        baseline = baseline or same_as.baseline()
        if time_axis is None:
            time_axis = {"output": 1 if same_as.options.get("batch_first") else 0}
    if reference is None:  # no reference: judged against its own float64 run; gradients by gradcheck only
        reference = functools.partial(own_float64_run, name)
        summary = (summary or name) + " (no reference: judged against its own float64 run)"
    if baseline is not None and baseline not in CASES:
        raise CaseError(f"case {name!r}: baseline {baseline!r} is not a registered case")
    return register(
        Case(
            name=name,
            summary=summary or (f"{name}, same as {same_as.title}" if same_as else name),
            family=fam,
            build=functools.partial(_checked_build, name, build),
            forward=functools.partial(_checked_forward, name, forward),
            reference=reference,
            reference_grad=reference_grad,
            out_shapes=out_shapes or functools.partial(_shapes_from_run, name),
            sizes=sizes,
            flops=flops or (lambda size: 0),
            time_axis=time_axis or {},
            baseline=baseline,
            tol=tol or {},
            norm_floor=norm_floor or {},
            grad_unchecked=grad_unchecked or {},
            dtypes=dtypes,
            devices=devices,
            timed=timed,
            untimed=untimed,
        )
    )
