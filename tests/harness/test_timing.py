"""The timing module's pure parts: the injected slowdown scales the work by whole calls (no timing)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from rnnsuite.cases import CASES, DTYPES
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.measure import timing
from rnnsuite.suite.measure.inject import block_for, scaled


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


@pytest.mark.parametrize(
    ("n", "factor", "block"), [(21, 1.05, 40), (21, 1.1, 30), (21, 1.25, 24), (1, 1.25, 4), (7, 1.0, 7), (40, 1.05, 40)]
)
def test_blocks_hold_a_whole_number_of_extra_calls(n: int, factor: float, block: int) -> None:
    assert block_for(n, factor) == block


@pytest.mark.parametrize(("n", "factor"), [(21, 1.05), (2, 1.25), (1, 1.1), (33, 1.3)])
def test_every_block_is_scaled_alike(n: int, factor: float) -> None:
    ran = 0

    def work() -> None:
        nonlocal ran
        ran += 1

    fn, block = scaled(work, factor), block_for(n, factor)
    per_block = []
    for _ in range(12):  # as the timed rounds see it: block after block
        before = ran
        for _ in range(block):
            fn()
        per_block.append(ran - before)
    assert per_block == [round(block * factor)] * 12  # the same work in every sample: its median is the factor


def test_a_key_names_its_benchmark() -> None:
    case = CASES["nn_lstm"]
    size = case.sizes["seed"][0]
    bp = Point.benchmark(case, "cpu", torch.bfloat16, "fwd_bwd", "eager", "seed", size)
    key = f"nn_lstm-cpu-bfloat16-fwd_bwd-eager-seed-{size.label}"
    assert bp.id == key
    assert Point.from_key(key) == bp


@pytest.mark.parametrize(
    ("key", "kernel", "autocast"),
    [
        ("nn_lstm-cpu-float32", "vendor", False),
        ("nn_lstm-cpu-float32-native", "native", False),
        ("nn_lstm-cpu-bfloat16-autocast", "vendor", True),
        ("nn_lstm[bidir]-cuda-float16-native", "native", False),
    ],
)
def test_a_check_key_names_its_point(key: str, kernel: str, autocast: bool) -> None:
    """One point, one id scheme: a correctness key parses back to the point whose id it is."""
    point = Point.from_key(key)
    assert (point.kernel, point.autocast, point.pass_, point.size) == (kernel, autocast, None, None)
    assert point.id == key
    with pytest.raises(ValueError, match="is not a benchmark"):
        _ = point.bench_size


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("nope-cpu-float32-fwd-eager-seed-T1", "is not a key of this suite's cases"),
        ("nn_lstm-cpu-float32-fwd-eager-seed-T1_B1_I1_H1_L1", "has no size 'T1_B1_I1_H1_L1' in preset 'seed'"),
        ("nn_lstm-cpu-float32-fwd", "unknown kernel 'fwd'"),
        ("nn_lstm-cpu-float32-native-fwd", "is not a key"),
        ("nn_lstm-cpu-float32-vendor", "is not a key"),
        ("nn_lstm", "is not a key of this suite's cases"),
        ("nn_lstm-tpu-float99-fwd-eager-seed-T100_B32_I10_H20_L2", "unknown device 'tpu', dtype 'float99'"),
        (
            "nn_lstm-cpu-float32-bwd-jit_fast-seed-T100_B32_I10_H20_L2",
            "unknown kernel 'fast', pass 'bwd', backend 'jit'",
        ),
    ],
)
def test_a_bad_key_is_named(key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Point.from_key(key)


def test_calibration_keeps_the_rounds_floor_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """A call of 10 ms in blocks of at least 50 ms: min_time 0.1 s alone asks for one or two rounds; the floor decides."""
    import rnnsuite.suite.measure.timing as timing

    clock = {"t": 0.0}

    def call() -> None:
        clock["t"] += 0.01

    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock["t"])
    n5, rounds5, _ = timing.calibrate(call, lambda: None, 0.1, min_rounds=5)
    _, rounds10, _ = timing.calibrate(call, lambda: None, 0.1)
    assert n5 * 0.01 >= timing.MIN_BLOCK_S
    assert (rounds5, rounds10) == (5, timing.MIN_ROUNDS)


def test_a_variant_is_timed_only_beside_its_base_layer() -> None:
    """A timed variant is checked at the tier's small size and timed at the chapter's, where its base layer is."""
    from types import SimpleNamespace

    from rnnsuite.cases import CASES, DTYPES
    from rnnsuite.suite.harness.matrix import points

    opts = SimpleNamespace(
        sizes=("seed",), devices=("cpu",), dtypes=(DTYPES["float32"],), passes=("fwd",), backends=("eager",)
    )
    keys = {p.id for p in points(opts, "benchmark")}
    base = {k.removeprefix("nn_lstm-").split("-", 4)[-1] for k in keys if k.startswith("nn_lstm-")}
    bidir = {k.split("-", 5)[-1] for k in keys if k.startswith("nn_lstm[bidir]-")}
    # The plain layer also has the one-layer seed shape, timed beside the one-layer cells (section (b)).
    assert base == {"seed-T100_B32_I10_H20_L2", "seed-T100_B32_I10_H20_L1"}
    assert bidir == {"seed-T100_B32_I10_H20_L2"}
    assert CASES["nn_lstm[bidir]"].size("seed").label == "T12_B5_I6_H8_L2"  # still the tier's size


def test_one_generator_gives_every_kind_of_point() -> None:
    """The checks, the autocast checks and the benchmarks come from one generator, each point's id its key."""
    from types import SimpleNamespace

    from rnnsuite.suite.harness.matrix import points

    f32, bf16 = DTYPES["float32"], DTYPES["bfloat16"]
    opts = SimpleNamespace(
        sizes=("seed",), devices=("cpu",), dtypes=(f32, bf16), passes=("fwd",), backends=("eager",),
        kernels=("vendor", "native"),
    )  # fmt: skip
    checks = [p.id for p in points(opts, "check", only_cases=("nn_lstm", "lstm_cell"))]
    assert checks == [
        "nn_lstm-cpu-float32", "nn_lstm-cpu-float32-native", "nn_lstm-cpu-bfloat16", "nn_lstm-cpu-bfloat16-native",
        "lstm_cell-cpu-float32", "lstm_cell-cpu-bfloat16",
    ]  # fmt: skip
    autocast = [p.id for p in points(opts, "autocast")]
    assert "nn_lstm-cpu-bfloat16-autocast" in autocast
    assert all(p.endswith("-bfloat16-autocast") for p in autocast)  # the CPU autocasts to bfloat16 only
    bench = list(points(opts, "benchmark", only_cases=("nn_lstm",)))
    assert [p.id for p in bench] == [
        f"nn_lstm-cpu-{d}-fwd-{b}-seed-T100_B32_I10_H20_{layers}"
        for layers in ("L2", "L1")  # the chapter's two layers, and one beside the one-layer cells
        for d in ("float32", "bfloat16")
        for b in ("eager", "eager_native")
    ]
    assert all(Point.from_key(p.id) == p for p in bench)
    with pytest.raises(ValueError, match="unknown kind of point 'bench'"):
        list(points(opts, "bench"))


@pytest.mark.parametrize(
    ("gflops", "sizes"),
    [
        (3.0, [256, 512]),  # float16 without a GEMM: 512 takes 89 ms, 1024 would take 0.7 s: not measured
        (200.0, [256, 512, 1024, 2048]),  # float32 here: 2048 takes 86 ms, the largest size on a CPU
    ],
)
def test_the_peak_search_stops_before_a_size_whose_product_is_too_slow(
    monkeypatch: pytest.MonkeyPatch, gflops: float, sizes: list[int]
) -> None:
    """matmul_peak on a device of ``gflops`` at every size: the sizes it multiplies (blocks timed by a model)."""
    seen: list[int] = []

    def modelled_block(fn: Callable[[], object], sync: Callable[[], None], n: int) -> float:
        size = fn().shape[0]  # type: ignore[attr-defined]
        if not seen or seen[-1] != size:
            seen.append(size)
        return 2 * size**3 / (gflops * 1e9)  # seconds a product, as time_block returns

    monkeypatch.setattr(timing, "time_block", modelled_block)
    peak = timing.matmul_peak("cpu", torch.float32, 1)
    assert seen == sizes
    assert peak["gflops"] == pytest.approx(gflops)
