"""The journal (reports/runfile/journal/): whole lines under concurrent writers, torn lines, the run file it assembles,
and the report of a run in which tests crashed (no torch)."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.reports.gate import compare_runs
from rnnsuite.reports.output import build, table
from rnnsuite.reports.runfile import journal as jr
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.record import names
from rnnsuite.reports.runfile.run import RunFileError
from rnnsuite.reports.runfile.schema import BENCH, RUN, Error
from tests import synthetic_runs as syn

CRASHED = "suite/test_speed.py::test_speed[nn_gru-cpu-float32-fwd_bwd]"
CRASHED_RE = re.escape(CRASHED)
KEY = "nn_gru-cpu-float32-fwd_bwd"


def _writer(path: str, who: int, n: int) -> None:
    for i in range(n):  # lines far longer than PIPE_BUF (4096): atomic only through the one O_APPEND write
        jr.append(path, {"kind": "check", "nodeid": f"w{who}-{i}", "record": {"pad": "x" * 20_000, "i": i}})


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    jr.append(path, _header())
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 60)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    journal = jr.read(path)
    assert not journal.torn
    assert sorted(r["nodeid"] for r in journal.of("check")) == sorted(f"w{w}-{i}" for w in range(4) for i in range(60))


def _header(**extra: Any) -> dict[str, Any]:
    return {
        "kind": "header",
        "session": "s1",
        "pid": 1,
        "t": 0.0,
        "label": "torch2.13",
        "metric": "time",
        "allocator": "glibc",
    } | extra


def _journal(path: Path, records: list[dict[str, Any]]) -> Path:
    for rec in [_header(), *records]:
        jr.append(path, rec)
    return path


def test_a_torn_last_line_is_skipped_and_a_torn_line_before_a_record_loses_only_itself(tmp_path: Path) -> None:
    path = _journal(tmp_path / "j.jsonl", [{"kind": "done", "nodeid": "a", "outcome": "passed"}])
    with open(path, "ab") as fh:  # a writer killed mid-line ...
        fh.write(b'{"kind":"done","nodeid":"b","outc')
    assert jr.read(path).torn
    assert jr.read(path).finished == {"a"}
    jr.append(path, {"kind": "done", "nodeid": "c", "outcome": "passed"})  # ... then the next writer's whole line
    journal = jr.read(path)
    assert journal.torn
    assert journal.finished == {"a", "c"}


def test_a_corrupt_line_in_the_middle_is_refused_in_one_line(tmp_path: Path) -> None:
    path = _journal(tmp_path / "j.jsonl", [])
    with open(path, "ab") as fh:
        fh.write(b"garbage\n")
    jr.append(path, {"kind": "done", "nodeid": "a", "outcome": "passed"})
    with pytest.raises(jr.JournalError, match="line 2 is not a journal record"):
        jr.read(path)


def test_reports_build_refuses_a_corrupt_journal_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text("not json\n{}\n", encoding="utf-8")
    assert build.main([str(path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "not a journal record" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("status", "text"), [(-11, "crashed (SIGSEGV)"), (-9, "crashed (SIGKILL)"), (1, "crashed (exit 1)")]
)
def test_a_death_is_named_by_its_signal(status: int, text: str) -> None:
    assert jr.died_of(status) == text


def _bench_record(case: str, pass_: str, median: float) -> dict[str, Any]:
    return {"name": f"test_speed[{case}-{pass_}]", "stats": {"median": median}} | syn.bench(
        case, samples=[median] * 3, pass_=pass_
    )


def _crash_run(tmp_path: Path) -> Path:
    """A run of three benchmarks: one finished, one crashed, one never began."""
    start = {"kind": "start", "pid": 7, "t": 1.0}
    ident = {"test": "benchmark", "key": KEY, "case": "nn_gru", "device": "cpu"}
    ident |= {"dtype": "float32", "pass": "fwd_bwd", "check": None}
    peak = {"device": "cpu", "dtype": "float32", "threads": 2, "gflops": 50.0, "n": 1024}
    records = [
        {"kind": "collected", "nodeids": ["a", CRASHED, "c"]},
        start | {"nodeid": "a", "ident": {"test": "benchmark"}},
        {"kind": "peak", "record": peak},
        {"kind": "benchmark", "nodeid": "a", "record": _bench_record("nn_lstm", "fwd", 1e-3)},
        {"kind": "done", "nodeid": "a", "outcome": "passed"},
        {"kind": "peak", "record": peak | {"gflops": 80.0, "gflops_start": 50.0, "gflops_end": 80.0}},
        start | {"nodeid": CRASHED, "ident": ident},
        jr.error_record(
            CRASHED,
            "crashed (SIGSEGV)",
            ["Fatal Python error: Segmentation fault"],
            start | {"ident": ident},
            "isolate",
        ),
    ]
    return _journal(tmp_path / "run.journal.jsonl", records)


def test_the_assembled_run_file_names_the_crash_and_what_did_not_finish(tmp_path: Path) -> None:
    journal = jr.read(_crash_run(tmp_path))
    assert journal.unfinished == ["c"]
    assert set(journal.errors) == {CRASHED}
    data = jr.assemble(journal)
    section = data["rnnsuite"]
    assert section["unfinished"] == ["c"]
    assert [(e["key"], e["error"]) for e in section["errors"]] == [("nn_gru-cpu-float32-fwd_bwd", "crashed (SIGSEGV)")]
    assert [b["extra_info"]["case"] for b in data["benchmarks"]] == ["nn_lstm"]
    assert data["benchmarks"][0]["extra_info"]["peak_gflops"] == 80.0  # the best peak of the run, as _final_peaks
    assert set(section) == {*names(RUN, always=True), "errors", "unfinished"}
    assert set(data["benchmarks"][0]["extra_info"]) == set(names(BENCH, always=True))


def test_a_crashed_check_is_a_check_record_with_outcome_crashed(tmp_path: Path) -> None:
    ident = {"test": "check", "key": "nn_gru-cpu-float32", "case": "nn_gru", "device": "cpu", "dtype": "float32"}
    ident |= {"check": "backward", "kernel": "vendor"}
    err = jr.error_record("t::backward", "timed out after 60 s", [], {"ident": ident, "pid": 3}, "xdist")
    path = _journal(tmp_path / "j.jsonl", [err])
    (rec,) = jr.correctness(jr.read(path))
    assert (rec["check"], rec["outcome"], rec["message"]) == ("backward", "timed out", "timed out after 60 s")
    verdict = table.outcomes(table.checks([load_run(path)]))["correctness"].tolist()
    assert verdict == ["timed out (backward)"]


def test_the_report_shows_the_crash_in_the_headline_and_in_e(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _crash_run(tmp_path)
    assert build.main([str(path), "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert f"crashed (SIGSEGV): {CRASHED}" in out
    assert "did not finish: c" in out
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    headline, correctness = page.split('<h2 id="time"')[0], page.split('<h2 id="correctness"')[1]
    assert "1 benchmark(s) crashed or timed out" in headline
    assert "nn_gru-cpu-float32-fwd_bwd" in headline
    assert "crashed (SIGSEGV)" in correctness
    assert "Segmentation fault" in correctness
    summary = (tmp_path / "report" / "summary.md").read_text(encoding="utf-8")
    assert "1 test(s) crashed, 0 timed out, 1 did not finish" in summary


def test_a_run_file_without_errors_has_none(tmp_path: Path) -> None:
    run = load_run(syn.write(tmp_path / "r.json", syn.run([syn.bench(samples=[1e-3] * 3)])))
    assert run.errors == ()
    assert run.unfinished == []


def test_the_errors_of_a_run_file_are_records(tmp_path: Path) -> None:
    """``RunFile.errors`` reads each ``rnnsuite.errors`` entry as the schema's ``Error`` record."""
    (err,) = load_run(_crash_run(tmp_path)).errors
    assert isinstance(err, Error)
    assert (err.test, err.key, err.pass_, err.error) == ("benchmark", KEY, "fwd_bwd", "crashed (SIGSEGV)")


