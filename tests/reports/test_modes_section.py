"""Section (i) of the main report: a case's modes side by side, with their error by position and their time."""

from __future__ import annotations

import re
from pathlib import Path

from rnnsuite.reports.output.build import load_runs, render_all
from tests import synthetic_runs as syn


def _mode_check(mode: str, dtype: str, err_at: dict[str, float | None]) -> dict[str, object]:
    rec = syn.correctness(f"min_gru.{mode}", dtype=dtype)
    rec["case_mode"] = mode
    rec["err_at"] = err_at
    return rec


def _run(tmp_path: Path) -> Path:
    checks = [
        _mode_check("parallel", "bfloat16", {"1": 1.5, "10": 14.0, "100": 150.0, "1000": 1600.0}),
        _mode_check("sequential", "bfloat16", {"1": 0.9, "10": 1.1, "100": 1.2, "1000": 1.3}),
        syn.correctness("nn_lstm", dtype="bfloat16"),  # no modes: not in the section
    ]
    benches = [
        syn.bench("min_gru.parallel", samples=syn.noisy(0.002), dtype="bfloat16"),
        syn.bench("min_gru.sequential", samples=syn.noisy(0.011), dtype="bfloat16"),
    ]
    return syn.write(tmp_path / "run.json", syn.run(benches, checks, label="modes"))


def _section(page: str) -> str:
    start = page.index('<h2 id="modes">')
    end = page.find("<h2", start + 1)
    return page[start : end if end > 0 else None]


def test_the_modes_of_a_case_stand_side_by_side(tmp_path: Path) -> None:
    page = render_all(load_runs([str(_run(tmp_path))], []))["report.html"]
    section = _section(page)
    rows = re.findall(r"<tr>(.*?)</tr>", section)
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in rows if "<td>" in row]
    assert [c[4] for c in cells] == ["parallel", "sequential"]  # in the order declared, one row per mode
    assert cells[0][1] == "min_gru"
    assert cells[0][6:10] == ["1.5u", "14u", "150u", "1.6e+03u"]  # the error at positions 1, 10, 100, 1,000
    assert cells[1][6:10] == ["0.9u", "1.1u", "1.2u", "1.3u"]
    assert cells[0][-1] == "2 ms"
    assert cells[1][-1] == "11 ms"
    assert "nn_lstm" not in section


def test_a_run_without_modes_says_so(tmp_path: Path) -> None:
    path = syn.write(tmp_path / "run.json", syn.run([syn.bench(samples=syn.noisy(0.001))], [syn.correctness()]))
    section = _section(render_all(load_runs([str(path)], []))["report.html"])
    assert "No case with several forwards" in section
    assert "<table" not in section
