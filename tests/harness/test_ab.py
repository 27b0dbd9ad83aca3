"""The A/B runner (``python -m suite.ab``) with fake interpreters that write synthetic rounds (no timing)."""

from __future__ import annotations

import itertools
import json
import math
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.suite.ab import ab_command as cli
from rnnsuite.suite.ab import runner as ab
from tests import synthetic_runs as syn

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 8  # ab.PROCESSES: the fewest with which a slowdown can be significant over rounds too
PER_ROUND = 7

# The fake "python": logs its side, argv and cwd, then copies the next prepared round to --benchmark-json,
# or fails with exit 3 when no round is prepared.
FAKE = """#!{python}
import json, os, shutil, sys
from pathlib import Path
log = Path({log!r})
checks = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--checks-json=")), None)
if checks:  # the side's correctness run: records from checks.json when prepared
    prepared = Path({rounds!r}) / "checks.json"
    Path(checks).write_text(prepared.read_text() if prepared.exists() else '{{"correctness": []}}')
    with (log.parent / "checks-log").open("a") as fh:
        fh.write(json.dumps({{"side": {side!r}, "argv": sys.argv[1:]}}) + "\\n")
    sys.exit(0)
with log.open("a") as fh:
    fh.write(json.dumps({{"side": {side!r}, "argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
n = sum(json.loads(line)["side"] == {side!r} for line in log.read_text().splitlines())
src = Path({rounds!r}) / f"{{n}}.json"
if not src.exists():
    print("collected 3 items", file=sys.stdout)
    print("boom: round", n, "crashed", file=sys.stderr)
    sys.exit(3)
target = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--benchmark-json="))
shutil.copy(src, target)
sys.exit(1 if json.loads(src.read_text())["rnnsuite"].get("errors") else 0)  # as suite.isolate after a crash
"""


def round_samples(median: float, i: int) -> list[float]:
    """Round ``i``'s samples: tight around ``median``, shifted a little per round."""
    return [median * (1 + 0.001 * i) * (1 + 0.002 * (j - 3)) for j in range(PER_ROUND)]


def fake_side(tmp_path: Path, side: str, rounds: Sequence[dict[str, Any]]) -> tuple[Path, Path]:
    """A fake interpreter and a checkout folder for one side; returns (interpreter, checkout)."""
    folder = tmp_path / f"rounds-{side}"
    folder.mkdir()
    for i, data in enumerate(rounds, start=1):
        syn.write(folder / f"{i}.json", data)
    checkout = tmp_path / f"checkout-{side}"
    (checkout / "suite").mkdir(parents=True)
    python = tmp_path / f"python-{side}"
    python.write_text(FAKE.format(python=sys.executable, log=str(tmp_path / "log"), side=side, rounds=str(folder)))
    python.chmod(0o755)
    return python, checkout


def side_rounds(median: float, n: int = ROUNDS, checks_from: int = 2, cases: int = 1) -> list[dict[str, Any]]:
    """``n`` rounds of ``cases`` benchmarks; correctness records from round ``checks_from`` on."""
    names = ["nn_lstm", *(f"case{c}" for c in range(1, cases))]
    return [
        syn.run(
            [syn.bench(name, samples=round_samples(median, i)) for name in names],
            [syn.correctness(max_abs=float(i))] if i >= checks_from else [],
            label=f"r{i}",
        )
        for i in range(1, n + 1)
    ]


def log_entries(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()]


def ab_args(tmp_path: Path, a: tuple[Path, Path], b: tuple[Path, Path], *extra: str) -> list[str]:
    return [
        "--a",
        str(a[0]),
        "--a-dir",
        str(a[1]),
        "--b",
        str(b[0]),
        "--b-dir",
        str(b[1]),
        "--out",
        str(tmp_path / "out"),
        *extra,
    ]


def test_schedule_alternates_abba_baab() -> None:
    assert "".join(ab.schedule(4)) == "abbabaab"
    assert "".join(ab.schedule(2)) == "abba"


def test_slower_b_runs_alternating_rounds_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = fake_side(tmp_path, "a", side_rounds(1e-3))
    b = fake_side(tmp_path, "b", side_rounds(1.3e-3))
    code = cli.main(ab_args(tmp_path, a, b, "-k", "nn_lstm and float32", "--size", "seed"))
    out = capsys.readouterr().out
    assert code == 1
    log = log_entries(tmp_path)
    assert "".join(e["side"] for e in log) == "abbabaabbaababba"
    assert all(Path(e["cwd"]) == (a if e["side"] == "a" else b)[1].resolve() for e in log)
    rounds_dir = tmp_path / "out" / "processes"
    assert log[2]["argv"] == [
        "-m",
        "pytest",
        "suite/test_speed.py",
        "--benchmark-only",
        "--no-cold",
        f"--benchmark-json={rounds_dir / 'b-2.json'}",
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        "nn_lstm and float32",
        "--size",
        "seed",
    ]
    assert "process 3/16: B" in out
    assert "1.30x slower" in out
    assert "1 slower / 0 faster" in (tmp_path / "out" / "compare.md").read_text(encoding="utf-8")


