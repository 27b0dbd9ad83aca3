"""lab/loop_bench.py: each measurement is a row of the history, printed beside the last one of its machine."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from tests.harness import lab

loop_bench = lab("loop_bench")


def _row(what: str, wall: float, machine: str = "cpu A", commit: str = "abc") -> dict[str, object]:
    return {"what": what, "commit": commit, "date": "d", "machine": machine, "cores": 2, "load_before": 1.0,
            "wall_s": wall, "cpu_s": wall, "exit": 0}  # fmt: skip


def test_a_slower_loop_shows_its_ratio_to_the_last_row_of_its_machine(tmp_path: Path) -> None:
    history = tmp_path / "loop.csv"
    assert "was" not in loop_bench.record(history, _row("tier", 40.0, commit="c1"))
    loop_bench.record(history, _row("tier", 10.0, machine="cpu B"))  # another machine: never compared
    loop_bench.record(history, _row("make test", 200.0))  # another measurement: never compared
    line = loop_bench.record(history, _row("tier", 60.0, commit="c2"))
    assert line.startswith("tier: 60 s wall")
    assert "was 40 s at c1 (x1.50)" in line
    with history.open(encoding="utf-8") as fh:
        assert [r["wall_s"] for r in csv.DictReader(fh)] == ["40.0", "10.0", "200.0", "60.0"]


def test_a_measurement_counts_wall_and_cpu(tmp_path: Path) -> None:
    busy = [sys.executable, "-c", "sum(range(30_000_000))"]  # over 0.1 s: cpu_s has one decimal
    row = loop_bench.measure("tier", busy, tmp_path)
    assert row["exit"] == 0
    assert float(str(row["wall_s"])) > 0
    assert float(str(row["cpu_s"])) > 0
