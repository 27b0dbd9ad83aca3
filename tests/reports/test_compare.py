"""The regression gate (``rnnsuite compare``) on synthetic run files: verdicts, drift, exit codes."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.reports.gate import compare_command, compare_runs, stats
from rnnsuite.reports.gate.result import ComparisonResult
from rnnsuite.reports.runfile.reader import load_run
from tests import synthetic_runs as syn

ROOT = Path(__file__).resolve().parents[2]


def tight(median: float, n: int = 15, step: float = 0.002) -> list[float]:
    """``n`` evenly spaced samples, ``step`` apart relative to ``median``; for odd ``n`` the median is exact."""
    return [median * (1 + step * (i - (n - 1) / 2)) for i in range(n)]


def scaled(samples: Sequence[float], factor: float) -> list[float]:
    return [s * factor for s in samples]


def pair(
    tmp_path: Path,
    base: Sequence[dict[str, Any]],
    cand: Sequence[dict[str, Any]],
    base_checks: Sequence[dict[str, Any]] = (),
    cand_checks: Sequence[dict[str, Any]] = (),
) -> tuple[Path, Path]:
    b = syn.write(tmp_path / "base.json", syn.run(per_process(base), base_checks, label="base"))
    c = syn.write(tmp_path / "cand.json", syn.run(per_process(cand), cand_checks, label="cand"))
    return b, c


def per_process(benches: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The benchmarks as ``suite.ab`` merges them: each sample a process of its own (its median).

    A benchmark given ``process_medians: None`` keeps none (one process a side, as plain pytest writes);
    one given a list of them (``with_rounds``) keeps it, as files before schema 4 wrote it.
    """
    out = []
    for b in benches:
        extra = dict(b["extra_info"])
        if extra.get("process_medians", ()) is None:
            del extra["process_medians"]
        elif "process_medians" not in extra:
            extra["processes"] = [{"median_s": v, "samples": 1} for v in b["stats"]["data"]]
        out.append({**b, "extra_info": extra})
    return out


def gate(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = compare_command.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def result_of(base: Path, cand: Path, **kwargs: float) -> ComparisonResult:
    return compare_runs(load_run(base), load_run(cand), **kwargs)


def row_line(out: str, case: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(f"{case}-cpu"))


def test_identical_samples_are_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples = tight(1e-3)
    code, out, _ = gate(capsys, *pair(tmp_path, [syn.bench(samples=samples)], [syn.bench(samples=samples)]))
    assert code == 0
    assert "1.00x" in row_line(out, "nn_lstm")
    assert "unchanged" in row_line(out, "nn_lstm")
    assert "0 slower / 0 faster / 1 unchanged / 0 inconclusive" in out


def test_slower_by_25_percent_fails_the_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tight(1e-3)
    code, out, _ = gate(capsys, *pair(tmp_path, [syn.bench(samples=base)], [syn.bench(samples=scaled(base, 1.25))]))
    assert code == 1
    assert "1.25x slower" in row_line(out, "nn_lstm")
    assert " slower (> 5%)" in row_line(out, "nn_lstm")
    assert "1 slower / 0 faster / 0 unchanged / 0 inconclusive" in out


def test_slower_row_has_interval_around_the_ratio(tmp_path: Path) -> None:
    base = tight(1e-3)
    row = result_of(*pair(tmp_path, [syn.bench(samples=base)], [syn.bench(samples=scaled(base, 1.25))])).rows[0]
    assert row.ratio == pytest.approx(1.25)
    assert row.ci is not None
    assert row.ci[0] <= 1.25 <= row.ci[1]
    assert row.ci[1] - row.ci[0] < 0.1


def test_faster_passes_the_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tight(2e-3)
    code, out, _ = gate(capsys, *pair(tmp_path, [syn.bench(samples=base)], [syn.bench(samples=scaled(base, 0.8))]))
    assert code == 0
    assert "1.25x faster" in row_line(out, "nn_lstm")
    assert "faster (> 5%)" in row_line(out, "nn_lstm")


def test_noisy_side_is_inconclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cand = syn.bench(samples=syn.noisy(1.3e-3, n=15, spread=0.2, seed=3))
    assert cand["stats"]["iqr"] / cand["stats"]["median"] > 0.10  # the construction is noisy
    code, out, _ = gate(capsys, *pair(tmp_path, [syn.bench(samples=tight(1e-3))], [cand]))
    assert code == 3  # inconclusive: not a pass
    assert "inconclusive" in row_line(out, "nn_lstm")
    assert "noisy: cand IQR/median" in row_line(out, "nn_lstm")
    code, out, _ = gate(capsys, *pair(tmp_path, [syn.bench(samples=tight(1e-3))], [cand]), "--max-noise", "60")
    assert code == 1  # with the noise limit raised, the same samples are judged
    assert " slower (> 5%)" in row_line(out, "nn_lstm")
    assert "IQR/median > 60%" in out


def test_small_slowdown_within_threshold_is_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tight(2e-3)
    files = pair(tmp_path, [syn.bench(samples=base)], [syn.bench(samples=scaled(base, 1.03))])
    code, out, _ = gate(capsys, *files)
    assert code == 0
    assert "1.03x slower" in row_line(out, "nn_lstm")
    assert "unchanged" in row_line(out, "nn_lstm")
    code, out, _ = gate(capsys, *files, "--threshold", "2")
    assert code == 1
    assert " slower (> 2%)" in row_line(out, "nn_lstm")


@pytest.mark.parametrize(("median", "expected"), [(0.5e-3, 0), (2e-3, 1)])
def test_sub_ms_benchmarks_use_twice_the_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], median: float, expected: int
) -> None:
    base = tight(median)  # 7% slower: beyond 5% (>= 1 ms), within 10% (< 1 ms)
    code, _, _ = gate(capsys, *pair(tmp_path, [syn.bench(samples=base)], [syn.bench(samples=scaled(base, 1.07))]))
    assert code == expected