def test_rounds_are_merged_per_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = fake_side(tmp_path, "a", side_rounds(1e-3))
    b = fake_side(tmp_path, "b", side_rounds(1e-3))
    assert cli.main(ab_args(tmp_path, a, b)) == 0
    capsys.readouterr()
    merged = json.loads((tmp_path / "out" / "a.json").read_text(encoding="utf-8"))
    expected = [s for i in range(1, ROUNDS + 1) for s in round_samples(1e-3, i)]
    (bench,) = merged["benchmarks"]
    st = bench["stats"]
    assert st["data"] == pytest.approx(expected)
    assert st["rounds"] == ROUNDS * PER_ROUND
    assert st["median"] == pytest.approx(statistics.median(expected))
    assert st["mean"] == pytest.approx(statistics.fmean(expected))
    assert st["stddev"] == pytest.approx(statistics.stdev(expected))
    assert (st["min"], st["max"]) == (pytest.approx(min(expected)), pytest.approx(max(expected)))
    assert st["q1"] < st["median"] < st["q3"]
    assert st["iqr"] == pytest.approx(st["q3"] - st["q1"])
    # each process a record: its median (its 4th of 7 samples) for the gate's process-level test, its sample count
    processes = bench["extra_info"]["processes"]
    assert [p["median_s"] for p in processes] == pytest.approx([1e-3 * (1 + 0.001 * i) for i in range(1, ROUNDS + 1)])
    assert [p["samples"] for p in processes] == [PER_ROUND] * ROUNDS
    assert bench["extra_info"]["key"] == syn.bench(samples=[1.0])["extra_info"]["key"]
    assert merged["rnnsuite"]["label"] == "r1"  # top level from the first round
    assert [c["max_abs"] for c in merged["rnnsuite"]["correctness"]] == [2.0]  # first round that has records


