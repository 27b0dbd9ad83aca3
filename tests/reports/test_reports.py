"""Tests of ``rnnsuite build`` on synthetic run files (no timing, no torch)."""

from __future__ import annotations

import base64
import csv
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rnnsuite.reports.output import build, page, render, table
from rnnsuite.reports.output.sections import ab_sections, baselines, sweep
from rnnsuite.reports.runfile import atomic
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.run import RunFile
from tests.synthetic_runs import bench, correctness, noisy, run, write

SEED_LAYER = (100, 32, 10, 20, 2)  # nn.LSTM at the seed size: two layers
SEED_CELL = (100, 32, 10, 20, 1)
DEEP = (25, 16, 512, 512, 1)
SWEEP_T = (25, 50, 100, 200)
SWEEP_H = (128, 256, 512, 1024)
OUTPUTS = ("results.csv", "report.html", "summary.md")


# ------------------------------------------------------------------------------------------ helpers


def _flat(seconds: float) -> list[float]:
    """Samples whose median is exactly ``seconds``."""
    return [seconds] * 5


def _sweep(case: str, dtype: str, h_scale: float, baseline: str | None = None) -> list[dict[str, Any]]:
    """Sweep benchmarks timed exactly ``h_scale * H**2`` at T = 50 and proportional to T at H = 256.

    The point T = 50, H = 256 belongs to both series, so the T series is scaled to pass through it.
    """
    t_scale = h_scale * 256**2 / 50
    rows = [
        bench(
            case, samples=_flat(t_scale * t), dtype=dtype, size="sweep", shape=(t, 32, 256, 256, 1), baseline=baseline
        )
        for t in SWEEP_T
        if t != 50
    ]
    rows += [
        bench(
            case, samples=_flat(h_scale * h**2), dtype=dtype, size="sweep", shape=(50, 32, h, h, 1), baseline=baseline
        )
        for h in SWEEP_H
    ]
    return rows


def _realistic() -> dict[str, Any]:
    """Two built-in and two hand-written cases, 4 dtypes, fwd and fwd_bwd, DeepBench pairs and a sweep."""
    benches, checks = [], []
    cases = [("nn_lstm", None, 1.0, SEED_LAYER), ("nn_gru", None, 0.8, SEED_LAYER)]
    cases += [("lstm_cell", "nn_lstm", 3.0, SEED_CELL), ("gru_cell", "nn_gru", 2.0, SEED_CELL)]
    for i, (case, baseline, slow, seed_shape) in enumerate(cases):
        for j, dtype in enumerate(("float64", "float32", "bfloat16", "float16")):
            for k, pass_ in enumerate(("fwd", "fwd_bwd")):
                for size, shape in (("seed", seed_shape), ("deepbench", DEEP)):
                    median = (
                        1e-3 * slow * (1 + j) * (3 if pass_ == "fwd_bwd" else 1) * (20 if size == "deepbench" else 1)
                    )
                    benches.append(
                        bench(case, samples=noisy(median, seed=100 * i + 10 * j + k), dtype=dtype, pass_=pass_,
                              size=size, shape=shape, baseline=baseline)
                    )  # fmt: skip
            for check in ("forward", "backward", "golden"):
                outcome = "failed" if (case, dtype, check) == ("gru_cell", "float16", "backward") else "passed"
                checks.append(correctness(case, dtype=dtype, check=check, outcome=outcome))
    benches += _sweep("nn_lstm", "float32", 1e-7) + _sweep("lstm_cell", "float32", 3e-7, "nn_lstm")
    return run(benches, checks, label="torch2.13")


def _build(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = build.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in OUTPUTS}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


Loader = Callable[[dict[str, Any]], RunFile]


