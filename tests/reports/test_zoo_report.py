"""``rnnsuite zoo`` and reports/output/sections/modes.py on a hand-made checks file and manifest (no torch, no model run)."""

from __future__ import annotations

import json
from pathlib import Path

from rnnsuite.reports import zoo
from rnnsuite.reports.output.sections.modes import markdown, mode_rows

MANIFEST = {"zoo_min": {"package": "minpkg", "version": "1.0", "summary": "s", "baseline": "nn_gru", "defects": []}}


def _check(mode: str, dtype: str, outcome: str, err_at: dict[str, float], check: str = "forward") -> dict:
    case = f"zoo_min.{mode}"
    return {
        "key": f"{case}-cpu-{dtype}", "case": case, "device": "cpu", "dtype": dtype, "check": check,
        "outcome": outcome, "err_u": max(err_at.values()), "budget_u": 32.0, "err_at": err_at, "case_mode": mode,
    }  # fmt: skip


def _files(tmp_path: Path, checks: list[dict]) -> tuple[str, str]:
    (tmp_path / "checks.json").write_text(json.dumps({"schema": 6, "label": "t", "machine": {}, "correctness": checks}))
    (tmp_path / "manifest.json").write_text(json.dumps(MANIFEST))
    return str(tmp_path / "checks.json"), str(tmp_path / "manifest.json")


def test_modes_sit_side_by_side_with_their_error_by_position() -> None:
    checks = [_check("parallel", "float32", "failed", {"1": 1.0, "10": 6.0, "100": 60.0}),
              _check("sequential", "float32", "passed", {"1": 0.8, "10": 0.8, "100": 0.9})]  # fmt: skip
    rows = mode_rows(checks, {("zoo_min.parallel", "cpu", "float32"): 0.002})
    assert [(r.group, r.mode, r.err_at[100], r.err_at[1000], r.fwd_s) for r in rows] == [
        ("zoo_min", "parallel", 60.0, None, 0.002),
        ("zoo_min", "sequential", 0.9, None, None),
    ]
    assert "| zoo_min | cpu | float32 | parallel | failed | 1u | 6u | 60u |  | 60u | 2 ms |" in markdown(rows)


def test_zoo_report_rows_verdicts_and_time_beside_the_builtin(tmp_path: Path) -> None:
    checks = [_check("parallel", "float64", "known defect", {"1": 1.0}),
              _check("parallel", "float64", "known defect", {"1": 1.0}, check="gradcheck"),
              _check("sequential", "float64", "passed", {"1": 0.5})]  # fmt: skip
    table = zoo.rows(
        MANIFEST, checks, {("zoo_min.sequential", "cpu", "float64"): 0.003, ("nn_gru", "cpu", "float64"): 0.001}
    )
    assert [(r["mode"], r["verdict"]) for r in table] == [
        ("parallel", "known defect; gradcheck: known defect"),
        ("sequential", "passed"),
    ]
    assert (table[1]["fwd_ms"], table[1]["baseline_fwd_ms"], table[1]["vs_baseline"]) == (3.0, 1.0, 3.0)


def test_zoo_command_writes_the_report_and_refuses_a_bad_manifest(tmp_path: Path, capsys) -> None:
    checks, manifest = _files(tmp_path, [_check("sequential", "float32", "passed", {"1": 0.5})])
    assert zoo.main(["--checks", checks, "--manifest", manifest, "--out", str(tmp_path / "out")]) == 0
    assert "## minpkg 1.0" in (tmp_path / "out" / "zoo.md").read_text()
    assert (tmp_path / "out" / "zoo.csv").read_text().startswith("package,version,layer,mode,dtype,verdict")
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert zoo.main(["--checks", checks, "--manifest", str(tmp_path / "bad.json"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnsuite zoo:")
    assert "\n" not in err
