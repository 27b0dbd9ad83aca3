"""No path from a file's contents, and the stated limits: crafted identities stay inside the store, and a run
file over the size or record limit is refused in one line before it is read into pandas."""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from rnnsuite.reports.runfile import journal as jr
from rnnsuite.reports.runfile import limits
from rnnsuite.reports.runfile.paths import UnsafePath, inside, slug
from rnnsuite.reports.runfile.reader import load_checks, load_run
from rnnsuite.reports.runfile.run import RunFileError
from rnnsuite.reports.runs import store
from tests import synthetic_runs as syn
from tests.reports.in_process import run_main


def _run(**machine_info: Any) -> dict[str, Any]:
    data = syn.run([syn.bench(samples=[1e-3, 1.1e-3, 0.9e-3])])
    data["machine_info"] |= {"system": "Linux", "machine": "x86_64"} | machine_info
    return data


def _add(tmp_path: Path, data: dict[str, Any]) -> Path:
    return store.add(tmp_path / "store", syn.write(tmp_path / "run.json", data))


def _only_the_store_grew(tmp_path: Path) -> None:
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(tmp_path / "store")]
    assert sorted(p.name for p in outside) == ["run.json"]


# ------------------------------------------------------------------------------------------------ slugs


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("Linux", 16, "Linux"),
        ("x86_64", 16, "x86_64"),
        ("../../escaped", 16, "escaped"),
        ("/etc/cron.d", 16, "etc-cron-d"),
        ("C:\\Windows\\System32", 16, "C-Windows-System"),
        ("..", 16, "unknown"),
        ("", 16, "unknown"),
        ("a\x00b\nc", 16, "a-b-c"),
        ("é中文", 16, "unknown"),
        ("-" * 3 + "ab" + "/" * 3, 16, "ab"),
        ("abcdefghij-klmnopq", 11, "abcdefghij"),  # cut at 11, then no '-' at the end
    ],
)
def test_a_slug_is_one_safe_component(text: str, width: int, expected: str) -> None:
    assert slug(text, width) == expected


def test_inside_refuses_what_leaves_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    assert inside(root, root / "a" / "b.json") == (root / "a" / "b.json").resolve()
    for escaping in (root / ".." / "x", root, Path("/etc/passwd"), root / "a" / ".." / ".." / "y"):
        with pytest.raises(UnsafePath, match="not inside"):
            inside(root, escaping)


# ------------------------------------------------------------------------------------------------ the store


def test_the_crafted_system_of_the_issue_is_stored_inside(tmp_path: Path) -> None:
    stored = _add(tmp_path, _run(system="../../escaped"))
    assert stored.is_relative_to(tmp_path / "store")
    assert stored.parent.parent == tmp_path / "store"
    assert stored.parent.name.startswith("escaped-x86_64-synthetic-")
    _only_the_store_grew(tmp_path)


ABSOLUTE = "/tmp/rnnsuite-escaped"


@pytest.mark.parametrize(
    "where",
    [
        ("machine_info", "system"),
        ("machine_info", "machine"),
        ("machine_info", "rnnsuite", "cpu_model"),
        ("machine_info", "rnnsuite", "gpu"),
        ("commit_info", "id"),
        ("datetime",),
    ],
    ids=lambda w: ".".join(w),
)
@pytest.mark.parametrize("value", [ABSOLUTE, "../../../../" + ABSOLUTE, "..", "/"])
def test_every_identity_field_with_a_path_is_stored_inside(tmp_path: Path, where: tuple[str, ...], value: str) -> None:
    data = _run()
    parent = data
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = value
    stored = _add(tmp_path, data)
    assert stored.parent.parent == tmp_path / "store"
    assert stored.parent.name == slug(stored.parent.name, 200)  # the folder: one slug
    assert "/" not in stored.name
    assert not stored.name.startswith(".")
    assert not Path(ABSOLUTE).exists()
    _only_the_store_grew(tmp_path)


def test_the_machine_id_of_a_safe_file_did_not_change() -> None:
    """Folders of stores written before the slugs keep their names (the committed H100 run's id)."""
    h100 = Path(__file__).resolve().parents[2] / "docs" / "runs" / "h100-torch2.11.json"
    assert store.machine_id(load_run(h100)).startswith("Linux-x86_64-")