def test_holm_correction_turns_a_borderline_slowdown_inconclusive(tmp_path: Path) -> None:
    n, k = 8, 20
    raw = 1 / math.comb(2 * n, n)  # exact one-sided U p of two fully separated samples of 8
    assert raw < stats.ALPHA < k * raw  # significant alone, not after Holm over k tests
    base = tight(2e-3, n=n)
    slow = syn.bench("borderline", samples=base), syn.bench("borderline", samples=scaled(base, 1.25))
    alone = result_of(*pair(tmp_path, [slow[0]], [slow[1]]))
    assert alone.rows[0].verdict == "slower"
    assert alone.rows[0].p_slower == pytest.approx(raw)
    others = [syn.bench(f"case{i}", samples=tight(2e-3, n=n)) for i in range(k - 1)]
    many = result_of(*pair(tmp_path, [slow[0], *others], [slow[1], *others]))
    row = next(r for r in many.rows if r.key.startswith("borderline"))
    assert row.p_slower == pytest.approx(k * raw)
    # No benchmark of 8 samples can reach alpha after Holm over 20: not "unchanged", inconclusive.
    assert row.verdict == "inconclusive"
    assert "after Holm over 20 benchmarks" in row.reason
    assert many.exit_code == 3


@pytest.mark.parametrize("n", [4, 6])
def test_too_few_samples_are_inconclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str], n: int) -> None:
    # 4 < 5 a side; with 6 a side the smallest possible p is 1/C(12, 6) = 1/924 > 0.001
    base = tight(2e-3, n=n)
    code, out, _ = gate(capsys, *pair(tmp_path, [syn.bench(samples=base)], [syn.bench(samples=scaled(base, 1.5))]))
    assert code == 3
    assert "inconclusive" in row_line(out, "nn_lstm")
    assert "too few samples" in row_line(out, "nn_lstm")


def test_benchmarks_in_one_run_only_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common, old, new = (syn.bench(c, samples=tight(1e-3)) for c in ("nn_lstm", "old_case", "new_case"))
    code, out, _ = gate(capsys, *pair(tmp_path, [common, old], [common, new]))
    assert code == 0
    assert f"only in base: {old['extra_info']['key']}" in out
    assert f"only in candidate: {new['extra_info']['key']}" in out


def test_check_passed_then_failed_fails_the_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = syn.bench(samples=tight(1e-3))
    checks = (
        [syn.correctness("nn_gru", check="backward")],
        [syn.correctness("nn_gru", check="backward", outcome="failed")],
    )
    code, out, _ = gate(capsys, *pair(tmp_path, [bench], [bench], *checks))
    assert code == 1
    assert "FAILED in candidate, passed in base: nn_gru-cpu-float32 backward" in out


