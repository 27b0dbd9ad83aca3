"""A user's code run by the suite, checked as it runs: an exception from a builder or a forward, or a
wrong return, becomes a :class:`CaseError` that names the case and what is wrong on its first line (the
exception's further lines, bounded, after it); and
what a case without a reference is judged against (its own float64 run)."""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnsuite.cases.registry import CASES, Arrays, Instance, Size
from rnnsuite.cases.rounding import Rounded

UserBuild = Callable[..., Instance]  # (size, generator, dtype), and ``device=`` where it takes one
UserForward = Callable[[nn.Module, Mapping[str, Tensor]], Mapping[str, Tensor]]


class CaseError(Exception):
    """A user case that is wrong: the message's first line names the case and what is wrong (an exception
    of the user's code follows whole, bounded: :func:`describe`)."""


MAX_LINES, MAX_CHARS = 20, 2000  # the bound of an exception shown whole (describe)


def one_line(exc: BaseException) -> str:
    """An exception as ``Type: first line of its message`` (at most 300 characters)."""
    text = f"{type(exc).__name__}: {exc}".strip()
    return (text.splitlines() or [text])[0][:300]


def describe(exc: BaseException) -> str:
    """An exception whole, bounded: ``Type: message`` with every line of the message (a TorchScript error
    gives its cause on later lines), then each exception it was raised from (``__cause__``), at most
    :data:`MAX_LINES` lines of :data:`MAX_CHARS` characters in all, the cut said."""
    lines: list[str] = []
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        text = f"{type(e).__name__}: {e}".strip()
        lines += [("" if not lines else "  caused by: ") + text.splitlines()[0], *text.splitlines()[1:]]
        e = e.__cause__
    lines = [line.rstrip() for line in lines if line.strip()]
    shown, size = [], 0
    for line in lines[:MAX_LINES]:
        if size + len(line) > MAX_CHARS:
            break
        shown.append(line)
        size += len(line) + 1
    if len(shown) < len(lines):
        shown.append(f"  ... ({len(lines) - len(shown)} more lines)")
    return "\n".join(shown)


def plain(a: np.ndarray) -> np.ndarray:
    """A float64 array of the values (a :class:`Rounded` one unwrapped)."""
    return np.array(a.view(np.ndarray) if isinstance(a, Rounded) else a, dtype=np.float64)


# The warnings a case's own code raised, by case name: each ``Category: message`` once. The suite runs with
# warnings as errors (its own code must not warn); a user's code is not the suite's, so its warnings are
# recorded on the check (``suite/harness/records.py`` takes them) rather than made fatal.
CASE_WARNINGS: dict[str, list[str]] = {}
IMPORT_WARNINGS: dict[str, list[str]] = {}  # those its module raised while importing (cases/load.py)
MAX_WARNINGS = 10


def note_warnings(name: str, caught: list[warnings.WarningMessage], into: dict[str, list[str]] | None = None) -> None:
    """Keep a case's caught warnings (at most :data:`MAX_WARNINGS`, each once, 300 characters)."""
    kept = (CASE_WARNINGS if into is None else into).setdefault(name, [])
    for w in caught:
        text = f"{w.category.__name__}: {str(w.message).strip()}"[:300]
        if text not in kept and len(kept) < MAX_WARNINGS:
            kept.append(text)


def take_warnings(name: str) -> list[str]:
    """The warnings of a case's module's import and of its code since the last call (those are then forgotten)."""
    return list(dict.fromkeys([*IMPORT_WARNINGS.get(name, []), *CASE_WARNINGS.pop(name, [])]))


def _call(name: str, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args)``, an exception of it made a CaseError, its warnings recorded (:func:`note_warnings`).

    The CaseError is raised outside the handler, so it carries no context: the user's frames, and
    what they hold (the memory of a MemoryError), are freed before the failure is reported.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return fn(*args, **kwargs)
            finally:
                note_warnings(name, caught)
    except Exception as exc:
        error = f"case {name!r}: the {what} raised {describe(exc)}"
    raise CaseError(error)


def takes_device(build: UserBuild) -> bool:
    """Whether a user's builder takes the device: a parameter named ``device`` (or ``**kwargs``)."""
    try:
        params = inspect.signature(build).parameters.values()
    except (TypeError, ValueError):  # a callable without a signature: built on the CPU and moved
        return False
    return any(p.name == "device" or p.kind is p.VAR_KEYWORD for p in params)


def checked_build(
    name: str,
    build: UserBuild,
    on_device: bool,
    size: Size,
    gen: torch.Generator,
    dtype: torch.dtype,
    device: str = "cpu",
) -> Instance:
    """``build(size, gen, dtype)``, or ``build(size, gen, dtype, device=device)`` where the builder takes the
    device (``on_device``); its exception, a return that is not an Instance, or tensors on another device made
    a CaseError."""
    inst = _call(name, "builder", build, size, gen, dtype, **({"device": device} if on_device else {}))
    if not isinstance(inst, Instance):
        raise CaseError(f"case {name!r}: the builder returned {type(inst).__name__}, not an Instance(model, inputs)")
    if on_device:
        want = torch.device(device)
        tensors = [("parameter " + k, p) for k, p in inst.model.named_parameters()] + [
            ("input " + k, v) for k, v in inst.inputs.items()
        ]
        for what, t in tensors:
            if t.device.type != want.type or (want.index is not None and t.device.index != want.index):
                raise CaseError(
                    f"case {name!r}: the builder was asked for device {device} and returned {what} on {t.device}"
                )
    return inst


