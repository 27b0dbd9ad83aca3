"""Expected values from a built-in module through a map of parameters (``same_as``).

A user's model is "the same as" ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (a layer, or one of their
cells, with options) once a differentiable map, written in torch, takes its parameters to the
built-in's. The expected outputs are the suite's NumPy reference (:mod:`cases.expected`) on the
mapped parameters; the expected gradients of the user's own parameters are the reference's
gradients pulled back through the map as a vector-Jacobian product in float64, so per-gate weights,
concatenations, transposes, scalings and tied weights all work. The map is checked when it runs:
every parameter of the built-in set, each of its shape (:class:`~cases.user_code.CaseError`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnsuite.cases import expected
from rnnsuite.cases.layers import Variant
from rnnsuite.cases.registry import Arrays
from rnnsuite.cases.rounding import Rounded, rounded
from rnnsuite.cases.user_code import CaseError, describe, plain

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
    def variant(self) -> Variant:
        return Variant(tag="same_as", summary=self.title, options=dict(self.options))

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
        raise CaseError(f"case {name!r}: the parameter map to {sa.title} raised {describe(exc)}") from None
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
    return {k: torch.from_numpy(plain(v)).requires_grad_(grad) for k, v in params.items()}


def _numpy(mapped: Mapping[str, Tensor], storage: str | None) -> dict[str, np.ndarray]:
    out = {k: v.detach().numpy() for k, v in mapped.items()}
    return {k: rounded(v, storage) for k, v in out.items()} if storage else out


def _builtin_reference(sa: SameAs) -> tuple[Callable[..., dict[str, np.ndarray]], Callable[..., dict[str, np.ndarray]]]:
    """The shipped NumPy forward and backward of the built-in, taking the variant of each call's inputs."""
    if sa.cell:
        return expected.cell_reference, expected.cell_reference_grad
    return expected.layer_reference, expected.layer_reference_grad


def _variant(sa: SameAs, inputs: Arrays) -> Variant:
    """The built-in's variant for these inputs (an omitted ``h0`` starts from zeros, as the built-in does)."""
    return Variant(tag="same_as", summary=sa.title, options=dict(sa.options), h0="h0" in inputs)


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
            [torch.from_numpy(plain(g[k])) for k in names],
            allow_unused=True,
        )
    out = {k: (np.zeros(v.shape) if d is None else d.numpy()) for (k, v), d in zip(leaves.items(), pulled, strict=True)}
    return out | {k: g[k] for k in inputs if k in g}
