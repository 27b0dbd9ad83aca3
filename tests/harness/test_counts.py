"""--metric instructions: counting (with a fake counter), the gate on counts, the injected work, exit codes."""

from __future__ import annotations

import copy
import gc
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from rnnsuite.cases import CASES
from rnnsuite.reports import gate
from rnnsuite.reports.gate import compare_command, count_rule
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.schema import SCHEMA
from rnnsuite.suite.ab import ab_command as cli
from rnnsuite.suite.ab import counted as ab_counts
from rnnsuite.suite.harness.points import Point
from rnnsuite.suite.measure import counting
from rnnsuite.suite.measure.inject import prefix_inputs
from rnnsuite.suite.measure.timing import make_call
from tests import synthetic_runs as syn
from tests.harness.test_ab import ab_args, fake_side, log_entries
from tests.harness.usage import usage_error, usage_error_in_a_process

ROOT = Path(__file__).resolve().parents[2]
LSTM, GRU = 105.3e6 / 5, 171.4e6 / 5  # instructions per call as measured in the issue (seed size)


def counted(case: str, per_call: float, repeats: tuple[float, ...] | None = None) -> dict[str, Any]:
    """A benchmark entry of a run under ``--metric instructions``."""
    reps = list(repeats or (per_call, per_call * 1.0001, per_call))
    bench = syn.bench(case, samples=[0.2])
    bench["extra_info"] |= {"schema": 2, "metric": "instructions", "instructions": per_call}
    bench["extra_info"] |= {"instructions_repeats": reps, "count_calls": 5, "count_repeats": len(reps)}
    bench["extra_info"] |= {"count_warmup": 3, "instructions_spread": counting.spread(reps)}
    return bench


def write_pair(tmp_path: Path, base: list[dict[str, Any]], cand: list[dict[str, Any]]) -> tuple[Path, Path]:
    return (
        syn.write(tmp_path / "base.json", syn.run(base, label="base")),
        syn.write(tmp_path / "cand.json", syn.run(cand, label="cand")),
    )


# ---- counting


DUMP = "version: 1\ncreator: callgrind-3.19.0\npart: 2\nevents: Ir\nsummary: 105356124\n\nfn=(1) main\n0 5\ntotals: 105356124\n"


def test_parse_totals_reads_the_dump() -> None:
    assert counting.parse_totals(DUMP) == 105356124
    assert counting.parse_totals("events: Ir\nsummary: 42\n") == 42
    with pytest.raises(counting.CountError):
        counting.parse_totals("events: Ir\n")


def test_last_dump_is_the_highest_part_of_this_process(tmp_path: Path) -> None:
    (tmp_path / "callgrind.out.77.2").write_text(DUMP.replace("105356124", "20"))
    (tmp_path / "callgrind.out.77.10").write_text(DUMP.replace("105356124", "1000"))
    (tmp_path / "callgrind.out.78.11").write_text(DUMP.replace("105356124", "5"))  # another process
    (tmp_path / "callgrind.out.77").write_text(DUMP.replace("105356124", "0"))  # the final dump at exit
    assert counting.last_dump_total(tmp_path, pid=77) == 1000
    assert not (tmp_path / "callgrind.out.77.10").exists()  # read once
    assert counting.last_dump_total(tmp_path, pid=77) == 20
    with pytest.raises(counting.CountError, match="no dump"):
        counting.last_dump_total(tmp_path, pid=77)


class FakeCounter:
    """A work function whose n-th call costs ``cost(n)`` instructions, with ``toggle`` and ``dump`` over it."""

    def __init__(self, cost: Callable[[int], int]) -> None:
        self.cost, self.total, self.calls, self.start = cost, 0, 0, 0

    def fn(self) -> None:
        self.total += self.cost(self.calls)
        self.calls += 1

    def toggle(self) -> None:
        self.start = self.total

    def dump(self) -> int:
        return self.total - self.start