@pytest.fixture
def load(tmp_path: Path) -> Loader:
    """Write a run file's data and load it back."""
    count = iter(range(1000))

    def loader(data: dict[str, Any]) -> RunFile:
        return load_run(write(tmp_path / f"run{next(count)}.json", data))

    return loader


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One realistic report built once: the folder holding it."""
    folder = tmp_path_factory.mktemp("report")
    path = write(folder / "run.json", _realistic())
    assert build.main([str(path), "--out", str(folder / "out")]) == 0
    return folder / "out"


# ------------------------------------------------------------------------------ table and derived


def test_csv_has_the_columns_and_one_row_per_benchmark(report: Path) -> None:
    rows = _csv_rows(report / "results.csv")
    need = {"run", "key", "case", "device", "dtype", "pass", "backend", "size", "shape", "median_s", "iqr_s"}
    need |= {"rounds", "gflops", "peak_fraction", "tokens_per_s", "torch"}
    assert need <= set(rows[0])
    # 4 cases x 4 dtypes x 2 passes x 2 sizes, plus 2 sweeps of 3 + 4 points
    assert len(rows) == 4 * 4 * 2 * 2 + 2 * 7
    assert len({(r["run"], r["key"]) for r in rows}) == len(rows)


def test_derived_columns_from_known_numbers(load: Loader) -> None:
    # 10 MFLOP in 2 ms -> 5 GFLOP/s; peak 100 -> 5%; T100 x B32 = 3200 tokens in 2 ms -> 1.6 M tokens/s
    data = run([bench(samples=_flat(0.002), flops=10_000_000, peak_gflops=100.0, shape=(100, 32, 10, 20, 1))])
    df = table.tidy([load(data)])
    assert df.loc[0, "gflops"] == pytest.approx(5.0)
    assert df.loc[0, "peak_fraction"] == pytest.approx(0.05)
    assert df.loc[0, "tokens_per_s"] == pytest.approx(1.6e6)
    assert df.loc[0, "median_s"] == pytest.approx(0.002)


def test_no_peak_gives_nan_fraction_not_a_crash(load: Loader) -> None:
    data = run([bench(samples=_flat(0.002), peak_gflops=None, dtype="float16")])
    df = table.tidy([load(data)])
    assert math.isnan(df.loc[0, "peak_fraction"])
    assert df.loc[0, "gflops"] == pytest.approx(10_000_000 / 0.002 / 1e9)


def test_old_or_partial_fields_become_nan(load: Loader, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = bench(samples=_flat(0.004))
    for field in ("tokens", "seq_len", "batch", "peak_gflops", "baseline", "torch", "threads", "family"):
        del entry["extra_info"][field]
    for field in ("iqr", "q1", "q3", "iterations"):
        del entry["stats"][field]
    data = run([entry])
    data["rnnsuite"]["peaks"] = []
    df = table.tidy([load(data)])
    for column in ("tokens_per_s", "seq_len", "peak_gflops", "peak_fraction", "iqr_s", "torch"):
        assert df[column].isna().all(), column
    assert df.loc[0, "gflops"] == pytest.approx(10_000_000 / 0.004 / 1e9)
    path = write(tmp_path / "old.json", data)
    code, _, err = _build([str(path), "--out", str(tmp_path / "out")], capsys)
    assert (code, err) == (0, "")


def test_fit_exponent_recovers_a_power_law() -> None:
    x = np.array([16.0, 32.0, 64.0, 128.0])
    assert sweep.fit_exponent(x, 3.0 * x**1.5) == pytest.approx(1.5)
    assert math.isnan(sweep.fit_exponent([8.0, 8.0], [1.0, 2.0]))


def test_sweep_exponents_in_t_and_h(load: Loader) -> None:
    rng = np.random.default_rng(3)
    h_scale = 5e-8
    t_scale = h_scale * 256**2 / 50  # the two series meet at T = 50, H = 256
    rows = []
    for t in (25, 100, 200):  # time ~ T, within 1% noise
        rows.append(
            bench(samples=_flat(t_scale * t * np.exp(rng.normal(0, 0.01))), size="sweep", shape=(t, 32, 256, 256, 1))
        )
    for h in SWEEP_H:  # time ~ H^2
        rows.append(
            bench(samples=_flat(h_scale * h**2 * np.exp(rng.normal(0, 0.01))), size="sweep", shape=(50, 32, h, h, 1))
        )
    fits = sweep.sweep_fits(table.tidy([load(run(rows))]))
    assert len(fits) == 1
    assert fits.loc[0, "t_exponent"] == pytest.approx(1.0, abs=0.05)
    assert fits.loc[0, "h_exponent"] == pytest.approx(2.0, abs=0.05)
    assert (fits.loc[0, "t_points"], fits.loc[0, "t_at_hidden"]) == (4, 256)
    assert (fits.loc[0, "h_points"], fits.loc[0, "h_at_seq_len"]) == (4, 50)


def test_sweep_exact_exponents(load: Loader) -> None:
    fits = sweep.sweep_fits(table.tidy([load(run(_sweep("nn_lstm", "float32", 1e-7)))]))
    assert fits.loc[0, "t_exponent"] == pytest.approx(1.0, abs=1e-9)
    assert fits.loc[0, "h_exponent"] == pytest.approx(2.0, abs=1e-9)


def test_sweep_exponent_is_not_forced(load: Loader) -> None:
    # a flat time (per-step overhead only) must fit an exponent of 0, not the expected 1
    rows = [bench(samples=_flat(0.01), size="sweep", shape=(t, 32, 256, 256, 1)) for t in SWEEP_T]
    fits = sweep.sweep_fits(table.tidy([load(run(rows))]))
    assert fits.loc[0, "t_exponent"] == pytest.approx(0.0, abs=1e-9)
    assert fits.loc[0, "h_points"] == 0


def test_hand_written_over_built_in_ratio(load: Loader) -> None:
    rows = [
        bench("nn_lstm", samples=_flat(0.002), size="deepbench", shape=DEEP),
        bench("lstm_cell", samples=_flat(0.006), size="deepbench", shape=DEEP, baseline="nn_lstm"),
        bench("nn_lstm", samples=_flat(0.001), shape=SEED_LAYER),  # two layers: no pair for the cell's seed row
        bench("lstm_cell", samples=_flat(0.009), shape=SEED_CELL, baseline="nn_lstm"),
        bench("lstm_cell", samples=_flat(0.001), size="deepbench", shape=DEEP, baseline="nn_lstm", dtype="float64"),
    ]
    pairs = baselines.builtin_pairs(table.tidy([load(run(rows))]))
    assert len(pairs) == 1  # float64 has no built-in row, the seed shapes differ
    assert pairs.loc[0, "ratio"] == pytest.approx(3.0)
    assert render.ratio_text(pairs.loc[0, "ratio"]) == "3.00x slower"
    assert render.ratio_text(0.5) == "2.00x faster"
    summary = baselines.ratio_summary(pairs)
    assert summary.loc[0, "ratio"] == pytest.approx(3.0)
    assert summary.loc[0, "shapes"] == 1


def test_ratio_summary_is_a_geometric_mean(load: Loader) -> None:
    rows = [bench("nn_gru", samples=_flat(0.001), size="deepbench", shape=DEEP)]
    rows.append(bench("gru_cell", samples=_flat(0.002), size="deepbench", shape=DEEP, baseline="nn_gru"))
    other = (25, 64, 512, 512, 1)
    rows.append(bench("nn_gru", samples=_flat(0.001), size="deepbench", shape=other))
    rows.append(bench("gru_cell", samples=_flat(0.008), size="deepbench", shape=other, baseline="nn_gru"))
    summary = baselines.ratio_summary(baselines.builtin_pairs(table.tidy([load(run(rows))])))
    assert summary.loc[0, "ratio"] == pytest.approx(4.0)  # sqrt(2 * 8)
    assert (summary.loc[0, "ratio_min"], summary.loc[0, "ratio_max"]) == (pytest.approx(2.0), pytest.approx(8.0))


def test_number_formats() -> None:
    assert render.fmt_ms(0.1463) == "146"
    assert render.fmt_ms(0.0007123) == "0.712"
    assert render.fmt_pct(0.123) == "12.3%"
    assert render.fmt_rate(1.6e6) == "1.60 M"
    assert render.fmt_num(float("nan")) == "—"
    assert render.ratio_text(1.001) == "1.00x"


def test_missing_values_are_not_shaded() -> None:
    css = render.shade_css([0.1, float("nan"), 0.9], render.Shade("Greens", vmin=0.0, vmax=1.0))
    assert css[1] == ""
    assert css[0].startswith("background-color:#")
    assert css[2].startswith("background-color:#")
    assert css[0] != css[2]


# ------------------------------------------------------------------------------------------ HTML


def test_html_is_self_contained(report: Path) -> None:
    text = (report / "report.html").read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert "<link" not in text.lower()
    assert "@import" not in text
    assert "url(" not in text
    attrs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", text, flags=re.IGNORECASE)
    assert attrs, "expected images and in-page links"
    assert not [a for a in attrs if re.match(r"(https?:)?//", a, flags=re.IGNORECASE)]
    assert all(a.startswith(("data:image/png;base64,", "#")) for a in attrs)
    assert "http://" not in text
    assert "https://" not in text


def test_html_has_every_section_and_the_charts(report: Path) -> None:
    text = (report / "report.html").read_text(encoding="utf-8")
    # (a) 1, (b) 1, (c) one per pass with a sweep (fwd), (d) 1
    assert text.count("data:image/png;base64,") >= 4
    for sid in ("headline", "time", "builtin", "sweep", "efficiency", "correctness", "runs"):
        assert f'id="{sid}"' in text
    for table_id in ("T_headline", "T_builtin", "T_sweep", "T_efficiency", "T_correctness"):
        assert f'id="{table_id}"' in text
    assert "3.00x slower" in text  # lstm_cell / nn_lstm at the DeepBench shape, every dtype and pass
    assert "failed" in text  # gru_cell float16 backward
    assert "One run: nothing to compare" in text
    assert "Synthetic CPU" in text


def test_images_are_valid_pngs(report: Path) -> None:
    text = (report / "report.html").read_text(encoding="utf-8")
    for payload in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text):
        assert base64.b64decode(payload)[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_markdown_is_the_seed_headline(report: Path) -> None:
    lines = (report / "summary.md").read_text(encoding="utf-8").splitlines()
    table_lines = [line for line in lines if line.startswith("|")]
    header = [c.strip() for c in table_lines[0].strip("|").split("|")]
    assert header[:4] == ["case", "device", "dtype", "pass"]
    assert {"median (ms)", "GFLOP/s", "% of peak", "tokens/s", "correctness"} <= set(header)
    assert set(table_lines[1]) <= set("|-:")
    assert len(table_lines) == 2 + 4 * 4 * 2  # header, rule, case x dtype x pass at the seed size
    failed = [line for line in table_lines if "| gru_cell | cpu | float16 |" in line]
    assert len(failed) == 2
    assert all("failed (backward)" in line for line in failed)
    assert any("Correctness: 48 checks, 47 passed, 1 failed" in line for line in lines)


def test_empty_run_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "run.json", run([], [correctness()]))
    code, out, _ = _build([str(path), "--out", str(tmp_path / "out")], capsys)
    assert code == 0
    text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "No benchmarks in the run file(s)" in text
    assert "No sweep" in text
    assert "no benchmarks" in out
    assert len(_csv_rows(tmp_path / "out" / "results.csv")) == 0


def test_stdout_has_a_summary_and_the_report_path(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "run.json", run([bench(samples=_flat(0.0025))]))
    code, out, _ = _build([str(path), "--out", str(tmp_path / "out")], capsys)
    assert code == 0
    assert "2.50" in out  # ms
    assert str((tmp_path / "out" / "report.html").resolve()) in out


# ------------------------------------------------------------------------------------- several runs


def test_two_runs_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path / "a.json", run([bench(samples=_flat(0.002)), bench(samples=_flat(0.004), dtype="float64")]))
    b = write(tmp_path / "b.json", run([bench(samples=_flat(0.003)), bench(samples=_flat(0.002), dtype="float64")]))
    code, _, err = _build([str(a), str(b), "--out", str(tmp_path / "out"), "--label", "old", "new"], capsys)
    assert (code, err) == (0, "")
    rows = _csv_rows(tmp_path / "out" / "results.csv")
    assert sorted(r["run"] for r in rows) == ["new", "new", "old", "old"]
    text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "new vs old" in text
    assert "1.50x slower" in text  # float32: 3 ms / 2 ms
    assert "2.00x faster" in text  # float64: 2 ms / 4 ms
    wide = table.side_by_side(table.tidy([load_run(a, "old"), load_run(b, "new")]), ["old", "new"])
    assert sorted(wide["ratio[new]"].round(6)) == [0.5, 1.5]


def test_same_labels_are_disambiguated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path / "a.json", run([bench(samples=_flat(0.002))]))
    b = write(tmp_path / "b.json", run([bench(samples=_flat(0.003))]))
    code, _, _ = _build([str(a), str(b), "--out", str(tmp_path / "out")], capsys)
    assert code == 0
    assert {r["run"] for r in _csv_rows(tmp_path / "out" / "results.csv")} == {"synthetic", "synthetic (2)"}
    assert table.unique_labels(["x", "x", "x (2)", "x"]) == ["x", "x (2)", "x (2) (2)", "x (3)"]


# ------------------------------------------------------------------------------------------ bad input


def _pytest_benchmark_only() -> dict[str, Any]:
    data = run([bench(samples=_flat(0.001))])
    del data["rnnsuite"]
    return data


BAD_INPUTS = {
    "missing": None,
    "empty": "",
    "truncated": json.dumps(run([bench(samples=_flat(0.001))]))[:200],
    "not a benchmark file": json.dumps({"hello": [1, 2, 3]}),
    "a list": "[1, 2, 3]",
    "pytest-benchmark without rnnsuite": json.dumps(_pytest_benchmark_only()),
}


def _ab_files(tmp_path: Path) -> tuple[Path, Path]:
    """A/B run files: float32 25% slower in B (tight samples, 20 a side), float64 the same in both."""
    base = noisy(0.010, n=20, seed=1)
    same = noisy(0.004, n=20, seed=2)
    a = run([bench(samples=base), bench(samples=same, dtype="float64")], label="torch2.13")
    b = run([bench(samples=[1.25 * x for x in base]), bench(samples=same[::-1], dtype="float64")], label="torch2.14")
    for r in (a, b):  # as suite.ab merges them: here each sample stands for one process's median
        for x in r["benchmarks"]:
            x["extra_info"]["process_medians"] = list(x["stats"]["data"])
    return write(tmp_path / "a.json", a), write(tmp_path / "b.json", b)


def test_ab_section_has_the_gate_verdicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _ab_files(tmp_path)
    out = tmp_path / "out"
    code, stdout, err = _build([str(a), "--ab", str(a), str(b), "--out", str(out)], capsys)
    assert (code, err) == (0, "")
    headline = "1 slower / 0 faster / 1 unchanged / 0 inconclusive"
    assert f"A/B: torch2.13 vs torch2.14: {headline}" in stdout
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "A/B: torch2.13 vs torch2.14</h2>" in text
    assert text.index('<h2 id="headline">') < text.index('<h2 id="ab">') < text.index('<h2 id="time">')
    section = text[text.index('<h2 id="ab">') : text.index('<h2 id="time">')]
    assert headline in section
    assert "1.25x slower" in section
    assert "slower (&gt; 5%)" in section
    frame = ab_sections.ab_frame(ab_sections.load_ab([str(a), str(b)]))
    assert frame[["dtype", "ratio", "verdict"]].values.tolist() == [
        ["float32", "1.25x slower", "slower (> 5%)"],
        ["float64", "1.00x", "unchanged"],
    ]
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "### A/B: torch2.13 vs torch2.14" in summary
    assert f"**{headline}**" in summary
    assert any("1.25x slower" in line and "slower (> 5%)" in line for line in summary.splitlines())
    assert "Numerical drift" not in summary  # one positional run


def test_drift_section_shows_the_largest_output_difference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = {"output": [0.1, 0.2, 0.3, -0.4], "h_n": [1.0, 2.0], "c_n": [5.0, 5.0, 5.0]}
    second = {"output": [0.1, 0.23, 0.3, -0.41], "h_n": [1.0, 2.02], "c_n": [9.0, 9.0]}  # c_n: other length
    third = {"output": [0.1, 0.2, 0.3, -0.4], "h_n": [1.5, 2.0], "extra": [100.0]}  # extra: only in this run
    samples = [first, second, third]
    runs = [
        run(
            [bench(samples=_flat(0.002))],
            [correctness(sample=sample, max_abs=(i + 1) * 1e-6), correctness(check="backward", max_abs=2e-5)],
            label=f"r{i}",
        )
        for i, sample in enumerate(samples)
    ]

    def expected(other: dict[str, list[float]]) -> float:
        same = [n for n in first if n in other and len(first[n]) == len(other[n])]
        return max(abs(x - y) for n in same for x, y in zip(first[n], other[n], strict=True))

    assert expected(second) == pytest.approx(0.03)  # output[1], not c_n (skipped) nor h_n (0.02)
    paths = [write(tmp_path / f"r{i}.json", data) for i, data in enumerate(runs)]
    frame = ab_sections.drift_frame([load_run(p) for p in paths])
    assert frame[["check", "max_abs r0", "max_abs r1", "max_abs r2"]].values.tolist() == [
        ["forward", 1e-6, 2e-6, 3e-6],
        ["backward", 2e-5, 2e-5, 2e-5],
    ]
    for other, label in ((second, "r1"), (third, "r2")):
        diff = frame[f"sample diff {label} vs r0"]
        assert diff[0] == pytest.approx(expected(other))
        assert math.isnan(diff[1])  # backward records carry no sample
    code, _, _ = _build([*map(str, paths), "--out", str(tmp_path / "out")], capsys)  # no --ab
    assert code == 0
    text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    section = text[text.index('<h2 id="drift">Numerical drift between runs</h2>') : text.index('<h2 id="runs">')]
    assert f"{expected(second):.1e}" in section
    assert f"{expected(third):.1e}" in section
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    row = next(line for line in summary.splitlines() if "| forward |" in line)
    assert row.split("|")[-3:-1] == [f" {expected(second):.1e} ", f" {expected(third):.1e} "]


def test_table_text_is_html_escaped() -> None:
    frame = pd.DataFrame({"verdict": ["slower (> 5%)", "<b>"], "median (ms)": [0.002, None]})
    text = render.styled(frame, "esc", {"median (ms)": render.fmt_ms})
    assert "slower (&gt; 5%)" in text
    assert "&lt;b&gt;" in text
    assert "<b>" not in text
    assert ">2.00<" in text
    assert ">—<" in text


def test_no_ab_or_drift_section_for_one_run(report: Path) -> None:
    text = (report / "report.html").read_text(encoding="utf-8")
    assert 'id="ab"' not in text
    assert 'id="drift"' not in text


def _duplicate_key() -> str:
    entry = bench(samples=noisy(0.001, n=20))
    return json.dumps(run([entry, entry]))


BAD_AB = {
    "missing": None,
    "empty": "",
    "truncated": json.dumps(run([bench(samples=_flat(0.001))]))[:200],
    "pytest-benchmark without rnnsuite": json.dumps(_pytest_benchmark_only()),
    "a benchmark key twice": _duplicate_key(),
}


@pytest.mark.parametrize("kind", [*BAD_AB, "one file"])
def test_bad_ab_file_is_one_line_and_exit_2(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, _ = _ab_files(tmp_path)
    bad = tmp_path / "bad.json"
    if BAD_AB.get(kind) is not None:
        bad.write_text(BAD_AB[kind] or "", encoding="utf-8")
    ab = [str(good)] if kind == "one file" else [str(good), str(bad)]
    code, out, err = _build([str(good), "--out", str(tmp_path / "out"), "--ab", *ab], capsys)
    assert code == (4 if kind == "one file" else 2)  # one --ab file is a bad command line; a bad file, bad input
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err + out
    assert kind == "one file" or str(bad) in err
    assert not (tmp_path / "out" / "report.html").exists()


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.json"
    if BAD_INPUTS[kind] is not None:
        path.write_text(BAD_INPUTS[kind] or "", encoding="utf-8")
    code, out, err = _build([str(path), "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err + out
    assert str(path) in err
    assert not (tmp_path / "out" / "report.html").exists()


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--out", "x"],
        ["run.json"],
        ["run.json", "--out", "x", "--bogus"],
        ["run.json", "--out", "x", "--label", "a", "b"],
    ],
    ids=["nothing", "no-run", "no-out", "unknown-option", "label-count"],
)
def test_bad_command_line_is_one_line_and_exit_4(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "run.json", run([bench(samples=_flat(0.001))]))
    args = [str(tmp_path / a) if a in ("run.json", "x") else a for a in args]
    code, out, err = _build(args, capsys)
    assert code == 4
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err + out


def test_the_real_command_line(tmp_path: Path) -> None:
    good = write(tmp_path / "run.json", run([bench(samples=_flat(0.001))]))
    ok = subprocess.run(
        [sys.executable, "-m", "rnnsuite", "build", str(good), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "report.html" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "rnnsuite", "build", str(tmp_path / "nope.json"), "--out", str(tmp_path / "o2")],
        capture_output=True, text=True, check=False, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ")
    assert bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr


# ------------------------------------------------------------------------------------- safety


def _first_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, dict[str, bytes]]:
    path = write(tmp_path / "run.json", run([bench(samples=_flat(0.001))]))
    out = tmp_path / "out"
    assert _build([str(path), "--out", str(out)], capsys)[0] == 0
    return path, out, _snapshot(out)


def test_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, before = _first_report(tmp_path, capsys)
    other = write(tmp_path / "other.json", run([bench(samples=_flat(0.005))], label="other"))
    code, _, err = _build([str(other), "--out", str(out)], capsys)
    assert code == 2
    assert "--force" in err
    assert err.count("\n") == 1
    assert _snapshot(out) == before
    code, _, _ = _build([str(other), "--out", str(out), "--force"], capsys)
    assert code == 0
    assert _snapshot(out)["results.csv"] != before["results.csv"]


def test_crash_while_rendering_leaves_the_old_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, out, before = _first_report(tmp_path, capsys)

    def boom(*_args: object) -> str:
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(page, "correctness_section", boom)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        build.main([str(path), "--out", str(out), "--force"])
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "run.json"]  # no temporary folder left


def test_crash_while_writing_leaves_the_old_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, out, before = _first_report(tmp_path, capsys)
    real = atomic.os.fdopen
    calls: list[int] = []

    def second_write_fails(fd: int, *args: Any, **kwargs: Any) -> Any:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(fd, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "fdopen", second_write_fails)
    code, _, err = _build([str(path), "--out", str(out), "--force"], capsys)
    assert code == 2
    assert "No space left" in err
    assert len(calls) == 2
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == sorted(before)  # no temporary file left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "run.json"]


def test_never_writes_the_run_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "results.csv", run([bench(samples=_flat(0.001))]))  # a run file named like an output
    before = path.read_bytes()
    code, _, err = _build([str(path), "--out", str(tmp_path), "--force"], capsys)
    assert code == 2
    assert "run file" in err
    assert path.read_bytes() == before
    code, _, _ = _build([str(path), "--out", str(tmp_path / "out")], capsys)
    assert code == 0
    assert path.read_bytes() == before


def test_out_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "run.json", run([bench(samples=_flat(0.001))]))
    code, _, err = _build([str(path), "--out", str(path)], capsys)
    assert code == 2
    assert "not a folder" in err