def checked_forward(
    name: str, forward: UserForward, model: nn.Module, inputs: Mapping[str, Tensor]
) -> dict[str, Tensor]:
    """``forward(model, inputs)``, its exception or a return that is not named tensors made a CaseError."""
    out = _call(name, "forward", forward, model, inputs)
    if not isinstance(out, Mapping) or not all(isinstance(v, Tensor) for v in out.values()):
        raise CaseError(f"case {name!r}: the forward must return a dict of named tensors, got {type(out).__name__}")
    return dict(out)


def _float64_run(name: str, size: Size) -> tuple[Instance, dict[str, Tensor]]:
    case = CASES[name]
    inst = case.build(size, torch.Generator().manual_seed(0), torch.float64)
    with torch.no_grad():
        return inst, case.forward(inst.model, inst.inputs)


@functools.lru_cache(maxsize=64)
def _run_shapes(name: str, size: Size) -> tuple[tuple[str, tuple[int, ...]], ...]:
    case = CASES[name]
    if getattr(case.reference, "func", None) is not own_float64_run:  # the NumPy reference: no float64 run of torch
        inst = case.build(size, torch.Generator().manual_seed(0), torch.float64)
        return tuple(
            (k, tuple(np.shape(v))) for k, v in case.reference(inst.numpy_params(), inst.numpy_inputs()).items()
        )
    try:
        out = _float64_run(name, size)[1]
    except CaseError as exc:
        what = str(exc).removeprefix(f"case {name!r}: ")
        error = (
            f"case {name!r}: its output shapes come from its float64 run (it has no reference to take them from), "
            f"which failed: {what}; give out_shapes= (or a reference), or leave float64 out of dtypes="
        )
    else:
        return tuple((k, tuple(v.shape)) for k, v in out.items())
    raise CaseError(error)


def shapes_from_run(name: str, size: Size) -> dict[str, tuple[int, ...]]:
    """Output shapes: those of the case's NumPy reference at ``size`` (the user's ``reference=``), else of one
    float64 run of the case (no reference), whose failure says so rather than blaming a forward in another dtype."""
    return dict(_run_shapes(name, size))


# ------------------------------------------------------------------------------ no reference


@functools.lru_cache(maxsize=16)
def _float64_model(name: str, size: Size) -> nn.Module:
    return CASES[name].build(size, torch.Generator().manual_seed(0), torch.float64).model


def _size_of(name: str, inputs: Arrays) -> Size:
    """The size of the case whose float64 build has inputs of these shapes."""
    return _size_of_shapes(name, tuple(sorted((k, tuple(np.shape(v))) for k, v in inputs.items())))


@functools.lru_cache(maxsize=64)
def _size_of_shapes(name: str, shapes: tuple[tuple[str, tuple[int, ...]], ...]) -> Size:
    """``_size_of`` by the inputs' sorted (name, shape) pairs: each reference call would otherwise build every size."""
    case = CASES[name]
    for size in dict.fromkeys([*(s for sizes in case.sizes.values() for s in sizes), case.long_size()]):
        built = case.build(size, torch.Generator().manual_seed(0), torch.float64).inputs
        if tuple(sorted((k, tuple(v.shape)) for k, v in built.items())) == shapes:
            return size
    raise CaseError(f"case {name!r}: no size of the case has inputs of shapes {dict(shapes)}")


def own_float64_run(name: str, params: Arrays, inputs: Arrays) -> dict[str, np.ndarray]:
    """A case with no reference: its own forward in float64 on these parameters and inputs.

    Run under the emulated precision too, it stays float64, so each dtype is judged against the
    float64 run with the budgets' floors (the emulated error is 0).
    """
    model = _float64_model(name, _size_of(name, inputs))
    with torch.no_grad():
        for k, p in model.named_parameters():
            p.copy_(torch.from_numpy(plain(params[k])))
    tensors = {
        k: torch.from_numpy(plain(v) if np.issubdtype(np.asarray(v).dtype, np.floating) else np.asarray(v))
        for k, v in inputs.items()
    }
    with torch.no_grad():
        out = CASES[name].forward(model, tensors)
    return {k: v.double().numpy() for k, v in out.items()}


def own_float64_grads(name: str, params: Arrays, inputs: Arrays, cot: Arrays) -> dict[str, np.ndarray]:
    """A case with a NumPy forward but no backward (``reference=`` without ``reference_grad=``): the gradients
    of its own model's float64 autograd, by parameter and input name (less ``no_grad_inputs``).

    As :func:`own_float64_run` does for values: run under the emulated precision it stays float64, so each
    dtype's gradients are judged against float64 autograd with the budgets' floors. The reference checks
    it (``reference_fd``: these gradients against finite differences of the NumPy forward).
    """
    case = CASES[name]
    model = _float64_model(name, _size_of(name, inputs))
    with torch.no_grad():
        for k, p in model.named_parameters():
            p.copy_(torch.from_numpy(plain(params[k])))
    tensors = {
        k: torch.from_numpy(plain(v))
        if np.issubdtype(np.asarray(v).dtype, np.floating)
        else torch.from_numpy(np.asarray(v))
        for k, v in inputs.items()
    }
    wrt = {k: p for k, p in model.named_parameters() if p.requires_grad} | {  # a frozen parameter has no gradient
        k: t.requires_grad_(True) for k, t in tensors.items() if t.is_floating_point() and k not in case.no_grad_inputs
    }
    with torch.enable_grad():
        out = case.forward(model, tensors)
        names = [k for k in cot if k in out]
        grads = torch.autograd.grad(
            [out[k] for k in names],
            list(wrt.values()),
            [torch.from_numpy(plain(cot[k])) for k in names],
            allow_unused=True,
        )
    return {k: (np.zeros(t.shape) if g is None else g.numpy()) for (k, t), g in zip(wrt.items(), grads, strict=True)}