def test_count_calls_counts_only_the_measured_calls() -> None:
    big = int(10 * counting.SMALL_CALL)  # a large call: its first count stands
    c = FakeCounter(lambda n: int(big * 1.5) if n == 0 else big)  # the first call costs more (allocations)
    out = counting.count_calls(c.fn, c.toggle, c.dump, calls=4, repeats=3, warmup=2)
    assert out["instructions"] == big  # the expensive first call was a warm-up
    assert out["instructions_repeats"] == [big] * 3
    assert out["instructions_spread"] == 0
    assert (out["count_calls"], out["count_repeats"], out["count_warmup"]) == (4, 3, 2)
    assert c.calls == 2 + 4 * 3
    cold = counting.count_calls(c.fn, c.toggle, c.dump, calls=1, repeats=1, warmup=0)
    assert cold["instructions"] == big  # fn's first call is long gone


def test_a_small_call_is_warmed_up_more_and_counted_again() -> None:
    """numpy_rnn's forward+backward got cheaper over ~20 calls: 1.52M, 1.49M, 1.47M after one warm-up."""
    # 1.52M falling by 1.5% a call to 1.45M, then steady (a Python-bound model warming up)
    c = FakeCounter(lambda n: max(1_450_000, int(1_520_000 * 0.985**n)))
    first = counting.spread([1_520_000 * 0.985**n for n in (1, 2, 3)])
    assert first > 0.03  # counted after one warm-up call, the repeats would spread beyond the gate's 3%
    out = counting.count_calls(c.fn, c.toggle, c.dump)
    assert out["instructions_repeats"] == [1_450_000] * counting.REPEATS
    assert out["instructions_spread"] == 0
    assert out["count_warmup"] == counting.WARMUP_CALLS + counting.REPEATS + counting.EXTRA_WARMUP
    assert c.calls == out["count_warmup"] + counting.REPEATS