def test_the_gate_reads_a_crashed_benchmark_from_its_record(tmp_path: Path) -> None:
    base = load_run(syn.write(tmp_path / "a.json", syn.run([syn.bench(samples=[1e-3] * 3)])))
    result = compare_runs(base, load_run(_crash_run(tmp_path)))
    assert result.crashed == ((KEY, "B", "crashed (SIGSEGV)"),)
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [("output", "one line", "output is str, not list of str"), ("error", None, "error is null, not str")],
)
def test_a_malformed_error_record_is_refused_with_one_line(
    tmp_path: Path, field: str, value: object, needle: str
) -> None:
    data = jr.assemble(jr.read(_crash_run(tmp_path)))
    data["rnnsuite"]["errors"][0][field] = value
    with pytest.raises(RunFileError, match=f"error record {CRASHED_RE}: {needle}"):
        load_run(syn.write(tmp_path / "r.json", data))


def test_unfinished_that_is_not_a_list_of_node_ids_is_refused(tmp_path: Path) -> None:
    data = jr.assemble(jr.read(_crash_run(tmp_path)))
    data["rnnsuite"]["unfinished"] = "c"
    with pytest.raises(RunFileError, match="rnnsuite: unfinished is str, not list of str"):
        load_run(syn.write(tmp_path / "r.json", data))


def test_a_journal_without_a_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    jr.append(path, {"kind": "done", "nodeid": "a", "outcome": "passed"})
    with pytest.raises(RunFileError, match="no header"):
        load_run(path)


def test_the_follower_returns_whole_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    follower = jr.Follower(path)
    assert follower.poll() == []
    jr.append(path, _header())
    with open(path, "ab") as fh:
        fh.write(b'{"kind":"done","nodeid":"a",')
    assert [r["kind"] for r in follower.poll()] == ["header"]
    with open(path, "ab") as fh:
        fh.write(b'"outcome":"passed"}\n')
    assert [r["nodeid"] for r in follower.poll()] == ["a"]
    assert json.loads(path.read_text().splitlines()[-1])["nodeid"] == "a"
    assert os.path.getsize(path) == follower.offset


def test_reports_journal_writes_the_run_file_and_names_what_did_not_finish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rnnsuite.reports.runs.journal_command import main

    out = tmp_path / "run.json"
    assert main([str(_crash_run(tmp_path)), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"crashed (SIGSEGV): {CRASHED}" in printed
    assert "did not finish: c" in printed
    assert load_run(out).errors[0].error == "crashed (SIGSEGV)"
    assert main([str(tmp_path / "run.journal.jsonl"), "--out", str(out)]) == 2  # never overwrites without --force
