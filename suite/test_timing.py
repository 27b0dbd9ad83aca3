"""The timing module's pure parts: the injected slowdown scales the work by whole calls (no timing)."""

from __future__ import annotations

import pytest

from suite.timing import scaled


@pytest.mark.parametrize(
    ("factor", "calls"), [(1.0, 1000), (1.05, 1000), (1.1, 1000), (1.25, 1000), (2.0, 37), (1.3, 7)]
)
def test_scaled_runs_the_work_factor_times(factor: float, calls: int) -> None:
    ran = 0

    def work() -> int:
        nonlocal ran
        ran += 1
        return ran

    fn = scaled(work, factor)
    for _ in range(calls):
        fn()
    assert abs(ran - calls * factor) <= 1  # whole calls, the fraction carried over


def test_scaled_spreads_the_extra_calls_evenly() -> None:
    per_call = []
    ran = 0

    def work() -> None:
        nonlocal ran
        ran += 1

    fn = scaled(work, 1.25)
    for _ in range(40):
        before = ran
        fn()
        per_call.append(ran - before)
    assert per_call == [1, 1, 1, 2] * 10  # one extra call every fourth, never bunched


def test_scaled_by_one_is_the_work_itself() -> None:
    def work() -> None:
        return None

    assert scaled(work, 1.0) is work