def test_a_large_call_whose_repeats_spread_is_counted_again() -> None:
    """The CI example's A/A: char_rnn's forward+backward (5.5M, just over SMALL_CALL) counted 5.49M, 5.73M, 5.46M
    in one process: 4.95%, an inconclusive verdict. A spread over RECOUNT_SPREAD is counted again."""
    big = int(10 * counting.SMALL_CALL)
    c = FakeCounter(lambda n: int(big * 1.02) if n == 2 else big)  # the second repeat 2% higher, once
    out = counting.count_calls(c.fn, c.toggle, c.dump)
    extra = counting.extra_warmup(big)
    assert extra == max(counting.EXTRA_WARMUP_MIN, -(-int(counting.EXTRA_WARMUP_INSTRUCTIONS) // big))
    assert out["instructions_repeats"] == [big] * counting.REPEATS
    assert out["count_warmup"] == counting.WARMUP_CALLS + counting.REPEATS + extra
    steady = FakeCounter(lambda n: int(big * 1.005) if n == 2 else big)  # 0.5%: under RECOUNT_SPREAD, counted once
    once = counting.count_calls(steady.fn, steady.toggle, steady.dump, repeats=3)
    assert once["count_warmup"] == counting.WARMUP_CALLS
    assert once["instructions_spread"] == pytest.approx(0.005, rel=1e-3)


def test_extra_warmup_is_bounded_by_calls_and_by_work() -> None:
    assert counting.extra_warmup(1e6) == counting.EXTRA_WARMUP  # small calls: the most calls
    assert counting.extra_warmup(1e9) == counting.EXTRA_WARMUP_MIN  # a call of seconds under valgrind: the fewest
    assert counting.extra_warmup(2.5e7) == 4  # 1e8 instructions of work
    assert counting.extra_warmup(0) == counting.EXTRA_WARMUP


def test_the_garbage_collector_is_off_in_counted_blocks_only() -> None:
    """A collection inside a counted block counts the interpreter's work as the model's; it is off there."""
    seen: list[bool] = []
    c = FakeCounter(lambda n: int(10 * counting.SMALL_CALL))
    counting_fn = c.fn

    def fn() -> None:
        seen.append(gc.isenabled())
        counting_fn()

    assert gc.isenabled()
    counting.count_calls(fn, c.toggle, c.dump, calls=2, repeats=3, warmup=1)
    assert seen == [True] + [False] * 6  # the warm-up call with it on, the six counted calls with it off
    assert gc.isenabled()  # on again after


def test_spread_is_range_over_median() -> None:
    assert counting.spread([100.0, 101.0, 99.0]) == pytest.approx(0.02)
    assert counting.spread([5.0]) == 0


# ---- the injected work


def test_prefix_inputs_cut_the_sequence() -> None:
    x = torch.zeros(100, 3, 4)
    h = torch.zeros(3, 5)
    short = prefix_inputs({"x": x, "h0": h}, 0.05)
    assert short["x"].shape == (5, 3, 4)
    assert short["h0"] is h
    assert prefix_inputs({"x": x}, 0.001)["x"].shape[0] == 1  # at least one step


@pytest.mark.parametrize("pass_", ["fwd", "fwd_bwd"])
@pytest.mark.parametrize("pct", [2, 25])
def test_injected_work_adds_that_share_of_the_sequence(pass_: str, pct: int) -> None:
    case = CASES["nn_lstm"]
    size = case.sizes["seed"][0]
    bp = Point.benchmark(case, "cpu", torch.float32, pass_, "eager", "seed", size)
    seen: list[int] = []

    def steps_of(module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        if isinstance(module, torch.nn.LSTM):
            seen.append(args[0].shape[0])

    for extra in (0.0, pct / 100):
        call, _ = make_call(bp, 0, extra)
        handle = torch.nn.modules.module.register_module_forward_pre_hook(steps_of)
        try:
            seen.clear()
            call()
        finally:
            handle.remove()
        steps = sorted(seen)
    assert steps == sorted(
        [size.seq_len, max(1, round(pct / 100 * size.seq_len))]
    )  # the whole sequence, then the extra


# ---- the gate on counts


def test_count_verdicts_against_the_threshold() -> None:
    assert count_rule.count_verdict(100.0, 102.0, (0, 0), 0.01)[0] == "slower"
    assert count_rule.count_verdict(100.0, 100.9, (0, 0), 0.01)[0] == "unchanged"
    assert count_rule.count_verdict(100.0, 98.0, (0, 0), 0.01)[0] == "faster"
    verdict, reason = count_rule.count_verdict(100.0, 102.0, (0.0, 0.02), 0.01)
    assert verdict == "inconclusive"
    assert "cand 2.00%" in reason


# Measured in docs/notes/gate.md, study 3: nn_lstm forward with 2% more of its sequence (2 more steps of
# 100) counted 22.37M instructions a call against 21.05M (+6.3%), the smallest injected change the
# gate must catch; nn_gru's largest A/A difference between processes was 1.41%.
SMALLEST_INJECTED = 22.37 / 21.05
LARGEST_AA = 1.0141


def test_the_smallest_injected_change_fails_and_names_the_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = [counted("nn_lstm", LSTM), counted("nn_gru", GRU)]
    cand = [counted("nn_lstm", LSTM * SMALLEST_INJECTED), counted("nn_gru", GRU * LARGEST_AA)]
    code = compare_command.main([str(p) for p in write_pair(tmp_path, base, cand)])
    out = capsys.readouterr().out
    assert code == 1
    lstm = next(line for line in out.splitlines() if line.startswith("nn_lstm-"))
    gru = next(line for line in out.splitlines() if line.startswith("nn_gru-"))
    assert "slower (> 3.0% instr)" in lstm
    assert "instructions per call +6.27%" in lstm
    assert "unchanged" in gru
    assert "1 slower / 0 faster / 1 unchanged / 0 inconclusive" in out


@pytest.mark.parametrize(("change", "verdict"), [(1.031, "slower"), (1.029, "unchanged"), (1 / 1.031, "faster")])
def test_the_default_threshold_is_three_percent(tmp_path: Path, change: float, verdict: str) -> None:
    base, cand = write_pair(tmp_path, [counted("nn_gru", GRU)], [counted("nn_gru", GRU * change)])
    row = gate.compare_runs(load_run(base), load_run(cand)).rows[0]
    assert row.verdict == verdict, row.reason


def test_the_largest_aa_differences_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = [counted("nn_lstm", LSTM), counted("nn_gru", GRU)]
    cand = [counted("nn_lstm", LSTM * 1.003), counted("nn_gru", GRU / LARGEST_AA)]
    assert compare_command.main([str(p) for p in write_pair(tmp_path, base, cand)]) == 0
    assert "0 slower / 0 faster / 2 unchanged / 0 inconclusive" in capsys.readouterr().out


def test_count_threshold_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = write_pair(tmp_path, [counted("nn_lstm", LSTM)], [counted("nn_lstm", LSTM * 1.02)])
    assert compare_command.main([*map(str, files), "--count-threshold", "1"]) == 1
    assert compare_command.main([*map(str, files), "--count-threshold", "3"]) == 0
    assert compare_command.main([*map(str, files), "--count-threshold", "0"]) == 4
    capsys.readouterr()


def test_a_count_against_a_time_is_inconclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    timed = syn.bench("nn_lstm", samples=[2e-3] * 9)
    code = compare_command.main([str(p) for p in write_pair(tmp_path, [timed], [counted("nn_lstm", LSTM)])])
    out = capsys.readouterr().out
    assert code == 3
    assert "the base has no instruction count" in out


@pytest.mark.parametrize("bad", [None, -1.0, "many", True])
def test_a_counted_benchmark_without_a_count_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: Any
) -> None:
    broken = counted("nn_lstm", LSTM)
    broken["extra_info"]["instructions"] = bad
    code = compare_command.main([str(p) for p in write_pair(tmp_path, [counted("nn_lstm", LSTM)], [broken])])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "without a positive instructions count" in err


def test_a_counted_run_reports_instructions_not_its_time_under_valgrind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stats of a counted benchmark are the time of the count under valgrind: the report must not show them."""
    from rnnsuite.reports.output import build

    path = syn.write(tmp_path / "counted.json", syn.run([counted("nn_lstm", LSTM), counted("nn_gru", GRU)]))
    assert build.main([str(path), "--out", str(tmp_path / "rep")]) == 0
    console = capsys.readouterr().out
    assert "instructions per call by dtype" in console
    assert "21.1 M" in console
    assert "34.3 M" in console
    summary = (tmp_path / "rep" / "summary.md").read_text()
    lines = summary.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("| case |"))
    header, first = lines[at], lines[at + 2]
    cells = dict(zip((c.strip() for c in header.split("|")), (c.strip() for c in first.split("|")), strict=True))
    assert cells["instructions / call"] == "21.1 M"
    assert cells["median (ms)"] == cells["GFLOP/s"] == cells["tokens/s"] == "—"  # not the 200 ms under valgrind
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "counted under valgrind" in html
    assert "No timings: the benchmarks were counted" in html


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    data = syn.run([counted("nn_lstm", LSTM)])
    data["rnnsuite"]["schema"] = SCHEMA + 1
    path = syn.write(tmp_path / "new.json", data)
    with pytest.raises(Exception, match="newer than this reader"):
        load_run(path)


# ---- suite.ab --metric instructions (fake interpreters)


def test_ab_counts_each_side_once_and_fails_on_more_instructions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ab_counts, "valgrind_missing", lambda: None)  # the fakes count nothing themselves
    a = fake_side(tmp_path, "a", [syn.run([counted("nn_lstm", LSTM), counted("nn_gru", GRU)])])
    b = fake_side(tmp_path, "b", [syn.run([counted("nn_lstm", LSTM * SMALLEST_INJECTED), counted("nn_gru", GRU)])])
    code = cli.main(ab_args(tmp_path, a, b, "--metric", "instructions", "--no-checks", "-k", "nn_lstm or nn_gru"))
    out = capsys.readouterr().out
    entries = log_entries(tmp_path)
    assert sorted(e["side"] for e in entries) == ["a", "b"]  # one process a side
    assert all("--metric" in e["argv"] and "instructions" in e["argv"] for e in entries)
    assert code == 1
    assert "slower" in next(line for line in out.splitlines() if line.startswith("nn_lstm-"))
    assert "unchanged" in next(line for line in out.splitlines() if line.startswith("nn_gru-"))
    assert '"processes"' not in (tmp_path / "out" / "a.json").read_text()


def test_ab_sides_get_their_own_hash_seed_and_layout() -> None:
    import random

    rng = random.Random(1)
    one, two = ab_counts.side_env(rng), ab_counts.side_env(rng)
    assert one["PYTHONHASHSEED"] != two["PYTHONHASHSEED"]
    assert len(one[ab_counts.PAD_ENV]) != len(two[ab_counts.PAD_ENV])


def test_ab_without_valgrind_exits_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no valgrind here
    a = fake_side(tmp_path, "a", [])
    code = cli.main(ab_args(tmp_path, a, a, "--metric", "instructions"))
    err = capsys.readouterr().err
    assert code == 4
    assert err.count("\n") == 1
    assert "needs valgrind" in err
    assert "apt-get install valgrind" in err


def test_ab_refuses_rounds_with_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = fake_side(tmp_path, "a", [])
    assert cli.main(ab_args(tmp_path, a, a, "--metric", "instructions", "--rounds", "3")) == 4
    assert "counted once" in capsys.readouterr().err


# ---- the plugin's option


def _pytest(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # The limit only guards against a hang: under valgrind on a loaded 2-core machine a run of
    # one tiny benchmark took over 5 minutes (90 s on a quiet one).
    cmd = [sys.executable, "-m", "pytest", "suite/test_speed.py", "--benchmark-only", "-q", "-p", "no:cacheprovider"]
    return subprocess.run([*cmd, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False)


def test_metric_instructions_without_valgrind_is_one_line_exit_4(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(tmp_path))
    args = ("suite/test_speed.py", "--benchmark-only", "--metric", "instructions", "-k", "nn_lstm", "--device", "cpu")
    status, lines, _ = usage_error_in_a_process(*args, env=env)
    assert status == 4
    assert len(lines) == 1, lines
    assert "needs valgrind" in lines[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--metric", "cycles"), "--metric: unknown value 'cycles'"),
        (("--metric", "instructions", "--threads", "2"), "--threads 1"),
        (("--metric", "instructions", "--inject-slowdown", "nn_lstm=1.1"), "--inject-work"),
        (("--inject-work", "nn_lstm=0"), "--inject-work"),
        (("--inject-work", "nope=5"), "--inject-work"),
    ],
)
def test_bad_metric_options_are_one_line(
    args: tuple[str, ...], needle: str, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, lines = usage_error(["suite/test_speed.py", "--benchmark-only", *args], capfd, monkeypatch)
    assert status == 4
    assert len(lines) == 1, lines
    assert needle in lines[0]


# ---- the real thing (valgrind present)


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed (apt-get install valgrind)")
def test_real_count_under_callgrind(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if request.config.getoption("benchmark_skip", False):
        pytest.skip("a run under valgrind takes minutes: not part of the correctness tier")
    if os.environ.get("PYTEST_XDIST_WORKER"):  # pytest-benchmark disables itself in a child of an xdist worker
        pytest.skip("run it without -n: pytest tests/harness/test_counts.py -k real (a count under valgrind)")
    out = tmp_path / "run.json"
    proc = _pytest(
        dict(os.environ),
        f"--benchmark-json={out}",
        "--metric",
        "instructions",
        "--no-peak",
        "-k",
        "numpy_rnn",
        "--pass",
        "fwd",
        "--device",
        "cpu",
        "--dtype",
        "float64",
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    run = json.loads(out.read_text())
    assert run["rnnsuite"]["schema"] == SCHEMA
    assert run["rnnsuite"]["metric"] == "instructions"
    assert run["machine_info"]["rnnsuite"]["valgrind"].startswith("3.")
    (bench,) = run["benchmarks"]
    extra = bench["extra_info"]
    assert extra["metric"] == "instructions"
    assert extra["instructions"] > 1e4  # a forward of a tiny RNN is still thousands of instructions
    assert extra["kernel_label"] == "not profiled"  # no profiled call under valgrind
    assert len(extra["instructions_repeats"]) == extra["count_repeats"] == counting.REPEATS
    reps = extra["instructions_repeats"]
    assert extra["instructions_spread"] == pytest.approx((max(reps) - min(reps)) / sorted(reps)[1])
    again = copy.deepcopy(run)
    again["benchmarks"][0]["extra_info"]["instructions"] *= 1.05
    cand = tmp_path / "cand.json"
    cand.write_text(json.dumps(again))
    # numpy_rnn is tiny (2 steps): its counts move by about 2% between calls, so a 4% threshold here
    result = gate.compare_runs(load_run(out), load_run(cand), count_threshold=0.04)
    assert result.rows[0].verdict == "slower", result.rows[0].reason


def test_a_benchmark_without_a_profiled_call_says_so() -> None:
    """Counted runs skip the profiled call: their kernel column must not read as a path that ran ("other")."""
    from rnnsuite.suite.harness.kernels import kernel_label

    assert kernel_label({}) == "not profiled"
    assert kernel_label({"aten::add": 3}) == "other"
