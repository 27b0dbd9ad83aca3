"""The report's memory rules and section: faults per call, allocation-bound, state-dependent, allocators side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rnnsuite.reports.output import build, render, table
from rnnsuite.reports.output.sections import memory_section
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.record import names
from rnnsuite.reports.runfile.schema import BENCH
from tests.synthetic_runs import bench, run, write


def _bench(
    median_s: float, faults: float, cold_s: float | None, cold_faults: float = 0.0, allocator: str = "glibc", **kw: Any
) -> dict[str, Any]:
    b = bench(samples=[median_s] * 5, **kw)
    b["extra_info"] |= {
        "minor_faults_per_call": faults,
        "major_faults_per_call": 0.0,
        "rss_before_bytes": 100 << 20,
        "peak_rss_bytes": 164 << 20,
        "peak_rss_note": "VmHWM during the timed calls (reset through /proc/self/clear_refs)",
        "allocator": allocator,
        "built": "constructed in float32",
        "state": "warm",
        "cold": None
        if cold_s is None
        else {"median_s": cold_s, "first_block_s": cold_s, "minor_faults_per_call": cold_faults},
    }
    return b


@pytest.mark.parametrize(
    ("cold_ms", "expected"), [(11.5, True), (8.5, True), (10.8, False), (9.2, False), (None, False)]
)
def test_state_dependent_above_ten_percent(cold_ms: float | None, expected: bool) -> None:
    assert memory_section.state_dependent(0.010, None if cold_ms is None else cold_ms / 1e3) is expected


@pytest.mark.parametrize(("faults", "expected"), [(1200, True), (1000, True), (800, False), (0, False)])
def test_allocation_bound_when_faults_make_a_tenth_of_the_time(faults: float, expected: bool) -> None:
    assert memory_section.allocation_bound(0.010, faults) is expected  # 1 us a fault: 1,000 faults are 10% of 10 ms


def _frame(tmp_path: Path, *benches: dict[str, Any], label: str = "a") -> Any:
    path = write(tmp_path / f"{label}.json", run(list(benches), label=label))
    return table.tidy([load_run(path)])


def test_notes_name_the_state_and_the_bound(tmp_path: Path) -> None:
    df = _frame(
        tmp_path,
        _bench(0.004, 0.0, 0.0068, 2250.0, case="nn_lstm"),  # cold is allocation-bound and 70% slower
        _bench(0.0152, 0.0, 0.0155, 0.0, case="nn_gru", family="gru"),  # 2%: not state-dependent
    )
    notes = dict(zip(df["case"], df["memory_note"], strict=True))
    assert notes["nn_lstm"] == "allocation-bound (cold); state-dependent: cold 6.80 ms, warm 4.00 ms"
    assert pd.isna(notes["nn_gru"])
    assert df.loc[df["case"] == "nn_lstm", "cold_faults_per_call"].item() == 2250.0
    assert df.loc[df["case"] == "nn_lstm", "peak_rss_bytes"].item() == 164 << 20


def test_the_memory_section_names_the_process_that_gave_the_cold_figures(tmp_path: Path) -> None:
    fresh = _bench(0.004, 0.0, 0.0068, 2250.0, case="nn_lstm")
    fresh["extra_info"]["cold"] |= {"process": "fresh", "screen_faults_per_call": 1844.0}
    screened = _bench(0.0152, 0.0, None, case="nn_gru", family="gru")
    screened["extra_info"]["cold"] = {"median_s": None, "first_block_s": 0.0153, "minor_faults_per_call": 0.2}
    screened["extra_info"]["cold"] |= {"process": "fork"}
    frame = memory_section.memory_frame(_frame(tmp_path, fresh, screened))
    assert dict(zip(frame["benchmark"].str.split("-").str[0], frame["cold in"], strict=True)) == {
        "nn_lstm": "fresh",
        "nn_gru": "fork",
    }


def test_headline_shows_faults_beside_the_time_and_the_note(tmp_path: Path) -> None:
    df = _frame(tmp_path, _bench(0.004, 1279.0, 0.0068, 2250.0))
    from rnnsuite.reports.output.table import headline

    frame = render.headline_frame(headline(df, table.checks([])))
    cols = list(frame.columns)
    assert cols[cols.index("median (ms)") + 1] == "faults/call"
    assert frame["faults/call"].item() == 1279.0
    assert "allocation-bound (warm, cold)" in frame["memory"].item()


def test_old_files_without_memory_fields_show_no_memory_columns(tmp_path: Path) -> None:
    old = bench(samples=[0.004] * 5)  # a schema 1 file: no memory fields
    old["extra_info"] = {k: v for k, v in old["extra_info"].items() if k in names(BENCH, schema=1)}
    df = _frame(tmp_path, old)
    frame = render.headline_frame(table.headline(df, table.checks([])))
    assert "faults/call" not in frame
    assert "memory" not in frame
    assert "no memory fields" in memory_section.section_html(df)


def test_allocators_side_by_side(tmp_path: Path) -> None:
    paths = [
        write(tmp_path / f"{name}.json", run([_bench(t, f, c, cf, allocator=name)], label=f"t {name}"))
        for name, t, f, c, cf in (("glibc", 0.0046, 0.0, 0.0075, 2243.0), ("tcmalloc", 0.0047, 0.0, 0.0047, 0.0))
    ]
    df = table.tidy([load_run(p) for p in paths])
    side = memory_section.allocator_frame(df)
    assert list(side.columns[:5]) == [
        "benchmark",
        "glibc warm ms",
        "glibc warm faults",
        "glibc cold ms",
        "glibc cold faults",
    ]
    assert side["tcmalloc cold ms"].item() == 0.0047
    assert side["glibc cold faults"].item() == 2243.0
    html_text = build.render_all([load_run(p) for p in paths])["report.html"]
    assert "Allocators side by side" in html_text
    assert "state-dependent: cold 7.50 ms, warm 4.60 ms" in html_text
    assert memory_section.allocator_frame(df[df["allocator"] == "glibc"]).empty
