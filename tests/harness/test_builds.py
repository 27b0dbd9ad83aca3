"""A point is built once per (case, size, seed) and shared: every check gets its own copy."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from rnnsuite.cases import CASES
from rnnsuite.suite.harness import builds


def counting(case: Any) -> tuple[Any, list[int]]:
    """The case with a build that counts its calls."""
    calls: list[int] = []

    def build(size: Any, gen: torch.Generator, dtype: torch.dtype) -> Any:
        calls.append(1)
        return case.build(size, gen, dtype)

    return dataclasses.replace(case, build=build), calls


def test_a_case_is_built_once_and_each_caller_gets_a_copy() -> None:
    case, calls = counting(CASES["nn_lstm"])
    size = case.size("tiny")
    a = builds.build(case, size, 3)
    b = builds.build(case, size, 3, "cpu", torch.float32)
    c = builds.build(case, size, 3)
    assert len(calls) == 1  # one build, three copies
    assert a.model is not c.model
    assert all(a.inputs[k] is not c.inputs[k] for k in a.inputs)
    with torch.no_grad():
        next(a.model.parameters()).add_(1.0)  # a check that changes its copy changes no other
    assert torch.equal(next(c.model.parameters()).float(), next(b.model.parameters()))
    assert not torch.equal(next(a.model.parameters()), next(c.model.parameters()))
    a.inputs["x"].requires_grad_(True)
    assert not c.inputs["x"].requires_grad
    builds.build(case, size, 4)
    assert len(calls) == 2  # another seed is another build


def test_a_new_case_of_the_same_name_is_built_anew() -> None:
    first, calls_first = counting(CASES["nn_gru"])
    second, calls_second = counting(CASES["nn_gru"])
    size = first.size("tiny")
    builds.build(first, size, 5)
    builds.build(second, size, 5)
    assert (len(calls_first), len(calls_second)) == (1, 1)


def test_the_shared_builds_are_bounded() -> None:
    case, calls = counting(CASES["nn_rnn"])
    size = case.size("tiny")
    for seed in range(builds.SHARED_BUILDS + 1):
        builds.build(case, size, 1000 + seed)
    builds.build(case, size, 1000)  # the oldest was dropped: built again
    assert len(calls) == builds.SHARED_BUILDS + 2
    assert len(builds._shared) <= builds.SHARED_BUILDS
