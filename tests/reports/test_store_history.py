"""The results store, ``reports history`` and ``reports merge``, on the committed CPU runs of torch 2.13, 2.14 and 2.15."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runs import history, merge, store
from tests.reports.in_process import run_main
from tests.synthetic_runs import bench, run, write

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "tests" / "runs"
H100 = ROOT / "docs" / "runs" / "h100-torch2.11.json"
COUNTS = [RUNS / f"cpu-torch{v}-count.json" for v in ("2.13", "2.14", "2.15")]
TIMED = [RUNS / f"cpu-torch{v}.json" for v in ("2.13", "2.15")]  # one process each (as make report)
AB = [RUNS / f"cpu-ab-torch{v}.json" for v in ("2.13", "2.15")]  # python -m suite.ab: 7 processes a side
COUNT_THRESHOLD = 0.03  # docs/gate.md: a count moves when it changes by more than 3%


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rnnsuite", *args], capture_output=True, text=True, cwd=ROOT)


def _raw(path: Path) -> dict[str, dict[str, Any]]:
    return {b["extra_info"]["key"]: b for b in json.loads(path.read_text())["benchmarks"]}


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    """A store holding the committed CPU runs (added newest first: the store orders by torch version)."""
    for path in [*reversed(COUNTS), *TIMED, *AB]:
        store.add(tmp_path / "store", path)
    return tmp_path / "store"


# ------------------------------------------------------------------------------------------------ store


def test_store_follows_pytest_benchmarks_autosave_layout(tmp_path: Path) -> None:
    first = store.add(tmp_path, COUNTS[0])
    again = store.add(tmp_path, COUNTS[0])
    assert first.parent == again.parent
    assert (first.name[:5], again.name[:5]) == ("0001_", "0002_")
    assert first.read_bytes() == COUNTS[0].read_bytes() == again.read_bytes()  # copied byte for byte
    commit = json.loads(COUNTS[0].read_text())["commit_info"]["id"][:8]
    assert first.name.split("_")[1] == commit
    assert (
        json.loads((first.parent / "machine.json").read_text())["cpu_model"] == load_run(COUNTS[0]).machine["cpu_model"]
    )


def test_machine_ids_tell_the_h100_host_from_this_cpu_and_keep_one_machine_in_one_folder() -> None:
    ids = {store.machine_id(load_run(p)) for p in [*COUNTS, *TIMED, *AB]}
    assert len(ids) == 1, ids  # one machine, three torch versions: one history
    assert store.machine_id(load_run(H100)) not in ids
    assert "h100" in store.machine_id(load_run(H100))


def test_the_committed_runs_record_the_machine_identity_of_schema_3() -> None:
    for path in COUNTS:
        m = load_run(path).machine
        assert m["cpu_flags"]
        assert m["memory_bytes"] > 0
        assert m["torch_config"].strip()
        assert m["torch"].startswith(path.stem.split("-")[1].removeprefix("torch"))


def test_a_corrupt_run_never_enters_the_store(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(COUNTS[0].read_text()[:500])
    result = _cli("store", "add", str(tmp_path / "store"), str(bad))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "store").exists() or not list((tmp_path / "store").glob("*/*.json"))


# ---------------------------------------------------------------------------------------------- history


def _expected_count_verdict(base: dict[str, Any], cand: dict[str, Any]) -> str:
    """The count rule of docs/gate.md, from the raw numbers of the two files."""
    b, c = base["extra_info"], cand["extra_info"]
    if max(b["instructions_spread"], c["instructions_spread"]) > COUNT_THRESHOLD:
        return "inconclusive"
    ratio = c["instructions"] / b["instructions"]
    return "slower" if ratio > 1 + COUNT_THRESHOLD else "faster" if ratio < 1 / (1 + COUNT_THRESHOLD) else "unchanged"


def test_history_table_holds_every_counted_value_and_flags_what_moved_from_2_13_to_2_15(filled: Path) -> None:
    counted = next(s for s in history.series(store.load_store(filled)) if s.metric == "instructions")
    assert [r.machine["torch"].split("+")[0] for r in counted.runs] == ["2.13.0", "2.14.1", "2.15.0"]
    df = history.frame(counted).set_index("key")
    raws = [_raw(p) for p in COUNTS]
    assert set(df.index) == set(raws[0]) | set(raws[1]) | set(raws[2])
    for key in df.index:
        for label, raw in zip((r.label for r in counted.runs), raws, strict=True):
            assert df.loc[key, label] == pytest.approx(raw[key]["extra_info"]["instructions"])
        assert df.loc[key, "first_last"] == _expected_count_verdict(raws[0][key], raws[2][key]), key


def test_history_cli_writes_the_three_files_and_lists_the_moved_benchmarks(filled: Path, tmp_path: Path) -> None:
    result = _cli("history", str(filled), "--out", str(tmp_path / "h"))
    assert result.returncode == 0, result.stderr
    raws = [_raw(p) for p in COUNTS]
    moved = [k for k in raws[0] if _expected_count_verdict(raws[0][k], raws[2][k]) in ("slower", "faster")]
    for key in moved:
        assert key in result.stdout
    assert {p.name for p in (tmp_path / "h").iterdir()} >= set(history.OUTPUTS)
    html = (tmp_path / "h" / "history.html").read_text()
    assert "data:image/png;base64," in html
    assert "first -&gt; last" in html


@pytest.mark.parametrize(
    "setup",
    ["missing", "empty", "corrupt", "no-machine"],
)
def test_history_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, setup: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """In this process (``rnnsuite.cli.main``, the command line's own entry: the import of pandas and
    scipy, seconds in a new interpreter, is what it saves); the real command line's exit is tested above."""
    folder = tmp_path / "store"
    args = ["history", str(folder), "--out", str(tmp_path / "h")]
    if setup == "empty":
        folder.mkdir()
    if setup == "corrupt":
        stored = store.add(folder, COUNTS[0])
        stored.write_text("{")
    if setup == "no-machine":
        store.add(folder, COUNTS[0])
        args += ["--machine", "nonesuch"]
    code, err = run_main(args, capsys)
    assert code == 2
    assert err.startswith("error: "), err
    assert err.count("\n") == 1, err


