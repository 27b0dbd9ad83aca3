"""``reports build --by``: the committed H100 run against a CPU run of today, matched on the problem, not the key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rnnsuite.reports.gate import intervals
from rnnsuite.reports.output import build, table
from rnnsuite.reports.output.sections import axis
from tests.reports.in_process import run_main

ROOT = Path(__file__).resolve().parents[2]
H100 = ROOT / "docs" / "runs" / "h100-torch2.11.json"
CPU = ROOT / "tests" / "runs" / "cpu-torch2.13.json"


def _problems(path: Path) -> dict[tuple[str, ...], float]:
    """(case, dtype, pass, backend less _native, shape, kernel) -> median, straight from the JSON."""
    out = {}
    for b in json.loads(path.read_text())["benchmarks"]:
        e = b["extra_info"]
        if e.get("metric", "time") != "time":
            continue
        k = (
            e["case"],
            e["dtype"],
            e["pass"],
            e["backend"].removesuffix("_native"),
            e["shape"],
            e.get("kernel", "vendor"),
        )
        out.setdefault(k, b["stats"]["median"])
    return out


def _along(*paths: Path, by: str) -> axis.Along:
    runs = build.load_runs([str(p) for p in paths], [])
    return axis.along(table.tidy(runs), table.checks(runs), runs, intervals.measures(runs), by)


def test_h100_and_cpu_meet_on_every_problem_both_ran() -> None:
    gpu, cpu = _problems(H100), _problems(CPU)
    both = set(gpu) & set(cpu)
    assert both, "the fixtures must share problems for this test to mean anything"
    a = _along(H100, CPU, by="device")
    assert len(a.values) == 2
    assert a.values[0].startswith("cuda (NVIDIA H100")
    assert a.values[1].startswith("cpu (")
    got = {
        (str(r["case"]), str(r["dtype"]), str(r["pass"]), str(r["backend"]), str(r["shape"]), str(r["kernel"])): r
        for _, r in a.wide.iterrows()
    }
    assert set(got) == both
    gpu_v, cpu_v = a.values
    for k in both:
        assert got[k][f"median_s[{gpu_v}]"] == pytest.approx(gpu[k])
        assert got[k][f"median_s[{cpu_v}]"] == pytest.approx(cpu[k])
        assert got[k][f"ratio[{cpu_v}]"] == pytest.approx(cpu[k] / gpu[k])
    assert set(a.differ) >= {"torch", "machine"}  # said in the section: more differs than the device


def test_build_by_device_writes_the_section_and_its_csv(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rnnsuite", "build", str(H100), str(CPU), "--by", "device", "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "report.html").read_text()
    assert "By device: the same benchmarks side by side" in html
    assert "95% interval" in html
    rows = (tmp_path / "by-device.csv").read_text().strip().splitlines()
    assert len(rows) - 1 == len(set(_problems(H100)) & set(_problems(CPU)))
    assert "### By device" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--by", "colour"], "choose one of"), (["--by", "torch"], "one torch")],
)
def test_a_bad_axis_is_one_line(tmp_path: Path, args: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --by is a bad command line (exit 4); an axis the runs cannot be set apart by, bad input (2)."""
    code, err = run_main(["build", str(H100), "--out", str(tmp_path), *args], capsys)
    assert code == (4 if says == "choose one of" else 2)
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert says in err
