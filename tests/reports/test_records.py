"""Records that are their own schema (reports/runfile/record.py, schema.py): each rule fed the defect it must catch."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.cli import main as reports_main
from rnnsuite.reports.output import table
from rnnsuite.reports.output.sections import baselines
from rnnsuite.reports.output.sections import costs as cost_section
from rnnsuite.reports.runfile.processes import add_processes
from rnnsuite.reports.runfile.reader import load_checks, load_run
from rnnsuite.reports.runfile.record import ABSENT, checked, from_dict, to_dict
from rnnsuite.reports.runfile.run import RunFile, RunFileError, cold_record
from rnnsuite.reports.runfile.schema import Bench, Check, ChecksFile, Cold, ColdFailure, Machine, Peak, Process, Run
from tests import synthetic_runs as syn

COLD = {
    "median_s": 2e-3,
    "first_block_s": 3e-3,
    "block": 4,
    "blocks": 5,
    "threads": 2,
    "minor_faults_per_call": 10.0,
    "major_faults_per_call": 0.0,
    "rss_before_bytes": 1000,
    "peak_rss_bytes": 2000,
    "peak_rss_note": "VmHWM",
    "process": "fork",
    "server_threads": 1,
    "timed": True,
    "note": None,
}


def _load(tmp_path: Path, data: dict[str, Any], name: str = "r.json") -> RunFile:
    return load_run(syn.write(tmp_path / name, data))


def _old(data: dict[str, Any], schema: int = 3) -> dict[str, Any]:
    """The run as a schema-``schema`` file wrote it: old names for baseline, emulated_u and the process medians."""
    old = copy.deepcopy(data)
    old["rnnsuite"]["schema"] = schema
    for b in old["benchmarks"]:
        extra = b["extra_info"]
        extra["schema"] = schema
        baseline = extra.pop("baseline")
        variant = "[" in extra["case"]
        extra["builtin"] = None if variant else baseline
        if schema > 1:
            extra["base"] = baseline if variant else None
        if "processes" in extra:
            medians = [p["median_s"] for p in extra.pop("processes")]
            extra["process_medians" if schema > 1 else "round_medians"] = medians
    for c in old["rnnsuite"]["correctness"]:
        if "emulated_u" in c:
            c["honest_u"] = c.pop("emulated_u")
    return old


# ---- the writer: a record's dict is generated from its dataclass and checked against it


def test_the_dict_is_generated_from_the_declaration() -> None:
    """JSON keys from metadata (``pass``), ``ABSENT`` fields left out, nested records as dicts."""
    peak = Peak(device="cpu", dtype="float32", threads=2, gflops=1.5, n=256)
    assert to_dict(peak) == {"device": "cpu", "dtype": "float32", "threads": 2, "gflops": 1.5, "n": 256}
    assert peak.gflops_end is ABSENT
    extra = syn.bench(samples=[1e-3] * 3)["extra_info"] | {"cold": COLD}
    rec = checked(Bench, extra, "extra_info")
    assert rec["pass"] == "fwd"
    assert "pass_" not in rec
    assert rec["cold"] == COLD
    assert "processes" not in rec
    assert "count_calls" not in rec


def test_a_value_of_the_wrong_type_is_refused_by_the_writer() -> None:
    with pytest.raises(ValueError, match="gflops is str, not float"):
        to_dict(Peak(device="cpu", dtype="float32", threads=2, gflops="fast", n=256))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threads is bool, not int"):
        checked(Peak, {"device": "cpu", "dtype": "float32", "threads": True, "gflops": 1.0, "n": 2}, "peaks")


def test_a_record_missing_a_field_or_with_an_undeclared_one_is_refused_by_the_writer() -> None:
    peak = {"device": "cpu", "dtype": "float32", "threads": 2, "gflops": 1.0, "n": 2}
    with pytest.raises(ValueError, match="missing n"):
        checked(Peak, {k: v for k, v in peak.items() if k != "n"}, "peaks")
    with pytest.raises(ValueError, match="undeclared speed"):
        checked(Peak, peak | {"speed": 1.0}, "peaks")


def test_the_nested_cold_record_is_checked_by_the_writer() -> None:
    with pytest.raises(ValueError, match="missing timed"):
        cold_record({k: v for k, v in COLD.items() if k != "timed"}, strict=True)
    with pytest.raises(ValueError, match="block is float, not int"):
        cold_record(COLD | {"block": 4.0}, strict=True)
    assert cold_record({"error": "the cold process died with SIGSEGV"}, strict=True) == ColdFailure(
        error="the cold process died with SIGSEGV"
    )


# ---- the reader: required fields, types, nested records


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("seq_len", "25", "seq_len is str, not int"),
        ("baseline", 3, "baseline is int, not str or null"),
        ("kernel_ops", {"aten::lstm": "1"}, "kernel_ops is object, not object of int"),
        ("cold", COLD | {"median_s": "fast"}, "cold is object, not ColdFailure or Cold or null"),
        ("processes", [{"samples": 3}], "processes is list, not list of Process"),
    ],
)
def test_the_reader_refuses_a_value_of_the_wrong_type(tmp_path: Path, field: str, value: Any, message: str) -> None:
    data = syn.run([syn.bench(samples=[1e-3] * 3)])
    data["benchmarks"][0]["extra_info"][field] = value
    with pytest.raises(RunFileError, match=message):
        _load(tmp_path, data)


def test_the_reader_refuses_a_check_sample_of_the_wrong_type(tmp_path: Path) -> None:
    data = syn.run([syn.bench(samples=[1e-3] * 3)], [syn.correctness(sample={"output": [1.0, 2.0]})])
    _load(tmp_path, data)
    data["rnnsuite"]["correctness"][0]["sample"] = {"output": ["a"]}
    with pytest.raises(RunFileError, match="sample is object, not object of list of float"):
        _load(tmp_path, data)


def test_a_corrupt_run_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = syn.run([syn.bench(samples=[1e-3] * 3)])
    data["benchmarks"][0]["extra_info"]["flops"] = "many"
    path = syn.write(tmp_path / "bad.json", data)
    assert reports_main(["build", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [err.strip()]
    assert "flops is str, not int" in err
    assert "Traceback" not in err


def test_typed_accessors(tmp_path: Path) -> None:
    failed = syn.bench("nn_gru", samples=[2e-3] * 3, family="gru")
    failed["extra_info"]["cold"] = {"error": "the cold process ran past 600 s"}
    plain = syn.bench(samples=[1e-3, 2e-3, 3e-3])
    plain["extra_info"]["cold"] = COLD
    run = _load(tmp_path, syn.run([plain, failed]))
    first, second = run.benchmarks
    assert run.key(first) == "nn_lstm-cpu-float32-fwd-eager-seed-T100_B32_I10_H20_L1"
    assert list(run.samples(first)) == [1e-3, 2e-3, 3e-3]
    assert run.cold(first) == Cold(**COLD)
    assert run.cold(second) == ColdFailure(error="the cold process ran past 600 s")
    assert run.processes(first) is None
    assert run.counts(first) is None


def test_a_schema_2_cold_record_reads_its_later_fields_as_none(tmp_path: Path) -> None:
    data = _old(syn.run([syn.bench(samples=[1e-3] * 3)]), schema=2)
    data["benchmarks"][0]["extra_info"]["cold"] = {k: COLD[k] for k in list(COLD)[:10]}
    cold = RunFile.cold(_load(tmp_path, data).benchmarks[0])
    assert isinstance(cold, Cold)
    assert (cold.median_s, cold.process, cold.timed) == (2e-3, None, None)


# ---- old names are read as new, in one place


def test_old_names_are_read_as_new(tmp_path: Path) -> None:
    hand = syn.bench("lstm_cell", samples=[2e-3] * 4, baseline="nn_lstm")
    variant = syn.bench("nn_lstm[bidir]", samples=[3e-3] * 4, baseline="nn_lstm")
    plain = syn.bench("nn_lstm", samples=[1e-3] * 4)
    hand["extra_info"]["processes"] = [{"median_s": 2e-3, "samples": 2}, {"median_s": 2.5e-3, "samples": 2}]
    old = _old(syn.run([hand, variant, plain], [syn.correctness(check="forward")]))
    raw = json.dumps(old)
    assert '"honest_u"' in raw
    assert '"builtin"' in raw
    assert '"base"' in raw
    assert '"process_medians"' in raw
    assert '"baseline"' not in raw
    assert '"emulated_u"' not in raw
    assert '"processes"' not in raw
    run = _load(tmp_path, old)
    extras = [b["extra_info"] for b in run.benchmarks]
    assert [e["baseline"] for e in extras] == ["nn_lstm", "nn_lstm", None]
    assert not any({"builtin", "base", "process_medians"} & e.keys() for e in extras)
    assert extras[0]["processes"] == [{"median_s": 2e-3, "samples": None}, {"median_s": 2.5e-3, "samples": None}]
    assert run.correctness[0]["emulated_u"] == 2.0
    assert "honest_u" not in run.correctness[0]
    assert run.schema == 3


def test_schema_1_round_medians_and_builtin_are_read_as_new(tmp_path: Path) -> None:
    hand = syn.bench("gru_cell", samples=[2e-3] * 4, baseline="nn_gru")
    hand["extra_info"]["processes"] = [{"median_s": 1e-3, "samples": 2}, {"median_s": 3e-3, "samples": 2}]
    old = _old(syn.run([hand]), schema=1)
    assert "base" not in old["benchmarks"][0]["extra_info"]
    run = _load(tmp_path, old)
    assert run.benchmarks[0]["extra_info"]["baseline"] == "nn_gru"
    medians = run.process_medians(run.benchmarks[0])
    assert medians is not None
    assert list(medians) == [1e-3, 3e-3]


def test_a_new_name_wins_over_an_old_one(tmp_path: Path) -> None:
    data = syn.run([syn.bench("lstm_cell", samples=[1e-3] * 3, baseline="nn_lstm")])
    data["benchmarks"][0]["extra_info"]["builtin"] = "nn_gru"
    assert _load(tmp_path, data).benchmarks[0]["extra_info"]["baseline"] == "nn_lstm"


def test_a_checks_file_of_schema_3_is_read_with_the_new_name(tmp_path: Path) -> None:
    rec = syn.correctness(check="forward")
    rec["honest_u"] = rec.pop("emulated_u")
    path = syn.write(tmp_path / "checks.json", {"schema": 3, "label": "x", "correctness": [rec]})
    (found,) = load_checks(path)
    assert found["emulated_u"] == 2.0
    assert "honest_u" not in found


def test_sections_b_and_h_tell_hand_written_cases_from_variants(tmp_path: Path) -> None:
    """(b): a hand-written case and its built-in; (h): a variant and its plain layer; both now read ``baseline``."""
    rows = [
        syn.bench("nn_lstm", samples=[1e-3] * 4),
        syn.bench("lstm_cell", samples=[3e-3] * 4, baseline="nn_lstm"),
        syn.bench("nn_lstm[bidir]", samples=[2e-3] * 4, baseline="nn_lstm"),
    ]
    df = table.tidy([_load(tmp_path, syn.run(rows))])
    pairs = baselines.builtin_pairs(df)
    assert list(zip(pairs["key"].str.split("-").str[0], pairs["builtin"], pairs["ratio"], strict=True)) == [
        ("lstm_cell", "nn_lstm", pytest.approx(3.0))
    ]
    costs = cost_section.variant_costs(df)
    assert list(zip(costs["case"], costs["against"], costs["ratio"], strict=True)) == [
        ("nn_lstm[bidir]", "nn_lstm", pytest.approx(2.0))
    ]


# ---- processes are records


def test_processes_are_added_with_their_samples(tmp_path: Path) -> None:
    samples = [[1.0e-3, 1.2e-3, 1.1e-3], [2.0e-3, 2.2e-3], [3.0e-3, 3.3e-3, 3.1e-3, 3.2e-3]]
    runs = [
        _load(tmp_path, syn.run([syn.bench(samples=s)], label=f"p{i}"), f"p{i}.json") for i, s in enumerate(samples)
    ]
    merged = RunFile(tmp_path / "a.json", "a", add_processes(runs))
    (bench,) = merged.benchmarks
    assert bench["extra_info"]["processes"] == [
        {"median_s": 1.1e-3, "samples": 3},
        {"median_s": pytest.approx(2.1e-3), "samples": 2},
        {"median_s": pytest.approx(3.15e-3), "samples": 4},
    ]
    assert (merged.processes(bench) or ())[0] == Process(median_s=1.1e-3, samples=3)
    assert sorted(bench["stats"]["data"]) == sorted(v for s in samples for v in s)  # every process's samples, once


def test_nested_records_are_read_as_records() -> None:
    """A checks file read whole: its machine and each of its checks come back as records, not dicts."""
    data = syn.run([], [syn.correctness(check="golden")])
    found = from_dict(ChecksFile, {"schema": 4, "label": "x", "machine": data["machine_info"]["rnnsuite"],
                                   "correctness": data["rnnsuite"]["correctness"]}, "checks file")  # fmt: skip
    assert isinstance(found.machine, Machine)
    assert [type(c) for c in found.correctness] == [Check]
    assert to_dict(found)["correctness"] == data["rnnsuite"]["correctness"]


def test_a_schema_1_file_without_metric_reads_as_timed(tmp_path: Path) -> None:
    old = _old(syn.run([syn.bench(samples=[1e-3] * 3)]), schema=1)
    del old["rnnsuite"]["metric"]
    del old["benchmarks"][0]["extra_info"]["metric"]
    run = _load(tmp_path, old)
    assert run.metric == "time"
    assert run.benchmarks[0]["extra_info"]["metric"] == "time"
    assert not run.counted(run.benchmarks[0])


def test_a_writer_s_nested_record_is_checked_as_strictly_as_its_parent() -> None:
    partial = {"key": "test_x", "case": None, "device": None, "dtype": None, "check": "x", "outcome": "passed"}
    section = syn.run([])["rnnsuite"] | {"correctness": [partial]}
    with pytest.raises(ValueError, match="missing max_abs"):
        checked(Run, section, "rnnsuite")