def test_check_failed_in_both_does_not_fail_the_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = syn.bench(samples=tight(1e-3))
    failed = [syn.correctness("nn_gru", outcome="failed", max_abs=0.5)]
    code, out, _ = gate(capsys, *pair(tmp_path, [bench], [bench], failed, failed))
    assert code == 0
    assert "failed in both" in out
    assert "FAILED in candidate" not in out


def test_sample_drift_is_the_largest_difference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = {"output": [0.1, 0.2, 0.3], "h_n": [1.0, -1.0]}
    cand = {"output": [0.1, 0.25, 0.3], "h_n": [1.0, -1.3]}  # |(-1.3) - (-1.0)| = 0.3 is the largest
    checks = [syn.correctness(max_abs=1e-6, sample=base)], [syn.correctness(max_abs=4e-6, sample=cand)]
    bench = syn.bench(samples=tight(1e-3))
    b, c = pair(tmp_path, [bench], [bench], *checks)
    drift = result_of(b, c).drift[0]
    assert drift.sample_diff == pytest.approx(0.3)
    assert drift.factor == pytest.approx(4.0)
    code, out, _ = gate(capsys, b, c)
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("nn_lstm-cpu-float32 "))
    assert "3.00e-01" in line
    assert "4x" in line


@pytest.mark.parametrize(
    "cand", [{"output": [0.1, 0.2]}, {"other": [0.1, 0.2, 0.3]}, {}], ids=["length", "names", "empty"]
)
def test_sample_drift_needs_matching_samples(cand: dict[str, list[float]]) -> None:
    assert stats.sample_diff({"output": [0.1, 0.2, 0.3]}, cand) is None


def test_markdown_report_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tight(1e-3)
    files = pair(tmp_path, [syn.bench(samples=base)], [syn.bench(samples=scaled(base, 1.25))])
    md = tmp_path / "summary" / "compare_command.md"
    md.parent.mkdir()
    code, _, _ = gate(capsys, *files, "--markdown", md)
    assert code == 1
    text = md.read_text(encoding="utf-8")
    assert "**1 slower / 0 faster / 0 unchanged / 0 inconclusive**" in text
    assert "| benchmark | base | cand | ratio |" in text
    assert "1.25x slower" in text
    assert "### Numerical drift" in text
    assert [p.name for p in md.parent.iterdir()] == ["compare_command.md"]  # no temporary file left


def test_output_is_reproducible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = pair(tmp_path, [syn.bench(samples=syn.noisy(1e-3, seed=1))], [syn.bench(samples=syn.noisy(1e-3, seed=2))])
    assert gate(capsys, *files) == gate(capsys, *files)


def test_ratio_text_reads_like_pyperf() -> None:
    assert stats.ratio_text(1.23) == "1.23x slower"
    assert stats.ratio_text(1 / 1.1) == "1.10x faster"
    assert stats.ratio_text(1.001) == "1.00x"


def test_holm_adjusts_step_down() -> None:
    # sorted 0.01, 0.03, 0.04 -> 3 * 0.01, 2 * 0.03, max(0.06, 1 * 0.04)
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def bad_inputs(tmp_path: Path) -> dict[str, Path]:
    good = syn.run([syn.bench(samples=tight(1e-3))])
    foreign = {k: v for k, v in good.items() if k != "rnnsuite"}
    files = {
        "empty": "",
        "truncated": json.dumps(good)[:200],
        "no_benchmarks": json.dumps({"machine_info": {}}),
        "foreign": json.dumps(foreign),
        "bad_samples": json.dumps(syn.run([{**good["benchmarks"][0], "stats": {"median": 1.0, "data": ["x"]}}])),
    }
    out = {"missing": tmp_path / "missing.json"}
    for name, text in files.items():
        out[name] = tmp_path / f"{name}.json"
        out[name].write_text(text, encoding="utf-8")
    return out


BAD = ["missing", "empty", "truncated", "no_benchmarks", "foreign", "bad_samples"]