def test_a_machine_folder_linked_outside_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = syn.write(tmp_path / "run.json", _run())
    folder = tmp_path / "store" / store.machine_id(load_run(run))
    (tmp_path / "store").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", folder)
    code, err = run_main(["store", "add", str(tmp_path / "store"), str(run)], capsys)
    assert code == 2
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "not inside" in err
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_corrupt_machine_json_is_one_line_in_store_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stored = _add(tmp_path, _run())
    code, _ = run_main(["store", "list", str(tmp_path / "store")], capsys)
    assert code == 0
    (stored.parent / "machine.json").write_text('{"cpu_model": "x"', encoding="utf-8")
    code, err = run_main(["store", "list", str(tmp_path / "store")], capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert "machine.json" in err


def test_a_journals_pid_names_no_fault_file(tmp_path: Path) -> None:
    journal = tmp_path / "run.journal.jsonl"
    (tmp_path / "secret").write_text("Fatal Python error: secret\n", encoding="utf-8")
    jr.fault_path(journal, 7).write_text("Fatal Python error: 7\n", encoding="utf-8")
    assert jr.fault_tail(journal, 7) == ["Fatal Python error: 7"]  # the check can see a fault file
    for pid in ("7", "x/../../secret", 7.0, True, -1, ["7"]):
        assert jr.fault_tail(journal, pid) == []


# ------------------------------------------------------------------------------------------------ limits


def test_a_run_file_over_the_size_limit_is_refused_before_it_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = syn.write(tmp_path / "run.json", _run())
    size = run.stat().st_size
    monkeypatch.setattr(limits, "MAX_BYTES", size)
    assert len(load_run(run).benchmarks) == 1  # at the limit: read
    monkeypatch.setattr(limits, "MAX_BYTES", size - 1)  # one byte over
    monkeypatch.setattr(limits, "parse", lambda text: pytest.fail("parsed a file over the limit"))
    code, err = run_main(["build", str(run), "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert "the limit of a run file" in err
    assert not (tmp_path / "out").exists()


def test_the_stated_limits() -> None:
    """docs/run-file.md states these figures."""
    assert (limits.MAX_BYTES, limits.MAX_RECORDS, limits.MAX_JOURNAL_LINES) == (64 * 2**20, 100_000, 1_000_000)
    assert (limits.MAX_DEPTH, limits.MAX_INT) == (32, 2**53)


@pytest.mark.parametrize("where", ["benchmarks", "correctness", "peaks", "errors"])
def test_a_run_file_over_the_record_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    data = _run()
    records = 1 + len(data["rnnsuite"]["peaks"])  # the benchmark and the peak
    monkeypatch.setattr(limits, "MAX_RECORDS", records)
    assert load_run(syn.write(tmp_path / "ok.json", data))
    extra = copy.deepcopy(data)
    section = extra if where == "benchmarks" else extra["rnnsuite"]
    section.setdefault(where, []).append({"not": "checked yet"})  # the count comes before the records' checks
    with pytest.raises(RunFileError, match=f"{records + 1} records, over the limit of {records}"):
        load_run(syn.write(tmp_path / "over.json", extra))


def test_a_checks_file_over_the_record_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checks = [syn.correctness(), syn.correctness(check="backward")]
    path = tmp_path / "checks.json"
    path.write_text(json.dumps({"schema": 5, "label": "x", "correctness": checks}), encoding="utf-8")
    monkeypatch.setattr(limits, "MAX_RECORDS", 2)
    assert len(load_checks(path)) == 2
    monkeypatch.setattr(limits, "MAX_RECORDS", 1)
    with pytest.raises(RunFileError, match="over the limit of 1"):
        load_checks(path)


def test_a_journal_over_the_line_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "run.journal.jsonl"
    for _ in range(3):
        jr.append(path, {"kind": "header", "session": "s"})
    monkeypatch.setattr(limits, "MAX_JOURNAL_LINES", 4)  # three lines and the empty one after the last newline
    assert len(jr.read(path).headers) == 3
    monkeypatch.setattr(limits, "MAX_JOURNAL_LINES", 3)
    with pytest.raises(jr.JournalError, match="over the limit of 3"):
        jr.read(path)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"a": 1, "a": 2}', "appears twice"),
        ("[" * 33 + "]" * 33, "deeper than 32"),
        ("[" * 100_000 + "]" * 100_000, "deeper than"),
        ('["\\ud800"]', "surrogate"),
        ("[9007199254740993]", "beyond 2**53"),
        ("[" + "9" * 5000 + "]", "beyond 2**53"),
    ],
    ids=["duplicate-key", "depth-33", "depth-100000", "lone-surrogate", "2**53+1", "5000-digits"],
)
def test_json_the_suite_does_not_write_is_refused(text: str, says: str) -> None:
    with pytest.raises(limits.BadJSON, match=re.escape(says)):
        limits.parse(text)


def test_json_the_suite_writes_is_read() -> None:
    """At the limits, and what pytest-benchmark writes: NaN, an escaped emoji (a surrogate pair)."""
    assert limits.parse("[" * 32 + "]" * 32) == json.loads("[" * 32 + "]" * 32)
    assert limits.parse("[9007199254740992, -9007199254740992]") == [2**53, -(2**53)]
    found = limits.parse('{"x": NaN, "e": "\\ud83d\\udca5"}')
    assert found["e"] == "💥"
    assert found["x"] != found["x"]
