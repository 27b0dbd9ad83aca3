"""The interval rule of every ratio the report shows: coloured only when the interval excludes 1; same ops marked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.reports.gate import intervals
from rnnsuite.reports.output import build, table
from rnnsuite.reports.output.report_data import Data
from rnnsuite.reports.output.sections import ab_sections, side_by_side
from rnnsuite.reports.output.sections import costs as cost_section
from rnnsuite.reports.runfile.reader import load_run
from tests.synthetic_runs import bench, run, write

OPS = {"aten::gru": 1, "aten::addmm": 202}  # the same ops on both sides, as nn_gru float32 fwd ran them


def _kernel_pair(vendor: list[float], native: list[float]) -> list[dict[str, Any]]:
    """nn_gru fwd with the vendor kernel and with the native one, both running the very same ops."""
    out = []
    for kernel, samples in (("vendor", vendor), ("native", native)):
        b = bench("nn_gru", samples=samples, family="gru", backend="eager" if kernel == "vendor" else "eager_native")
        b["extra_info"] |= {"kernel": kernel, "kernel_ops": dict(OPS), "kernel_label": "native: addmm x202"}
        b["extra_info"]["key"] += f"-{kernel}"
        out.append(b)
    return out


def _kernels_html(tmp_path: Path, vendor: list[float], native: list[float]) -> str:
    r = load_run(write(tmp_path / "run.json", run(_kernel_pair(vendor, native))))
    df = table.tidy([r])
    return cost_section.section(df, intervals.measures([r]))


def _ratio_cells_coloured(section: str) -> bool:
    """Whether the kernels table's styled cells (only the ratio column is shaded) carry a background colour."""
    kernels = section.split("<h3>Kernels</h3>", 1)[1]
    return bool(re.search(r"background-color: ?#[0-9a-f]{6}", kernels))


WIDE_BASE = [1e-3, 2e-3, 3e-3, 4e-3, 5e-3]  # median 3 ms; the medians of resamples span 1-5 ms
WIDE_CAND = [1.5e-3, 3e-3, 4.5e-3, 6e-3, 7.5e-3]  # median 4.5 ms: 1.5x, with a bootstrap range well across 1
TIGHT_BASE = [3e-3 * (1 + k * 1e-4) for k in range(15)]  # spread 0.14%
TIGHT_CAND = [4.5e-3 * (1 + k * 1e-4) for k in range(15)]


def test_a_same_kernel_ratio_of_1_5x_whose_interval_includes_1_is_not_coloured(tmp_path: Path) -> None:
    section = _kernels_html(tmp_path, WIDE_BASE, WIDE_CAND)
    assert "1.50x slower" in section
    assert "same ops" in section
    assert not _ratio_cells_coloured(section)


def test_a_ratio_of_1_5x_whose_interval_excludes_1_is_coloured(tmp_path: Path) -> None:
    section = _kernels_html(tmp_path, TIGHT_BASE, TIGHT_CAND)
    assert "1.50x slower" in section
    assert _ratio_cells_coloured(section)


def test_the_interval_brackets_the_ratio_and_names_rounds(tmp_path: Path) -> None:
    r = load_run(write(tmp_path / "run.json", run(_kernel_pair(TIGHT_BASE, TIGHT_CAND))))
    keys = [b["extra_info"]["key"] for b in r.benchmarks]
    found = intervals.pair_interval(intervals.measures([r]), (r.label, keys[0]), (r.label, keys[1]))
    assert found.basis == "rounds"
    assert found.low <= 1.5 <= found.high
    assert found.low > 1.45
    assert found.high < 1.55
    assert found.same_ops


def test_process_medians_are_resampled_where_both_sides_have_several(tmp_path: Path) -> None:
    pair = _kernel_pair(TIGHT_BASE, TIGHT_CAND)
    # Processes disagree far more than the rounds of one: the interval must follow them, and include 1.
    pair[0]["extra_info"]["process_medians"] = [2e-3, 3e-3, 4e-3, 5e-3, 6e-3]
    pair[1]["extra_info"]["process_medians"] = [2.5e-3, 3.5e-3, 4.5e-3, 5.5e-3, 6.5e-3]
    r = load_run(write(tmp_path / "run.json", run(pair)))
    keys = [b["extra_info"]["key"] for b in r.benchmarks]
    found = intervals.pair_interval(intervals.measures([r]), (r.label, keys[0]), (r.label, keys[1]))
    assert found.basis == "processes"
    assert found.low < 1 < found.high
    assert not found.excludes_one


@pytest.mark.parametrize(("samples", "coloured"), [((WIDE_BASE, WIDE_CAND), False), ((TIGHT_BASE, TIGHT_CAND), True)])
def test_runs_side_by_side_colour_by_the_interval(
    tmp_path: Path, samples: tuple[list[float], list[float]], coloured: bool
) -> None:
    a = write(tmp_path / "a.json", run([bench("nn_lstm", samples=samples[0])], label="A"))
    b = write(tmp_path / "b.json", run([bench("nn_lstm", samples=samples[1])], label="B"))
    runs = build.load_runs([str(a), str(b)], [])
    section = side_by_side.compare_section(Data(runs, table.tidy(runs), table.checks(runs)))
    assert "1.50x slower" in section
    assert "rounds" in section  # the interval says what it resampled
    assert bool(re.search(r"background-color: ?#[0-9a-f]{6}", section)) is coloured


@pytest.mark.parametrize(("spread", "coloured"), [(0.5, False), (0.001, True)])
def test_the_ab_section_colours_a_ratio_only_when_its_process_interval_excludes_1(
    tmp_path: Path, spread: float, coloured: bool
) -> None:
    paths = []
    for side, median in (("A", 3e-3), ("B", 4.5e-3)):
        b = bench("nn_lstm", samples=[median * (1 + k * 1e-4) for k in range(40)])
        b["extra_info"]["process_medians"] = [median * (1 + spread * (k - 4) / 4) for k in range(9)]
        paths.append(str(write(tmp_path / f"{side}.json", run([b], label=side))))
    section = ab_sections.ab_section(ab_sections.load_ab(paths))
    assert "1.50x slower" in section
    col = re.search(r'id="T_ab_level0_(col\d+)"[^>]*>ratio</th>', section)
    assert col is not None
    rule = re.search(r"#T_ab_row0_" + col.group(1) + r" \{([^}]*)\}", section)
    assert bool(rule and "background-color" in rule.group(1)) is coloured