@pytest.mark.parametrize("bad", BAD)
def test_unusable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str) -> None:
    good = syn.write(tmp_path / "good.json", syn.run([syn.bench(samples=tight(1e-3))]))
    code, out, err = gate(capsys, good, bad_inputs(tmp_path)[bad])
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("bad", ["truncated", "foreign"])
def test_real_cli_reports_unusable_input_in_one_line(tmp_path: Path, bad: str) -> None:
    good = syn.write(tmp_path / "good.json", syn.run([syn.bench(samples=tight(1e-3))]))
    cmd = [sys.executable, "-m", "rnnsuite", "compare", str(bad_inputs(tmp_path)[bad]), str(good)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith("error: ")


@pytest.mark.parametrize(
    "args",
    [["--alpha", "2"], ["--threshold", "abc"], ["--max-noise", "0"], ["--no-such-option"], []],
    ids=["alpha", "pct", "noise", "option", "none"],
)
def test_bad_arguments_exit_4(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    good = syn.write(tmp_path / "good.json", syn.run([syn.bench(samples=tight(1e-3))]))
    code, _, err = gate(capsys, *([good, good] if args else [good]), *args)
    assert code == 4
    assert err.startswith("error: ")
    assert err.count("\n") == 1


def test_help_names_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = gate(capsys, "--help")
    out = " ".join(out.split())  # argparse wraps at the terminal's width
    assert code == 0
    assert "(default 5)" in out
    assert "(default 10)" in out
    assert "(default 0.001)" in out


def test_real_cli_slowdown_exits_1(tmp_path: Path) -> None:
    base = tight(1e-3)
    b, c = pair(tmp_path, [syn.bench(samples=base)], [syn.bench(samples=scaled(base, 1.25))])
    proc = subprocess.run(
        [sys.executable, "-m", "rnnsuite", "compare", str(b), str(c)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "1.25x slower" in proc.stdout
    assert statistics.median(scaled(base, 1.25)) == pytest.approx(1.25e-3)  # the construction
    assert "1.25 ms" in proc.stdout


@pytest.mark.parametrize(
    ("field", "value"),
    [("correctness", ["not a record"]), ("correctness", {"key": "x"}), ("peaks", [3.0])],
)
def test_malformed_suite_records_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, value: object
) -> None:
    data = syn.run([syn.bench(samples=tight(1e-3))])
    data["rnnsuite"][field] = value
    bad = syn.write(tmp_path / "bad.json", data)
    code, _, err = gate(capsys, bad, bad)
    assert code == 2
    assert f"rnnsuite.{field}" in err
    assert err.count("\n") == 1


def test_nan_in_one_runs_output_is_an_infinite_difference() -> None:
    assert stats.sample_diff({"output": [0.1, 0.2]}, {"output": [0.1, float("nan")]}) == math.inf


def with_rounds(bench: dict[str, Any], medians: Sequence[float] | None) -> dict[str, Any]:
    """A benchmark as ``suite.ab`` merged it before schema 4: each process's median in ``process_medians``."""
    bench["extra_info"]["process_medians"] = None if medians is None else list(medians)
    return bench


def from_rounds(medians: Sequence[float], rounds: bool = True) -> dict[str, Any]:
    """One benchmark merged from rounds of 5 tight samples around each round's median."""
    samples = [m * (1 + 0.002 * (j - 2)) for m in medians for j in range(5)]
    bench = syn.bench(samples=samples)
    return with_rounds(bench, medians if rounds else None)


# Eight processes a side. The machine's state moves a process's samples together.
STEADY = [2e-3 * f for f in (1.00, 1.01, 0.99, 1.02, 1.00, 1.01, 0.99, 1.00)]
# Five of the candidate's processes landed in a slow phase, three did not: a process offset.
OFFSET = [2e-3 * f for f in (1.08, 1.09, 1.07, 1.10, 1.08, 0.99, 1.00, 1.01)]


def gate_rounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], base: Sequence[float], cand: Sequence[float]
) -> tuple[int, str]:
    """The gate on one benchmark merged from rounds with these medians; (exit code, its table row)."""
    code, out, _ = gate(capsys, *pair(tmp_path, [from_rounds(base)], [from_rounds(cand)]))
    return code, row_line(out, "nn_lstm")


def test_a_process_offset_is_not_a_slowdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = pair(tmp_path, [from_rounds(STEADY, rounds=False)], [from_rounds(OFFSET, rounds=False)])
    assert gate(capsys, *plain)[0] == 3  # the same samples without round medians: no verdict (pooled alone: slower)
    code, line = gate_rounds(tmp_path, capsys, STEADY, OFFSET)
    assert code == 0
    assert "1.07x slower" in line
    assert "unchanged" in line
    assert "not over the processes" in line
    assert "8/8: " in line


def test_a_process_offset_is_not_a_speed_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, line = gate_rounds(tmp_path, capsys, OFFSET, STEADY)
    assert code == 0
    assert "1.07x faster" in line
    assert "unchanged" in line
    assert "not over the processes" in line


def test_a_slowdown_in_every_round_fails_the_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, line = gate_rounds(tmp_path, capsys, STEADY, [m * 1.25 for m in STEADY])
    assert code == 1
    assert "1.25x slower" in line
    assert " slower (> 5%)" in line
    assert f"8/8: {1 / math.comb(16, 8):.1e}" in line  # the exact p of two separated sets of 8


def test_a_speed_up_in_every_round_is_faster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, line = gate_rounds(tmp_path, capsys, STEADY, [m * 0.75 for m in STEADY])
    assert code == 0
    assert "1.33x faster" in line
    assert " faster (> 5%)" in line


def test_rounds_on_one_side_only_are_inconclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = pair(tmp_path, [from_rounds(STEADY)], [from_rounds([m * 1.25 for m in STEADY], rounds=False)])
    code, out, _ = gate(capsys, *files)
    assert code == 3  # a 25% slowdown on the pooled samples alone is not a verdict
    assert "note: only the base records process medians" in out
    assert "inconclusive" in row_line(out, "nn_lstm")
    assert "no process medians on both sides" in row_line(out, "nn_lstm")
    assert " -  " in row_line(out, "nn_lstm")  # no round-level p


def test_two_single_process_runs_are_inconclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = syn.bench(samples=tight(2e-3, n=40))
    slow = syn.bench(samples=scaled(tight(2e-3, n=40), 1.3))
    files = pair(tmp_path, [with_rounds(base, None)], [with_rounds(slow, None)])
    code, out, _ = gate(capsys, *files)
    assert code == 3  # 40 separated samples a side would be p ~ 1e-14 pooled: still no verdict
    assert "inconclusive" in row_line(out, "nn_lstm")
    assert "a process offset cannot be told from a change" in row_line(out, "nn_lstm")


@pytest.mark.parametrize(("rounds", "need"), [(4, 7), (6, 7)])
def test_too_few_rounds_are_inconclusive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rounds: int, need: int
) -> None:
    code, line = gate_rounds(tmp_path, capsys, STEADY[:rounds], [m * 1.25 for m in STEADY[:rounds]])
    assert code == 3
    assert "inconclusive" in line
    assert (
        f"too few processes ({rounds} base, {rounds} cand) for p < 0.001; rerun suite.ab with --processes {need}"
        in line
    )