def test_failing_round_exits_2_naming_side_and_round(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = fake_side(tmp_path, "a", side_rounds(1e-3))
    b = fake_side(tmp_path, "b", side_rounds(1e-3, n=1))  # B's 2nd round, the 3rd overall (a b [b]), fails
    code = cli.main(ab_args(tmp_path, a, b))
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: process 3/16 (B, its process 2) failed: exit code 3")
    assert "boom: round 2 crashed" in err
    assert "Traceback" not in err


def test_missing_interpreter_is_a_bad_command_line_exit_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = fake_side(tmp_path, "b", side_rounds(1e-3))
    code = cli.main(ab_args(tmp_path, (tmp_path / "no-python", b[1]), b))
    err = capsys.readouterr().err
    assert code == 4
    assert err.startswith("error: --a: interpreter")
    assert err.count("\n") == 1


def test_real_cli_missing_dir_exits_4(tmp_path: Path) -> None:
    a = fake_side(tmp_path, "a", side_rounds(1e-3))
    args = ab_args(tmp_path, a, (a[0], tmp_path / "no-such-checkout"))
    proc = subprocess.run(
        [sys.executable, "-m", "rnnsuite", "ab", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 4
    assert proc.stderr.startswith("error: --b-dir")
    assert len(proc.stderr.splitlines()) == 1
    assert not (tmp_path / "log").exists()  # nothing ran


def test_unknown_options_and_those_after_double_dash_go_to_pytest() -> None:
    args, selection = cli.parse_args(
        ["--a", "pa", "--b", "pb", "--out", "o", "-k", "lstm and cpu", "--size", "seed", "--", "--rounds", "9"]
    )
    assert (args.a, args.b, args.processes) == ("pa", "pb", None)  # None: chosen after the first round
    assert selection == ["-k", "lstm and cpu", "--size", "seed", "--rounds", "9"]


def test_gate_options_are_checked_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = fake_side(tmp_path, "a", side_rounds(1e-3))
    args, selection = cli.parse_args(["--a", "pa", "--b", "pb", "--out", "o", "--max-noise", "50", "-k", "x"])
    assert (args.max_noise, selection) == (50.0, ["-k", "x"])
    assert cli.main(ab_args(tmp_path, a, a, "--max-noise", "0")) == 4
    assert (
        capsys.readouterr().err
        == "error: --threshold must be >= 0, --alpha between 0 and 1, --max-noise and --count-threshold > 0\n"
    )
    assert not (tmp_path / "log").exists()  # nothing ran


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert "ABBA BAAB" in capsys.readouterr().out


def test_each_side_runs_the_correctness_tier_and_a_new_failure_fails(tmp_path: Path) -> None:
    """Both sides run ``-m correctness`` once with only the matrix options of the selection; a check
    that passes under A and fails under B fails the gate even when the timings are equal."""
    a = fake_side(tmp_path, "a", side_rounds(1e-3, checks_from=99))
    b = fake_side(tmp_path, "b", side_rounds(1e-3, checks_from=99))
    syn.write(tmp_path / "rounds-a" / "checks.json", {"correctness": [syn.correctness(outcome="passed")]})
    syn.write(tmp_path / "rounds-b" / "checks.json", {"correctness": [syn.correctness(outcome="failed")]})
    code = cli.main(ab_args(tmp_path, a, b, "-k", "nn_lstm", "--device", "cpu", "--dtype=float32", "--size", "seed"))
    assert code == 1
    calls = [json.loads(line) for line in (tmp_path / "checks-log").read_text().splitlines()]
    assert [c["side"] for c in calls] == ["a", "b"]
    argv = calls[0]["argv"]
    assert ("-m", "correctness") in set(itertools.pairwise(argv))
    assert ("-n", "auto") in set(itertools.pairwise(argv))  # on every core: the checks are not timed
    assert "--device" in argv and "cpu" in argv and "--dtype=float32" in argv  # noqa: PT018
    assert "-k" not in argv and "--size" not in argv  # noqa: PT018
    merged = json.loads((tmp_path / "out" / "b.json").read_text())
    assert [r["outcome"] for r in merged["rnnsuite"]["correctness"]] == ["failed"]


def test_default_rounds_grow_with_the_benchmarks_selected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 13 benchmarks: 8 rounds a side give at best 13 x 1/C(16,8) = 1.0e-3, not below 0.001; 9 do.
    assert 13 / math.comb(16, 8) >= 0.001 > 13 / math.comb(18, 9)
    a = fake_side(tmp_path, "a", side_rounds(1e-3, n=9, cases=13))
    b = fake_side(tmp_path, "b", side_rounds(1.3e-3, n=9, cases=13))
    code = cli.main(ab_args(tmp_path, a, b))
    out = capsys.readouterr().out
    assert "".join(e["side"] for e in log_entries(tmp_path)) == "abbabaabbaababbabaab"[:18]
    assert "process 18/18: " in out
    assert code == 1
    assert "13 slower / 0 faster / 0 unchanged / 0 inconclusive" in out


def test_too_few_explicit_rounds_warn_and_stay_inconclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = fake_side(tmp_path, "a", side_rounds(1e-3, n=4))
    b = fake_side(tmp_path, "b", side_rounds(1.3e-3, n=4))
    code = cli.main(ab_args(tmp_path, a, b, "--rounds", "4"))  # the old name of --processes still works
    out, err = capsys.readouterr()
    assert err == (
        "warning: --processes 4 cannot reach p < 0.001 over the processes after Holm over 1 benchmark(s); "
        "every verdict will be inconclusive; use --processes 7\n"
    )
    assert len(log_entries(tmp_path)) == 8
    assert code == 3  # a 30% slowdown it cannot decide: exit 3, which no CI reads as a pass
    assert "too few processes (4 base, 4 cand) for p < 0.001; rerun suite.ab with --processes 7" in out


def test_gate_study_judges_what_suite_ab_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """lab/gate_study.py re-merges a trial's processes: it must find them where suite.ab keeps them."""
    from tests.harness import lab

    study = lab("gate_study")
    a = fake_side(tmp_path, "a", side_rounds(1e-3))
    b = fake_side(tmp_path, "b", side_rounds(1.3e-3))
    code = cli.main(ab_args(tmp_path, a, b, "-k", "nn_lstm and float32", "--size", "seed"))
    capsys.readouterr()
    rows = study.judge(tmp_path / "out")
    assert [(r["verdict"], r["rc"]) for r in rows] == [("slower", code)]
    assert code == 1


def _crashed_rounds(median: float) -> list[dict[str, Any]]:
    """B's rounds: nn_lstm timed, nn_gru's benchmark crashed in every process (``rnnsuite.errors``)."""
    rounds = side_rounds(median)
    key = syn.bench("nn_gru", samples=[1.0], family="gru")["extra_info"]["key"]
    error = {"nodeid": f"suite/test_speed.py::test_speed[{key}]", "test": "benchmark", "key": key, "case": "nn_gru"}
    error |= {
        "device": "cpu",
        "dtype": "float32",
        "pass": "fwd",
        "check": None,
        "error": "crashed (SIGSEGV)",
        "output": [],
    }
    for data in rounds:
        data["rnnsuite"]["errors"] = [error]
    return rounds


def test_a_benchmark_that_crashed_on_b_is_named_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_rounds = side_rounds(1e-3)
    for i, data in enumerate(a_rounds):
        data["benchmarks"].append(syn.bench("nn_gru", samples=round_samples(2e-3, i), family="gru"))
    a = fake_side(tmp_path, "a", a_rounds)
    b = fake_side(tmp_path, "b", _crashed_rounds(1e-3))
    code = cli.main(ab_args(tmp_path, a, b))
    out = capsys.readouterr().out
    assert code == 1  # never a silent drop: nn_lstm alone is unchanged
    assert "crashed on B: nn_gru-cpu-float32-fwd-eager-seed-T100_B32_I10_H20_L1 (crashed (SIGSEGV))" in out
    assert "only in base" not in out
    assert "crashed on B" in (tmp_path / "out" / "compare.md").read_text(encoding="utf-8")


def test_a_side_whose_checkout_has_suite_isolate_runs_under_it() -> None:
    cmd = ab.pytest_command(ab.Side("b", sys.executable, ROOT), Path("b.json"), [])
    assert cmd[:3] == [sys.executable, "-m", "rnnsuite.suite.isolate"]