def test_each_kind_of_run_is_its_own_series_and_the_processes_series_is_judged_as_the_gate_judges(filled: Path) -> None:
    found = {s.metric: s for s in history.series(store.load_store(filled))}
    assert set(found) == {"instructions", "time", "time (processes)"}
    assert [len(found[k].runs) for k in ("instructions", "time", "time (processes)")] == [3, 2, 2]
    # One process a side cannot tell an offset from a change: every step of the plain time series is inconclusive.
    plain = history.frame(found["time"])
    both = plain[[r.label for r in found["time"].runs]].notna().all(axis=1)
    assert set(plain.loc[both, "first_last"]) == {"inconclusive"}
    assert set(plain.loc[~both, "first_last"]) <= {"—"}  # float16 ran in 2.13's run only: nothing to judge
    # The suite.ab pair: history's verdicts are those of python -m reports compare on the same two files.
    result = _cli("compare", str(AB[0]), str(AB[1]))
    assert result.returncode in (0, 1, 3), result.stderr
    df = history.frame(found["time (processes)"]).set_index("key")
    for key, row in df.iterrows():
        line = next(line for line in result.stdout.splitlines() if str(key) in line)
        assert row["first_last"] in line.split(), (key, line)


def _counted_run(torch: str, when: str, per_call: dict[str, float]) -> dict[str, Any]:
    """A synthetic counted run (--metric instructions) of a few cases: settled counts of known size."""
    benches = []
    for case, value in per_call.items():
        b = bench(case, samples=[0.2])
        b["extra_info"] |= {"metric": "instructions", "instructions": value, "instructions_repeats": [value] * 3}
        b["extra_info"] |= {"count_calls": 5, "count_repeats": 3, "count_warmup": 3, "instructions_spread": 0.0}
        benches.append(b)
    data = run(benches, torch_version=torch)
    data["rnnsuite"]["metric"] = "instructions"
    return data | {"datetime": when}


def test_history_flags_an_injected_8_percent_and_not_a_2_percent_change(tmp_path: Path) -> None:
    steps = [("2.13.0", 1.0, 1.0), ("2.14.1", 1.0, 1.02), ("2.15.0", 1.08, 1.02)]  # (torch, nn_gru, nn_rnn) factors
    for i, (torch, gru, rnn) in enumerate(steps):
        data = _counted_run(
            torch, f"2026-11-2{i}T00:00:00", {"nn_lstm": 20e6, "nn_gru": 30e6 * gru, "nn_rnn": 10e6 * rnn}
        )
        store.add(tmp_path / "store", write(tmp_path / f"{i}.json", data))
    (counted,) = history.series(store.load_store(tmp_path / "store"))
    df = history.frame(counted).set_index("case")
    assert df.loc["nn_gru", "first_last"] == "slower"
    assert "2.14.1 -> 2.15.0: 1.08x slower (+8.0% instructions)" in df.loc["nn_gru", "changes"]
    assert df.loc["nn_rnn", "first_last"] == "unchanged"
    assert df.loc["nn_lstm", "first_last"] == "unchanged"
    assert not df.loc["nn_rnn", "changes"]
    assert list(df.index[df["moved"]]) == ["nn_gru"]


# ------------------------------------------------------------------------------------------------ merge


def test_merged_shards_hold_every_benchmark_once(tmp_path: Path) -> None:
    keys = list(_raw(COUNTS[0]))
    data = json.loads(COUNTS[0].read_text())
    halves = []
    for i in (0, 1):
        part = dict(data, benchmarks=[b for j, b in enumerate(data["benchmarks"]) if j % 2 == i])
        part["rnnsuite"] = dict(data["rnnsuite"], shard=f"{i + 1}/2")
        halves.append(load_run(write(tmp_path / f"s{i}.json", part)))
    merged = merge.merge(halves)
    assert sorted(b["extra_info"]["key"] for b in merged["benchmarks"]) == sorted(keys)
    assert merged["rnnsuite"]["shard"] is None
    assert merged["rnnsuite"]["merged_from"] == ["s0.json", "s1.json"]
    out = tmp_path / "merged.json"
    out.write_text(json.dumps(merged))
    assert len(load_run(out).benchmarks) == len(keys)


def test_overlapping_or_foreign_shards_are_refused(tmp_path: Path) -> None:
    one = load_run(COUNTS[0])
    with pytest.raises(merge.MergeError, match="overlap"):
        merge.merge([one, one])
    with pytest.raises(merge.MergeError, match="torch"):
        merge.merge([one, load_run(COUNTS[2])])
    shutil.copy(COUNTS[0], tmp_path / "a.json")
    result = _cli("merge", str(tmp_path / "a.json"), str(COUNTS[0]))
    assert result.returncode == 2
    assert "exists" in result.stderr


def test_synthetic_runs_of_two_machines_land_in_two_folders(tmp_path: Path) -> None:
    a = run([bench(samples=[1e-3] * 5)])
    b = run([bench(samples=[1e-3] * 5)])
    b["machine_info"]["rnnsuite"]["cpu_model"] = "Another CPU"
    store.add(tmp_path / "s", write(tmp_path / "a.json", a))
    store.add(tmp_path / "s", write(tmp_path / "b.json", b))
    assert len(store.machines(store.load_store(tmp_path / "s"))) == 2