@pytest.mark.parametrize("bad", [["x"], [], [1e-3, -1.0], "1e-3"])
def test_malformed_round_medians_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: Any) -> None:
    """Old-named process medians that are no list of numbers, or no positive ones: one line naming the field."""
    base = tight(2e-3)
    files = pair(tmp_path, [with_rounds(syn.bench(samples=base), bad)], [syn.bench(samples=base)])
    code, out, err = gate(capsys, *files)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "process_medians" in err or "processes must be" in err  # the old name, or today's once mapped


@pytest.mark.parametrize(("family", "rounds"), [(1, 7), (3, 7), (4, 8), (12, 8), (13, 9), (48, 9), (49, 10)])
def test_rounds_needed_is_the_fewest_that_can_reach_alpha(family: int, rounds: int) -> None:
    # two fully separated sets of r round medians: exact one-sided p = 1 / C(2r, r)
    assert family / math.comb(2 * rounds, rounds) < 0.001 <= family / math.comb(2 * rounds - 2, rounds - 1)
    assert stats.processes_needed(family, 0.001) == rounds


def test_schema_1_round_medians_are_read_as_process_medians(tmp_path: Path) -> None:
    """Files merged by suite.ab before schema 2 name the process medians ``round_medians``."""
    slow = [m * 1.25 for m in STEADY]
    new = result_of(*pair(tmp_path, [from_rounds(STEADY)], [from_rounds(slow)]))
    legacy = [from_rounds(STEADY), from_rounds(slow)]
    for bench in legacy:
        bench["extra_info"]["round_medians"] = bench["extra_info"].pop("process_medians")
    b = syn.write(tmp_path / "old-base.json", syn.run(legacy[:1], label="base"))
    c = syn.write(tmp_path / "old-cand.json", syn.run(legacy[1:], label="cand"))
    old = result_of(b, c)
    assert new.rows[0].verdict == old.rows[0].verdict == "slower"
    assert old.rows[0].processes == (8, 8)
