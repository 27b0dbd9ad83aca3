"""Builds and references of a case: the model and inputs from a seed, the NumPy references (float64
and emulated in the dtype's rounding) and the cotangents of the backward check."""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from rnnsuite.cases import CASES, Case, Instance, Size
from rnnsuite.cases.rounding import run_rounded
from rnnsuite.suite.harness.poison import nan_poison
from rnnsuite.vocabulary import dtype_name

SHARED_BUILDS = 64  # the float64 builds kept for sharing (a DeepBench layer's is a few MB)
_shared: OrderedDict[tuple[str, Size, int], tuple[object, Instance]] = OrderedDict()


def build(case: Case, size: Size, seed: int, device: str = "cpu", dtype: torch.dtype = torch.float64) -> Instance:
    """A case's model and inputs from a seeded CPU generator, as a copy on ``device`` in ``dtype``.

    The case is built once per (case, size, seed), in float64 on the CPU (inputs never depend on
    the device), and shared: every check that needs that point (forward, backward, determinism,
    the references in each dtype) gets its own copy, cast and moved, so that no check sees
    another's gradients or state. The modes of one case (``case(..., modes=)``) share its builds.
    """
    key = (case.group or case.name, size, seed)
    found = _shared.get(key)
    if found is None or found[0] is not case.build:  # a case of the same name built anew (a test's own) is not shared
        with nan_poison():  # a builder that leaves memory unwritten gives NaN (suite/harness/poison.py)
            found = (case.build, case.build(size, torch.Generator().manual_seed(seed), torch.float64))
        _shared[key] = found
        while len(_shared) > SHARED_BUILDS:
            _shared.popitem(last=False)
    _shared.move_to_end(key)
    return found[1].to(device, dtype)


def build_as_user(case: Case, size: Size, seed: int, device: str, dtype: torch.dtype) -> Instance:
    """Build a case as a user would, for timing: the constructor in ``dtype``, on ``device`` where the case's
    builder takes the device (``Case.device_builder``), else on the CPU and then moved to ``device``."""
    gen = torch.Generator().manual_seed(seed)
    if case.device_builder:
        return case.build(size, gen, dtype, device)
    inst = case.build(size, gen, dtype)
    if device != "cpu":
        inst = Instance(inst.model.to(device), {k: v.to(device) for k, v in inst.inputs.items()})
    return inst


def built_note(case: Case, device: str, dtype: torch.dtype) -> str:
    """How ``build_as_user`` builds a case (the run file's ``built``)."""
    note = f"constructed in {dtype_name(dtype)}"
    if device == "cpu":
        return note
    return note + (f" on {device}" if case.device_builder else f", moved to {device}")


@lru_cache(maxsize=256)
def reference(case_name: str, preset: str, seed: int, dtype: torch.dtype) -> dict[str, np.ndarray]:
    """The NumPy reference outputs for the case's parameters and inputs rounded to ``dtype``.

    Rounding first means the comparison measures the arithmetic of ``dtype``, not the rounding of
    the weights; the reference itself is always float64.
    """
    case = CASES[case_name]
    inst = build(case, case.size(preset), seed, "cpu", dtype)
    return case.reference(inst.numpy_params(), inst.numpy_inputs())


@lru_cache(maxsize=256)
def emulated_reference(case_name: str, preset: str, seed: int, dtype: torch.dtype) -> dict[str, np.ndarray]:
    """The reference outputs run in the dtype's rounding (``cases/rounding.py``): the emulated error's source.

    For float64, the reference itself (float64 is not emulated).
    """
    case = CASES[case_name]
    inst = build(case, case.size(preset), seed, "cpu", dtype)
    return run_rounded(case.reference, dtype_name(dtype), inst.numpy_params(), inst.numpy_inputs())


def cotangents(case: Case, size: Size, seed: int, dtype: torch.dtype) -> dict[str, Tensor]:
    """Output gradients for the backward check: drawn in float64 from ``seed + 1``, rounded to the dtype."""
    gen = torch.Generator().manual_seed(seed + 1)
    return {k: torch.randn(s, generator=gen, dtype=torch.float64).to(dtype) for k, s in case.out_shapes(size).items()}


@lru_cache(maxsize=256)
def reference_grads(
    case_name: str, preset: str, seed: int, dtype: torch.dtype
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The NumPy backward for :func:`cotangents`, and the same in the dtype's rounding.

    Returns:
        ``(expected, emulated)`` gradients by parameter and input name.
    """
    case = CASES[case_name]
    if case.reference_grad is None:
        raise ValueError(f"{case_name} has no NumPy backward reference")
    size = case.size(preset)
    inst = build(case, size, seed, "cpu", dtype)
    args = (inst.numpy_params(), inst.numpy_inputs())
    cot = {k: c.double().numpy() for k, c in cotangents(case, size, seed, dtype).items()}
    expected = case.reference_grad(*args, cot)
    emulated = expected if dtype == torch.float64 else run_rounded(case.reference_grad, dtype_name(dtype), *args, cot)
    return expected, emulated
